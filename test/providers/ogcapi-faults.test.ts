/**
 * Remote OGC API - Processes servers that misbehave: one stops mid-job (a second gateway process,
 * killed), one answers garbage, one accepts connections and never answers. Each gives a failed job
 * with a clear message within the configured time, and the gateway keeps serving.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execute, pollJob, request } from '../helpers/oaproc-http.ts';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { startWpsServer, type WpsServer } from '../helpers/wps.ts';

const DESCRIPTION = {
  id: 'p',
  title: 'P',
  version: '1.0.0',
  jobControlOptions: ['async-execute'],
  inputs: { x: { title: 'X', schema: { type: 'string' } } },
  outputs: { y: { title: 'Y', schema: { type: 'string' } } },
};

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A tiny OGC API server: the list and description of process `p` are sound; `handler` does the rest. */
async function fakeRemote(handler: Handler): Promise<{ url: string; server: Server; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/processes') return json(200, { processes: [{ id: 'p', version: '1.0.0' }], links: [] });
    if (req.url === '/processes/p') return json(200, DESCRIPTION);
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, requests };
}

const created = (res: ServerResponse) => {
  res.writeHead(201, { 'Content-Type': 'application/json', Location: '/jobs/j1' });
  res.end(JSON.stringify({ jobID: 'j1', status: 'accepted', type: 'process' }));
};

let killed: ServerProcess;
let junk: Awaited<ReturnType<typeof fakeRemote>>;
let junkList: Awaited<ReturnType<typeof fakeRemote>>;
let hang: Awaited<ReturnType<typeof fakeRemote>>;
let local: WpsServer;

const provider = (id: string, url: string, timeout = 2) => [
  `  - id: ${id}`,
  '    type: ogcapi-processes',
  `    url: ${url}`,
  '    allowed_hosts: [127.0.0.1]',
  `    timeout_seconds: ${timeout}`,
  '    poll_interval_seconds: 0.2',
  '    refresh_interval_seconds: 0',
];

beforeAll(async () => {
  killed = await startServerProcess({ processes: ['sleep'], prefix: 'gw-killed-' });
  // Sound until the job runs, then its status is not JSON.
  junk = await fakeRemote((req, res) => {
    if (req.method === 'POST') return created(res);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end('{"jobID": "j1", "status": "runn');
  });
  // Its process list is not one.
  junkList = await fakeRemote(() => undefined);
  junkList.server.removeAllListeners('request');
  junkList.server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end('<html>Welcome to nginx!</html>');
  });
  // Takes the execute request and never answers it.
  hang = await fakeRemote(() => undefined);
  local = await startWpsServer({
    processes: ['hello-world'],
    extraResources: [
      'providers:',
      ...provider('killed', killed.address, 2),
      ...provider('junk', junk.url),
      ...provider('junklist', junkList.url),
      ...provider('hang', hang.url, 1),
    ],
  });
}, 60_000);
afterAll(async () => {
  await local?.close();
  await killed?.stop();
  for (const f of [junk, junkList, hang]) {
    f?.server.closeAllConnections();
    f?.server.close();
  }
});

/** Starts a job, waits for its end; its status, its error and how long it took. */
async function failure(processId: string, inputs: unknown) {
  const t0 = Date.now();
  const r = await execute(local.base, processId, { inputs }, { Prefer: 'respond-async' });
  expect(r.status, r.text).toBe(201);
  const seen = await pollJob(local.base, r.json.jobID, (s) => s === 'failed' || s === 'successful', 30_000);
  const elapsed = Date.now() - t0;
  const results = await request(`${local.base}/jobs/${r.json.jobID}/results`);
  return { status: seen.at(-1).status as string, detail: results.json?.detail as string, elapsed };
}

/** The gateway still lists and runs processes. */
async function stillServing() {
  expect((await request(`${local.base}/processes`)).status).toBe(200);
  const r = await execute(local.base, 'hello-world', { inputs: { name: 'still here' } });
  expect(r.status).toBe(200);
  expect(r.text).toContain('Hello still here!');
}

describe('a remote that misbehaves', () => {
  it('whose process list is garbage is down on /health; the others are up', async () => {
    const health = (await request(`${local.base}/health`)).json;
    const state = (id: string) => health.providers.find((p: { id: string }) => p.id === id);
    expect(state('junklist')).toMatchObject({ state: 'down', processes: 0 });
    expect(state('junklist').error).toMatch(/junklist.*text\/html, not JSON/);
    for (const id of ['junk', 'hang']) expect(state(id)).toMatchObject({ state: 'up', processes: 1 });
    // sleep and the three test fixtures.
    expect(state('killed')).toMatchObject({ state: 'up', processes: 4 });
    await stillServing();
  });

  it('that stops mid-job: the job fails, saying the remote cannot be reached', async () => {
    const t0 = Date.now();
    const r = await execute(
      local.base,
      'killed.sleep',
      { inputs: { seconds: 30 } },
      { Prefer: 'respond-async' },
    );
    expect(r.status, r.text).toBe(201);
    await pollJob(local.base, r.json.jobID, (s) => s === 'running', 15_000);
    // Let the remote job start, then kill the remote outright.
    await new Promise((res) => setTimeout(res, 500));
    killed.child.kill('SIGKILL');
    const seen = await pollJob(local.base, r.json.jobID, (s) => s === 'failed' || s === 'successful', 20_000);
    expect(seen.at(-1).status).toBe('failed');
    // Three polls in a row failed (0.2 s apart, refused at once): far less than the 30 s job.
    expect(Date.now() - t0).toBeLessThan(15_000);
    const results = await request(`${local.base}/jobs/${r.json.jobID}/results`);
    expect(results.json.detail).toMatch(
      /Provider 'killed': http:\/\/127\.0\.0\.1:\d+\/jobs\/[0-9a-f-]+ could not be reached/,
    );
    await stillServing();
  });

  it('that answers garbage: the job fails, saying the answer is not JSON', async () => {
    const f = await failure('junk.p', { x: 'a' });
    expect(f.status).toBe('failed');
    expect(f.detail).toMatch(
      /Provider 'junk': http:\/\/127\.0\.0\.1:\d+\/jobs\/j1 answered with unusable JSON/,
    );
    expect(f.elapsed).toBeLessThan(5_000);
    await stillServing();
  });

  it('that never answers: the job fails once the configured timeout has passed', async () => {
    const f = await failure('hang.p', { x: 'a' });
    expect(f.status).toBe('failed');
    expect(f.detail).toMatch(
      /Provider 'hang': http:\/\/127\.0\.0\.1:\d+\/processes\/p\/execution gave no complete answer within 1 s/,
    );
    // timeout_seconds: 1, and not much more.
    expect(f.elapsed).toBeGreaterThanOrEqual(1_000);
    expect(f.elapsed).toBeLessThan(4_000);
    expect(hang.requests).toContain('POST /processes/p/execution');
    await stillServing();
  });
});
