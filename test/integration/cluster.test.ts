import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execute as oaExecute, pollJob, request } from '../helpers/oaproc-http.ts';
import { startPostgres, type PostgresServer } from '../helpers/postgres.ts';
import { FIXTURES } from '../helpers/gateway.ts';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { execute as wpsExecute, literalInput, post } from '../helpers/wps.ts';

/**
 * A cluster of real servers on one real PostgreSQL: two API-only instances (A, B) and two workers
 * (W1, W2), separate processes sharing the store and the work and output folders.
 */

const LEASE_SECONDS = 2;
const MAX_RUNNING = 3;
/** `bounded`: at most this many running and this many waiting, in the whole cluster. */
const BOUNDED = { running: 1, queued: 2 };
const fixture = (name: string) => path.join(FIXTURES, 'processes', `${name}.ts`);
/** Per-process limits, the result cache and retries, the same on every node. */
const RESOURCES = [
  '  bounded:',
  '    type: process',
  '    processor: {name: sleep}',
  `    max_running_jobs: ${BOUNDED.running}`,
  `    max_queued_jobs: ${BOUNDED.queued}`,
  '  capped:',
  '    type: process',
  '    processor: {name: sleep}',
  '    max_running_jobs: 1',
  '  counted:',
  '    type: process',
  `    processor: {name: ${fixture('counted')}}`,
  '    cache: {ttl_seconds: 600}',
  // An inline processor whose retry pause outlasts several heartbeats of its node.
  '  inline-flaky:',
  '    type: process',
  `    processor: {name: ${fixture('inline-flaky')}}`,
  '    retry: {max_attempts: 2, backoff_seconds: 1.5, jitter: 0}',
  // A retry after 30 s: a node killed meanwhile holds the job in its backoff.
  ...['flaky-idem', 'flaky-once'].flatMap((id) => [
    `  ${id}:`,
    '    type: process',
    `    processor: {name: ${fixture('flaky')}}`,
    '    retry: {max_attempts: 3, backoff_seconds: 30, jitter: 0}',
  ]),
];

let postgres: PostgresServer;
let url: string;
let shared: string;
/** Every terminal status announced by the store, per job (LISTEN gateway_jobs). */
const finals = new Map<string, string[]>();
/** Every status announced by the store, per job. */
const announced = new Map<string, string[]>();
let listener: pg.Client;
const nodes: ServerProcess[] = [];
let A: ServerProcess;
let B: ServerProcess;
let W1: ServerProcess;
let W2: ServerProcess;

function node(role: 'api' | 'worker'): Promise<ServerProcess> {
  return startServerProcess({
    prefix: `gw-cluster-${role}-`,
    args: ['--role', role],
    server: '  allowed_reference_hosts: [127.0.0.1]',
    extraResources: RESOURCES,
    manager: {
      name: 'PostgreSQL',
      connection: url,
      work_dir: path.join(shared, 'work'),
      output_dir: path.join(shared, 'outputs'),
      parallel_processes: 2,
      max_running: MAX_RUNNING,
      max_queued_jobs: 200,
      lease_seconds: LEASE_SECONDS,
      poll_seconds: 0.5,
      idempotent_processes: 'sleep, flaky-idem',
    },
  }).then((n) => (nodes.push(n), n));
}

async function sql<T extends pg.QueryResultRow>(text: string, params: unknown[] = []): Promise<T[]> {
  return (await listener.query<T>(text, params)).rows;
}

/** Callbacks received by the test (path → bodies). */
const callbacks = new Map<string, unknown[]>();
let receiver: Server;
let receiverUrl: string;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '';
      callbacks.set(path, [
        ...(callbacks.get(path) ?? []),
        JSON.parse(Buffer.concat(chunks).toString() || 'null'),
      ]);
      res.statusCode = 204;
      res.end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;
  postgres = await startPostgres();
  url = await postgres.createDatabase();
  shared = mkdtempSync(path.join(tmpdir(), 'gw-cluster-shared-'));
  // The first node creates the schema; the others start together.
  A = await node('api');
  [B, W1, W2] = await Promise.all([node('api'), node('worker'), node('worker')]);
  listener = new pg.Client({ connectionString: url });
  await listener.connect();
  listener.on('notification', (m) => {
    const event = JSON.parse(m.payload!) as { id: string; status: string };
    announced.set(event.id, [...(announced.get(event.id) ?? []), event.status]);
    if (['successful', 'failed', 'dismissed'].includes(event.status)) {
      finals.set(event.id, [...(finals.get(event.id) ?? []), event.status]);
    }
  });
  await listener.query('LISTEN gateway_jobs');
}, 120_000);

