/**
 * A malicious or broken OGC API - Processes remote: a job id that is a path segment trick, result
 * links towards forbidden addresses or other origins, "successful" without the results asked for,
 * media types that lie or carry header injections, a job that never ends (dismissed remotely when
 * it times out or the client dismisses it).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execute, request } from '../helpers/oaproc-http.ts';
import { startWpsServer, type WpsServer } from '../helpers/wps.ts';

const DESCRIPTION = {
  id: 'p',
  title: 'P',
  version: '1.0.0',
  jobControlOptions: ['async-execute', 'dismiss'],
  outputTransmission: ['value', 'reference'],
  inputs: { mode: { title: 'Mode', schema: { type: 'string' } } },
  outputs: {
    y: {
      title: 'Y',
      schema: {
        oneOf: [
          { type: 'string', contentMediaType: 'text/plain' },
          { type: 'object', contentMediaType: 'application/json' },
        ],
      },
    },
  },
};

let remote: Server;
let remoteUrl: string;
let other: Server;
let otherUrl: string;
const otherSeen: IncomingMessage['headers'][] = [];
const remoteRequests: string[] = [];
let gw: WpsServer;

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => resolve(body));
  });

/** Each mode's job: its id on the remote, and the results document (or how it misbehaves). */
function results(mode: string): unknown {
  switch (mode) {
    case 'href-metadata':
      return { y: { href: 'http://169.254.169.254/latest/meta-data/' } };
    case 'href-other':
      return { y: { href: `${otherUrl}/data`, type: 'text/plain' } };
    case 'href-redirect':
      return { y: { href: `${remoteUrl}/redirect-other`, type: 'text/plain' } };
    case 'empty':
      return {};
    case 'html':
      return { y: { value: '<script>alert(1)</script>', mediaType: 'text/html' } };
    case 'crlf':
      return { y: { value: 'hello', mediaType: 'text/plain\r\nX-Injected: yes' } };
    case 'crlf-link':
      return { y: { href: `${otherUrl}/data`, type: 'text/plain\r\nX-Injected: yes' } };
    default:
      return { y: 'fine' };
  }
}

beforeAll(async () => {
  other = createServer((req, res) => {
    otherSeen.push(req.headers);
    res.writeHead(200, { 'Content-Type': 'text/plain' }).end('from other');
  });
  await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
  otherUrl = `http://localhost:${(other.address() as AddressInfo).port}`;

  remote = createServer((req, res: ServerResponse) => {
    remoteRequests.push(`${req.method} ${req.url}`);
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
      res.writeHead(status, { 'Content-Type': 'application/json', ...headers }).end(JSON.stringify(body));
    const url = new URL(req.url!, 'http://x');
    const job = /^\/jobs\/([^/]+)(\/results)?$/.exec(url.pathname);
    if (url.pathname === '/processes')
      return json(200, { processes: [{ id: 'p' }, { id: '..' }, { id: 'a/b' }, { id: 'x y' }], links: [] });
    if (url.pathname === '/processes/p') return json(200, DESCRIPTION);
    if (url.pathname === '/redirect-other') {
      res.writeHead(302, { Location: `${otherUrl}/redirected` }).end();
      return;
    }
    if (url.pathname === '/processes/p/execution' && req.method === 'POST') {
      void readBody(req).then((body) => {
        const mode = (JSON.parse(body) as { inputs: { mode: string } }).inputs.mode;
        if (mode === 'dotdot') return json(201, { jobID: '..', status: 'accepted' });
        // The Location points elsewhere: only the job id is taken from it.
        json(201, { jobID: mode, status: 'accepted' }, { Location: `http://169.254.169.254/jobs/${mode}` });
      });
      return;
    }
    if (job && req.method === 'DELETE') return json(200, { jobID: job[1], status: 'dismissed' });
    if (job && !job[2]) {
      const id = decodeURIComponent(job[1]!);
      if (id === 'forever') return json(200, { jobID: id, status: 'running', progress: 10 });
      return json(200, { jobID: id, status: 'successful', progress: 100 });
    }
    if (job && job[2]) return json(200, results(decodeURIComponent(job[1]!)));
    json(200, { title: 'landing', links: [] });
  });
  await new Promise<void>((r) => remote.listen(0, '127.0.0.1', r));
  remoteUrl = `http://127.0.0.1:${(remote.address() as AddressInfo).port}`;

  gw = await startWpsServer({
    manager: { job_timeout_seconds: 2, parallel_processes: 8 },
    extraResources: [
      'providers:',
      '  - id: evil',
      '    type: ogcapi-processes',
      `    url: ${remoteUrl}`,
      '    timeout_seconds: 1.5',
      '    poll_interval_seconds: 0.1',
      '    refresh_interval_seconds: 0',
      '    allowed_hosts: [127.0.0.1, localhost]',
      '    headers: {Authorization: Bearer s3cret}',
    ],
  });
}, 60_000);

