import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { PgJobStore } from '../../src/jobs/pg-store.ts';
import type { NewJob } from '../../src/jobs/store.ts';
import { FIXTURES, testConfigYaml } from '../helpers/gateway.ts';
import { execute as oaExecute, pollJob, request } from '../helpers/oaproc-http.ts';
import { startPostgres, type PostgresServer } from '../helpers/postgres.ts';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.ts';

/**
 * Hostile checks of the cluster on a real PostgreSQL and real server processes (an API instance A and
 * two workers): ids and filters PostgreSQL cannot hold, the connection string's password, the
 * database restarted while serving, a worker paused past its lease, a database down at start-up.
 */

const PASSWORD = 'Hunter2-s3cret-pw';
const LEASE_SECONDS = 1;
const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

let postgres: PostgresServer;
/** The database, with a password (the test server trusts local connections: any password works). */
let url: string;
let shared: string;
let A: ServerProcess;
let W1: ServerProcess;
let W2: ServerProcess;
const nodes: ServerProcess[] = [];

let logs = 0;
function node(role: 'api' | 'worker'): Promise<ServerProcess> {
  return startServerProcess({
    prefix: `gw-hostile-${role}-`,
    args: ['--role', role],
    extraResources: [
      `  complain:\n    type: process\n    processor: {name: ${path.join(FIXTURES, 'processes', 'complain.ts')}}`,
    ],
    logging: ['  level: DEBUG', `  logfile: ${path.join(shared, `node-${++logs}.log`)}`],
    manager: {
      name: 'PostgreSQL',
      connection: url,
      work_dir: path.join(shared, 'work'),
      output_dir: path.join(shared, 'outputs'),
      parallel_processes: 2,
      lease_seconds: LEASE_SECONDS,
      poll_seconds: 0.3,
      idempotent_processes: 'sleep',
    },
  }).then((n) => (nodes.push(n), n));
}

/** One query on a connection of its own (the database restarts in between). */
async function sql<T extends pg.QueryResultRow>(text: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text, params)).rows;
  } finally {
    await client.end();
  }
}

const nodeId = async (n: ServerProcess) => (await request(`${n.address}/health`)).json.cluster.node as string;

async function submit(base: string, process: string, inputs: Record<string, unknown>): Promise<string> {
  const r = await oaExecute(base, process, { inputs }, { Prefer: 'respond-async' });
  expect(r.status, r.text).toBe(201);
  return r.json.jobID as string;
}

beforeAll(async () => {
  postgres = await startPostgres();
  url = (await postgres.createDatabase()).replace('postgres@', `postgres:${PASSWORD}@`);
  shared = mkdtempSync(path.join(tmpdir(), 'gw-hostile-shared-'));
  A = await node('api');
  [W1, W2] = await Promise.all([node('worker'), node('worker')]);
}, 60_000);

afterAll(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  await postgres?.stop();
  if (shared) rmSync(shared, { recursive: true, force: true });
}, 60_000);

describe('hostile ids and filters on the PostgreSQL store', () => {
  it('job ids with NUL, quotes, SQL and unicode: 404, never 500; filters: an empty list or 400', async () => {
    const kept = await submit(A.address, 'sleep', { seconds: 0 });
    await pollJob(A.address, kept, (s) => s === 'successful');
    for (const id of ['a%00b', '%00', "x'%3B%20DROP%20TABLE%20jobs%3B--", '%F0%9F%98%80', '%ED%A0%80']) {
      for (const [method, suffix] of [
        ['GET', ''],
        ['GET', '/results'],
        ['DELETE', ''],
      ] as const) {
        const r = await request(`${A.address}/jobs/${id}${suffix}`, { method });
        expect(r.status, `${method} /jobs/${id}${suffix}: ${r.text}`).toBe(404);
        expect(r.json.type).toMatch(/no-such-job/);
      }
      const page = await request(`${A.address}/jobs/${id}?f=html`);
      expect(page.status, page.text).toBe(404);
      const wps = await request(`${A.address}/wps/status/${id}.xml`);
      expect(wps.status, wps.text).toBeLessThan(500);
      expect(wps.text).not.toMatch(/job store failed|byte sequence/);
    }
    for (const query of [
      'processID=a%00b',
      'processID=sleep&processID=%00',
      "processID=x'%20OR%201%3D1--",
      'processID=%ED%A0%80',
      'type=process%00',
    ]) {
      const r = await request(`${A.address}/jobs?${query}`, { headers: { Accept: 'application/json' } });
      expect(r.status, `${query}: ${r.text}`).toBe(200);
      expect(r.json.numberMatched, query).toBe(query.includes('processID=sleep') ? 1 : 0);
    }
    for (const query of [
      'status=acc%00epted',
      'limit=99999999999999999999',
      'offset=-1',
      'minDuration=1e400',
    ]) {
      const r = await request(`${A.address}/jobs?${query}`, { headers: { Accept: 'application/json' } });
      expect(r.status, `${query}: ${r.text}`).toBe(400);
    }
    // Still there: nothing reached SQL as SQL.
    expect((await request(`${A.address}/jobs/${kept}`)).json.status).toBe('successful');
  });

  it("a client's text with NUL in a job's progress and failure: recorded (NUL as U+FFFD), the job ends", async () => {
    const id = await submit(A.address, 'complain', { text: 'a\u0000b' });
    await expect
      .poll(
        async () =>
          (await sql<{ message: string }>('SELECT message FROM jobs WHERE id = $1', [id]))[0]?.message,
        {
          timeout: 10_000,
          interval: 50,
        },
      )
      .toBe('reading a\uFFFDb');
    // Not stuck running (a store that refused the failure would retry it forever, holding the slot).
    const status = (await pollJob(A.address, id, (s) => s === 'failed', 10_000)).at(-1);
    expect(status.message).toBe('cannot use a\uFFFDb');
  });
});

