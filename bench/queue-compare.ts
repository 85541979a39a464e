/**
 * Which shared queue (issue 13), by measurement, in one run on one machine: our PostgreSQL job store
 * (`FOR UPDATE SKIP LOCKED`, src/jobs/pg-store.ts), pg-boss on the same PostgreSQL, and BullMQ on
 * Redis. Interleaved per round and consumer count:
 * - enqueue/s: N jobs stored durably by C concurrent producers (each call answered once committed);
 * - claim/s and claim latency (p50/p99): C consumers claim and complete jobs until none is left;
 * - failure: a consumer process holding a job is killed (SIGKILL, by its PID); the time until a
 *   live consumer gets that job again, with each queue's liveness settings stated in the table.
 *
 * Durability, the same for all: PostgreSQL with fsync and synchronous_commit on (the defaults);
 * Redis with `--appendonly yes --appendfsync always` (fsync before each write is answered; `everysec`
 * can lose the last second of accepted jobs, which our jobs must not), no RDB snapshots.
 *
 *   node bench/queue-compare.ts               [N=2000 ROUNDS=1 QUICK=1 REDIS_FSYNC=always]
 *
 * Prints a markdown table and writes bench/results/queue-compare.md. Not part of `npm test`.
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { PgBoss } from 'pg-boss';
import { PgJobStore } from '../src/jobs/pg-store.ts';
import { startPostgres } from '../test/helpers/postgres.ts';
import { freePort, HOST } from './lib/ports.ts';
import { start, stop, stopAll, stopOnExit } from './lib/processes.ts';
import { markdownTable, ms, num, ratio } from './lib/table.ts';

const QUICK = process.env.QUICK === '1' || process.env.QUICK === 'true';
const N = Number(process.env.N ?? (QUICK ? 500 : 2000));
const ROUNDS = Number(process.env.ROUNDS ?? 1);
const CONSUMERS = [1, 4];
const REDIS_FSYNC = process.env.REDIS_FSYNC ?? 'always';
const QUEUE = 'bench';
/** The liveness settings of the failure measurement, as close as each queue allows. */
const LEASE_MS = 2000;
const CHECK_MS = 1000;
const PGBOSS_HEARTBEAT_S = 10; // pg-boss refuses heartbeatSeconds < 10
const RECOVERY_DEADLINE_MS = 60_000;

/** One consumer: claims the next job (its id) or nothing, and completes a claimed job. */
interface Consumer {
  claim(): Promise<string | undefined>;
  complete(id: string): Promise<void>;
  close(): Promise<void>;
}

interface Variant {
  name: string;
  durability: string;
  liveness: string;
  enqueue(i: number): Promise<void>;
  consumer(): Promise<Consumer>;
  /** Empties the queue between measurements. */
  reset(): Promise<void>;
  /** A live consumer that gets a job of a killed consumer back (calls `onJob` for every claim). */
  rescuer(): Promise<{ claim(): Promise<string | undefined>; close(): Promise<void> }>;
  close(): Promise<void>;
}

// ---- The three queues. ----

async function pgStoreVariant(connection: string): Promise<Variant> {
  const producer = await PgJobStore.open({ connection, leaseMs: LEASE_MS });
  const newJob = () => ({
    id: randomUUID(),
    processId: 'p',
    mode: 'async' as const, // committed durably before the answer, as an accepted async job
    created: new Date(),
    request: { processId: 'p', inputs: {}, outputs: {}, outputsSelected: false },
  });
  return {
    name: 'PostgreSQL, our store (SKIP LOCKED)',
    durability: 'fsync, synchronous_commit on',
    liveness: `lease ${LEASE_MS / 1000} s, recovery check every ${CHECK_MS / 1000} s (lease_seconds, poll_seconds)`,
    async enqueue() {
      await producer.insert(newJob());
    },
    async consumer() {
      const store = await PgJobStore.open({ connection, leaseMs: LEASE_MS, poolSize: 2 });
      return {
        claim: async () => (await store.claimNext(new Date()))?.id,
        complete: async (id) => {
          await store.transition(id, 'successful', { finished: new Date(), progress: 100 });
        },
        close: () => store.close(),
      };
    },
    async reset() {
      await producer.pool.query('DELETE FROM jobs');
    },
    async rescuer() {
      const store = await PgJobStore.open({ connection, leaseMs: LEASE_MS, poolSize: 2 });
      let lastCheck = 0;
      return {
        async claim() {
          // As a cluster node polls: recover expired leases every CHECK_MS, then claim.
          if (performance.now() - lastCheck >= CHECK_MS) {
            lastCheck = performance.now();
            await store.recoverExpired(['p'], { code: 'NoApplicableCode', message: 'node lost' });
          }
          return (await store.claimNext(new Date()))?.id;
        },
        close: () => store.close(),
      };
    },
    close: () => producer.close(),
  };
}

