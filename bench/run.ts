/**
 * The benchmark of record (issue 11): starts the gateway, PyWPS 4.5 under gunicorn and the floors
 * on loopback, runs the chosen scenarios interleaved against them, prints one markdown table per
 * scenario with ratios to PyWPS and to the floor and PASS/MISS per target, and writes
 * bench/results/latest.md and latest.json. Every process it starts is stopped by its PID, also on
 * Ctrl-C and on errors. See bench/README.md.
 *
 *   npm run bench                       # bash bench/setup.sh && node bench/run.ts
 *   QUICK=1 SCENARIOS=1,2 node bench/run.ts
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { env, type Context, type Knobs, type Scenario } from './lib/context.ts';
import { polygons } from './lib/geojson.ts';
import { pywpsVersion, ROOT, startGateway, startPywps, type Settings } from './lib/peers.ts';
import { sampleRss, stopAll, stopOnExit } from './lib/processes.ts';
import { mib, Report } from './lib/table.ts';
import { asyncJobs } from './scenarios/async.ts';
import { buffer } from './scenarios/buffer.ts';
import { cache } from './scenarios/cache.ts';
import { cap } from './scenarios/cap.ts';
import { memory, runPeak } from './scenarios/memory.ts';
import { metadata } from './scenarios/metadata.ts';
import { robustness } from './scenarios/robustness.ts';
import { syncHello } from './scenarios/sync-hello.ts';

const ALL: Scenario[] = [metadata, syncHello, buffer, asyncJobs, cap, memory, robustness, cache];

const quick = process.env.QUICK === '1' || process.env.QUICK === 'true';
const knobs: Knobs = {
  quick,
  duration: env.number('DURATION', quick ? 3 : 10),
  connections: env.number('CONNECTIONS', 8),
  rounds: env.number('ROUNDS', quick ? 1 : 3),
};
const wanted = (process.env.SCENARIOS ?? ALL.map((s) => s.id).join(','))
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const unknown = wanted.filter((id) => !ALL.some((s) => s.id === id));
if (unknown.length) throw new Error(`SCENARIOS: unknown ${unknown.join(', ')} (1–${ALL.length})`);
const scenarios = ALL.filter((s) => wanted.includes(s.id));

// Both servers accept the largest buffer input: twice it, at least PyWPS's default 3 MiB.
const largestN = Math.max(
  10,
  ...(process.env.BUFFER_N ?? (quick ? '10,1000' : '10,1000,10000,100000'))
    .split(',')
    .map(Number)
    .filter(Number.isFinite),
);
const largestInput = polygons(largestN).length;
const dir = mkdtempSync(path.join(tmpdir(), 'gw-bench-'));
const settings: Settings = {
  pool: env.number('POOL', availableParallelism()),
  queue: env.number('QUEUE', 1000),
  maxRequestSize: Math.max(3 * 2 ** 20, 2 * largestInput),
  maxInputSize: Math.max(3 * 2 ** 20, 2 * largestInput),
  workers: env.number('WORKERS', availableParallelism()),
  dir,
};

const version = (cmd: string, args: string[]) =>
  spawnSync(cmd, args, { encoding: 'utf8' }).stdout?.trim().split('\n')[0] ?? '?';

stopOnExit();
try {
  const gateway = await startGateway(settings);
  const pywps = await startPywps(settings);
  const sampler = sampleRss(gateway.pid, 200);
  runPeak.read = () => sampler.peak();
  const command = [
    ...[
      'QUICK',
      'SCENARIOS',
      'DURATION',
      'CONNECTIONS',
      'ROUNDS',
      'POOL',
      'QUEUE',
      'BUFFER_N',
      'BUFFER_PEER_N',
      'JOBS',
      'CACHE_N',
    ]
      .filter((k) => process.env[k] !== undefined)
      .map((k) => `${k}=${process.env[k]}`),
    'node bench/run.ts',
  ].join(' ');
  const report = new Report([
    `\`${command}\` on ${new Date().toISOString()}${quick ? ' (QUICK: short measurements, noisy)' : ''}.`,
    '',
    `Machine: ${cpus()[0]?.model ?? '?'}, ${availableParallelism()} cores, ${mib(totalmem())} RAM, load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')} at the start (a shared machine: compare ratios, not absolute figures). ` +
      `Node ${process.version}; PyWPS ${pywpsVersion()} under gunicorn (${version('gunicorn', ['--version'])}) with ${settings.workers} workers; ${version('gdalinfo', ['--version'])}; ${version('wrk', ['-v'])}.`,
    '',
    `Both servers: pool ${settings.pool} (parallel_processes = parallelprocesses), queue ${settings.queue} (max_queued_jobs = maxprocesses), ` +
      `request and single-input size ${mib(settings.maxRequestSize)} (max_request_size = maxrequestsize, max_single_input_size = maxsingleinputsize). Loopback only.`,
  ]);
  process.stdout.write(`${report.header.join('\n')}\n`);
  const ctx: Context = { settings, knobs, gateway, pywps, report };
  for (const s of scenarios) {
    process.stderr.write(`[bench] ${s.title} …\n`);
    const t = performance.now();
    try {
      await s.run(ctx);
    } catch (e) {
      report.add({
        id: s.id,
        title: s.title,
        notes: [`FAILED: ${(e as Error).stack ?? String(e)}`],
        columns: [],
        rows: [],
        targets: [],
        data: { error: String(e) },
      });
    }
    process.stderr.write(`[bench] ${s.title} done in ${((performance.now() - t) / 1000).toFixed(0)} s\n`);
  }
  sampler.stop();
  const files = report.write(path.resolve(ROOT, process.env.RESULTS_DIR ?? 'bench/results'));
  process.stdout.write(`\nWritten: ${path.relative(ROOT, files.md)}, ${path.relative(ROOT, files.json)}\n`);
} finally {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
}
