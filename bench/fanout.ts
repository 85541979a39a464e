/**
 * What parallel fan-out (src/jobs/fan-out.ts) buys on this machine, and what it predicts for more
 * cores. One server process with 2 job slots publishes `buffer` and `raster-stats` twice: fanned
 * out (max_parallel 2) and whole (max_parallel 1). For each, ROUNDS times in turn, one job of each
 * alone (asynchronous, polled every 100 ms): the server-side run time (statusInfo started →
 * finished), and for the fanned-out run when its split ended and its merge began (first status
 * messages seen). Outputs are checked: buffer's bytes identical (SHA-256), raster-stats' numbers
 * (largest relative difference).
 *
 * Also the CPU seconds of the server's child processes (where every step runs) for each job: on a
 * machine shared with other work, wall time includes waiting for a core, CPU time does not.
 *
 * Prediction (Amdahl with a per-chunk cost): the split and merge are serial (S, wall time from the
 * job's start to the split's end, input handling included, and of the merge, from the status
 * messages); the chunks' work W is the children's CPU time between the two, of which each chunk
 * also pays a fixed cost c that does not shrink with more chunks (buffer: every chunk opens the
 * whole input, as the split does, so c ≈ the split's time; raster-stats: chunks read only their
 * rows, c ≈ 0). With p idle cores, p slots and p chunks: T(p) ≈ S + (W − 2c) / p + c.
 * Rounds alternate which run goes first; medians are reported. On a machine shared with other
 * work the phases include waiting for a core, so the predictions are rough.
 *
 *   node bench/fanout.ts [POLYGONS=100000] [QUADSEGS=30] [RASTER_SIDE=8000]    ROUNDS=1
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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

/**
 * CPU seconds (user + system) of the server's child processes so far, by pid: the GDAL children
 * run every step of these jobs. Contention-proof where wall time is not.
 */
function childrenCpu(pid: number): Map<number, number> {
  const cpu = new Map<number, number>();
  let children: string[];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    return cpu;
  }
  for (const child of children) {
    try {
      // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
      const fields = readFileSync(`/proc/${child}/stat`, 'utf8').split(') ')[1]!.split(' ');
      cpu.set(Number(child), (Number(fields[11]) + Number(fields[12])) / 100);
    } catch {
      // gone
    }
  }
  return cpu;
}

const cpuSince = (before: Map<number, number>, after: Map<number, number>) =>
  [...after].reduce((sum, [pid, t]) => sum + t - (before.get(pid) ?? 0), 0);

let serverPid = 0;