async function pgBossVariant(connection: string): Promise<Variant> {
  const boss = new PgBoss({ connectionString: connection, supervise: false, schedule: false });
  await boss.start();
  await boss.createQueue(QUEUE, { heartbeatSeconds: PGBOSS_HEARTBEAT_S, retryLimit: 2, retryDelay: 0 });
  const instances: PgBoss[] = [];
  const instance = async (options: { supervise: boolean }) => {
    const b = new PgBoss({
      connectionString: connection,
      max: 2,
      schedule: false,
      migrate: false,
      ...options,
      superviseIntervalSeconds: CHECK_MS / 1000,
      monitorIntervalSeconds: CHECK_MS / 1000,
    });
    await b.start();
    instances.push(b);
    return b;
  };
  return {
    name: 'PostgreSQL, pg-boss',
    durability: 'fsync, synchronous_commit on',
    liveness: `heartbeatSeconds ${PGBOSS_HEARTBEAT_S} (its minimum), supervise every ${CHECK_MS / 1000} s, retryLimit 2`,
    async enqueue(i) {
      await boss.send(QUEUE, { i });
    },
    async consumer() {
      const b = await instance({ supervise: false });
      return {
        claim: async () => (await b.fetch(QUEUE))[0]?.id,
        complete: async (id) => {
          await b.complete(QUEUE, id);
        },
        close: () => b.stop({ graceful: false, close: true }),
      };
    },
    async reset() {
      await boss.deleteAllJobs(QUEUE);
    },
    async rescuer() {
      const b = await instance({ supervise: true });
      return {
        claim: async () => (await b.fetch(QUEUE))[0]?.id,
        close: () => b.stop({ graceful: false, close: true }),
      };
    },
    close: async () => {
      await Promise.all(
        instances.map((b) => b.stop({ graceful: false, close: true }).catch(() => undefined)),
      );
      await boss.stop({ graceful: false, close: true });
    },
  };
}

async function bullmqVariant(port: number): Promise<Variant> {
  // BullMQ leaves connections it is given open: every one is closed here.
  const connections: Redis[] = [];
  const redis = () => {
    const r = new Redis(port, HOST, { maxRetriesPerRequest: null });
    connections.push(r);
    return r;
  };
  const queue = new Queue(QUEUE, { connection: redis() });
  const worker = (options: { stalled: boolean }) =>
    new Worker(QUEUE, null, {
      connection: redis(),
      autorun: false,
      lockDuration: LEASE_MS,
      stalledInterval: CHECK_MS,
      skipStalledCheck: !options.stalled,
    });
  return {
    name: 'Redis, BullMQ',
    durability: `AOF, appendfsync ${REDIS_FSYNC}`,
    liveness: `lockDuration ${LEASE_MS / 1000} s, stalledInterval ${CHECK_MS / 1000} s, maxStalledCount 1`,
    async enqueue(i) {
      await queue.add('j', { i });
    },
    async consumer() {
      const w = worker({ stalled: false });
      const token = randomUUID();
      const held = new Map<string, Awaited<ReturnType<typeof w.getNextJob>>>();
      return {
        async claim() {
          const job = await w.getNextJob(token, { block: false });
          if (!job?.id) return undefined;
          held.set(job.id, job);
          return job.id;
        },
        async complete(id) {
          const job = held.get(id)!;
          held.delete(id);
          await job.moveToCompleted('ok', token, false);
        },
        close: () => w.close(true),
      };
    },
    async reset() {
      await queue.obliterate({ force: true });
    },
    async rescuer() {
      const w = worker({ stalled: true });
      await w.startStalledCheckTimer();
      const token = randomUUID();
      return {
        claim: async () => (await w.getNextJob(token, { block: false }))?.id,
        close: () => w.close(true),
      };
    },
    close: async () => {
      await queue.close();
      for (const r of connections) r.disconnect();
    },
  };
}

// ---- Measurements. ----

interface Figures {
  enqueuePerSecond: number;
  claimPerSecond: number;
  p50: number;
  p99: number;
}

const quantile = (sorted: number[], p: number) => sorted[Math.floor(p * (sorted.length - 1))] ?? NaN;