afterAll(async () => {
  await listener?.end();
  await Promise.all(nodes.map((n) => n.stop()));
  await postgres?.stop();
  receiver?.close();
  if (shared) rmSync(shared, { recursive: true, force: true });
}, 60_000);

const sleepBody = (seconds: number) => ({ inputs: { seconds } });

async function submitOaproc(base: string, seconds: number, process = 'sleep'): Promise<string> {
  const r = await oaExecute(base, process, sleepBody(seconds), { Prefer: 'respond-async' });
  expect(r.status, r.text).toBe(201);
  return r.json.jobID as string;
}

async function submitWps(base: string, seconds: number): Promise<string> {
  const r = await post(
    `${base}/wps`,
    wpsExecute(
      'sleep',
      literalInput('seconds', String(seconds)),
      '<wps:ResponseForm><wps:ResponseDocument storeExecuteResponse="true" status="true"/></wps:ResponseForm>',
    ),
  );
  expect(r.status, r.body).toBe(200);
  const id = /jobs\/([0-9a-f-]{36})|([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/.exec(
    r.body,
  );
  expect(id, r.body).not.toBeNull();
  return (id![1] ?? id![2])!;
}

/** Jobs' [started, finished] in ms, from the store. */
async function spans(
  ids: string[],
): Promise<Array<{ id: string; started: number; finished: number; worker: string }>> {
  return sql('SELECT id, started, finished, worker FROM jobs WHERE id = ANY($1)', [ids]);
}

/** The most jobs running at one instant. */
function maxOverlap(intervals: Array<{ started: number; finished: number }>): number {
  const events = intervals.flatMap((i) => [
    [Number(i.started), 1],
    [Number(i.finished), -1],
  ]);
  events.sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);
  let now = 0;
  let max = 0;
  for (const [, d] of events) max = Math.max(max, (now += d!));
  return max;
}

async function workerIds(): Promise<{ api: string[]; worker: string[] }> {
  const rows = await sql<{ id: string; role: string }>('SELECT id, role FROM workers');
  return {
    api: rows.filter((r) => r.role === 'api').map((r) => r.id),
    worker: rows.filter((r) => r.role === 'worker').map((r) => r.id),
  };
}

describe('a cluster: two API instances and two workers on one PostgreSQL', () => {
  it('jobs submitted through WPS on A and OGC API on B run on both workers, under the cluster-wide cap', async () => {
    const ids = await Promise.all([
      ...Array.from({ length: 6 }, () => submitWps(A.address, 0.6)),
      ...Array.from({ length: 6 }, () => submitOaproc(B.address, 0.6)),
    ]);
    // Status from the other instance than the one that took the job.
    for (const [i, id] of ids.entries()) {
      await pollJob(i < 6 ? B.address : A.address, id, (s) => s === 'successful', 30_000);
    }
    const ran = await spans(ids);
    const { api, worker } = await workerIds();
    expect(worker).toHaveLength(2);
    expect(new Set(ran.map((r) => r.worker))).toEqual(new Set(worker));
    expect(ran.some((r) => api.includes(r.worker))).toBe(false);
    const overlap = maxOverlap(ran);
    expect(overlap).toBeLessThanOrEqual(MAX_RUNNING);
    expect(overlap).toBeGreaterThan(2); // more than one worker's pool (2) at once
    for (const id of ids) expect(finals.get(id)).toEqual(['successful']);
  }, 60_000);

  it('status, dismissal and outputs work from either instance; the worker stops a job dismissed elsewhere', async () => {
    const long = await submitOaproc(A.address, 30);
    await pollJob(B.address, long, (s) => s === 'running');
    const dismissed = await request(`${B.address}/jobs/${long}`, { method: 'DELETE' });
    expect(dismissed.status, dismissed.text).toBe(200);
    expect(dismissed.json.status).toBe('dismissed');
    expect((await request(`${A.address}/jobs/${long}`)).json.status).toBe('dismissed');
    // The processor stops on its worker: its heartbeat soon reports nothing running.
    await expect
      .poll(async () => (await sql<{ n: number }>('SELECT sum(running)::int AS n FROM workers'))[0]!.n, {
        timeout: 10_000,
        interval: 200,
      })
      .toBe(0);

    const r = await oaExecute(
      B.address,
      'echo',
      {
        inputs: { stringInput: 'x', complexInput: { value: 'hello cluster', mediaType: 'text/plain' } },
        outputs: { complexOutput: { transmissionMode: 'reference' } },
        response: 'document',
      },
      { Prefer: 'respond-async' },
    );
    expect(r.status, r.text).toBe(201);
    const echo = r.json.jobID as string;
    await pollJob(A.address, echo, (s) => s === 'successful');
    const results = await request(`${A.address}/jobs/${echo}/results`, {
      headers: { Accept: 'application/json', Prefer: 'return=representation' },
    });
    expect(results.status, results.text).toBe(200);
    const href = new URL((results.json as Record<string, { href: string }>).complexOutput!.href);
    for (const base of [A.address, B.address]) {
      const file = await request(`${base}${href.pathname}`);
      expect(file.status, `${base}${href.pathname}`).toBe(200);
      expect(file.text).toContain('hello cluster');
    }
  }, 60_000);

  it('a synchronous execute on an API instance waits for the job to finish on a worker', async () => {
    const r = await oaExecute(A.address, 'sleep', sleepBody(0.3), { Prefer: 'wait=20' });
    expect(r.status, r.text).toBe(200);
    expect(JSON.parse(r.text)).toBe(0.3);
  }, 30_000);

  it('an inline processor: a worker runs a synchronous job at once, stored ended; an API instance queues it for the workers', async () => {
    const jobOf = async (name: string) =>
      (
        await sql<{ id: string; status: string; worker: string | null; created: number; started: number }>(
          `SELECT id, status, worker, created, started FROM jobs WHERE process_id = 'hello-world' AND request LIKE $1`,
          [`%${name}%`],
        )
      )[0]!;
    const onWorker = await oaExecute(W1.address, 'hello-world', { inputs: { name: 'InlineWorker' } });
    expect(onWorker.status, onWorker.text).toBe(200);
    expect(onWorker.text).toContain('Hello InlineWorker!');
    const ran = await jobOf('InlineWorker');
    // Never claimed (no worker, no lease), stored once in its final state: never announced otherwise.
    expect(ran).toMatchObject({ status: 'successful', worker: null });
    expect(ran.started).toBe(ran.created);
    await expect.poll(() => announced.get(ran.id)).toEqual(['successful']);

    const onApi = await oaExecute(A.address, 'hello-world', { inputs: { name: 'InlineApi' } });
    expect(onApi.status, onApi.text).toBe(200);
    expect(onApi.text).toContain('Hello InlineApi!');
    const queued = await jobOf('InlineApi');
    expect(queued.status).toBe('successful');
    // An API instance runs no processor, not even an inline one: a worker claimed it from the queue.
    expect((await workerIds()).worker).toContain(queued.worker);
    await expect.poll(() => announced.get(queued.id)).toEqual(['accepted', 'running', 'successful']);
  }, 30_000);

  it("an inline job run at once on a worker outlives its node's heartbeats (it holds no lease to lose)", async () => {
    const key = `inline-${Date.now()}`;
    const r = await oaExecute(W2.address, 'inline-flaky', { inputs: { key, failures: 1, how: 'error' } });
    // Its retry pause (1.5 s) spans several heartbeats (every 0.67 s), none of which finds it leased.
    expect([r.status, r.text]).toEqual([200, '2']);
    const [job] = await sql<{ status: string; worker: string | null; execution: string }>(
      `SELECT status, worker, execution FROM jobs WHERE process_id = 'inline-flaky' AND request LIKE $1`,
      [`%${key}%`],
    );
    expect(job).toMatchObject({ status: 'successful', worker: null });
    expect((JSON.parse(job!.execution) as { attempts: unknown[] }).attempts).toHaveLength(2);
  }, 30_000);

  it('/health reports the store, the queue and the workers seen recently', async () => {
    const h = await request(`${A.address}/health`);
    expect(h.status).toBe(200);
    expect(h.json.cluster).toMatchObject({
      role: 'api',
      store: 'postgresql',
      notifications: true,
      queue: { maxRunning: MAX_RUNNING },
    });
    const roles = (h.json.cluster.workers as Array<{ role: string }>).map((w) => w.role).sort();
    expect(roles).toEqual(['api', 'api', 'worker', 'worker']);
  });

  it('the per-process queue bound holds for the whole cluster: concurrent submissions on two API instances, the rest ServerBusy', async () => {
    const limit = BOUNDED.running + BOUNDED.queued;
    // What the store holds of `bounded`, sampled while the submissions arrive.
    let most = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const [row] = await sql<{ waiting: number; running: number }>(
          `SELECT count(*) FILTER (WHERE status = 'accepted')::int AS waiting,
                  count(*) FILTER (WHERE status = 'running')::int AS running
           FROM jobs WHERE process_id = 'bounded'`,
        );
        expect(row!.running).toBeLessThanOrEqual(BOUNDED.running);
        most = Math.max(most, row!.waiting + row!.running);
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const wps = Array.from({ length: 8 }, () =>
      post(
        `${A.address}/wps`,
        wpsExecute(
          'bounded',
          literalInput('seconds', '30'),
          '<wps:ResponseForm><wps:ResponseDocument storeExecuteResponse="true" status="true"/></wps:ResponseForm>',
        ),
      ),
    );
    const oap = Array.from({ length: 8 }, () =>
      oaExecute(B.address, 'bounded', sleepBody(30), { Prefer: 'respond-async' }),
    );
    const [wpsReplies, oapReplies] = await Promise.all([Promise.all(wps), Promise.all(oap)]);
    sampling = false;
    await sampler;
    const acceptedWps = wpsReplies.filter((r) => r.status === 200);
    const acceptedOap = oapReplies.filter((r) => r.status === 201);
    expect(acceptedWps.length + acceptedOap.length).toBe(limit);
    for (const r of wpsReplies.filter((x) => x.status !== 200)) {
      expect(r.status, r.body).toBe(503);
      expect(r.body).toMatch(/exceptionCode="ServerBusy"/);
    }
    for (const r of oapReplies.filter((x) => x.status !== 201)) {
      expect(r.status, r.text).toBe(503);
      expect(r.json).toMatchObject({
        status: 503,
        code: 'ServerBusy',
        detail: expect.stringMatching(/Process 'bounded' is busy/),
      });
    }
    expect(most).toBeLessThanOrEqual(limit);
    // Once one runs, never more than the bound wait.
    await expect
      .poll(
        async () =>
          (
            await sql<{ n: number }>(
              "SELECT count(*)::int AS n FROM jobs WHERE process_id = 'bounded' AND status = 'running'",
            )
          )[0]!.n,
        { timeout: 10_000 },
      )
      .toBe(BOUNDED.running);
    const waiting = await sql<{ id: string }>(
      "SELECT id FROM jobs WHERE process_id = 'bounded' AND status = 'accepted'",
    );
    expect(waiting).toHaveLength(BOUNDED.queued);
    // Dismissed (from either instance), they make room again.
    const ids = (
      await sql<{ id: string }>(
        "SELECT id FROM jobs WHERE process_id = 'bounded' AND status IN ('accepted', 'running')",
      )
    ).map((r) => r.id);
    for (const [i, id] of ids.entries()) {
      const r = await request(`${(i % 2 ? A : B).address}/jobs/${id}`, { method: 'DELETE' });
      expect(r.status, r.text).toBe(200);
    }
    const again = await oaExecute(A.address, 'bounded', sleepBody(0.1), { Prefer: 'respond-async' });
    expect(again.status, again.text).toBe(201);
    await pollJob(B.address, again.json.jobID as string, (st) => st === 'successful', 20_000);
  }, 60_000);

  it('the per-process running cap holds across two workers (from job timestamps) while another process runs alongside', async () => {
    const capped = await Promise.all([
      submitOaproc(A.address, 0.5, 'capped'),
      submitOaproc(B.address, 0.5, 'capped'),
      submitOaproc(A.address, 0.5, 'capped'),
      submitOaproc(B.address, 0.5, 'capped'),
    ]);
    const others = await Promise.all(
      Array.from({ length: 4 }, (_, i) => submitOaproc(i % 2 ? A.address : B.address, 1)),
    );
    for (const id of [...capped, ...others])
      await pollJob(A.address, id, (st) => st === 'successful', 30_000);
    const cappedSpans = await spans(capped);
    const all = await spans([...capped, ...others]);
    expect(maxOverlap(cappedSpans)).toBe(1);
    // The others ran beside the capped ones, on both workers, within the cluster cap.
    expect(maxOverlap(all)).toBeGreaterThan(1);
    expect(maxOverlap(all)).toBeLessThanOrEqual(MAX_RUNNING);
    expect(new Set(all.map((r) => r.worker)).size).toBe(2);
  }, 60_000);

  it('the result cache across instances: identical requests on two instances at once run once; if the first is dismissed, the other runs', async () => {
    const body = (text: string, delayMs: number) => ({ inputs: { text, delayMs }, response: 'document' });
    const submit = async (base: string, text: string, delayMs: number) => {
      const r = await oaExecute(base, 'counted', body(text, delayMs), { Prefer: 'respond-async' });
      expect(r.status, r.text).toBe(201);
      return r.json.jobID as string;
    };
    const text = `shared ${Date.now()}`;
    const [x, y] = await Promise.all([submit(A.address, text, 1500), submit(B.address, text, 1500)]);
    const [sx, sy] = [
      (await pollJob(B.address, x, (st) => st === 'successful', 20_000)).at(-1),
      (await pollJob(A.address, y, (st) => st === 'successful', 20_000)).at(-1),
    ];
    // One ran; the other took its entry (marked so), with the same results.
    const served = [sx, sy].filter((st) => st.cache?.hit);
    expect(served).toHaveLength(1);
    expect(served[0].cache.sourceJobID).toBe(served[0] === sx ? y : x);
    const result = async (base: string, id: string) =>
      (await request(`${base}/jobs/${id}/results`, { headers: { Prefer: 'return=representation' } })).json;
    expect(await result(A.address, x)).toEqual(await result(B.address, y));
    expect(await sql('SELECT key FROM result_cache_pending')).toEqual([]);

    // The leader is dismissed while the other waits for it: the other runs itself.
    const text2 = `dismissed ${Date.now()}`;
    const [p, q] = await Promise.all([submit(A.address, text2, 4000), submit(B.address, text2, 4000)]);
    await expect
      .poll(
        async () => (await sql<{ job_id: string }>('SELECT job_id FROM result_cache_pending'))[0]?.job_id,
        { timeout: 10_000 },
      )
      .toMatch(/./);
    await expect
      .poll(async () => (await spans([p, q])).filter((r) => r.started !== null).length, { timeout: 10_000 })
      .toBe(2);
    const leader = (await sql<{ job_id: string }>('SELECT job_id FROM result_cache_pending'))[0]!.job_id;
    const waiter = leader === p ? q : p;
    const d = await request(`${B.address}/jobs/${leader}`, { method: 'DELETE' });
    expect(d.status, d.text).toBe(200);
    const final = (await pollJob(A.address, waiter, (st) => st === 'successful', 20_000)).at(-1);
    expect(final.cache).toBeUndefined();
    expect(finals.get(waiter)).toEqual(['successful']);
  }, 60_000);

  it('callbacks fire exactly once in the cluster, for a synchronous job on an API instance run by a worker and for an asynchronous one', async () => {
    const tag = `cb${Date.now()}`;
    const subscriber = (kind: string) => ({
      successUri: `${receiverUrl}/${tag}/${kind}/success`,
      failedUri: `${receiverUrl}/${tag}/${kind}/failed`,
    });
    const sync = await oaExecute(
      A.address,
      'sleep',
      { ...sleepBody(0.3), subscriber: subscriber('sync') },
      { Prefer: 'wait=20' },
    );
    expect(sync.status, sync.text).toBe(200);
    const async = await oaExecute(
      B.address,
      'sleep',
      { ...sleepBody(0.3), subscriber: subscriber('async') },
      { Prefer: 'respond-async' },
    );
    expect(async.status, async.text).toBe(201);
    await pollJob(A.address, async.json.jobID as string, (st) => st === 'successful');
    await expect.poll(() => callbacks.get(`/${tag}/async/success`)?.length, { timeout: 10_000 }).toBe(1);
    await expect.poll(() => callbacks.get(`/${tag}/sync/success`)?.length, { timeout: 10_000 }).toBe(1);
    // Time for a second one to arrive, if any instance were to send one.
    await new Promise((r) => setTimeout(r, 1500));
    expect(callbacks.get(`/${tag}/sync/success`)).toHaveLength(1);
    expect(callbacks.get(`/${tag}/async/success`)).toHaveLength(1);
    expect(callbacks.get(`/${tag}/sync/failed`)).toBeUndefined();
  }, 60_000);

  it('kill -9 of a worker during a retry backoff: the job is recovered by lease expiry (queued again if idempotent, else failed clearly), never lost', async () => {
    const key = `backoff-${Date.now()}`;
    const flaky = (process: string) => ({ inputs: { key: `${key}-${process}`, failures: 1, how: 'error' } });
    const submit = async (process: string) => {
      const r = await oaExecute(A.address, process, flaky(process), { Prefer: 'respond-async' });
      expect(r.status, r.text).toBe(201);
      return r.json.jobID as string;
    };
    const [idem, once] = [await submit('flaky-idem'), await submit('flaky-once')];
    // Both wait for their second attempt (30 s away), holding their slots.
    for (const id of [idem, once]) {
      await pollJob(B.address, id, () => true, 15_000);
      await expect
        .poll(async () => (await request(`${B.address}/jobs/${id}`)).json.message as string, {
          timeout: 15_000,
        })
        .toMatch(/Attempt 1 of 3 failed/);
    }
    const holders = new Set((await spans([idem, once])).map((r) => r.worker));
    const byNode = await Promise.all(
      [W1, W2].map(async (w) => ({
        w,
        id: (await request(`${w.address}/health`)).json.cluster.node as string,
      })),
    );
    const doomed = byNode.filter((n) => holders.has(n.id)).map((n) => n.w);
    expect(doomed.length).toBeGreaterThan(0);
    const killedAt = Date.now();
    for (const w of doomed) w.child.kill('SIGKILL');
    // Workers replace the dead ones (the later tests need two).
    const survivors = [W1, W2].filter((w) => !doomed.includes(w));
    const fresh = await Promise.all(doomed.map(() => node('worker')));
    [W1, W2] = [...survivors, ...fresh] as [ServerProcess, ServerProcess];
    const idemEnd = (
      await pollJob(A.address, idem, (st) => st === 'successful' || st === 'failed', 40_000)
    ).at(-1);
    const onceEnd = (
      await pollJob(A.address, once, (st) => st === 'successful' || st === 'failed', 40_000)
    ).at(-1);
    // Far sooner than the backoff: found by its lease.
    expect(Date.now() - killedAt).toBeLessThan(25_000);
    expect(idemEnd.status).toBe('successful');
    expect(onceEnd).toMatchObject({ status: 'failed', message: expect.stringMatching(/lease expired/) });
    for (const id of [idem, once]) expect(finals.get(id), id).toHaveLength(1);
    const rows = await sql<{ id: string; started: number; attempts: number }>(
      'SELECT id, started, attempts FROM jobs WHERE id = ANY($1)',
      [[idem, once]],
    );
    const again = rows.find((r) => r.id === idem)!;
    // Run again only after the kill, by another node.
    expect(Number(again.started)).toBeGreaterThan(killedAt);
    expect(again.attempts).toBe(2);
  }, 90_000);

  it('kill -9 of a worker mid-job: its jobs are recovered once the lease expires; none lost, none run twice at once', async () => {
    const idempotent = await Promise.all(Array.from({ length: 3 }, () => submitOaproc(A.address, 3)));
    const other = await Promise.all(Array.from({ length: 2 }, () => submitOaproc(B.address, 3, 'stubborn')));
    const all = [...idempotent, ...other];
    await expect
      .poll(async () => (await spans(all)).filter((r) => r.started !== null).length, { timeout: 10_000 })
      .toBe(MAX_RUNNING);
    const running = await sql<{ id: string; worker: string }>(
      "SELECT id, worker FROM jobs WHERE id = ANY($1) AND status = 'running'",
      [all],
    );
    const onW1 = running.filter((r) => r.worker === running[0]!.worker);
    const killed = onW1[0]!.worker;
    // Which process is that node? The one whose /health names it.
    const target = (
      await Promise.all(
        [W1, W2].map(async (w) => ({
          w,
          id: (await request(`${w.address}/health`)).json.cluster.node as string,
        })),
      )
    ).find((x) => x.id === killed)!.w;
    const killedAt = Date.now();
    target.child.kill('SIGKILL');
    for (const id of all) await pollJob(A.address, id, (s) => s !== 'accepted' && s !== 'running', 40_000);
    for (const id of all) expect(finals.get(id), id).toHaveLength(1);
    const ends = await sql<{
      id: string;
      status: string;
      message: string;
      process_id: string;
      started: number;
    }>('SELECT id, status, message, process_id, started FROM jobs WHERE id = ANY($1)', [all]);
    for (const job of ends) {
      const wasOnKilled = onW1.some((r) => r.id === job.id);
      if (job.process_id === 'sleep') {
        expect(job.status, job.id).toBe('successful');
        // Run again only after the kill: never two runs at once.
        if (wasOnKilled) expect(Number(job.started)).toBeGreaterThan(killedAt);
      } else if (wasOnKilled) {
        expect(job).toMatchObject({ status: 'failed', message: expect.stringMatching(/lease expired/) });
      } else {
        expect(job.status).toBe('successful');
      }
    }
    expect(Date.now() - killedAt).toBeLessThan(30_000);
  }, 90_000);

  it('kill -9 of an API instance under load loses no accepted job; each ends exactly once', async () => {
    const t0 = Date.now();
    const accepted: string[] = [];
    const submissions = Array.from({ length: 40 }, async (_, i) => {
      await new Promise((r) => setTimeout(r, i * 10));
      try {
        const r = await oaExecute(B.address, 'sleep', sleepBody(0.05), { Prefer: 'respond-async' });
        if (r.status === 201) accepted.push(r.json.jobID as string);
      } catch {
        // B is gone: no answer, no promise made.
      }
    });
    await new Promise((r) => setTimeout(r, 150));
    B.child.kill('SIGKILL');
    await Promise.all(submissions);
    expect(accepted.length).toBeGreaterThan(0);
    // Every job the store took (answered or not) ends, exactly once.
    const stored = (
      await sql<{ id: string }>("SELECT id FROM jobs WHERE process_id = 'sleep' AND created > $1", [t0])
    ).map((r) => r.id);
    for (const id of accepted) expect(stored).toContain(id);
    for (const id of stored) await pollJob(A.address, id, (s) => s === 'successful', 30_000);
    for (const id of stored) expect(finals.get(id), id).toEqual(['successful']);
  }, 90_000);
});
