/**
 * What isolating GDAL jobs in child processes costs (issue 15, finding 5), against the design it
 * replaced (one piscina thread running every GDAL task, several at a time), measured in one run on
 * the same inputs through the same task code (src/jobs/worker.ts):
 * - cold start: the first task of a fresh pool (thread or child start, GDAL and processor load);
 * - warm tasks one after another, and P at a time (P = PARALLEL);
 * - memory: the proportional set size of the children, against the RSS the thread added to this
 *   process.
 * Processes: area (50 polygons) and buffer (3 points), as the job manager hands them over.
 *
 * Prints one JSON line (scenario 7 of bench/run.ts reads it).
 *
 *   node bench/scenarios/robustness/gdal-isolation.ts        [ROUNDS=40 PARALLEL=2 ORDER=reverse]
 */
import { DEFAULT_LIMITS } from '../../../src/core/limits.ts';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { resolveOutputs } from '../../../src/core/execute.ts';
import { OwsError } from '../../../src/core/errors.ts';
import type { ProcessInputs, RawInputs, StoredOutputs } from '../../../src/core/values.ts';
import { validateInputs } from '../../../src/core/validate.ts';
import { ChildProcessRunner } from '../../../src/jobs/child-runner.ts';
import { JobFiles } from '../../../src/jobs/files.ts';
import type { TaskControl } from '../../../src/jobs/pool.ts';
import type { TaskSpec, WorkerResult } from '../../../src/jobs/task.ts';
import { loadRegistry } from '../../../src/registry/registry.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ROUNDS = Number(process.env.ROUNDS ?? 40);
const PARALLEL = Number(process.env.PARALLEL ?? 2);
process.env.UV_THREADPOOL_SIZE ??= String(Math.max(4, PARALLEL + 2)); // as src/cli.ts does

const square = (x: number, y: number) =>
  `{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[${x},${y}],[${x + 0.5},${y}],[${x + 0.5},${y + 0.5}],[${x},${y + 0.5}],[${x},${y}]]]}}`;
const polygons = `{"type":"FeatureCollection","features":[${Array.from({ length: 50 }, (_, i) => square(i % 10, Math.floor(i / 10))).join(',')}]}`;
const points = readFileSync(path.join(ROOT, 'examples/places.geojson'), 'utf8');
const geojson = (data: string) => ({
  type: 'complex' as const,
  data,
  mimeType: 'application/geo+json',
});
const literal = (value: string) => ({ type: 'literal' as const, value });

const dir = mkdtempSync(path.join(tmpdir(), 'gw-bench-gdal-'));
const files = new JobFiles(path.join(dir, 'work'), path.join(dir, 'outputs'));
const registry = await loadRegistry({
  processes: [
    { id: 'area', processor: 'area' },
    { id: 'buffer', processor: 'buffer' },
  ],
  baseDir: ROOT,
  syncEnabled: true,
  asyncEnabled: true,
});

/** A task as the job manager builds it (inputs validated and placed in the job's folder). */
async function task(processId: string, raw: RawInputs): Promise<TaskSpec> {
  const entry = registry.get(processId);
  if (entry.location.kind !== 'local') throw new Error(`${processId} is not a local process`);
  const jobId = randomUUID();
  const inputs = validateInputs(entry.description, raw);
  return {
    jobId,
    modulePath: entry.location.modulePath,
    inputs: (await files.prepare(jobId, inputs, 64 * 1024)) as ProcessInputs,
    limits: DEFAULT_LIMITS,
    outputs: resolveOutputs(entry.description, undefined),
    outputDescriptions: entry.description.outputs,
    workDir: files.workDir(jobId),
    outputDir: files.outputDir(jobId),
  };
}

const control = (): TaskControl => ({
  signal: new AbortController().signal,
  onProgress: () => undefined,
  onLog: () => undefined,
});

type Run = (spec: TaskSpec) => Promise<StoredOutputs>;