interface Run {
  seconds: number;
  /** CPU seconds the server's children spent on the job, and on its chunks (fanned out). */
  cpu: number;
  chunkCpu?: number;
  /** Fanned out: seconds from start to the end of the split, and to the start of the merge. */
  splitEnd?: number;
  mergeStart?: number;
  /** SHA-256 of the output (prefix), its size, and its text when small (statistics). */
  digest: string;
  bytes: number;
  text?: string;
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
  const cpuBefore = childrenCpu(serverPid);
  const t0 = performance.now();
  let splitEnd: number | undefined;
  let mergeStart: number | undefined;
  let cpuAtSplit = 0;
  let cpuAtMerge = 0;
  for (;;) {
    const job = (await (await fetch(`${base}/jobs/${jobID}`)).json()) as {
      status: string;
      message?: string;
      started?: string;
      finished?: string;
    };
    const at = (performance.now() - t0) / 1000;
    if (splitEnd === undefined && /^split into|chunks done/.test(job.message ?? '')) {
      splitEnd = at;
      cpuAtSplit = cpuSince(cpuBefore, childrenCpu(serverPid));
    }
    if (mergeStart === undefined && /^merging/.test(job.message ?? '')) {
      mergeStart = at;
      cpuAtMerge = cpuSince(cpuBefore, childrenCpu(serverPid));
    }
    if (job.status === 'successful') {
      const seconds = (Date.parse(job.finished!) - Date.parse(job.started!)) / 1000;
      const cpu = cpuSince(cpuBefore, childrenCpu(serverPid));
      const doc = (await (await fetch(`${base}/jobs/${jobID}/results`)).json()) as Record<
        string,
        { href: string }
      >;
      const out = Buffer.from(await (await fetch(doc[output]!.href)).arrayBuffer());
      const kept = {
        digest: sha(out),
        bytes: out.length,
        ...(out.length < MIB ? { text: out.toString() } : {}),
      };
      return {
        seconds,
        cpu,
        ...kept,
        ...(splitEnd !== undefined ? { splitEnd } : {}),
        ...(mergeStart !== undefined ? { mergeStart } : {}),
        ...(splitEnd !== undefined && mergeStart !== undefined ? { chunkCpu: cpuAtMerge - cpuAtSplit } : {}),
      };
    }
    if (job.status !== 'accepted' && job.status !== 'running')
      throw new Error(`${processId}: ${JSON.stringify(job)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex').slice(0, 16);

function report(label: string, whole: Run[], fanned: Run[], same: string, perChunkOpen: boolean): void {
  const w = median(whole.map((r) => r.seconds));
  const f = median(fanned.map((r) => r.seconds));
  const wCpu = median(whole.map((r) => r.cpu));
  const fCpu = median(fanned.map((r) => r.cpu));
  const split = median(fanned.map((r) => r.splitEnd ?? 0));
  const merge = median(fanned.map((r) => Math.max(0, r.seconds - (r.mergeStart ?? r.seconds))));
  const serial = split + merge;
  // The chunks' CPU work: the children's CPU between the end of the split and the start of the
  // merge (sampled when the status messages are first seen, every 100 ms).
  const work = median(fanned.map((r) => r.chunkCpu ?? Math.max(0, r.cpu - serial)));
  const fixed = perChunkOpen ? split : 0;
  const all = (runs: Run[], key: 'seconds' | 'cpu') => runs.map((r) => r[key].toFixed(2)).join(', ');
  console.log(`\n## ${label}\n`);
  console.log(`| run | wall s (median of ${rounds}) | all rounds | CPU s (median) | all rounds |`);
  console.log(`|---|---|---|---|---|`);
  console.log(
    `| one task | ${w.toFixed(2)} | ${all(whole, 'seconds')} | ${wCpu.toFixed(2)} | ${all(whole, 'cpu')} |`,
  );
  console.log(
    `| fanned out, 2 slots | ${f.toFixed(2)} | ${all(fanned, 'seconds')} | ${fCpu.toFixed(2)} | ${all(fanned, 'cpu')} |`,
  );
  console.log(
    `\nwall-clock speed-up on this machine: ${(w / f).toFixed(2)}×; CPU cost of fanning out: ${(fCpu / wCpu).toFixed(2)}×`,
  );
  console.log(`outputs: ${same}`);
  console.log(
    `serial S = split ${split.toFixed(2)} s + merge ${merge.toFixed(2)} s = ${serial.toFixed(2)} s; chunk CPU work W ≈ ${work.toFixed(2)} s; per-chunk cost c ≈ ${fixed.toFixed(2)} s`,
  );
  console.log(
    `\n| cores p (p chunks at once) | predicted s = S + (W − 2c)/p + c | speed-up vs one task on one idle core (${wCpu.toFixed(2)} s CPU) |\n|---|---|---|`,
  );
  for (const p of [1, 2, 4, 8, 16]) {
    const t = serial + Math.max(0, work - 2 * fixed) / p + fixed;
    console.log(`| ${p} | ${t.toFixed(2)} | ${(wCpu / t).toFixed(2)}× |`);
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
serverPid = server.child.pid!;
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
  // Warm-up: both GDAL children started, the raster in the page cache.
  await run(server.address, 'raster-stats', rasterBody, 'stats');
  for (let r = 0; r < rounds; r++) {
    const pairs: Array<[Run[], string, object, string]> = [
      [results.statsWhole, 'raster-stats-whole', rasterBody, 'stats'],
      [results.stats, 'raster-stats', rasterBody, 'stats'],
      [results.bufferWhole, 'buffer-whole', bufferBody, 'buffered'],
      [results.buffer, 'buffer', bufferBody, 'buffered'],
    ];
    // Odd rounds: the fanned-out run of each pair first.
    for (const i of r % 2 === 0 ? [0, 1, 2, 3] : [1, 0, 3, 2]) {
      const [into, id, body, output] = pairs[i]!;
      into.push(await run(server.address, id, body, output));
    }
  }
  const wholeStats = JSON.parse(results.statsWhole[0]!.text!) as {
    bands: Array<Record<string, number>>;
  };
  const fannedStats = JSON.parse(results.stats[0]!.text!) as {
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
    false,
  );
  const digests = new Set([...results.bufferWhole, ...results.buffer].map((r) => r.digest));
  const a = results.bufferWhole[0]!;
  report(
    `buffer, ${polygons} polygons, quadsegs ${quadsegs} (${(text.length / MIB).toFixed(1)} MiB in, ${(a.bytes / MIB).toFixed(0)} MiB out)`,
    results.bufferWhole,
    results.buffer,
    digests.size === 1
      ? `byte for byte identical in every run (sha256 ${a.digest})`
      : `DIFFERENT: ${[...digests].join(', ')}`,
    true,
  );
} finally {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
