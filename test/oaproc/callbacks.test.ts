import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Job } from '../../src/core/job.ts';
import { referencePolicy } from '../../src/gateway.ts';
import {
  checkSubscriber,
  startCallbacks,
  type CallbackOptions,
  type Subscriber,
} from '../../src/oaproc/callbacks.ts';
import { finished, lit, startTestGateway, type TestGateway } from '../helpers/gateway.ts';

/** A local subscriber: records every POST; the first path segment says how it answers. */
interface Hit {
  path: string;
  body: unknown;
  contentType: string | undefined;
  at: number;
}

let receiver: Server;
let base: string;
const hits: Hit[] = [];
const sockets = new Set<Socket>();
const seen = new Map<string, number>();

function answer(req: IncomingMessage, res: ServerResponse, body: string): void {
  const path = req.url ?? '';
  hits.push({
    path,
    body: body ? JSON.parse(body) : undefined,
    contentType: req.headers['content-type'],
    at: Date.now(),
  });
  const n = (seen.get(path) ?? 0) + 1;
  seen.set(path, n);
  const kind = path.split('/')[1];
  if (kind === 'hang') return; // never answers
  if (kind === 'flaky' && n <= 2) {
    res.statusCode = 500;
    return void res.end('not yet');
  }
  if (kind === 'broken') {
    res.statusCode = 500;
    return void res.end('broken');
  }
  res.statusCode = 204;
  res.end();
}

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => answer(req, res, Buffer.concat(chunks).toString()));
  });
  receiver.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => receiver.close(resolve));
});

let tg: TestGateway;
beforeAll(async () => {
  tg = await startTestGateway({ server: '  allowed_reference_hosts: [127.0.0.1]' });
});
afterAll(async () => {
  await tg.close();
});

/** Log records of the callbacks, as pino writes them. */
let logs: Array<Record<string, unknown>> = [];
beforeEach(() => {
  logs = [];
});
const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line)) });

/** What the renderers returned, per job and kind: the bodies must be exactly these. */
const rendered = new Map<string, unknown[]>();
const remember = (key: string, value: unknown) => {
  rendered.set(key, [...(rendered.get(key) ?? []), value]);
  return value;
};

function callbacks(over: Partial<CallbackOptions> = {}): () => void {
  return startCallbacks(tg.gateway.jobs, {
    policy: referencePolicy(tg.gateway.config.server),
    render: {
      inProgress: (job) =>
        remember(`${job.id}:inProgress`, {
          jobID: job.id,
          status: job.status,
          progress: job.progress,
          message: job.message,
        }),
      success: async (job) =>
        remember(`${job.id}:success`, { jobID: job.id, outputs: JSON.parse(JSON.stringify(job.results)) }),
      failed: (job) =>
        remember(`${job.id}:failed`, { jobID: job.id, status: job.status, detail: job.error?.message }),
    },
    retries: { attempts: 3, baseDelayMs: 200, maxDelayMs: 2000 },
    timeoutMs: 1000,
    logger,
    ...over,
  });
}

function submit(processId: string, inputs: Record<string, string | number>, subscriber: Subscriber) {
  return tg.gateway.jobs.submit({
    processId,
    inputs: Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, [lit(v)]])),
    mode: 'async',
    binding: { protocol: 'oaproc', response: 'document', subscriber },
  });
}

const hitsAt = (path: string) => hits.filter((h) => h.path === path);

