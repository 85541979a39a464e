/**
 * The direct-GDAL floor of the buffer scenario: the same GDAL operation as processes/buffer.ts, run
 * directly in this Node script with gdal-async (no HTTP, no job system, no pool, synchronous calls
 * on the main thread): open the GeoJSON file, buffer every feature with the same distance and
 * quadrant segments, keeping the attributes, and write it as GeoJSON. Prints one
 * JSON line: median milliseconds of ROUNDS runs (bounded by SECONDS), output vertices and bytes.
 *
 *   FLOOR_INPUT=polygons.geojson FLOOR_DISTANCE=0.01 FLOOR_QUADSEGS=30 [FLOOR_ROUNDS=3 FLOOR_SECONDS=120] node bench/scenarios/buffer-floor.ts
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import gdal from 'gdal-async';
import { VertexCounter } from '../lib/geojson.ts';

const input = process.env.FLOOR_INPUT!;
const distance = Number(process.env.FLOOR_DISTANCE ?? 0.01);
const quadsegs = Number(process.env.FLOOR_QUADSEGS ?? 30);
const rounds = Number(process.env.FLOOR_ROUNDS ?? 3);
const deadline = performance.now() + Number(process.env.FLOOR_SECONDS ?? 120) * 1000;

/**
 * The operation, from input file to output file: features buffered one by one and written straight
 * to a GeoJSON file (the same operation as directBuffer of bench/gdal-floor.ts on branch
 * perf-buffer; this file stays self-contained until the two are reconciled).
 */
export function bufferFile(source: string, target: string): void {
  const input = gdal.open(source, 'r', ['GeoJSON']);
  const layer = input.layers.get(0);
  const output = gdal.open(target, 'w', 'GeoJSON');
  const out = output.layers.create('buffered', layer.srs, gdal.wkbMultiPolygon);
  for (const field of layer.fields) out.fields.add(field);
  for (let f = layer.features.first(); f; f = layer.features.next()) {
    const geometry = f.getGeometry();
    if (!geometry) continue;
    const feature = new gdal.Feature(out);
    feature.setFrom(f);
    feature.setGeometry(geometry.buffer(distance, quadsegs));
    out.features.add(feature);
  }
  output.close();
  input.close();
}

const dir = mkdtempSync(path.join(tmpdir(), 'gw-bench-floor-'));
try {
  const times: number[] = [];
  const target = path.join(dir, 'buffered.geojson');
  for (let i = 0; i < rounds && (i === 0 || performance.now() < deadline); i++) {
    rmSync(target, { force: true });
    const t = performance.now();
    bufferFile(input, target);
    times.push(performance.now() - t);
  }
  // Counted in chunks: the output of 100,000 polygons is hundreds of MiB.
  const counter = new VertexCounter();
  const fd = openSync(target, 'r');
  const chunk = Buffer.alloc(1 << 20);
  for (let n; (n = readSync(fd, chunk)) > 0;) counter.push(chunk.toString('latin1', 0, n));
  closeSync(fd);
  const sorted = [...times].sort((a, b) => a - b);
  process.stdout.write(
    `${JSON.stringify({ ms: sorted[Math.floor(sorted.length / 2)], times, vertices: counter.count, bytes: statSync(target).size })}\n`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
