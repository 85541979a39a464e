/**
 * Remote faults: a WPS that answers garbage, one that hangs, a PyWPS killed mid-job, a provider
 * down at start-up that comes back. Each gives a failed job within the configured timeout (never a
 * stuck one), and the gateway keeps serving.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execute, request } from '../helpers/oaproc-http.ts';
import { startPywps, type PywpsServer } from '../helpers/pywps.ts';
import { freePort, startWpsServer, type WpsServer } from '../helpers/wps.ts';

const NS = 'xmlns:wps="http://www.opengis.net/wps/1.0.0" xmlns:ows="http://www.opengis.net/ows/1.1"';
const CAPS = `<wps:Capabilities ${NS} service="WPS" version="1.0.0"><wps:ProcessOfferings>
<wps:Process><ows:Identifier>garbage</ows:Identifier><ows:Title>g</ows:Title></wps:Process>
<wps:Process><ows:Identifier>hang</ows:Identifier><ows:Title>h</ows:Title></wps:Process>
<wps:Process><ows:Identifier>refs</ows:Identifier><ows:Title>r</ows:Title></wps:Process>
</wps:ProcessOfferings></wps:Capabilities>`;
const describeDoc = (ids: string[]) =>
  `<wps:ProcessDescriptions ${NS} service="WPS" version="1.0.0">${ids
    .map(
      (id) => `<ProcessDescription storeSupported="false" statusSupported="false">
<ows:Identifier>${id}</ows:Identifier><ows:Title>${id}</ows:Title>
<DataInputs>${id === 'refs' ? '<Input minOccurs="1" maxOccurs="1"><ows:Identifier>v</ows:Identifier><ows:Title>v</ows:Title><LiteralData><ows:ValuesReference ows:reference="http://x/values"/></LiteralData></Input>' : ''}</DataInputs>
<ProcessOutputs><Output><ows:Identifier>out</ows:Identifier><ows:Title>out</ows:Title><LiteralOutput><ows:DataType>string</ows:DataType></LiteralOutput></Output></ProcessOutputs>
</ProcessDescription>`,
    )
    .join('')}</wps:ProcessDescriptions>`;

let fake: Server;
let fakeUrl: string;
let pywps: PywpsServer;
let gw: WpsServer;
let laterPort: number;
let later: PywpsServer | undefined;

beforeAll(async () => {
  fake = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    const kvp = Object.fromEntries([...url.searchParams].map(([k, v]) => [k.toLowerCase(), v]));
    if (req.method === 'GET' && kvp.request === 'GetCapabilities') {
      res.writeHead(200, { 'Content-Type': 'text/xml' }).end(CAPS);
    } else if (req.method === 'GET' && kvp.request === 'DescribeProcess') {
      res.writeHead(200, { 'Content-Type': 'text/xml' }).end(describeDoc(kvp.identifier!.split(',')));
    } else {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        if (body.includes('>garbage<')) res.writeHead(200, { 'Content-Type': 'text/xml' }).end('<html>oops');
        // 'hang': never answers.
      });
    }
  });
  await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
  fakeUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}/wps`;
  pywps = await startPywps();
  laterPort = await freePort();
  const common = ['    allowed_hosts: [127.0.0.1]', '    poll_interval_seconds: 0.2'];
  gw = await startWpsServer({
    extraResources: [
      'providers:',
      '  - id: fake',
      '    type: wps',
      `    url: ${fakeUrl}`,
      '    timeout_seconds: 1.5',
      ...common,
      '  - id: py',
      '    type: wps',
      `    url: ${pywps.url}`,
      '    timeout_seconds: 2',
      ...common,
      '  - id: later',
      '    type: wps',
      `    url: http://127.0.0.1:${laterPort}/wps`,
      '    timeout_seconds: 2',
      '    refresh_interval_seconds: 1',
      ...common,
    ],
  });
}, 60_000);
afterAll(async () => {
  await gw?.close();
  fake?.closeAllConnections();
  fake?.close();
  await pywps?.close();
  await later?.close();
});

async function finalOf(location: string, withinMs: number) {
  const t0 = Date.now();
  while (Date.now() - t0 < withinMs) {
    const s = await request(location);
    if (['successful', 'failed', 'dismissed'].includes(s.json.status as string)) return s.json;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`job not finished within ${withinMs} ms`);
}

describe('remote faults', () => {
  it('a process the model cannot express (ValuesReference) is left out and listed as skipped', async () => {
    const ids = (
      (await request(`${gw.base}/processes?limit=100`)).json.processes as Array<{ id: string }>
    ).map((p) => p.id);
    expect(ids).toEqual(expect.arrayContaining(['fake.garbage', 'fake.hang']));
    expect(ids).not.toContain('fake.refs');
    const health = (await request(`${gw.base}/health`)).json;
    const fakeState = health.providers.find((p: { id: string }) => p.id === 'fake');
    expect(fakeState.skipped).toEqual([
      { remoteId: 'refs', reason: expect.stringContaining('ValuesReference') },
    ]);
  });

  it('garbage from the remote is a failed job saying the document is malformed', async () => {
    const reply = await execute(gw.base, 'fake.garbage', { inputs: {} }, { Prefer: 'respond-async' });
    const final = await finalOf(reply.headers.get('location')!, 5000);
    expect(final.status).toBe('failed');
    expect(final.message).toMatch(/malformed document/);
  });

  it('a remote that hangs fails the job within the provider timeout; the gateway keeps serving', async () => {
    const t0 = Date.now();
    const reply = await execute(gw.base, 'fake.hang', { inputs: {} }, { Prefer: 'respond-async' });
    const location = reply.headers.get('location')!;
    expect((await request(`${gw.base}/processes`)).status).toBe(200);
    const final = await finalOf(location, 6000);
    expect(final.status).toBe('failed');
    expect(final.message).toMatch(/no complete answer within 1.5 s/);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('a remote that stops mid-job fails the job; the gateway keeps serving', async () => {
    const reply = await execute(
      gw.base,
      'py.slow',
      { inputs: { steps: 20, delay: 0.5 } },
      { Prefer: 'respond-async' },
    );
    const location = reply.headers.get('location')!;
    for (let i = 0; i < 100; i++) {
      if ((await request(location)).json.progress > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    pywps.kill();
    const final = await finalOf(location, 10_000);
    expect(final.status).toBe('failed');
    expect(final.message).toMatch(/Provider 'py'/);
    expect((await request(`${gw.base}/processes/hello-world`)).status).toBe(200);
  });

  it('a provider down at start-up is reported, and its processes appear once it answers', async () => {
    let health = (await request(`${gw.base}/health`)).json;
    expect(health.status).toBe('degraded');
    expect(health.providers.find((p: { id: string }) => p.id === 'later')).toMatchObject({
      state: 'down',
      processes: 0,
    });
    expect((await request(`${gw.base}/processes/later.say_hello`)).status).toBe(404);
    later = await startPywps(laterPort);
    for (let i = 0; i < 60; i++) {
      health = (await request(`${gw.base}/health`)).json;
      if (health.providers.find((p: { id: string }) => p.id === 'later').state === 'up') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect((await request(`${gw.base}/processes/later.say_hello`)).status).toBe(200);
    const run = await execute(gw.base, 'later.say_hello', { inputs: { name: 'back' }, response: 'document' });
    expect(run.json.message).toBe('Hello back!');
  });
});
