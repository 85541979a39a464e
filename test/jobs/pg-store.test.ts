import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { whereClause } from '../../src/jobs/sqlite-store.ts';
import {
  FORGET_NODE_LEASES,
  MAX_ATTEMPTS,
  PG_SCHEMA_VERSION,
  PgJobStore,
  type PgJobStoreOptions,
} from '../../src/jobs/pg-store.ts';
import type { JobFilter, NewJob } from '../../src/jobs/store.ts';
import { startPostgres, type PostgresServer } from '../helpers/postgres.ts';

/** What only the shared store does: migrations, indexes, claims across instances, caps, leases. */

let server: PostgresServer;
let url: string;
let open: PgJobStore[] = [];
beforeAll(async () => {
  server = await startPostgres();
}, 60_000);
afterAll(() => server.stop());
afterEach(async () => {
  await Promise.all(open.map((s) => s.close()));
  open = [];
});

/** A store on a fresh database (or on the database of the last one, `same`). */
async function store(options: Omit<PgJobStoreOptions, 'connection'> = {}, same = false): Promise<PgJobStore> {
  if (!same) url = await server.createDatabase();
  const s = await PgJobStore.open({ connection: url, ...options });
  open.push(s);
  return s;
}

async function sql<T extends pg.QueryResultRow>(text: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text, params)).rows;
  } finally {
    await client.end();
  }
}

let n = 0;
const newJob = (over: Partial<NewJob> = {}): NewJob => ({
  id: `00000000-0000-4000-9000-${String(++n).padStart(12, '0')}`,
  processId: 'p',
  mode: 'async',
  created: new Date(1_700_000_000_000 + n),
  request: { processId: 'p', inputs: {}, outputs: {}, outputsSelected: false },
  ...over,
});
const interrupted = { code: 'NoApplicableCode' as const, message: 'The node running the job stopped' };

