/**
 * A malicious or broken WPS 1.0.0 remote: every URL it hands the gateway (statusLocation, result
 * hrefs, redirects) obeys the outbound policy, the provider's headers never reach another origin,
 * the media types it declares never reach our response headers unchecked, odd process ids are left
 * out, a job ends within its time limit whatever the remote says, and answers are read bounded.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execute, request } from '../helpers/oaproc-http.ts';
import { startWpsServer, type WpsServer } from '../helpers/wps.ts';

const NS =
  'xmlns:wps="http://www.opengis.net/wps/1.0.0" xmlns:ows="http://www.opengis.net/ows/1.1" xmlns:xlink="http://www.w3.org/1999/xlink"';
const ODD_IDS = ['a b', '../up', 'a/b', 'über', '.', '..', 'x"y'];
const CAPS = `<wps:Capabilities ${NS} service="WPS" version="1.0.0"><wps:ProcessOfferings>${[
  'p',
  'x.y',
  ...ODD_IDS,
]
  .map(
    (id) =>
      `<wps:Process><ows:Identifier>${id.replace(/"/g, '&quot;')}</ows:Identifier><ows:Title>t</ows:Title></wps:Process>`,
  )
  .join('')}</wps:ProcessOfferings></wps:Capabilities>`;
const description = (id: string) => `<ProcessDescription storeSupported="true" statusSupported="true">
<ows:Identifier>${id.replace(/"/g, '&quot;')}</ows:Identifier><ows:Title>${id}</ows:Title>
<DataInputs><Input minOccurs="1" maxOccurs="1"><ows:Identifier>mode</ows:Identifier><ows:Title>m</ows:Title>
<LiteralData><ows:DataType>string</ows:DataType><ows:AnyValue/></LiteralData></Input></DataInputs>
<ProcessOutputs><Output><ows:Identifier>out</ows:Identifier><ows:Title>out</ows:Title><ComplexOutput>
<Default><Format><MimeType>application/json</MimeType></Format></Default>
<Supported><Format><MimeType>application/json</MimeType></Format><Format><MimeType>text/plain</MimeType></Format></Supported>
</ComplexOutput></Output></ProcessOutputs></ProcessDescription>`;
const describeDoc = (ids: string[]) =>
  `<wps:ProcessDescriptions ${NS} service="WPS" version="1.0.0">${ids.map(description).join('')}</wps:ProcessDescriptions>`;

const status = (inner: string, statusLocation?: string, outputs = '') =>
  `<wps:ExecuteResponse ${NS} service="WPS" version="1.0.0"${statusLocation ? ` statusLocation="${statusLocation}"` : ''}><wps:Process><ows:Identifier>p</ows:Identifier></wps:Process><wps:Status creationTime="2024-01-01T00:00:00Z">${inner}</wps:Status>${outputs}</wps:ExecuteResponse>`;
const succeeded = (outputs: string) =>
  status(
    '<wps:ProcessSucceeded>done</wps:ProcessSucceeded>',
    undefined,
    `<wps:ProcessOutputs>${outputs}</wps:ProcessOutputs>`,
  );
const complexOut = (mimeType: string, content: string) =>
  `<wps:Output><ows:Identifier>out</ows:Identifier><ows:Title>o</ows:Title><wps:Data><wps:ComplexData mimeType="${mimeType}">${content}</wps:ComplexData></wps:Data></wps:Output>`;
const refOut = (href: string) =>
  `<wps:Output><ows:Identifier>out</ows:Identifier><ows:Title>o</ows:Title><wps:Reference xlink:href="${href}" mimeType="application/json"/></wps:Output>`;

let remote: Server;
let remoteUrl: string;
let other: Server;
let otherUrl: string;
/** Requests the other origin received, with their headers. */
const otherSeen: IncomingMessage['headers'][] = [];
/** Requests the remote itself received for `/statuses/...`, with their headers. */
const progressPolls = new Map<string, number>();
let gw: WpsServer;

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => resolve(body));
  });