async function measure(v: Variant, consumers: number, n = N): Promise<Figures> {
  await v.reset();
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: consumers }, async () => {
      while (next < n) await v.enqueue(next++);
    }),
  );
  const enqueueSeconds = (performance.now() - t0) / 1000;
  const list = await Promise.all(Array.from({ length: consumers }, () => v.consumer()));
  const latencies: number[] = [];
  const t1 = performance.now();
  const deadline = t1 + 120_000; // bounded: a queue that stops answering ends the measurement
  await Promise.all(
    list.map(async (c) => {
      while (performance.now() < deadline) {
        const c0 = performance.now();
        const id = await c.claim();
        if (id === undefined) return;
        latencies.push(performance.now() - c0);
        await c.complete(id);
      }
    }),
  );
  const claimSeconds = (performance.now() - t1) / 1000;
  await Promise.all(list.map((c) => c.close()));
  if (latencies.length !== n) throw new Error(`${v.name}: ${latencies.length} of ${n} jobs claimed`);
  latencies.sort((a, b) => a - b);
  return {
    enqueuePerSecond: n / enqueueSeconds,
    claimPerSecond: n / claimSeconds,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
  };
}

/** A consumer process claims one job and is killed; the time until a live consumer claims it again. */
async function recovery(v: Variant, kind: string, conn: string): Promise<{ ms: number; again: boolean }> {
  await v.reset();
  await v.enqueue(0);
  const victim = start('victim', process.execPath, [import.meta.filename, 'victim', kind, conn], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const id = await new Promise<string>((resolve, reject) => {
    let out = '';
    victim.child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /claimed (\S*)\n/.exec(out);
      if (m?.[1]) resolve(m[1]);
      else if (m) reject(new Error(`${kind}: the victim claimed nothing`));
    });
    victim.child.once('exit', () => reject(new Error(`${kind}: the victim exited: ${victim.stderr()}`)));
  });
  victim.child.kill('SIGKILL');
  const killed = performance.now();
  await stop(victim.child as ChildProcess);
  const rescuer = await v.rescuer();
  try {
    while (performance.now() - killed < RECOVERY_DEADLINE_MS) {
      const got = await rescuer.claim();
      if (got === id) return { ms: performance.now() - killed, again: true };
      await new Promise((r) => setTimeout(r, 50));
    }
    return { ms: RECOVERY_DEADLINE_MS, again: false };
  } finally {
    await rescuer.close();
  }
}

// ---- Redis. ----