/** The replaced design: one piscina thread, PARALLEL tasks at a time (as src/jobs/pool.ts had it). */
function threadDesign(): { run: Run; close: () => Promise<void>; rss: () => number } {
  const before = process.memoryUsage.rss();
  const pool = new Piscina({
    filename: new URL('../../../src/jobs/worker.ts', import.meta.url).href,
    minThreads: 1,
    maxThreads: 1,
    concurrentTasksPerWorker: PARALLEL,
    idleTimeout: Infinity,
  });
  return {
    async run(spec) {
      const { port1, port2 } = new MessageChannel();
      port1.on('message', () => undefined);
      try {
        const result = (await pool.run({ ...spec, port: port2 }, { transferList: [port2] })) as WorkerResult;
        if (!result.ok) throw OwsError.fromJSON(result.error);
        return result.outputs;
      } finally {
        port1.close();
      }
    },
    close: () => pool.destroy(),
    // What the thread added to this process.
    rss: () => process.memoryUsage.rss() - before,
  };
}

function childDesign(): { run: Run; close: () => Promise<void>; rss: () => number } {
  const runner = new ChildProcessRunner({
    runtime: 'gdal',
    label: 'GDAL',
    size: PARALLEL,
    cancelGraceMs: 1000,
  });
  return {
    run: (spec) => runner.run(spec, 'gdal', control()),
    close: () => runner.close(),
    // Proportional set size: shared library pages are counted once across the children.
    rss: () =>
      runner.pids.reduce((sum, pid) => {
        const status = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
        return sum + Number(/^Pss:\s+(\d+)/m.exec(status)?.[1] ?? 0) * 1024;
      }, 0),
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Figures {
  sequential: number;
  concurrent: number;
}

type Design = { run: Run; close: () => Promise<void>; rss: () => number };

const time = async (f: () => Promise<unknown>) => {
  const t = performance.now();
  await f();
  return performance.now() - t;
};

async function measure(d: Design, processId: string, raw: RawInputs): Promise<Figures> {
  // Warm every slot (the processor module loaded everywhere), then measure.
  await Promise.all(Array.from({ length: PARALLEL }, async () => d.run(await task(processId, raw))));
  const sequential: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const spec = await task(processId, raw);
    sequential.push(await time(() => d.run(spec)));
  }
  const specs = await Promise.all(Array.from({ length: ROUNDS }, () => task(processId, raw)));
  const concurrent = await time(async () => {
    let next = 0;
    await Promise.all(
      Array.from({ length: PARALLEL }, async () => {
        while (next < specs.length) await d.run(specs[next++]!);
      }),
    );
  });
  return { sequential: median(sequential), concurrent: concurrent / ROUNDS };
}

try {
  const cases: Array<[string, string, RawInputs]> = [
    ['area, 50 polygons', 'area', { data: [geojson(polygons)] }],
    ['buffer, 3 points', 'buffer', { data: [geojson(points)], distance: [literal('0.1')] }],
  ];
  const rows: Array<{
    design: string;
    process: string;
    coldMs: number;
    sequentialMs: number;
    concurrentMs: number;
  }> = [];
  const rss: Record<string, number> = {};
  const designs = [
    ['thread', threadDesign],
    ['child', childDesign],
  ] as const;
  for (const [label, make] of process.env.ORDER === 'reverse' ? [...designs].reverse() : designs) {
    const d = make();
    try {
      const cold = await time(async () => d.run(await task('area', cases[0]![2])));
      for (const [name, processId, raw] of cases) {
        const f = await measure(d, processId, raw);
        rows.push({
          design: label,
          process: name,
          coldMs: cold,
          sequentialMs: f.sequential,
          concurrentMs: f.concurrent,
        });
      }
      rss[label] = d.rss();
    } finally {
      await d.close();
    }
  }
  // A child's start alone: fork, Node start-up, IPC ready (no GDAL, no processor).
  const starts: number[] = [];
  for (let i = 0; i < 5; i++) {
    const runner = new ChildProcessRunner({ runtime: 'gdal', label: 'GDAL', size: 1, cancelGraceMs: 1000 });
    const spec = await task('area', cases[0]![2]);
    // An unknown module fails at import, after the child is ready: start-up plus one IPC round trip.
    starts.push(
      await time(() =>
        runner
          .run({ ...spec, modulePath: path.join(dir, 'none.ts') }, 'gdal', control())
          .catch(() => undefined),
      ),
    );
    await runner.close();
  }
  process.stdout.write(
    `${JSON.stringify({ rounds: ROUNDS, parallel: PARALLEL, rows, rssBytes: rss, childStartMs: median(starts) })}\n`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
