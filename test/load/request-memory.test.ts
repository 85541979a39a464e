/**
 * Memory of request handling: a large complex input (about 30 MB of GeoJSON, or a GeoTIFF as long
 * in base64) through OGC API execute (a JSON string, a JSON object) and WPS Execute (CDATA, base64)
 * makes the server's main process grow by at most 4× the data at its peak. Each path gets a fresh
 * server process (helpers/request-memory.ts: VmHWM reset after a warm-up, then read after the request).
 *
 * Measured (Node 24, 2-core machine, 30.5 MB data): 2.0-2.2× for the GeoJSON paths, 2.5× and 2.7×
 * for base64 (the decoded bytes come on top of the text); before this was bounded, 4.3× (JSON
 * string), 7.4× (CDATA), 5.5× and 40× (base64), and the JSON object was refused. 4× leaves room
 * for the garbage collector's timing (it is not forced anywhere) and still fails on any copy or
 * tree of the whole input coming back.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { geotiff, measureRequest } from '../helpers/request-memory.ts';

const BOUND = 4;
const MIB = 1024 * 1024;

/** A FeatureCollection of n octagons (deterministic). */
function polygons(n: number): string {
  const features: string[] = [];
  for (let i = 0; i < n; i++) {
    const [cx, cy] = [-50 + (i % 300) * 0.01, -40 + Math.floor(i / 300) * 0.01];
    const ring = Array.from({ length: 9 }, (_, k) => {
      const a = (2 * Math.PI * (k % 8)) / 8;
      return `[${(cx + 0.004 * Math.cos(a)).toFixed(6)},${(cy + 0.004 * Math.sin(a)).toFixed(6)}]`;
    });
    features.push(
      `{"type":"Feature","properties":{"id":${i}},"geometry":{"type":"Polygon","coordinates":[[${ring.join(',')}]]}}`,
    );
  }
  return `{"type":"FeatureCollection","features":[${features.join(',')}]}`;
}

let dir: string;
let geojson: string;
let tiff: string;
let smallTiff: string;
const small = polygons(3);

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'request-memory-test-'));
  geojson = polygons(100_000);
  tiff = geotiff(dir, Math.round((geojson.length * 3) / 4)).toString('base64');
  smallTiff = geotiff(dir, 4096).toString('base64');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the main process grows by at most 4× a large complex input while it takes it', () => {
  for (const name of ['oaproc-string', 'oaproc-object', 'wps-cdata', 'wps-base64']) {
    it(name, { timeout: 120_000 }, async () => {
      const binary = name.endsWith('base64');
      const data = binary ? tiff : geojson;
      expect(data.length).toBeGreaterThan(20 * MIB);
      const m = await measureRequest(name, binary ? smallTiff : small, data);
      expect(m.status, m.answer).toBe(200);
      // The job really read the data: every feature counted, every pixel measured.
      expect(m.answer).toMatch(binary ? /"count":\s*\d{6,}/ : /^100000$/);
      const ratio = m.growth / data.length;
      console.log(
        `${name}: ${(data.length / MIB).toFixed(1)} MB data, growth ${(m.growth / MIB).toFixed(0)} MB = ${ratio.toFixed(2)}×`,
      );
      expect(ratio).toBeLessThanOrEqual(BOUND);
    });
  }
});
