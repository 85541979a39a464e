/**
 * What scaling out buys (issue 13): accepted and completed asynchronous jobs per second, measured
 * in one run, through real servers (separate processes) over HTTP (OGC API - Processes, `sleep`
 * with 0 s: the job system's own cost, not a processor's):
 * - SQLite: one instance (role all), its own store;
 * - PostgreSQL, one node: one instance (role all) on a durable PostgreSQL (fsync on);
 * - PostgreSQL, two workers: one API instance taking the jobs, two worker nodes running them;
 * and the shared queue alone: claims per second and claim latency of the PostgreSQL store with 1
 * and 4 concurrent claimers (FOR UPDATE SKIP LOCKED; under a cluster cap, with the advisory lock).
 *
 *   bash .ci/setup.sh node bench/cluster.ts        [JOBS=400 CONCURRENCY=16 PARALLEL=2]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PgJobStore } from '../src/jobs/pg-store.ts';
import { startPostgres } from '../test/helpers/postgres.ts';
import { startServerProcess, type ServerProcess } from '../test/helpers/server-process.ts';

const JOBS = Number(process.env.JOBS ?? 400);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 16);
const PARALLEL = Number(process.env.PARALLEL ?? 2);

interface Figures {
  setup: string;
  acceptedPerSecond: number;
  completedPerSecond: number;
}

async function counts(base: string): Promise<{ accepted: number; running: number }> {
  const r = await fetch(`${base}/health`);
  return ((await r.json()) as { jobs: { accepted: number; running: number } }).jobs;
}

/** Submits JOBS jobs to `api` (CONCURRENCY at a time), then waits until none is waiting or running. */
async function measure(setup: string, api: string): Promise<Figures> {
  // Warm up: a few jobs through the whole path.
  await submitAll(api, 8);
  await drained(api);
  const t0 = performance.now();
  await submitAll(api, JOBS);
  const accepted = performance.now();
  await drained(api);
  const completed = performance.now();
  const figures = {
    setup,
    acceptedPerSecond: Math.round(JOBS / ((accepted - t0) / 1000)),
    completedPerSecond: Math.round(JOBS / ((completed - t0) / 1000)),
  };
  process.stderr.write(`${JSON.stringify(figures)}\n`);
  return figures;
}

async function submitAll(api: string, n: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < n) {
        next++;
        const r = await fetch(`${api}/processes/sleep/execution`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Prefer: 'respond-async' },
          body: JSON.stringify({ inputs: { seconds: 0 } }),
        });
        await r.arrayBuffer();
        if (r.status !== 201) throw new Error(`submission answered ${r.status}`);
      }
    }),
  );
}

async function drained(api: string): Promise<void> {
  for (;;) {
    const { accepted, running } = await counts(api);
    if (accepted + running === 0) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

const manager = (extra: Record<string, string | number>) => ({
  parallel_processes: PARALLEL,
  max_queued_jobs: JOBS * 2,
  ...extra,
});

const results: Figures[] = [];
const postgres = await startPostgres({ durable: true });
const shared = mkdtempSync(path.join(tmpdir(), 'gw-bench-cluster-'));
const started: ServerProcess[] = [];
try {
  // SQLite, one instance.
  const sqlite = await startServerProcess({ prefix: 'gw-bench-sqlite-', manager: manager({}) });
  started.push(sqlite);
  results.push(await measure('SQLite, one instance', sqlite.address));
  await sqlite.stop();

  // PostgreSQL, one instance running its jobs.
  const onePg = manager({
    name: 'PostgreSQL',
    connection: await postgres.createDatabase('bench_one'),
    poll_seconds: 1,
  });
  const one = await startServerProcess({ prefix: 'gw-bench-pg1-', manager: onePg });
  started.push(one);
  results.push(await measure('PostgreSQL, one instance', one.address));
  await one.stop();

  // PostgreSQL, one API instance and two workers on a shared folder.
  const cluster = manager({
    name: 'PostgreSQL',
    connection: await postgres.createDatabase('bench_two'),
    work_dir: path.join(shared, 'work'),
    output_dir: path.join(shared, 'outputs'),
    poll_seconds: 1,
  });
  const api = await startServerProcess({
    prefix: 'gw-bench-api-',
    manager: cluster,
    args: ['--role', 'api'],
  });
  started.push(api);
  const workers = await Promise.all(
    [1, 2].map(() =>
      startServerProcess({ prefix: 'gw-bench-worker-', manager: cluster, args: ['--role', 'worker'] }),
    ),
  );
  started.push(...workers);
  results.push(await measure('PostgreSQL, API instance + two workers', api.address));
  await Promise.all([api, ...workers].map((s) => s.stop()));

  // The queue alone: claims per second and their latency.
  const connection = await postgres.createDatabase('bench_queue');
  for (const cap of [0, 1_000_000]) {
    for (const claimers of [1, 4]) {
      const stores = await Promise.all(
        Array.from({ length: claimers }, () => PgJobStore.open({ connection, maxRunning: cap })),
      );
      const n = 2000;
      for (let i = 0; i < n; i++) {
        await stores[0]!.insert({
          id: crypto.randomUUID(),
          processId: 'p',
          mode: 'sync', // no flush per insert: the claims are measured here
          created: new Date(),
          request: { processId: 'p', inputs: {}, outputs: {}, outputsSelected: false },
        });
      }
      const latencies: number[] = [];
      const t0 = performance.now();
      await Promise.all(
        stores.map(async (s) => {
          for (;;) {
            const c0 = performance.now();
            const job = await s.claimNext(new Date());
            if (!job) return;
            latencies.push(performance.now() - c0);
          }
        }),
      );
      const seconds = (performance.now() - t0) / 1000;
      latencies.sort((a, b) => a - b);
      const q = (p: number) => latencies[Math.floor(p * (latencies.length - 1))]!.toFixed(2);
      process.stderr.write(
        `${JSON.stringify({ queue: cap ? 'SKIP LOCKED + cluster cap (advisory lock)' : 'SKIP LOCKED', claimers, claimsPerSecond: Math.round(latencies.length / seconds), p50ms: q(0.5), p99ms: q(0.99) })}\n`,
      );
      await stores[0]!.pool.query('DELETE FROM jobs');
      await Promise.all(stores.map((s) => s.close()));
    }
  }
} finally {
  await Promise.all(started.map((s) => s.stop().catch(() => undefined)));
  await postgres.stop();
  rmSync(shared, { recursive: true, force: true });
}
const base = results[0]!;
for (const r of results) {
  process.stdout.write(
    `${r.setup.padEnd(42)} accepted ${String(r.acceptedPerSecond).padStart(5)}/s  completed ${String(r.completedPerSecond).padStart(5)}/s  (${(r.completedPerSecond / base.completedPerSecond).toFixed(2)}× SQLite)\n`,
  );
}