async function startRedis(dir: string): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const { child, stderr } = start('redis-server', '/usr/bin/redis-server', [
    '--bind',
    HOST,
    '--port',
    String(port),
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    'yes',
    '--appendfsync',
    REDIS_FSYNC,
    '--daemonize',
    'no',
  ]);
  const until = Date.now() + 20_000;
  for (;;) {
    const probe = new Redis(port, HOST, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    probe.on('error', () => undefined); // not up yet: tried again below
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      return { port, child };
    } catch {
      probe.disconnect();
      if (child.exitCode !== null || Date.now() > until)
        throw new Error(`redis-server did not start: ${stderr()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function main(): Promise<void> {
  stopOnExit();
  const dir = mkdtempSync(path.join(tmpdir(), 'gw-bench-queues-'));
  const postgres = await startPostgres({ durable: true });
  const variants: Array<{ v: Variant; kind: string; conn: string }> = [];
  try {
    const redis = await startRedis(dir);
    const versions = new pg.Client({ connectionString: postgres.url });
    await versions.connect();
    const postgresVersion = (await versions.query<{ server_version: string }>('SHOW server_version')).rows[0]!
      .server_version;
    await versions.end();
    const info = new Redis(redis.port, HOST);
    const redisVersion = /redis_version:(\S+)/.exec(await info.info('server'))?.[1] ?? '?';
    info.disconnect();
    const storeDb = await postgres.createDatabase('bench_store');
    const bossDb = await postgres.createDatabase('bench_boss');
    variants.push(
      { v: await pgStoreVariant(storeDb), kind: 'pg-store', conn: storeDb },
      { v: await pgBossVariant(bossDb), kind: 'pg-boss', conn: bossDb },
      { v: await bullmqVariant(redis.port), kind: 'bullmq', conn: String(redis.port) },
    );
    // Warm-up: a few jobs through each.
    for (const { v } of variants) await measure(v, 2, 50);
    const figures = new Map<string, Figures[]>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const c of CONSUMERS) {
        for (const { v } of variants) {
          process.stderr.write(`[queues] round ${round + 1}, ${c} consumer(s): ${v.name} …\n`);
          const f = await measure(v, c);
          const key = `${v.name}|${c}`;
          figures.set(key, [...(figures.get(key) ?? []), f]);
        }
      }
    }
    const failure = new Map<string, { ms: number; again: boolean }>();
    for (const { v, kind, conn } of variants) {
      process.stderr.write(`[queues] failure: ${v.name} …\n`);
      failure.set(v.name, await recovery(v, kind, conn));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const pick = (key: string): Figures => {
      const fs = figures.get(key)!;
      return {
        enqueuePerSecond: median(fs.map((f) => f.enqueuePerSecond)),
        claimPerSecond: median(fs.map((f) => f.claimPerSecond)),
        p50: median(fs.map((f) => f.p50)),
        p99: median(fs.map((f) => f.p99)),
      };
    };
    const ours = variants[0]!.v.name;
    const rows: string[][] = [];
    for (const c of CONSUMERS) {
      const base = pick(`${ours}|${c}`);
      for (const { v } of variants) {
        const f = pick(`${v.name}|${c}`);
        rows.push([
          v.name,
          String(c),
          num(f.enqueuePerSecond),
          num(f.claimPerSecond),
          ms(f.p50),
          ms(f.p99),
          v.name === ours ? '1×' : ratio(f.enqueuePerSecond, base.enqueuePerSecond),
          v.name === ours ? '1×' : ratio(f.claimPerSecond, base.claimPerSecond),
        ]);
      }
    }
    const failureRows = variants.map(({ v }) => {
      const r = failure.get(v.name)!;
      return [
        v.name,
        v.durability,
        v.liveness,
        r.again ? `${(r.ms / 1000).toFixed(1)} s` : `not within ${RECOVERY_DEADLINE_MS / 1000} s`,
      ];
    });
    const md = [
      '# Shared queue: our PostgreSQL store vs pg-boss vs BullMQ (issue 13)',
      '',
      `\`${['QUICK', 'N', 'ROUNDS', 'REDIS_FSYNC']
        .filter((k) => process.env[k])
        .map((k) => `${k}=${process.env[k]} `)
        .join('')}node bench/queue-compare.ts\` on ${new Date().toISOString()}. ` +
        `Machine: ${cpus()[0]?.model ?? '?'}, ${availableParallelism()} cores, load average ${loadavg()
          .map((x) => x.toFixed(2))
          .join(
            ' ',
          )} (shared: compare ratios, not absolute figures). Node ${process.version}; PostgreSQL ${postgresVersion}; Redis ${redisVersion}.`,
      '',
      `${N} jobs per measurement, ${ROUNDS} interleaved round(s) (median kept). Enqueue: C producers at once, each call answered once the job is durable. ` +
        'Claim: C consumers each claim a job and mark it completed, until none is left; the latency is that of the claim call alone. ' +
        'Each consumer has its own connection(s). All on loopback.',
      '',
      markdownTable(
        [
          'queue',
          'producers = consumers',
          'enqueue/s',
          'claim+complete/s',
          'claim p50',
          'claim p99',
          'enqueue × ours',
          'claims × ours',
        ],
        rows,
      ),
      '',
      '## Failure: a consumer killed (SIGKILL) while it holds a job',
      '',
      'Time from the kill until a live consumer claims the same job again (each queue configured as tightly as it allows).',
      '',
      markdownTable(['queue', 'durability', 'liveness settings', 'job claimed again after'], failureRows),
      '',
    ].join('\n');
    process.stdout.write(`${md}\n`);
    const out = path.resolve(import.meta.dirname, process.env.RESULTS_DIR ?? 'results');
    mkdirSync(out, { recursive: true });
    writeFileSync(path.join(out, 'queue-compare.md'), md);
    process.stderr.write(`Written: ${path.join(out, 'queue-compare.md')}\n`);
  } finally {
    for (const { v } of variants) await v.close().catch(() => undefined);
    await stopAll();
    await postgres.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- The victim: a child process that claims one job and holds it until it is killed. ----

if (process.argv[2] === 'victim') {
  const [kind, conn] = [process.argv[3]!, process.argv[4]!];
  let id: string | undefined;
  if (kind === 'pg-store') {
    const store = await PgJobStore.open({ connection: conn, leaseMs: LEASE_MS, poolSize: 1 });
    id = (await store.claimNext(new Date()))?.id;
  } else if (kind === 'pg-boss') {
    const boss = new PgBoss({
      connectionString: conn,
      supervise: false,
      schedule: false,
      migrate: false,
      max: 1,
    });
    await boss.start();
    id = (await boss.fetch(QUEUE))[0]?.id;
  } else {
    const worker = new Worker(QUEUE, null, {
      connection: new Redis(Number(conn), HOST, { maxRetriesPerRequest: null }),
      lockDuration: LEASE_MS,
      autorun: false,
    });
    id = (await worker.getNextJob(randomUUID(), { block: false }))?.id;
  }
  process.stdout.write(`claimed ${id ?? ''}\n`);
  setInterval(() => undefined, 60_000); // hold the job until killed
} else {
  await main();
}
