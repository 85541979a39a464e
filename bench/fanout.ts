/**
 * What parallel fan-out (src/jobs/fan-out.ts) buys on this machine, and what it predicts for more
 * cores. One server process with 2 job slots publishes `buffer` and `raster-stats` twice: fanned
 * out (max_parallel 2) and whole (max_parallel 1). For each, ROUNDS times in turn, one job of each
 * alone (asynchronous, polled every 100 ms): the server-side run time (statusInfo started →
 * finished), and for the fanned-out run when its split ended and its merge began (first status
 * messages seen). Outputs are checked: buffer's bytes identical (SHA-256), raster-stats' numbers
 * (largest relative difference).
 *
 * Prediction (Amdahl): the split and merge are serial (S); the chunk phase is work W spread over
 * the slots, measured as (merge start − split end) × 2. With p cores and slots, T(p) ≈ S + W / p.
 * On a machine shared with other work the measured chunk phase includes waiting for a core, so W
 * and the predictions for many cores are upper bounds.
 *
 *   node bench/fanout.ts [POLYGONS=100000] [QUADSEGS=30] [RASTER_SIDE=8000]    ROUNDS=1
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generatePolygons } from './gdal-floor.ts';
import { startServerProcess } from '../test/helpers/server-process.ts';

const polygons = Number(process.argv[2] ?? 100_000);
const quadsegs = Number(process.argv[3] ?? 30);
const side = Number(process.argv[4] ?? 8000);
const rounds = Number(process.env.ROUNDS ?? 1);
const MIB = 1024 * 1024;

const dir = mkdtempSync(path.join(tmpdir(), 'fanout-bench-'));
const resource = (id: string, processor: string, maxParallel: number) =>
  `  ${id}:\n    type: process\n    processor: {name: ${processor}}\n    fan_out: {max_parallel: ${maxParallel}, min_bytes: 1mb}`;

/** A Float32 raster, side × side, smooth values with noise, written by GDAL's Python bindings. */
function makeRaster(file: string): void {
  const script = `
import numpy as np
from osgeo import gdal
n = ${side}
rng = np.random.default_rng(14)
ds = gdal.GetDriverByName('GTiff').Create('${file}', n, n, 1, gdal.GDT_Float32)
ds.SetGeoTransform([0, 1, 0, 0, 0, -1])
band = ds.GetRasterBand(1)
band.SetNoDataValue(-9999)
step = 512
for y in range(0, n, step):
    rows = min(step, n - y)
    yy, xx = np.mgrid[y:y + rows, 0:n]
    block = 1000 + 50 * np.sin(xx / 97.0) * np.cos(yy / 61.0) + rng.normal(0, 3, (rows, n))
    block[(xx * 7 + yy * 13) % 1009 == 0] = -9999
    band.WriteArray(block.astype(np.float32), 0, y)
ds = None
`;
  const r = spawnSync('/usr/bin/python3', ['-c', script], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`raster: ${r.stderr}`);
}

interface Run {
  seconds: number;
  /** Fanned out: seconds from start to the end of the split, and to the start of the merge. */
  splitEnd?: number;
  mergeStart?: number;
  output: Buffer;
}