async function eventually(check: () => void | Promise<void>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > end) throw error;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('callbacks to a subscriber (OGC API - Processes callback class)', () => {
  it('POSTs the results document to successUri once the job succeeds', async () => {
    const stop = callbacks();
    try {
      const job = await submit('hello-world', { name: 'Ada' }, { successUri: `${base}/ok/success-1` });
      const done = await finished(tg.gateway, job.id);
      expect(done.status).toBe('successful');
      await eventually(() => expect(hitsAt('/ok/success-1')).toHaveLength(1));
      const [hit] = hitsAt('/ok/success-1');
      expect(hit!.contentType).toBe('application/json');
      expect(rendered.get(`${job.id}:success`)).toHaveLength(1);
      expect(hit!.body).toEqual(rendered.get(`${job.id}:success`)![0]);
      expect(JSON.stringify(hit!.body)).toContain('Hello Ada!');
      expect(logs.some((l) => l.msg === 'callback delivered' && l.job === job.id)).toBe(true);
    } finally {
      stop();
    }
  });

  it('POSTs statusInfo to inProgressUri while running, throttled, and none after the final callback', async () => {
    const stop = callbacks({ progressIntervalMs: 400 });
    try {
      const updates: Job[] = [];
      const off = tg.gateway.jobs.onUpdate((j) => updates.push(j));
      const path = '/ok/progress-1';
      const job = await submit(
        'sleep',
        { seconds: 1.5 },
        { successUri: `${base}/ok/progress-1-done`, inProgressUri: `${base}${path}` },
      );
      await finished(tg.gateway, job.id);
      off();
      await eventually(() => expect(hitsAt('/ok/progress-1-done')).toHaveLength(1));
      await delay(600); // anything held back would have been sent by now
      const progress = hitsAt(path);
      const running = updates.filter((u) => u.id === job.id && u.status === 'running');
      // sleep reports every 150 ms: about 10 running updates in 1.5 s, at most one callback per 400 ms.
      expect(running.length).toBeGreaterThanOrEqual(8);
      expect(progress.length).toBeGreaterThanOrEqual(2);
      expect(progress.length).toBeLessThanOrEqual(5);
      // Arrival gaps jitter on a loaded machine (a slow POST followed by a fast one); the count
      // above bounds the rate, and no two callbacks arrive nearly together.
      for (let i = 1; i < progress.length; i++) {
        expect(progress[i]!.at - progress[i - 1]!.at).toBeGreaterThanOrEqual(200);
      }
      // Every body is a statusInfo the renderer made, of a running job, progress never going back.
      const bodies = progress.map((h) => h.body as { jobID: string; status: string; progress: number });
      for (const body of bodies) {
        expect(rendered.get(`${job.id}:inProgress`)).toContainEqual(body);
        expect(body).toMatchObject({ jobID: job.id, status: 'running' });
      }
      const percents = bodies.map((b) => b.progress);
      expect([...percents].sort((a, b) => a - b)).toEqual(percents);
      expect(progress.at(-1)!.at).toBeLessThanOrEqual(hitsAt('/ok/progress-1-done')[0]!.at);
    } finally {
      stop();
    }
  });

  it('POSTs the exception to failedUri when the job fails, and when it is dismissed', async () => {
    const stop = callbacks();
    try {
      const job = await submit(
        'fail',
        { how: 'error' },
        { successUri: `${base}/ok/never`, failedUri: `${base}/ok/failed-1` },
      );
      expect((await finished(tg.gateway, job.id)).status).toBe('failed');
      await eventually(() => expect(hitsAt('/ok/failed-1')).toHaveLength(1));
      expect(hitsAt('/ok/failed-1')[0]!.body).toEqual({
        jobID: job.id,
        status: 'failed',
        detail: 'boom: the processor broke',
      });
      expect(hitsAt('/ok/failed-1')[0]!.body).toEqual(rendered.get(`${job.id}:failed`)![0]);

      const sleeper = await submit(
        'sleep',
        { seconds: 20 },
        { successUri: `${base}/ok/never`, failedUri: `${base}/ok/dismissed-1` },
      );
      await eventually(async () => expect((await tg.gateway.jobs.get(sleeper.id)).status).toBe('running'));
      await tg.gateway.jobs.dismiss(sleeper.id);
      await eventually(() => expect(hitsAt('/ok/dismissed-1')).toHaveLength(1));
      expect(hitsAt('/ok/dismissed-1')[0]!.body).toMatchObject({ jobID: sleeper.id, status: 'dismissed' });
      expect(hitsAt('/ok/never')).toHaveLength(0);
    } finally {
      stop();
    }
  });

  it('retries a failed delivery with growing delays until the subscriber takes it, then stops', async () => {
    const stop = callbacks({ retries: { attempts: 4, baseDelayMs: 300, maxDelayMs: 5000 } });
    try {
      const path = '/flaky/retry-1';
      const job = await submit('hello-world', { name: 'Retry' }, { successUri: `${base}${path}` });
      await finished(tg.gateway, job.id);
      await eventually(() => expect(hitsAt(path)).toHaveLength(3));
      await delay(1200); // longer than any further backoff would be: nothing more comes
      const tries = hitsAt(path);
      expect(tries).toHaveLength(3);
      // The same document every time, rendered once.
      expect(rendered.get(`${job.id}:success`)).toHaveLength(1);
      for (const t of tries) expect(t.body).toEqual(rendered.get(`${job.id}:success`)![0]);
      // Backoff with jitter: the n-th retry waits between half and all of 300·2ⁿ⁻¹ ms.
      const gaps = [tries[1]!.at - tries[0]!.at, tries[2]!.at - tries[1]!.at];
      expect(gaps[0]).toBeGreaterThanOrEqual(150 - 5);
      expect(gaps[0]).toBeLessThan(300 + 250);
      expect(gaps[1]).toBeGreaterThanOrEqual(300 - 5);
      expect(gaps[1]).toBeLessThan(600 + 250);
      const retries = logs.filter((l) => l.msg === 'callback failed; will retry' && l.job === job.id);
      expect(retries.map((l) => [l.attempts, l.failure])).toEqual([
        [1, 'HTTP 500'],
        [2, 'HTTP 500'],
      ]);
      expect(logs.find((l) => l.msg === 'callback delivered' && l.job === job.id)).toMatchObject({
        attempts: 3,
        status: 204,
      });
    } finally {
      stop();
    }
  });

  it('gives up after the last attempt and logs it', async () => {
    const stop = callbacks({ retries: { attempts: 2, baseDelayMs: 100, maxDelayMs: 100 } });
    try {
      const job = await submit('hello-world', { name: 'Nope' }, { successUri: `${base}/broken/1` });
      await finished(tg.gateway, job.id);
      await eventually(() =>
        expect(logs.find((l) => l.msg === 'callback given up' && l.job === job.id)).toMatchObject({
          attempts: 2,
          failure: 'HTTP 500',
          level: 50,
        }),
      );
      await delay(300);
      expect(hitsAt('/broken/1')).toHaveLength(2);
    } finally {
      stop();
    }
  });

  it('a subscriber that never answers: timed out and retried, while the job and other subscribers go on', async () => {
    const stop = callbacks({ timeoutMs: 500, retries: { attempts: 2, baseDelayMs: 100, maxDelayMs: 100 } });
    try {
      const started = Date.now();
      const stuck = await submit(
        'sleep',
        { seconds: 0.3 },
        { successUri: `${base}/hang/a`, inProgressUri: `${base}/hang/a-progress` },
      );
      const other = await submit('hello-world', { name: 'Other' }, { successUri: `${base}/ok/other` });
      // The job ends on time, whatever its subscriber does.
      const done = await finished(tg.gateway, stuck.id);
      expect(done.status).toBe('successful');
      expect(done.finished!.getTime() - done.started!.getTime()).toBeLessThan(1500);
      await finished(tg.gateway, other.id);
      await eventually(() => expect(hitsAt('/ok/other')).toHaveLength(1));
      // The other subscriber is served long before the stuck one has timed out.
      expect(hitsAt('/ok/other')[0]!.at - started).toBeLessThan(500 + 1000);
      await eventually(() => expect(hitsAt('/hang/a').length).toBeGreaterThanOrEqual(1));
      await eventually(() =>
        expect(logs.find((l) => l.msg === 'callback given up' && l.job === stuck.id)).toMatchObject({
          kind: 'success',
          attempts: 2,
          failure: 'no complete answer within 500 ms',
        }),
      );
      expect(hitsAt('/hang/a')).toHaveLength(2);
      // The server still answers its own clients.
      expect((await tg.gateway.jobs.get(other.id)).status).toBe('successful');
    } finally {
      stop();
    }
  });

  it('never contacts a host the outbound policy refuses, and logs why', async () => {
    const stop = callbacks();
    try {
      // localhost resolves to a loopback address, and only 127.0.0.1 is allowed by name.
      const port = new URL(base).port;
      const job = await submit(
        'hello-world',
        { name: 'x' },
        { successUri: `http://localhost:${port}/ok/refused` },
      );
      await finished(tg.gateway, job.id);
      await eventually(() =>
        expect(
          logs.find(
            (l) => l.job === job.id && String(l.msg).startsWith('callback refused by the outbound policy'),
          ),
        ).toMatchObject({ why: 'private-address', level: 40 }),
      );
      await delay(300);
      expect(hitsAt('/ok/refused')).toHaveLength(0);
      expect(logs.some((l) => l.job === job.id && l.msg === 'callback failed; will retry')).toBe(false);
    } finally {
      stop();
    }
  });

  it('stop() cancels pending retries and held-back progress callbacks', async () => {
    const stop = callbacks({
      retries: { attempts: 5, baseDelayMs: 400, maxDelayMs: 400 },
      progressIntervalMs: 600,
    });
    try {
      const job = await submit('hello-world', { name: 'Stop' }, { successUri: `${base}/broken/stop` });
      await finished(tg.gateway, job.id);
      const sleeper = await submit(
        'sleep',
        { seconds: 2 },
        { successUri: `${base}/ok/stop-done`, inProgressUri: `${base}/ok/stop-progress` },
      );
      await eventually(() => expect(hitsAt('/broken/stop')).toHaveLength(1));
      await eventually(() => expect(hitsAt('/ok/stop-progress')).toHaveLength(1));
      stop();
      await finished(tg.gateway, sleeper.id);
      await delay(500);
      // Without stop(): a retry after ≤ 400 ms, a progress callback every 600 ms and the success one.
      expect(hitsAt('/broken/stop')).toHaveLength(1);
      expect(hitsAt('/ok/stop-progress')).toHaveLength(1);
      expect(hitsAt('/ok/stop-done')).toHaveLength(0);
    } finally {
      stop(); // again: stopping twice is harmless
    }
  });

  it('pending deliveries are capped: beyond the cap new ones are dropped and logged', async () => {
    const stop = callbacks({ concurrency: 1, maxPending: 2, timeoutMs: 1500 });
    try {
      const jobs = [];
      for (let i = 0; i < 4; i++) {
        jobs.push(await submit('hello-world', { name: `n${i}` }, { successUri: `${base}/hang/cap-${i}` }));
      }
      for (const job of jobs) await finished(tg.gateway, job.id);
      await eventually(() =>
        expect(logs.filter((l) => l.msg === 'callback dropped: too many callbacks pending')).toHaveLength(2),
      );
      // One POST under way at a time.
      await delay(200);
      expect(hits.filter((h) => h.path.startsWith('/hang/cap-'))).toHaveLength(1);
    } finally {
      stop();
    }
  });
});