beforeAll(async () => {
  other = createServer((req, res) => {
    otherSeen.push(req.headers);
    res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"from":"other"}');
  });
  await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
  // Another origin (other port, other host name) the provider's allowed hosts let the gateway reach.
  otherUrl = `http://localhost:${(other.address() as AddressInfo).port}`;

  remote = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    const xml = (body: string) => res.writeHead(200, { 'Content-Type': 'text/xml' }).end(body);
    const kvp = Object.fromEntries([...url.searchParams].map(([k, v]) => [k.toLowerCase(), v]));
    if (url.pathname === '/redirect-internal') {
      res.writeHead(302, { Location: 'http://10.1.2.3/latest/meta-data/' }).end();
    } else if (url.pathname === '/redirect-other') {
      res.writeHead(302, { Location: `${otherUrl}/redirected` }).end();
    } else if (url.pathname.startsWith('/statuses/progress')) {
      const n = (progressPolls.get(url.pathname) ?? 0) + 1;
      progressPolls.set(url.pathname, n);
      const percents = [150, -20, 60, 30];
      if (n <= percents.length)
        xml(
          status(
            `<wps:ProcessStarted percentCompleted="${percents[n - 1]}">step ${n}</wps:ProcessStarted>`,
            `${remoteUrl}${url.pathname}`,
          ),
        );
      else xml(succeeded(complexOut('application/json', '{"ok":true}')));
    } else if (url.pathname === '/statuses/forever') {
      xml(
        status(
          '<wps:ProcessStarted percentCompleted="10">still going</wps:ProcessStarted>',
          `${remoteUrl}/statuses/forever`,
        ),
      );
    } else if (req.method === 'GET' && kvp.request === 'GetCapabilities') {
      xml(CAPS);
    } else if (req.method === 'GET' && kvp.request === 'DescribeProcess') {
      xml(describeDoc(kvp.identifier!.split(',')));
    } else if (req.method === 'POST') {
      void readBody(req).then((body) => {
        const mode = /<wps:LiteralData>([^<]*)</.exec(body)?.[1] ?? '';
        const accepted = (location: string) =>
          xml(status('<wps:ProcessAccepted>queued</wps:ProcessAccepted>', location));
        switch (mode) {
          case 'ssrf-metadata':
            return accepted('http://169.254.169.254/latest/meta-data/');
          case 'ssrf-file':
            return accepted('file:///etc/passwd');
          case 'ssrf-redirect':
            return accepted(`${remoteUrl}/redirect-internal`);
          case 'href-metadata':
            return xml(succeeded(refOut('http://169.254.169.254/latest/meta-data/')));
          case 'href-other':
            return xml(succeeded(refOut(`${otherUrl}/direct`)));
          case 'href-redirect-other':
            return xml(succeeded(refOut(`${remoteUrl}/redirect-other`)));
          case 'progress':
            return accepted(`${remoteUrl}/statuses/progress-${Math.random()}`);
          case 'forever':
            return accepted(`${remoteUrl}/statuses/forever`);
          case 'no-outputs':
            return xml(status('<wps:ProcessSucceeded>done</wps:ProcessSucceeded>'));
          case 'html':
            return xml(succeeded(complexOut('text/html', '&lt;script&gt;alert(1)&lt;/script&gt;')));
          case 'crlf':
            return xml(succeeded(complexOut('application/json&#13;&#10;X-Injected: yes', '{"a":1}')));
          case 'endless': {
            res.writeHead(200, { 'Content-Type': 'text/xml' });
            res.write(`<wps:ExecuteResponse ${NS}>`);
            const chunk = '<!-- ' + 'x'.repeat(64 * 1024) + ' -->';
            const pump = () => {
              while (res.write(chunk));
              res.once('drain', pump);
            };
            res.on('close', () => res.removeAllListeners('drain'));
            return pump();
          }
          case 'drip': {
            res.writeHead(200, { 'Content-Type': 'text/xml' });
            const timer = setInterval(() => res.write(' '), 100);
            res.on('close', () => clearInterval(timer));
            return;
          }
          default:
            return xml(succeeded(complexOut('application/json', '{"ok":true}')));
        }
      });
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => remote.listen(0, '127.0.0.1', r));
  remoteUrl = `http://127.0.0.1:${(remote.address() as AddressInfo).port}`;

  gw = await startWpsServer({
    manager: { job_timeout_seconds: 3, parallel_processes: 8 },
    extraResources: [
      'providers:',
      '  - id: evil',
      '    type: wps',
      `    url: ${remoteUrl}/wps`,
      '    timeout_seconds: 1.5',
      '    poll_interval_seconds: 0.1',
      '    allowed_hosts: [127.0.0.1, localhost]',
      '    headers: {X-Api-Key: s3cret}',
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
  const seen: number[] = [];
  while (Date.now() - t0 < withinMs) {
    const s = await request(location);
    seen.push(s.json.progress as number);
    if (['successful', 'failed', 'dismissed'].includes(s.json.status as string))
      return { job: s.json, location, seen, ms: Date.now() - t0 };
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`job not finished within ${withinMs} ms`);
}

describe('a hostile WPS remote', () => {
  it('odd remote identifiers are left out; the published ids stay valid URL segments', async () => {
    const ids = ((await request(`${gw.base}/processes?limit=100`)).json.processes as Array<{ id: string }>)
      .map((p) => p.id)
      .filter((id) => id.startsWith('evil.'));
    expect(ids.sort()).toEqual(['evil.p', 'evil.x.y']);
    const health = (await request(`${gw.base}/health`)).json;
    const skipped = (health.providers as Array<{ id: string; skipped: Array<{ remoteId: string }> }>)
      .find((p) => p.id === 'evil')!
      .skipped.map((s) => s.remoteId);
    expect(skipped.sort()).toEqual([...ODD_IDS].sort());
  });

  it.each(['ssrf-metadata', 'ssrf-file', 'ssrf-redirect'])(
    'a statusLocation towards a forbidden address (%s) fails the job, refused',
    async (mode) => {
      const { job } = await run(mode);
      expect(job.status).toBe('failed');
      expect(job.message).toMatch(/refused|not allowed|private address/);
    },
  );

  it('a result href towards the metadata address fails the job, refused', async () => {
    const { job } = await run('href-metadata');
    expect(job.status).toBe('failed');
    expect(job.message).toMatch(/refused/);
  });

  it('the provider headers are never sent to another origin, directly or after a redirect', async () => {
    otherSeen.length = 0;
    for (const mode of ['href-other', 'href-redirect-other']) {
      const { job, location } = await run(mode);
      expect(job.status, job.message).toBe('successful');
      const results = await request(`${location}/results`);
      expect(JSON.stringify(results.json)).toContain('other');
    }
    expect(otherSeen).toHaveLength(2);
    for (const headers of otherSeen) expect(headers['x-api-key']).toBeUndefined();
  });

  it('progress out of range or going back is shown clamped and never backwards', async () => {
    const { job, seen } = await run('progress');
    expect(job.status).toBe('successful');
    const defined = seen.filter((p) => typeof p === 'number');
    for (const p of defined) expect(p).toBeGreaterThanOrEqual(0);
    for (const p of defined) expect(p).toBeLessThanOrEqual(100);
    for (let i = 1; i < defined.length; i++) expect(defined[i]).toBeGreaterThanOrEqual(defined[i - 1]!);
  });

  it('a remote job that never ends fails at the job time limit', async () => {
    const { job, ms } = await run('forever');
    expect(job.status).toBe('failed');
    expect(job.message).toMatch(/time limit/);
    expect(ms).toBeLessThan(6000);
  });

  it('"succeeded" without the requested output fails the job', async () => {
    const { job } = await run('no-outputs');
    expect(job.status).toBe('failed');
    expect(job.message).toMatch(/no output 'out'/);
  });

  it('an endless answer is cut at the byte limit; a dripping one at the provider timeout', async () => {
    const endless = await run('endless');
    expect(endless.job.status).toBe('failed');
    expect(endless.job.message).toMatch(/more than \d+ bytes/);
    const drip = await run('drip');
    expect(drip.job.status).toBe('failed');
    expect(drip.job.message).toMatch(/no complete answer within 1.5 s/);
  });

  it('a media type the output does not declare is not served (no active content, no header injection)', async () => {
    for (const mode of ['html', 'crlf']) {
      const { job, location } = await run(mode);
      expect(job.status, job.message).toBe('successful');
      // One output: the results are that output, raw.
      const raw = await fetch(`${location}/results`);
      expect(raw.status).toBe(200);
      expect(raw.headers.get('x-injected')).toBeNull();
      expect(raw.headers.get('content-type')).toMatch(/^application\/json/);
      // Through WPS: the status document names the declared type.
      const wps = await fetch(`${gw.wps}/status/${location.split('/').pop()}.xml`);
      expect(wps.status).toBe(200);
      const text = await wps.text();
      expect(text).not.toMatch(/X-Injected|text\/html/);
    }
  });

  it('invalid inputs are rejected locally before any remote call', async () => {
    const reply = await execute(gw.base, 'evil.p', { inputs: { nope: 1 } }, { Prefer: 'respond-async' });
    expect(reply.status).toBe(400);
  });
});
