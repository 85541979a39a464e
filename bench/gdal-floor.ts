/**
 * The floor for the buffer scenario (issue 11): the same GDAL operation our `buffer` process runs,
 * done directly in this process with gdal-async (no HTTP, no job, no pool, no child process):
 * open a GeoJSON file, buffer every feature by a distance with a number of segments per quarter
 * circle, write the result as GeoJSON. Also the deterministic input generator the benchmark uses.
 *
 *   node bench/gdal-floor.ts N [QUADSEGS=30] [DISTANCE=0.001]
 *
 * prints one JSON line: {"n":…, "quadsegs":…, "ms":…, "vertices":…, "features":…, "inputBytes":…}.
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as Gdal from 'gdal-async';

/**
 * A GeoJSON FeatureCollection (WGS84 longitude/latitude) of `n` small convex polygons (6 to 9
 * vertices each) on a grid, each with attributes `id` (integer) and `name` (string). The same `n`
 * always gives the same text.
 */
export function generatePolygons(n: number): string {
  const side = Math.max(1, Math.ceil(Math.sqrt(n)));
  const cell = Math.min(0.01, 100 / side); // stays within ±180/±90 for any n used here
  const radius = cell * 0.35;
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    const cx = -50 + (i % side) * cell;
    const cy = -40 + Math.floor(i / side) * cell;
    const corners = 6 + (i % 4);
    const ring: string[] = [];
    for (let k = 0; k < corners; k++) {
      const a = (2 * Math.PI * k) / corners + (i % 7) * 0.1;
      ring.push(`[${(cx + radius * Math.cos(a)).toFixed(6)},${(cy + radius * Math.sin(a)).toFixed(6)}]`);
    }
    ring.push(ring[0]!);
    parts.push(
      `{"type":"Feature","properties":{"id":${i},"name":"polygon ${i}"},` +
        `"geometry":{"type":"Polygon","coordinates":[[${ring.join(',')}]]}}`,
    );
  }
  return `{"type":"FeatureCollection","features":[${parts.join(',')}]}`;
}

/**
 * The number of positions (vertices, closing ones included) and of features in a GeoJSON file,
 * read in chunks (an output can exceed the longest string V8 makes): a position is a `[` followed
 * by a number, a feature a `"Feature"` token. Numeric arrays among the properties would count too;
 * the generated data has none.
 */
export function countVertices(file: string): { vertices: number; features: number } {
  const fd = openSync(file, 'r');
  const chunk = Buffer.allocUnsafe(1 << 20);
  const token = Buffer.from('"Feature"');
  let vertices = 0;
  let features = 0;
  let afterBracket = false;
  let tail = Buffer.alloc(0);
  try {
    for (let read = readSync(fd, chunk); read > 0; read = readSync(fd, chunk)) {
      for (let i = 0; i < read; i++) {
        const c = chunk[i]!;
        if (c === 0x5b)
          afterBracket = true; // [
        else if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue;
        else {
          if (afterBracket && (c === 0x2d || (c >= 0x30 && c <= 0x39))) vertices++; // - or digit
          afterBracket = false;
        }
      }
      const text = Buffer.concat([tail, chunk.subarray(0, read)]);
      for (let at = text.indexOf(token); at >= 0; at = text.indexOf(token, at + token.length)) features++;
      tail = Buffer.from(text.subarray(Math.max(0, text.length - token.length + 1)));
    }
  } finally {
    closeSync(fd);
  }
  return { vertices, features };
}

async function loadGdal(): Promise<typeof Gdal> {
  const m = await import('gdal-async');
  return ((m as unknown as { default?: typeof Gdal }).default ?? m) as typeof Gdal;
}

/**
 * Buffers every feature of a GeoJSON file directly with gdal-async (synchronous calls, one thread)
 * and writes GeoJSON, as the `buffer` process does. `ms` covers open, buffer and write; the
 * vertices (and features) are counted afterwards in the written GeoJSON, outside the timing.
 */
export async function directBuffer(
  geojsonPath: string,
  { distance, quadsegs }: { distance: number; quadsegs: number },
): Promise<{ ms: number; vertices: number; features: number }> {
  const gdal = await loadGdal();
  const dir = mkdtempSync(path.join(tmpdir(), 'gdal-floor-'));
  const outFile = path.join(dir, 'buffered.geojson');
  try {
    const start = performance.now();
    const input = gdal.open(geojsonPath, 'r', ['GeoJSON']);
    const layer = input.layers.get(0);
    const output = gdal.open(outFile, 'w', 'GeoJSON');
    const outLayer = output.layers.create('buffered', layer.srs, gdal.wkbMultiPolygon);
    for (const field of layer.fields) outLayer.fields.add(field);
    for (let f = layer.features.first(); f; f = layer.features.next()) {
      const geometry = f.getGeometry();
      if (!geometry) continue;
      const out = new gdal.Feature(outLayer);
      out.setFrom(f);
      out.setGeometry(geometry.buffer(distance, quadsegs));
      outLayer.features.add(out);
    }
    output.close();
    input.close();
    const ms = performance.now() - start;
    return { ms, ...countVertices(outFile) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const n = Number(process.argv[2] ?? 1000);
  const quadsegs = Number(process.argv[3] ?? 30);
  const distance = Number(process.argv[4] ?? 0.001);
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(quadsegs) || quadsegs < 1) {
    console.error('usage: node bench/gdal-floor.ts N [QUADSEGS=30] [DISTANCE=0.001]');
    process.exit(2);
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'gdal-floor-in-'));
  const file = path.join(dir, 'polygons.geojson');
  try {
    const text = generatePolygons(n);
    writeFileSync(file, text);
    const result = await directBuffer(file, { distance, quadsegs });
    console.log(
      JSON.stringify({
        n,
        peakRssBytes: process.resourceUsage().maxRSS * 1024,
        quadsegs,
        distance,
        ...result,
        ms: Math.round(result.ms * 10) / 10,
        inputBytes: text.length,
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