describe('the connection string never leaks', () => {
  it('not in /health, the pages, error documents or WPS answers', async () => {
    const pages = await Promise.all(
      [
        '/health',
        '/',
        '/?f=html',
        '/jobs?f=html',
        '/jobs?processID=a%00b&f=html',
        '/jobs/none',
        '/jobs/a%00b?f=html',
        '/conformance',
        '/wps?service=WPS&request=GetCapabilities',
        '/wps?service=WPS&request=Nope',
      ].map((p) => request(`${A.address}${p}`)),
    );
    for (const page of pages) {
      expect(page.text).not.toContain(PASSWORD);
      expect(page.text).not.toContain(url);
    }
  });

  it('a database down at start-up: a clear message without the password, exit code 1', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gw-hostile-down-'));
    try {
      const config = path.join(dir, 'gateway.yml');
      // A port nothing listens on: PostgreSQL's own, once it is stopped, is the same case.
      writeFileSync(
        config,
        testConfigYaml(dir, {
          manager: { name: 'PostgreSQL', connection: `postgresql://gw:${PASSWORD}@127.0.0.1:1/gateway` },
        }),
      );
      const child = spawn(
        process.execPath,
        [CLI, 'serve', '--config', config, '--port', '0', '--role', 'api'],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const code = await new Promise((resolve) => child.once('exit', resolve));
      expect(code).toBe(1);
      expect(out).toMatch(
        /^Cannot open the PostgreSQL job store postgresql:\/\/gw:\*\*\*@127\.0\.0\.1:1\/gateway: connect ECONNREFUSED/,
      );
      expect(out).not.toContain(PASSWORD);
      expect(out).not.toMatch(/\n\s+at /); // no stack trace
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an INI store URL refused: its credentials are not echoed', () => {
    const ini = `[logging]\ndatabase = mysql://gw:${PASSWORD}@db.internal/gw\n`;
    expect(() => parseConfig(ini, '/tmp/pywps.cfg', {})).toThrow(/expected a SQLite .* job store/);
    try {
      parseConfig(ini, '/tmp/pywps.cfg', {});
    } catch (error) {
      expect(String((error as Error).message)).not.toContain(PASSWORD);
      expect(String((error as Error).message)).toContain('mysql://gw:***@db.internal/gw');
    }
  });
});

describe('a worker paused past its lease', () => {
  it('its job runs again on the other worker; the paused one, resumed, records nothing and stops', async () => {
    const id = await submit(A.address, 'sleep', { seconds: 2.5 });
    const runner = async () =>
      (
        await sql<{ worker: string | null; status: string }>(
          'SELECT worker, status FROM jobs WHERE id = $1',
          [id],
        )
      )[0]!;
    await expect.poll(async () => (await runner()).status, { timeout: 10_000, interval: 50 }).toBe('running');
    const first = (await runner()).worker;
    const [w1, w2] = await Promise.all([nodeId(W1), nodeId(W2)]);
    const [paused, other] = first === w1 ? [W1, w2] : [W2, w1];
    paused.child.kill('SIGSTOP');
    try {
      // Past its lease the other worker recovers the job (sleep is idempotent) and runs it again.
      await expect.poll(async () => (await runner()).worker, { timeout: 10_000, interval: 50 }).toBe(other);
    } finally {
      paused.child.kill('SIGCONT');
    }
    const done = (await pollJob(A.address, id, (s) => s !== 'accepted' && s !== 'running', 15_000)).at(-1);
    // The second run's outcome, not the paused run's (which ended first, or was stopped).
    expect(done.status, JSON.stringify(done)).toBe('successful');
    expect((await runner()).worker).toBe(other);
    const rows = await sql<{ attempts: number }>('SELECT attempts FROM jobs WHERE id = $1', [id]);
    expect(rows[0]!.attempts).toBe(2);
    // The resumed worker runs nothing any more.
    await expect
      .poll(
        async () =>
          (await sql<{ running: number }>('SELECT running FROM workers WHERE id = $1', [first]))[0]?.running,
        { timeout: 5000, interval: 100 },
      )
      .toBe(0);
  }, 40_000);
});

describe('PostgreSQL restarted while serving', () => {
  it('health answers while it is down; running jobs are recovered, a waiting sync client answered, notifications resume', async () => {
    const ids = await Promise.all([1, 2].map(() => submit(A.address, 'sleep', { seconds: 2 })));
    const sync = oaExecute(A.address, 'sleep', { inputs: { seconds: 1.5 } }, {});
    await expect
      .poll(
        async () =>
          (await sql<{ n: number }>("SELECT count(*)::int AS n FROM jobs WHERE status = 'running'"))[0]!.n,
        {
          timeout: 10_000,
          interval: 50,
        },
      )
      .toBe(3);
    // Down for longer than the lease: the workers stop their jobs (they cannot renew), nobody records them.
    const restarted = postgres.restart(LEASE_SECONDS * 1000 + 2000);
    await new Promise((r) => setTimeout(r, 800));
    const t0 = performance.now();
    const health = await request(`${A.address}/health`);
    expect(performance.now() - t0).toBeLessThan(4000);
    expect(health.json.status, health.text).toBe('degraded');
    expect(health.text).not.toContain(PASSWORD);
    await restarted;
    // The synchronous client gets its result although the end was announced while A was reconnecting.
    const answer = await sync;
    expect(answer.status, answer.text).toBe(200);
    for (const id of ids) {
      const done = (await pollJob(A.address, id, (s) => s !== 'accepted' && s !== 'running', 20_000)).at(-1);
      expect(done.status, JSON.stringify(done)).toBe('successful');
    }
    // Notifications come back on every node.
    for (const n of [A, W1, W2]) {
      await expect
        .poll(async () => (await request(`${n.address}/health`)).json.cluster?.notifications, {
          timeout: 15_000,
          interval: 200,
        })
        .toBe(true);
    }
    const quick = await submit(A.address, 'sleep', { seconds: 0 });
    await pollJob(A.address, quick, (s) => s === 'successful', 5000);
    // Nothing any node logged holds the password.
    for (let i = 1; i <= logs; i++) {
      const log = readFileSync(path.join(shared, `node-${i}.log`), 'utf8');
      expect(log).toMatch(/job notifications lost/); // the restart was logged
      expect(log).not.toContain(PASSWORD);
    }
  }, 60_000);
});

describe('the shared store: a node that lost a job', () => {
  let dir: string;
  let n = 0;
  const newJob = (processId = 'idem'): NewJob => ({
    id: `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`,
    processId,
    mode: 'async',
    created: new Date(),
    request: { processId, inputs: {}, outputs: {}, outputsSelected: false },
  });

  it('records nothing once its lease ran out, even after its heartbeat noticed; NUL finds nothing', async () => {
    dir = await postgres.createDatabase();
    const dead = await PgJobStore.open({ connection: dir, leaseMs: 50 });
    const alive = await PgJobStore.open({ connection: dir, leaseMs: 60_000 });
    try {
      // Each run records its end once (src/jobs/manager.ts #record): one job per case.
      const [expired, requeued, rerun] = [
        await dead.insert(newJob()),
        await dead.insert(newJob()),
        await dead.insert(newJob()),
      ];
      for (let i = 0; i < 3; i++) await dead.claimNext(new Date());
      await new Promise((r) => setTimeout(r, 100));
      // Expired, not yet recovered: its end is refused (recovery decides).
      expect(await dead.transition(expired.id, 'failed', { message: 'late' })).toBeUndefined();
      // Queued again, and the heartbeat noticed: the late end cannot fail the queued job.
      const error = { code: 'NoApplicableCode' as const, message: 'lost' };
      expect((await alive.recoverExpired(['idem'], error)).requeued.sort()).toEqual(
        [expired.id, requeued.id, rerun.id].sort(),
      );
      expect([...(await dead.renewLeases([requeued.id, rerun.id]))]).toEqual([]);
      expect(await dead.transition(requeued.id, 'failed', { message: 'late' })).toBeUndefined();
      expect((await alive.get(requeued.id))?.status).toBe('accepted');
      // Claimed by another node: the late node's end is not written over the new run.
      const claims = [];
      for (let i = 0; i < 3; i++) claims.push(await alive.claimNext(new Date()));
      expect(claims.map((j) => j?.id)).toContain(rerun.id);
      expect(await dead.transition(rerun.id, 'successful', { finished: new Date() })).toBeUndefined();
      expect((await alive.get(rerun.id))?.status).toBe('running');
      expect((await alive.transition(rerun.id, 'successful', { finished: new Date() }))?.status).toBe(
        'successful',
      );
      // A client may still dismiss on any node (the late one too).
      const other = await alive.insert(newJob('p'));
      expect((await dead.transition(other.id, 'dismissed', {}))?.status).toBe('dismissed');

      expect(await alive.get('a\u0000b')).toBeUndefined();
      expect(await alive.list({ processIds: ['\u0000'] })).toEqual({ jobs: [], total: 0 });
      expect((await alive.list({ processIds: ['\u0000', 'idem'] })).total).toBe(3);
      expect(await alive.delete('\u0000')).toBe(false);
      expect(await alive.transition('\u0000', 'failed')).toBeUndefined();
      expect([...(await alive.existing(['\u0000', rerun.id]))]).toEqual([rerun.id]);
    } finally {
      await Promise.all([dead.close(), alive.close()]);
    }
  });
});