describe('PostgreSQL job store: schema', () => {
  it('records applied migrations, applies them once when instances start together, refuses a newer schema', async () => {
    const a = await store();
    await Promise.all([store({}, true), store({}, true), store({}, true)]);
    expect(await sql('SELECT version FROM gateway_schema ORDER BY version')).toEqual(
      Array.from({ length: PG_SCHEMA_VERSION }, (_, i) => ({ version: i + 1 })),
    );
    await a.insert(newJob());
    await sql('INSERT INTO gateway_schema (version) VALUES (99)');
    await expect(PgJobStore.open({ connection: url })).rejects.toThrow(/schema version 99 is newer/);
  });

  it('every job-list filter, the queue and the counts are answered through an index (EXPLAIN)', async () => {
    const s = await store();
    for (let i = 0; i < 50; i++) await s.insert(newJob({ processId: `p${i % 5}` }));
    const NOW = new Date();
    const filters: Record<string, JobFilter> = {
      none: {},
      processID: { processIds: ['p1', 'p2'] },
      status: { statuses: ['running', 'failed'] },
      'datetime from': { createdFrom: new Date(0) },
      'datetime interval': { createdFrom: new Date(0), createdTo: NOW },
      minDuration: { minDurationMs: 1000 },
      maxDuration: { maxDurationMs: 1000 },
      'both durations': { minDurationMs: 1000, maxDurationMs: 5000 },
      'finished durations': { statuses: ['successful', 'failed'], minDurationMs: 1000 },
      'running durations': { statuses: ['running'], maxDurationMs: 1000 },
    };
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      // A small table is cheaper to scan: forbid scans to see whether an index can answer at all.
      await client.query('SET enable_seqscan = off');
      const plan = async (query: string, params: unknown[]) =>
        (await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${query}`, params)).rows
          .map((r) => r['QUERY PLAN'])
          .join('\n');
      for (const [name, filter] of Object.entries(filters)) {
        const { clause, params } = whereClause(filter, NOW)!;
        let k = 0;
        const where = clause.replace(/\?/g, () => `$${++k}`);
        for (const query of [
          `SELECT count(*) FROM jobs ${where}`,
          `SELECT * FROM jobs ${where} ORDER BY created DESC, seq DESC LIMIT 10 OFFSET 20`,
        ]) {
          const p = await plan(query, params);
          expect(p, `${name}: ${query}\n${p}`).not.toMatch(/Seq Scan/);
          expect(p, name).toMatch(/Index/);
        }
      }
      for (const query of [
        "SELECT id FROM jobs WHERE status = 'accepted' ORDER BY created, seq LIMIT 1 FOR UPDATE SKIP LOCKED",
        "SELECT count(*) FROM jobs WHERE status = 'running'",
        "SELECT count(*) FROM jobs WHERE lease_until IS NOT NULL AND status <> 'running' AND lease_until > 5 AND process_id = 'p1'",
        "SELECT id FROM jobs WHERE status = 'running' AND lease_until < 5",
      ]) {
        expect(await plan(query, []), query).not.toMatch(/Seq Scan/);
      }
    } finally {
      await client.end();
    }
  });
});

describe('PostgreSQL job store: the queue across instances', () => {
  it('claims every job exactly once when several instances claim at once, oldest first', async () => {
    const a = await store();
    const others = await Promise.all([store({}, true), store({}, true)]);
    const ids = [];
    for (let i = 0; i < 60; i++) ids.push((await a.insert(newJob())).id);
    const claimed: string[][] = [[], [], []];
    await Promise.all(
      [a, ...others].map(async (s, i) => {
        for (;;) {
          const job = await s.claimNext(new Date());
          if (!job) return;
          claimed[i]!.push(job.id);
        }
      }),
    );
    const all = claimed.flat();
    expect(all.sort()).toEqual([...ids].sort());
    expect(new Set(all).size).toBe(ids.length);
    // Each instance got its jobs in queue order.
    for (const mine of claimed) expect([...mine]).toEqual([...mine].sort());
  });

  it('holds a cluster-wide cap on running jobs under concurrent claims', async () => {
    const a = await store({ maxRunning: 3 });
    const b = await store({ maxRunning: 3 }, true);
    for (let i = 0; i < 10; i++) await a.insert(newJob());
    const got = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).claimNext(new Date())),
    );
    expect(got.filter(Boolean)).toHaveLength(3);
    expect(await a.countByStatus('running')).toBe(3);
    const first = got.find(Boolean)!;
    await a.transition(first.id, 'successful', { finished: new Date() });
    expect(await b.claimNext(new Date())).toBeDefined();
    expect(await b.claimNext(new Date())).toBeUndefined();
  });

  it('bounds the queue of the whole cluster atomically: ServerBusy beyond it', async () => {
    const a = await store({ maxQueued: 5 });
    const b = await store({ maxQueued: 5 }, true);
    const results = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).insert(newJob())),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
    const refused = results.filter((r) => r.status === 'rejected');
    expect(refused).toHaveLength(7);
    expect((refused[0] as PromiseRejectedResult).reason).toMatchObject({
      code: 'ServerBusy',
      message: expect.stringMatching(/0 jobs running and 5 waiting in the cluster/),
    });
    // A claimed job makes room in the queue (no cluster cap: only waiting jobs count).
    await a.claimNext(new Date());
    await expect(b.insert(newJob())).resolves.toMatchObject({ status: 'accepted' });
  });
});

describe('PostgreSQL job store: leases', () => {
  it('a heartbeat renews the leases of the jobs a node still owns and reports those it lost', async () => {
    const a = await store({ leaseMs: 60_000, role: 'worker' });
    const [x, y] = [await a.insert(newJob()), await a.insert(newJob())];
    await a.claimNext(new Date());
    await a.claimNext(new Date());
    await a.transition(y.id, 'dismissed', { finished: new Date() });
    expect([...(await a.renewLeases([x.id, y.id]))]).toEqual([x.id]);
    const workers = await a.workers(10_000);
    expect(workers).toMatchObject([{ id: a.nodeId, role: 'worker', pid: process.pid, running: 2 }]);
  });

  it('recovers expired leases: idempotent processes queued again (at most MAX_ATTEMPTS runs), others failed', async () => {
    const dead = await store({ leaseMs: 50 });
    const alive = await store({ leaseMs: 60_000 }, true);
    const again = await dead.insert(newJob({ processId: 'idem' }));
    const lost = await dead.insert(newJob({ processId: 'other' }));
    const kept = await alive.insert(newJob({ processId: 'other' }));
    await dead.claimNext(new Date());
    await dead.claimNext(new Date());
    await alive.claimNext(new Date());
    expect(await alive.recoverExpired(['idem'], interrupted)).toEqual({
      requeued: [],
      failed: [],
      forgotten: [],
    });
    await new Promise((r) => setTimeout(r, 100));
    const recovered = await alive.recoverExpired(['idem'], interrupted);
    expect(recovered).toMatchObject({ requeued: [again.id], failed: [lost.id] });
    expect(await alive.get(again.id)).toMatchObject({ status: 'accepted', progress: 0 });
    expect((await alive.get(again.id))?.started).toBeUndefined();
    expect(await alive.get(lost.id)).toMatchObject({ status: 'failed', error: interrupted });
    expect((await alive.get(kept.id))?.status).toBe('running');
    // The node that lost them writes nothing any more: its late result is refused.
    expect(await dead.transition(lost.id, 'successful', { finished: new Date() })).toBeUndefined();
    expect((await alive.get(lost.id))?.status).toBe('failed');
    // Run again by another node; the first one's late end cannot overwrite the second run.
    expect((await alive.claimNext(new Date()))?.id).toBe(again.id);
    expect(await dead.transition(again.id, 'successful', { finished: new Date() })).toBeUndefined();
    expect(await dead.report(again.id, { progress: 50 })).toBeUndefined();
    expect((await alive.transition(again.id, 'successful', { finished: new Date() }))?.status).toBe(
      'successful',
    );
  });

  it(`a job that took ${MAX_ATTEMPTS} nodes down is failed, not queued again`, async () => {
    const s = await store({ leaseMs: 1 });
    const job = await s.insert(newJob({ processId: 'idem' }));
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      expect((await s.claimNext(new Date()))?.id).toBe(job.id);
      await new Promise((r) => setTimeout(r, 10));
      const { requeued, failed } = await s.recoverExpired(['idem'], interrupted);
      expect(attempt < MAX_ATTEMPTS ? requeued : failed).toEqual([job.id]);
    }
    expect((await s.get(job.id))?.status).toBe('failed');
  });

  it(`recovery forgets nodes not seen for ${FORGET_NODE_LEASES} leases, and only those`, async () => {
    const leaseMs = 20;
    const gone = await store({ leaseMs, role: 'worker' });
    const alive = await store({ leaseMs, role: 'api' }, true);
    await gone.renewLeases([]);
    await alive.renewLeases([]);
    // The first node stops sending heartbeats (killed); the second goes on.
    await new Promise((r) => setTimeout(r, FORGET_NODE_LEASES * leaseMs + 50));
    await alive.renewLeases([]);
    const { forgotten } = await alive.recoverExpired([], interrupted);
    expect(forgotten).toEqual([gone.nodeId]);
    expect((await sql<{ id: string }>('SELECT id FROM workers')).map((r) => r.id)).toEqual([alive.nodeId]);
  });
});

describe('PostgreSQL job store: a job ended by another node while it runs', () => {
  it('holds its slot in the caps until its own node has stopped it, or its lease ran out', async () => {
    const caps = { c: 1 };
    const x = await store({ leaseMs: 60_000, maxRunning: 2 });
    const y = await store({ leaseMs: 60_000, maxRunning: 2 }, true);
    const [a, b] = [await x.insert(newJob({ processId: 'c' })), await x.insert(newJob({ processId: 'c' }))];
    expect((await x.claimNext(new Date(), caps))?.id).toBe(a.id);
    // Dismissed through the other node while its processor runs on x: the process's cap stays taken.
    expect((await y.transition(a.id, 'dismissed', { finished: new Date() }))?.status).toBe('dismissed');
    expect(await y.claimNext(new Date(), caps)).toBeUndefined();
    // x has stopped it: its own end is refused, and the slot is given up.
    expect(await x.transition(a.id, 'failed', { finished: new Date() })).toBeUndefined();
    expect((await y.claimNext(new Date(), caps))?.id).toBe(b.id);
    // Dismissed by its own node: the same until the end of its run is recorded (refused).
    const c = await x.insert(newJob({ processId: 'c' }));
    await y.transition(b.id, 'dismissed', { finished: new Date() });
    expect(await y.claimNext(new Date(), caps)).toBeUndefined();
    expect(await y.transition(b.id, 'failed', { finished: new Date() })).toBeUndefined();
    expect((await x.claimNext(new Date(), caps))?.id).toBe(c.id);
    // A job ended by its own node frees its slot at once.
    expect((await x.transition(c.id, 'failed', { finished: new Date() }))?.status).toBe('failed');
    // The cluster cap too; and a dead node's stopping job frees its slot when its lease runs out.
    const z = await store({ leaseMs: 100, maxRunning: 2 }, true);
    const [d, e, f] = [await z.insert(newJob()), await z.insert(newJob()), await z.insert(newJob())];
    expect((await z.claimNext(new Date()))?.id).toBe(d.id);
    expect((await z.claimNext(new Date()))?.id).toBe(e.id);
    await y.transition(d.id, 'dismissed', { finished: new Date() });
    expect(await y.claimNext(new Date())).toBeUndefined();
    await new Promise((r) => setTimeout(r, 150)); // z died: its lease runs out
    expect((await y.claimNext(new Date()))?.id).toBe(f.id);
  });
});

describe('PostgreSQL job store: per-process queue bound', () => {
  it('holds for the whole cluster: concurrent inserts of several instances never pass it', async () => {
    const instances = [await store(), await store({}, true), await store({}, true)];
    const bound = { maxQueued: 3, maxRunning: 1 };
    const outcomes = await Promise.allSettled(
      Array.from({ length: 24 }, (_, i) =>
        instances[i % 3]!.insert(newJob({ processId: 'capped', processBound: bound })),
      ),
    );
    // Other processes are not bound by it.
    await instances[0]!.insert(newJob({ processId: 'other', processBound: { maxQueued: 1 } }));
    const taken = outcomes.filter((o) => o.status === 'fulfilled');
    expect(taken).toHaveLength(4); // maxRunning + maxQueued: none of them claimed yet
    for (const o of outcomes) {
      if (o.status === 'rejected') expect(o.reason).toMatchObject({ code: 'ServerBusy' });
    }
    const counts = await sql<{ n: number }>(
      "SELECT count(*)::int AS n FROM jobs WHERE process_id = 'capped' AND status = 'accepted'",
    );
    expect(counts[0]!.n).toBe(4);
    // A claimed one still counts (running + waiting ≤ maxRunning + maxQueued); a finished one frees room.
    const claimed = await instances[1]!.claimNext(new Date(), { capped: 1 });
    await expect(
      instances[2]!.insert(newJob({ processId: 'capped', processBound: bound })),
    ).rejects.toMatchObject({ code: 'ServerBusy' });
    await instances[1]!.transition(claimed!.id, 'successful', { finished: new Date() });
    await expect(
      instances[2]!.insert(newJob({ processId: 'capped', processBound: bound })),
    ).resolves.toMatchObject({ status: 'accepted' });
  });
});