afterAll(async () => {
  await gw?.close();
  for (const s of [remote, other]) {
    s?.closeAllConnections();
    s?.close();
  }
});

async function run(mode: string, withinMs = 8000) {
  const t0 = Date.now();
  const reply = await execute(gw.base, 'evil.p', { inputs: { mode } }, { Prefer: 'respond-async' });
  expect(reply.status, reply.text).toBe(201);
  const location = reply.headers.get('location')!;
  while (Date.now() - t0 < withinMs) {
    const s = await request(location);
    if (['successful', 'failed', 'dismissed'].includes(s.json.status as string))
      return { job: s.json, location, ms: Date.now() - t0 };
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`job not finished within ${withinMs} ms`);
}

describe('a hostile OGC API remote', () => {
  it('only the sound process is published', async () => {
    const ids = ((await request(`${gw.base}/processes?limit=100`)).json.processes as Array<{ id: string }>)
      .map((p) => p.id)
      .filter((id) => id.startsWith('evil.'));
    expect(ids).toEqual(['evil.p']);
  });

  it('a job id that is a dot segment is refused, not resolved against the API root', async () => {
    const before = remoteRequests.length;
    const { job } = await run('dotdot');
    expect(job.status).toBe('failed');
    expect(job.message).toMatch(/job id/);
    expect(remoteRequests.slice(before)).not.toContain('GET /');
  });

  it('a result link towards the metadata address fails the job, refused', async () => {
    const { job } = await run('href-metadata');
    expect(job.status).toBe('failed');
    expect(job.message).toMatch(/refused/);
  });

  it('the provider headers never reach another origin (direct link, redirect)', async () => {
    otherSeen.length = 0;
    for (const mode of ['href-other', 'href-redirect']) {
      const { job, location } = await run(mode);
      expect(job.status, job.message).toBe('successful');
      expect((await request(`${location}/results`)).text).toContain('from other');
    }
    expect(otherSeen).toHaveLength(2);
    for (const h of otherSeen) expect(h.authorization).toBeUndefined();
  });

  it('"successful" without the requested output fails the job', async () => {
    const { job } = await run('empty');
    expect(job.status).toBe('failed');
    expect(job.message).toMatch(/no output 'y'/);
  });

  it.each(['html', 'crlf', 'crlf-link'])(
    'a media type the output does not declare (%s) is not served',
    async (mode) => {
      const { job, location } = await run(mode);
      expect(job.status, job.message).toBe('successful');
      const raw = await request(`${location}/results`);
      expect(raw.status).toBe(200);
      expect(raw.headers.get('x-injected')).toBeNull();
      expect(raw.contentType).toMatch(/^text\/plain/);
    },
  );

  it('a remote job that never ends fails at the time limit and is dismissed on the remote', async () => {
    const { job, ms } = await run('forever');
    expect(job.status).toBe('failed');
    expect(job.message).toMatch(/time limit/);
    expect(ms).toBeLessThan(5000);
    expect(remoteRequests).toContain('DELETE /jobs/forever');
  });

  it('a client dismiss dismisses the remote job', async () => {
    const reply = await execute(
      gw.base,
      'evil.p',
      { inputs: { mode: 'forever' } },
      { Prefer: 'respond-async' },
    );
    const location = reply.headers.get('location')!;
    await new Promise((r) => setTimeout(r, 300));
    const before = remoteRequests.filter((r) => r === 'DELETE /jobs/forever').length;
    expect((await request(location, { method: 'DELETE' })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 500));
    expect(remoteRequests.filter((r) => r === 'DELETE /jobs/forever').length).toBe(before + 1);
  });
});