describe('checkSubscriber', () => {
  const policy = { allowedPrivateHosts: ['127.0.0.1'] };
  const refusal = (subscriber: unknown) => {
    const error = checkSubscriber(subscriber, policy);
    return error && { code: error.code, locator: error.locator, message: error.message };
  };

  it('accepts http and https URIs, the success one required', () => {
    expect(checkSubscriber({ successUri: 'https://example.com/done' }, policy)).toBeUndefined();
    expect(
      checkSubscriber(
        {
          successUri: 'http://127.0.0.1:9000/done?token=x',
          inProgressUri: 'https://example.com/progress',
          failedUri: 'https://example.com/failed',
        },
        policy,
      ),
    ).toBeUndefined();
    expect(refusal({ failedUri: 'https://example.com/failed' })).toMatchObject({
      code: 'MissingParameterValue',
      locator: 'subscriber.successUri',
    });
  });

  it('refuses what is not an object, not a URI, not http(s), or a private address literal', () => {
    for (const bad of [null, 'https://example.com', [], 3]) {
      expect(refusal(bad)).toMatchObject({ code: 'InvalidParameterValue', locator: 'subscriber' });
    }
    expect(refusal({ successUri: 42 })).toMatchObject({ locator: 'subscriber.successUri' });
    expect(refusal({ successUri: '/relative/path' })).toMatchObject({
      code: 'InvalidParameterValue',
      locator: 'subscriber.successUri',
      message: expect.stringMatching(/not an absolute URI/),
    });
    expect(refusal({ successUri: 'https://example.com', failedUri: 'ftp://example.com/x' })).toMatchObject({
      locator: 'subscriber.failedUri',
      message: expect.stringMatching(/scheme ftp: is not allowed/),
    });
    expect(refusal({ successUri: 'file:///etc/passwd' })).toMatchObject({ locator: 'subscriber.successUri' });
    expect(refusal({ successUri: 'https://example.com', inProgressUri: 'http://10.1.2.3/p' })).toMatchObject({
      locator: 'subscriber.inProgressUri',
      message: expect.stringMatching(/private address/),
    });
    expect(refusal({ successUri: 'http://[::1]:8080/x' })).toMatchObject({
      locator: 'subscriber.successUri',
    });
  });
});
