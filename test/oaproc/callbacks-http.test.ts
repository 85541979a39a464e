/**
 * Callbacks end to end: an execute request with a `subscriber` posts the real documents of the
 * binding (statusInfo while running, the results document, the exception) to local receivers.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execute, pollJob } from '../helpers/oaproc-http.ts';
import { expectOfficial } from '../helpers/oaproc-schemas.ts';
import { startWpsServer, type WpsServer } from '../helpers/wps.ts';

interface Received {
  path: string;
  contentType: string | undefined;
  body: unknown;
}

let s: WpsServer;
let receiver: Server;
let receiverUrl: string;
const received: Received[] = [];

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        path: req.url ?? '',
        contentType: req.headers['content-type'],
        body: JSON.parse(Buffer.concat(chunks).toString() || 'null'),
      });
      res.statusCode = 204;
      res.end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;
  s = await startWpsServer({ extraServer: ['  allowed_reference_hosts: [127.0.0.1]'] });
}, 30_000);
afterAll(async () => {
  await s.close();
  receiver.close();
});

const subscriber = (tag: string) => ({
  successUri: `${receiverUrl}/${tag}/success`,
  inProgressUri: `${receiverUrl}/${tag}/progress`,
  failedUri: `${receiverUrl}/${tag}/failed`,
});

async function arrived(path: string, timeoutMs = 10_000): Promise<Received> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const hit = received.find((r) => r.path === path);
    if (hit) return hit;
    if (Date.now() > until) throw new Error(`no callback at ${path}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('callbacks through the API', () => {
  it('a successful async job posts statusInfo while running and the results document at the end', async (ctx) => {
    const r = await execute(
      s.base,
      'sleep',
      { inputs: { seconds: 0.6 }, response: 'document', subscriber: subscriber('ok') },
      { Prefer: 'respond-async' },
    );
    expect(r.status, r.text).toBe(201);
    const jobID = r.json.jobID as string;
    const progress = await arrived('/ok/progress');
    expect(progress.contentType).toMatch(/^application\/json/);
    expect(progress.body).toMatchObject({ jobID, status: 'running', type: 'process' });
    expectOfficial(ctx, progress.body, 'statusInfo');
    const success = await arrived('/ok/success');
    expect(success.body).toEqual({ slept: { value: 0.6, uom: 's' } });
    expectOfficial(ctx, success.body, 'results');
    expect(received.some((x) => x.path === '/ok/failed')).toBe(false);
    // The results document posted is the one the API serves for the job.
    await pollJob(s.base, jobID, (st) => st === 'successful');
    const results = await fetch(`${s.base}/jobs/${jobID}/results`).then((x) => x.json());
    expect(results).toEqual(success.body);
  });

  it('a failing job posts its exception to failedUri', async (ctx) => {
    const r = await execute(
      s.base,
      'fail',
      { inputs: { how: 'error' }, subscriber: subscriber('bad') },
      { Prefer: 'respond-async' },
    );
    expect(r.status, r.text).toBe(201);
    const failed = await arrived('/bad/failed');
    expect(failed.body).toMatchObject({ status: expect.any(Number), detail: expect.any(String) });
    expectOfficial(ctx, failed.body, 'exception');
    expect(received.some((x) => x.path === '/bad/success')).toBe(false);
  });

  it('a subscriber URI the outbound policy refuses is a 400 before any job exists', async () => {
    const count = async () =>
      ((await (await fetch(`${s.base}/jobs?limit=1000`)).json()) as { jobs: unknown[] }).jobs.length;
    const before = await count();
    for (const uri of [
      'ftp://127.0.0.1/x',
      'not a uri',
      'http://169.254.169.254/latest',
      // A host name that resolves only to loopback: refused now, not silently dropped later.
      'http://localhost:1/cb',
    ]) {
      const r = await execute(s.base, 'hello-world', {
        inputs: { name: 'x' },
        subscriber: { successUri: uri },
      });
      expect(r.status, `${uri}: ${r.text}`).toBe(400);
      expect(r.json.locator).toBe('subscriber.successUri');
    }
    const after = await count();
    expect(after).toBe(before);
  });
});
