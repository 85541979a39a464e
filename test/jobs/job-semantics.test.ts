/**
 * Per-process limits, retries of transient failures and the result cache, over real HTTP against
 * a real server, in both protocols (issue 14).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execute, pollJob, request } from '../helpers/oaproc-http.ts';
import { FIXTURES, testConfigYaml } from '../helpers/gateway.ts';
import { parseConfig } from '../../src/config/load.ts';
import { createGateway } from '../../src/gateway.ts';
import { listen } from '../../src/server.ts';
import { silentLogger } from '../../src/util/logger.ts';
import {
  doc,
  execute as wpsExecute,
  expectValid,
  freePort,
  get,
  kids,
  literalInput,
  one,
  startWpsServer,
  text,
  type WpsServer,
} from '../helpers/wps.ts';

const fixture = (name: string) => path.join(FIXTURES, 'processes', `${name}.ts`);
const resource = (id: string, name: string, ...extra: string[]) => [
  `  ${id}:`,
  '    type: process',
  `    processor: {name: ${fixture(name)}}`,
  ...extra.map((l) => `    ${l}`),
];

const BACKOFF_MS = 200;
const JITTER = 0.5;
const CACHE_TTL_S = 2;

let s: WpsServer;
const run = Date.now().toString(36);

beforeAll(async () => {
  rmSync(path.join(tmpdir(), 'gw-flaky'), { recursive: true, force: true });
  s = await startWpsServer({
    processes: ['hello-world'],
    manager: { parallel_processes: 3, max_queued_jobs: 20 },
    extraResources: [
      ...resource(
        'flaky',
        'flaky',
        `retry: {max_attempts: 3, backoff_seconds: ${BACKOFF_MS / 1000}, jitter: ${JITTER}}`,
      ),
      ...resource('flaky-slow', 'flaky', 'retry: {max_attempts: 3, backoff_seconds: 30}'),
      ...resource('counted', 'counted', `cache: {ttl_seconds: ${CACHE_TTL_S}}`),
      '  sleep:',
      '    type: process',
      '    processor: {name: sleep}',
      '    max_running_jobs: 1',
      '    max_queued_jobs: 2',
    ],
  });
}, 30_000);
afterAll(() => s?.close());

const asyncJob = async (
  processId: string,
  inputs: Record<string, unknown>,
  headers: Record<string, string> = {},
) => {
  const r = await execute(
    s.base,
    processId,
    { inputs, ...(processId === 'counted' ? { response: 'document' } : {}) },
    { Prefer: 'respond-async', ...headers },
  );
  expect(r.status, r.text).toBe(201);
  return r.json as { jobID: string; status: string; cache?: { hit: boolean; sourceJobID: string } };
};

const statusOf = async (id: string) => (await request(`${s.base}/jobs/${id}`)).json;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- statusInfo JSON
const done = async (id: string): Promise<any> =>
  (await pollJob(s.base, id, (st) => ['successful', 'failed', 'dismissed'].includes(st), 20_000)).at(-1);

/** The WPS status document of a job: its status element and the text in it. */
async function wpsStatus(id: string): Promise<{ status: string; text: string }> {
  const r = await get(`${s.wps}/status/${id}.xml`);
  expect(r.status, r.body).toBe(200);
  expectValid(r.body, 'execute');
  const status = kids(one(doc(r.body), 'Status'))[0]!;
  return { status: status.local, text: text(status) };
}

describe('per-process limits', () => {
  it('runs at most max_running_jobs of a process at once, others beside them; bounds its queue', async () => {
    const sleeps = [];
    for (let i = 0; i < 3; i++) sleeps.push(await asyncJob('sleep', { seconds: 0.4 }));
    // One running and two waiting: the bound (1 + 2) is reached.
    const refused = await execute(s.base, 'sleep', { inputs: { seconds: 0.4 } }, { Prefer: 'respond-async' });
    expect(refused.status, refused.text).toBe(503);
    expect(refused.json.detail).toMatch(/Process 'sleep' is busy/);
    // Another process is not held up by the cap.
    const hello = await asyncJob('hello-world', { name: 'cap' });
    const helloDone = await done(hello.jobID);
    expect(helloDone.status).toBe('successful');
    const finished = [];
    for (const j of sleeps) finished.push(await done(j.jobID));
    const spans = finished
      .map((j) => ({ start: Date.parse(j.started), end: Date.parse(j.finished) }))
      .sort((a, b) => a.start - b.start);
    for (let i = 1; i < spans.length; i++) expect(spans[i]!.start).toBeGreaterThanOrEqual(spans[i - 1]!.end);
    // The hello-world job ran while the first sleep job did (its cap did not hold it back).
    expect(Date.parse(helloDone.finished)).toBeLessThan(spans[1]!.end);
  }, 30_000);
});