async function run(base: string, processId: string, body: object, output: string): Promise<Run> {
  const res = await fetch(`${base}/processes/${processId}/execution`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', prefer: 'respond-async' },
    body: JSON.stringify({
      ...body,
      outputs: { [output]: { transmissionMode: 'reference' } },
      response: 'document',
    }),
  });
  if (res.status !== 201) throw new Error(`${processId}: ${res.status} ${await res.text()}`);
  const { jobID } = (await res.json()) as { jobID: string };
  const t0 = performance.now();
  let splitEnd: number | undefined;
  let mergeStart: number | undefined;
  for (;;) {
    const job = (await (await fetch(`${base}/jobs/${jobID}`)).json()) as {
      status: string;
      message?: string;
      started?: string;
      finished?: string;
    };
    const at = (performance.now() - t0) / 1000;
    if (splitEnd === undefined && /^split into|chunks done/.test(job.message ?? '')) splitEnd = at;
    if (mergeStart === undefined && /^merging/.test(job.message ?? '')) mergeStart = at;
    if (job.status === 'successful') {
      const seconds = (Date.parse(job.finished!) - Date.parse(job.started!)) / 1000;
      const doc = (await (await fetch(`${base}/jobs/${jobID}/results`)).json()) as Record<
        string,
        { href: string }
      >;
      const out = Buffer.from(await (await fetch(doc[output]!.href)).arrayBuffer());
      return {
        seconds,
        output: out,
        ...(splitEnd !== undefined ? { splitEnd } : {}),
        ...(mergeStart !== undefined ? { mergeStart } : {}),
      };
    }
    if (job.status !== 'accepted' && job.status !== 'running')
      throw new Error(`${processId}: ${JSON.stringify(job)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex').slice(0, 16);

function report(label: string, whole: Run[], fanned: Run[], same: string): void {
  const w = median(whole.map((r) => r.seconds));
  const f = median(fanned.map((r) => r.seconds));
  const last = fanned.at(-1)!;
  const splitEnd = last.splitEnd ?? 0;
  const mergeStart = last.mergeStart ?? last.seconds;
  const serial = splitEnd + Math.max(0, last.seconds - mergeStart);
  const work = (mergeStart - splitEnd) * 2;
  console.log(`\n## ${label}\n`);
  console.log(`| run | seconds (median of ${rounds}) |\n|---|---|`);
  console.log(`| one task | ${w.toFixed(2)} |\n| fanned out, 2 slots | ${f.toFixed(2)} |`);
  console.log(`\nspeed-up on this machine: ${(w / f).toFixed(2)}× · outputs: ${same}`);
  console.log(
    `serial (split ${splitEnd.toFixed(2)} s + merge ${(last.seconds - mergeStart).toFixed(2)} s) = ${serial.toFixed(2)} s; chunk work ≈ ${work.toFixed(2)} s`,
  );
  console.log(`\n| cores p | predicted s = S + W/p | speed-up vs one task |\n|---|---|---|`);
  for (const p of [1, 2, 4, 8, 16]) {
    const t = serial + work / p;
    console.log(`| ${p} | ${t.toFixed(2)} | ${(w / t).toFixed(2)}× |`);
  }
}

const raster = path.join(dir, 'raster.tif');
makeRaster(raster);
const server = await startServerProcess({
  processes: [],
  server: [
    '  max_request_size: 512mb',
    '  max_single_input_size: 512mb',
    `  allowed_input_paths: [${dir}]`,
    '  limits: {max_output_size: 4gb, max_job_output_size: 4gb, max_raster_bytes: 2gb}',
  ].join('\n'),
  manager: { parallel_processes: 2, sync_job_execution_timeout_seconds: 3600, job_timeout_seconds: 3600 },
  extraResources: [
    resource('buffer', 'buffer', 2),
    resource('buffer-whole', 'buffer', 1),
    resource('raster-stats', 'raster-stats', 2),
    resource('raster-stats-whole', 'raster-stats', 1),
  ],
});
try {
  console.log(`# Fan-out on ${(await import('node:os')).availableParallelism()} cores, 2 job slots`);
  const text = generatePolygons(polygons);
  const bufferBody = {
    inputs: { data: { value: text, mediaType: 'application/geo+json' }, distance: 0.001, quadsegs },
  };
  const rasterBody = {
    inputs: { raster: { href: `file://${raster}`, type: 'image/tiff; application=geotiff' } },
  };
  const results = {
    bufferWhole: [] as Run[],
    buffer: [] as Run[],
    statsWhole: [] as Run[],
    stats: [] as Run[],
  };
  for (let r = 0; r < rounds; r++) {
    results.statsWhole.push(await run(server.address, 'raster-stats-whole', rasterBody, 'stats'));
    results.stats.push(await run(server.address, 'raster-stats', rasterBody, 'stats'));
    results.bufferWhole.push(await run(server.address, 'buffer-whole', bufferBody, 'buffered'));
    results.buffer.push(await run(server.address, 'buffer', bufferBody, 'buffered'));
  }
  const wholeStats = JSON.parse(results.statsWhole[0]!.output.toString()) as {
    bands: Array<Record<string, number>>;
  };
  const fannedStats = JSON.parse(results.stats[0]!.output.toString()) as {
    bands: Array<Record<string, number>>;
  };
  let worst = 0;
  for (const key of ['min', 'max', 'sum', 'mean', 'stddev', 'count', 'nodata']) {
    const a = wholeStats.bands[0]![key]!;
    const b = fannedStats.bands[0]![key]!;
    worst = Math.max(worst, Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b)));
  }
  report(
    `raster-stats, ${side} × ${side} Float32 (${((side * side * 4) / MIB).toFixed(0)} MiB decoded)`,
    results.statsWhole,
    results.stats,
    `largest relative difference ${worst.toExponential(2)} (${JSON.stringify(fannedStats.bands[0])})`,
  );
  const a = results.bufferWhole[0]!.output;
  const b = results.buffer[0]!.output;
  report(
    `buffer, ${polygons} polygons, quadsegs ${quadsegs} (${(text.length / MIB).toFixed(1)} MiB in, ${(a.length / MIB).toFixed(0)} MiB out)`,
    results.bufferWhole,
    results.buffer,
    a.equals(b) ? `byte for byte identical (sha256 ${sha(a)})` : `DIFFERENT (${sha(a)} vs ${sha(b)})`,
  );
} finally {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
