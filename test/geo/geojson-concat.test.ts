/** Joining chunk outputs laid out as GDAL lays out a FeatureCollection (processes/_gdal/geojson-concat.ts). */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { concatGeoJson } from '../../processes/_gdal/geojson-concat.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'gw-concat-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HEADER = '{\n"type": "FeatureCollection",\n"name": "buffered",\n"features": [\n';
const collection = (features: string[]) => `${HEADER}${features.join(',\n')}\n]\n}\n`;
const feature = (i: number) => `{"type":"Feature","properties":{"n":${i}},"geometry":null}`;
let n = 0;
const file = (text: string) => {
  const f = path.join(dir, `${++n}.geojson`);
  writeFileSync(f, text);
  return f;
};

describe('concatGeoJson', () => {
  it('joins chunks, empty ones included, as one collection of all their features in order', async () => {
    const chunks = [[0, 1], [], [2], [3, 4, 5], []].map((ids) => file(collection(ids.map(feature))));
    const target = path.join(dir, 'joined.geojson');
    await concatGeoJson(chunks, target);
    expect(readFileSync(target, 'utf8')).toBe(collection([0, 1, 2, 3, 4, 5].map(feature)));
  });

  it('an empty first chunk, and all chunks empty', async () => {
    const target = path.join(dir, 'joined-2.geojson');
    await concatGeoJson([file(collection([])), file(collection([feature(7)]))], target);
    expect(readFileSync(target, 'utf8')).toBe(collection([feature(7)]));
    const none = path.join(dir, 'joined-3.geojson');
    await concatGeoJson([file(collection([])), file(collection([]))], none);
    expect(readFileSync(none, 'utf8')).toBe(collection([]));
  });

  it('refuses chunks of another layer or laid out otherwise', async () => {
    const other = file(collection([feature(1)]).replace('"buffered"', '"other"'));
    await expect(concatGeoJson([file(collection([feature(0)])), other], path.join(dir, 'x'))).rejects.toThrow(
      /another layer header/,
    );
    await expect(
      concatGeoJson([file('{"type":"FeatureCollection","features":[]}')], path.join(dir, 'y')),
    ).rejects.toThrow(/not laid out/);
  });
});