describe('retries', () => {
  const attemptsOf = (info: {
    attempts?: Array<{ number: number; started: string; finished: string; error?: { message: string } }>;
  }) => info.attempts ?? [];

  it('retries a failing processor with exponential backoff and jitter until it succeeds', async () => {
    const seen: number[] = [];
    const job = await asyncJob('flaky', { key: `twice-${run}`, failures: 2, how: 'error' });
    const off = s.gateway.jobs.onUpdate((j) => {
      if (j.id === job.jobID) seen.push(j.progress);
    });
    const info = await done(job.jobID);
    off();
    expect(info.status).toBe('successful');
    const attempts = attemptsOf(info);
    expect(attempts.map((a) => a.number)).toEqual([1, 2, 3]);
    expect(attempts[0]!.error?.message).toBe('run 1 failed');
    expect(attempts[1]!.error?.message).toBe('run 2 failed');
    expect(attempts[2]!.error).toBeUndefined();
    // Pause after attempt n: in [(1 − jitter)·b·2^(n−1), b·2^(n−1)] (plus scheduling slack).
    for (const n of [1, 2]) {
      const pause = Date.parse(attempts[n]!.started) - Date.parse(attempts[n - 1]!.finished);
      const full = BACKOFF_MS * 2 ** (n - 1);
      expect(pause).toBeGreaterThanOrEqual(full * (1 - JITTER) - 5);
      expect(pause).toBeLessThan(full + 500);
    }
    const results = await request(`${s.base}/jobs/${job.jobID}/results`, {
      headers: { Accept: 'application/json' },
    });
    expect(results.text).toBe('3');
    // Progress never went back although attempt 1 reached 60 % and later ones report 10 %.
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1]!);
    // The job page shows the attempts.
    const page = await request(`${s.base}/jobs/${job.jobID}?f=html`);
    expect(page.text).toMatch(/Attempts/);
    expect(page.text).toMatch(/run 2 failed/);
  }, 30_000);

  it('retries a worker that died', async () => {
    const job = await asyncJob('flaky', { key: `exit-${run}`, failures: 1, how: 'exit' });
    const info = await done(job.jobID);
    expect(info.status).toBe('successful');
    expect(attemptsOf(info)).toHaveLength(2);
    expect(attemptsOf(info)[0]!.error?.message).toMatch(/stopped unexpectedly/);
  }, 30_000);

  it('gives up after max_attempts with the last error and the attempt count (both protocols)', async () => {
    const job = await asyncJob('flaky', { key: `always-${run}`, failures: 99, how: 'error' });
    const info = await done(job.jobID);
    expect(info.status).toBe('failed');
    expect(attemptsOf(info)).toHaveLength(3);
    expect(info.message).toBe('run 3 failed (failed after 3 attempts)');
    const wps = await wpsStatus(job.jobID);
    expect(wps.status).toBe('ProcessFailed');
    expect(wps.text).toContain('run 3 failed (failed after 3 attempts)');
  }, 30_000);

  it.each(['permanent', 'invalid'])(
    'never retries an error that is %s',
    async (how) => {
      const job = await asyncJob('flaky', { key: `${how}-${run}`, failures: 99, how });
      const info = await done(job.jobID);
      expect(info.status).toBe('failed');
      expect(attemptsOf(info)).toHaveLength(1);
      expect(info.message).not.toMatch(/attempts/);
    },
    30_000,
  );

  it('dismiss cancels a pending retry', async () => {
    const key = `slow-${run}`;
    const job = await asyncJob('flaky-slow', { key, failures: 99, how: 'error' });
    // Wait for the pause after the first attempt.
    for (let i = 0; i < 100 && attemptsOf(await statusOf(job.jobID)).length < 1; i++) await delay(50);
    const pending = await statusOf(job.jobID);
    expect(pending.status).toBe('running');
    expect(pending.message).toMatch(/Attempt 1 of 3 failed \(run 1 failed\); attempt 2 in/);
    const dismissed = await request(`${s.base}/jobs/${job.jobID}`, { method: 'DELETE' });
    expect(dismissed.status).toBe(200);
    expect(dismissed.json.status).toBe('dismissed');
    await delay(300);
    expect((await statusOf(job.jobID)).status).toBe('dismissed');
    expect(s.gateway.jobs.running).toBe(0);
  }, 30_000);
});

