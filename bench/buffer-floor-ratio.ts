/**
 * Synchronous buffer through our server against the direct-GDAL floor (bench/gdal-floor.ts), in one
 * run, interleaved: for each N, ROUNDS times, the floor (a fresh process) then one OGC API execute of
 * `buffer` with the GeoJSON inline (a JSON string value), raw GeoJSON output. Prints per N the median
 * times, their ratio, the output vertex counts of both (they must be equal) and the peak RSS of the
 * floor process, and how far the server and its GDAL child grew over their idle size (after a
 * first small job), against the input size (peaks are per process lifetime: N goes up).
 *
 *   node bench/buffer-floor-ratio.ts [N…=1000,10000,100000] [QUADSEGS=30]     [ROUNDS=3]
 */
import { execFile } from 'node:child_process';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { processMemory, startServerProcess } from '../test/helpers/server-process.ts';
import { countVertices, generatePolygons } from './gdal-floor.ts';

const FLOOR = fileURLToPath(new URL('./gdal-floor.ts', import.meta.url));
const sizes = (process.argv[2] ?? '1000,10000,100000').split(',').map(Number);
const quadsegs = Number(process.argv[3] ?? 30);
const rounds = Number(process.env.ROUNDS ?? 3);
const distance = 0.001;
const MIB = 1024 * 1024;

/** POSTs a JSON execute request and streams the (raw) answer into a file (node:http: no web streams). */
async function executeToFile(url: string, body: string, file: string): Promise<void> {
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: 'POST', headers: { 'content-type': 'application/json' } },
      resolve,
    );
    req.on('error', reject);
    req.end(body);
  });
  if (res.statusCode !== 200) {
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    throw new Error(`server: ${res.statusCode} ${Buffer.concat(chunks).toString()}`);
  }
  await pipeline(res, createWriteStream(file));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** RSS and peak RSS (VmRSS, VmHWM) of the server's children, in bytes (the GDAL child runs the buffer). */
function childrenMemory(pid: number): { rss: number; peak: number } {
  let peak = 0;
  let rss = 0;
  let children: string[];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    return { rss, peak };
  }
  for (const child of children) {
    try {
      const m = processMemory(Number(child));
      peak = Math.max(peak, m.peak);
      rss = Math.max(rss, m.rss);
    } catch {
      // gone
    }
  }
  return { rss, peak };
}

const dir = mkdtempSync(path.join(tmpdir(), 'buffer-floor-'));
const server = await startServerProcess({
  processes: ['buffer'],
  server: [
    '  max_request_size: 256mb',
    '  max_single_input_size: 256mb',
    '  limits: {max_output_size: 2gb, max_job_output_size: 2gb}',
  ].join('\n'),
  manager: { parallel_processes: 1, sync_job_execution_timeout_seconds: 600, job_timeout_seconds: 600 },
});
try {
  // A first small job starts the GDAL child: its resident size then is the base of its growth.
  const warm = path.join(dir, 'warm.geojson');
  await executeToFile(
    `${server.address}/processes/buffer/execution`,
    JSON.stringify({
      inputs: {
        data: { value: generatePolygons(10), mediaType: 'application/geo+json' },
        distance,
        quadsegs,
      },
    }),
    warm,
  );
  const childIdle = childrenMemory(server.child.pid!).rss;
  const serverIdle = server.memory().rss;
  console.log(
    `| N | input MB | floor s | server s | server/floor | vertices (floor) | vertices (server) | floor peak RSS MB | server: peak − idle MB | GDAL child: peak − idle MB | child growth / input | server growth / input |`,
  );
  console.log(`|---|---|---|---|---|---|---|---|---|---|---|---|`);
  for (const n of sizes) {
    const text = generatePolygons(n);
    const input = path.join(dir, `polygons-${n}.geojson`);
    writeFileSync(input, text);
    const body = JSON.stringify({
      inputs: { data: { value: text, mediaType: 'application/geo+json' }, distance, quadsegs },
    });
    const floor: number[] = [];
    const ours: number[] = [];
    let floorVertices = 0;
    let ourVertices = 0;
    let floorPeak = 0;
    for (let r = 0; r < rounds; r++) {
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [FLOOR, String(n), String(quadsegs), String(distance)],
        { maxBuffer: 1 << 20 },
      );
      const f = JSON.parse(stdout) as { ms: number; vertices: number; peakRssBytes: number };
      floor.push(f.ms);
      floorVertices = f.vertices;
      floorPeak = Math.max(floorPeak, f.peakRssBytes);

      const out = path.join(dir, `out-${n}.geojson`);
      const start = performance.now();
      await executeToFile(`${server.address}/processes/buffer/execution`, body, out);
      ours.push(performance.now() - start);
      ourVertices = countVertices(out).vertices;
      rmSync(out);
    }
    const f = median(floor) / 1000;
    const s = median(ours) / 1000;
    const child = childrenMemory(server.child.pid!).peak - childIdle;
    const main = server.memory().peak - serverIdle;
    console.log(
      `| ${n} | ${(text.length / MIB).toFixed(1)} | ${f.toFixed(2)} | ${s.toFixed(2)} | ${(s / f).toFixed(2)} | ${floorVertices} | ${ourVertices} | ${(floorPeak / MIB).toFixed(0)} | ${(main / MIB).toFixed(0)} | ${(child / MIB).toFixed(0)} | ${(child / text.length).toFixed(1)} | ${(main / text.length).toFixed(1)} |`,
    );
  }
} finally {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
