/**
 * The vector processors against GDAL itself, through a real server process with the default size
 * limits: buffer gives what it gave before the synchronous feature loop (a fixture made by the
 * earlier implementation), the same vertices as the same buffer run directly with gdal-async
 * (bench/gdal-floor.ts, in a process of its own), GDAL's default quadsegs, and 10,000 polygons inline
 * are accepted.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countVertices, generatePolygons } from '../../bench/gdal-floor.ts';
import { FIXTURES } from '../helpers/gateway.ts';
import { execute } from '../helpers/oaproc-http.ts';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { execute as wpsExecute, post } from '../helpers/wps.ts';

const FLOOR = fileURLToPath(new URL('../../bench/gdal-floor.ts', import.meta.url));
const GEOJSON = 'application/geo+json';

/** The value with every number rounded to 12 significant digits. */
const rounded = (value: unknown): unknown =>
  typeof value === 'number'
    ? Number(value.toPrecision(12))
    : Array.isArray(value)
      ? value.map(rounded)
      : value && typeof value === 'object'
        ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rounded(v)]))
        : value;

let s: ServerProcess;
beforeAll(async () => {
  // No size settings: the defaults are under test.
  s = await startServerProcess({ processes: ['buffer', 'feature-count'], prefix: 'gw-vector-floor-' });
});
afterAll(() => s?.stop());

describe('buffer against GDAL', () => {
  it('with quadsegs 8, the fixture gives exactly what the earlier implementation gave (attributes, order, coordinates)', async () => {
    const input = JSON.parse(readFileSync(path.join(FIXTURES, 'geo/buffer-input.geojson'), 'utf8')) as {
      features: unknown[];
    };
    const expected = JSON.parse(
      readFileSync(path.join(FIXTURES, 'geo/buffer-output-quadsegs-8.geojson'), 'utf8'),
    ) as { features: Array<{ properties: { id: number } }> };
    const r = await execute(s.address, 'buffer', {
      inputs: { data: { value: input, mediaType: GEOJSON }, distance: 0.002, quadsegs: 8 },
    });
    expect(r.status, r.text).toBe(200);
    expect(r.contentType).toMatch(/^application\/geo\+json/);
    // The feature without a geometry is left out; the others keep their order and attributes.
    expect(input.features).toHaveLength(6);
    expect(expected.features.map((f) => f.properties.id)).toEqual([1, 2, 3, 4, 6]);
    // Numbers may differ in the last digits: GDAL wrote 15 significant digits, the writer now the
    // shortest text that reads back as the same double.
    expect(rounded(JSON.parse(r.text))).toEqual(rounded(expected));
  });

  it("quadsegs left out is GDAL's 30, with as many vertices as the same buffer run directly with gdal-async", async () => {
    const n = 300;
    const distance = 0.001;
    const r = await execute(s.address, 'buffer', {
      inputs: { data: { value: generatePolygons(n), mediaType: GEOJSON }, distance },
    });
    expect(r.status, r.text).toBe(200);
    const out = path.join(s.dir, 'buffered.geojson');
    writeFileSync(out, r.bytes);
    const ours = countVertices(out);

    const run = async (quadsegs: number) => {
      const { stdout } = await promisify(execFile)(process.execPath, [
        FLOOR,
        String(n),
        String(quadsegs),
        String(distance),
      ]);
      return JSON.parse(stdout) as { vertices: number; features: number };
    };
    const [gdal30, gdal8] = await Promise.all([run(30), run(8)]);
    expect(ours).toEqual({ vertices: gdal30.vertices, features: n });
    expect(gdal30.features).toBe(n);
    // The counts tell quadsegs apart: a quarter circle of 30 segments per convex corner, not 8.
    expect(gdal8.vertices).toBeLessThan(gdal30.vertices * 0.5);
  });
});

describe('the default size limits', () => {
  // 10,000 polygons: about 3.2 MB, over the former defaults (1 MiB per input, 3 MiB per request).
  const text = generatePolygons(10_000);

  it('let 10,000 polygons through inline, as a JSON object (OGC API) and as XML text (WPS)', async () => {
    expect(text.length).toBeGreaterThan(3 * 1024 * 1024);
    const oaproc = await execute(s.address, 'feature-count', {
      inputs: { data: { value: JSON.parse(text) as unknown, mediaType: GEOJSON } },
    });
    expect(oaproc.status, oaproc.text).toBe(200);
    expect(Number(oaproc.text)).toBe(10_000);

    const wps = await post(
      `${s.address}/wps`,
      wpsExecute(
        'feature-count',
        `<wps:Input><ows:Identifier>data</ows:Identifier><wps:Data><wps:ComplexData mimeType="${GEOJSON}"><![CDATA[${text}]]></wps:ComplexData></wps:Data></wps:Input>`,
        '<wps:ResponseForm><wps:RawDataOutput><ows:Identifier>count</ows:Identifier></wps:RawDataOutput></wps:ResponseForm>',
      ),
    );
    expect(wps.status, wps.body).toBe(200);
    expect(Number(wps.body)).toBe(10_000);
  });
});