describe('result cache', () => {
  /** The results document of a job (requested with response=document). */
  const resultOf = async (id: string) => {
    const r = await request(`${s.base}/jobs/${id}/results`, { headers: { Accept: 'application/json' } });
    expect(r.status, r.text).toBe(200);
    return r.json as { result: string; file: unknown };
  };

  const wpsCounted = async (value: string, headers: Record<string, string> = {}, extra = '') => {
    const res = await fetch(s.wps, {
      method: 'POST',
      headers: { 'Content-Type': 'text/xml', ...headers },
      body: wpsExecute('counted', literalInput('text', value) + extra),
    });
    const body = await res.text();
    expect(res.status, body).toBe(200);
    expectValid(body, 'execute');
    const root = doc(body);
    const status = kids(one(root, 'Status'))[0]!;
    const result = one(root, 'Output');
    return { status: status.local, message: text(status), result: text(one(result, 'LiteralData')) };
  };

  it('serves a repeated request from the cache as a new successful job (OGC API and WPS)', async () => {
    const value = `hit-${run}`;
    const first = await asyncJob('counted', { text: value });
    expect((await done(first.jobID)).status).toBe('successful');
    const fresh = await resultOf(first.jobID);
    expect(fresh.result).toMatch(new RegExp(`^${value} `));

    const again = await asyncJob('counted', { text: value });
    expect(again.jobID).not.toBe(first.jobID);
    expect(again.status).toBe('successful');
    expect(again.cache).toEqual({ hit: true, sourceJobID: first.jobID });
    expect(await resultOf(again.jobID)).toEqual(fresh);
    // The hit job owns its files (linked into its own output folder).
    expect(existsSync(path.join(s.dir, 'outputs', again.jobID))).toBe(true);

    const wps = await wpsCounted(value);
    expect(wps.status).toBe('ProcessSucceeded');
    expect(wps.message).toContain(`served from the result cache: the results of job ${first.jobID}`);
    expect(wps.result).toBe(fresh.result);
  }, 30_000);

  it('Cache-Control: no-cache runs afresh (both protocols) and refills the cache', async () => {
    const value = `nocache-${run}`;
    const first = await asyncJob('counted', { text: value });
    await done(first.jobID);
    const old = (await resultOf(first.jobID)).result;

    const bypass = await asyncJob('counted', { text: value }, { 'Cache-Control': 'no-cache' });
    expect(bypass.status).not.toBe('successful');
    expect((await done(bypass.jobID)).cache).toBeUndefined();
    const renewed = (await resultOf(bypass.jobID)).result;
    expect(renewed).not.toBe(old);

    const viaWps = await wpsCounted(value, { 'Cache-Control': 'no-cache' });
    expect(viaWps.message).not.toContain('result cache');
    expect(viaWps.result).not.toBe(renewed);

    // The latest run is what the cache now holds.
    expect((await wpsCounted(value)).result).toBe(viaWps.result);
  }, 30_000);

  it('entries expire with their time to live', async () => {
    const value = `ttl-${run}`;
    const first = await asyncJob('counted', { text: value });
    await done(first.jobID);
    await delay(CACHE_TTL_S * 1000 + 200);
    const later = await asyncJob('counted', { text: value });
    const info = await done(later.jobID);
    expect(info.cache).toBeUndefined();
    expect((await resultOf(later.jobID)).result).not.toBe((await resultOf(first.jobID)).result);
  }, 30_000);

  it('identical requests under way at once run once and share the result (both protocols)', async () => {
    const value = `together-${run}`;
    const oaproc = await Promise.all([0, 1].map(() => asyncJob('counted', { text: value, delayMs: 600 })));
    await delay(100);
    const wps = await wpsCounted(value, {}, literalInput('delayMs', '600'));
    const infos = await Promise.all(oaproc.map((j) => done(j.jobID)));
    const results = await Promise.all(oaproc.map((j) => resultOf(j.jobID)));
    expect(new Set([...results.map((r) => r.result), wps.result]).size).toBe(1);
    const fresh = infos.filter((i) => i.cache === undefined);
    expect(fresh).toHaveLength(1);
    for (const i of infos) if (i.cache) expect(i.cache.sourceJobID).toBe(fresh[0]!.jobID);
    expect(wps.message).toContain(`result cache: the results of job ${fresh[0]!.jobID}`);
  }, 30_000);
});

describe('result cache across process versions', () => {
  /** A server on `dir` (kept between servers) publishing `counted` at `version`. */
  async function serverAt(dir: string, version: string) {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const yaml = testConfigYaml(dir, {
      processes: [],
      server: `  url: ${base}`,
      extraResources: resource('counted', 'counted', 'cache: true').map((l) =>
        l.includes('processor:') ? l.replace('}', `, version: '${version}'}`) : l,
      ),
    }).replace('port: 0}', `port: ${port}}`);
    const gateway = await createGateway(
      parseConfig(yaml, path.join(dir, 'gateway.yml'), {}).config,
      silentLogger(),
    );
    const running = await listen(gateway, undefined, { callbacks: false });
    const runJob = async (headers: Record<string, string> = {}) => {
      const r = await execute(
        base,
        'counted',
        { inputs: { text: 'v' }, response: 'document' },
        {
          Prefer: 'respond-async',
          ...headers,
        },
      );
      expect(r.status, r.text).toBe(201);
      const [info] = (await pollJob(base, r.json.jobID, (st) => st === 'successful', 20_000)).slice(-1);
      return info as { jobID: string; cache?: { sourceJobID: string } };
    };
    return { runJob, close: () => running.close() };
  }

  it('a new version never hits an entry of the old one; the old version still does', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gw-cache-version-'));
    try {
      const v1 = await serverAt(dir, '1.0.0');
      const first = await v1.runJob();
      expect(first.cache).toBeUndefined();
      expect((await v1.runJob()).cache?.sourceJobID).toBe(first.jobID);
      await v1.close();

      const v2 = await serverAt(dir, '2.0.0');
      const second = await v2.runJob();
      expect(second.cache).toBeUndefined();
      await v2.close();

      const back = await serverAt(dir, '1.0.0');
      expect((await back.runJob()).cache?.sourceJobID).toBe(first.jobID);
      await back.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
