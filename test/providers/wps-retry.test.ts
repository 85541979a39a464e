/**
 * Retries of remote failures, with a WPS server that fails on cue (an HTTP server answering WPS
 * 1.0.0 documents): an HTTP 503 and a request that gets no answer within the provider's timeout
 * are transient (the job is tried again and succeeds on the third attempt); an HTTP 4xx is
 * permanent (one attempt only), as is a remote ExceptionReport with MissingParameterValue, and a
 * result URL that may not be passed through to clients (not http(s)).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execute, pollJob } from '../helpers/oaproc-http.ts';
import { startWpsServer, type WpsServer } from '../helpers/wps.ts';

const NS = 'xmlns:wps="http://www.opengis.net/wps/1.0.0" xmlns:ows="http://www.opengis.net/ows/1.1"';
const IDS = ['flaky', 'gone', 'picky', 'sneaky'];
const CAPS = `<wps:Capabilities ${NS} service="WPS" version="1.0.0"><wps:ProcessOfferings>${IDS.map(
  (id) => `<wps:Process><ows:Identifier>${id}</ows:Identifier><ows:Title>${id}</ows:Title></wps:Process>`,
).join('')}</wps:ProcessOfferings></wps:Capabilities>`;
const describeDoc = (ids: string[]) =>
  `<wps:ProcessDescriptions ${NS} service="WPS" version="1.0.0">${ids
    .map(
      (id) => `<ProcessDescription storeSupported="false" statusSupported="false">
<ows:Identifier>${id}</ows:Identifier><ows:Title>${id}</ows:Title><DataInputs/>
<ProcessOutputs><Output><ows:Identifier>out</ows:Identifier><ows:Title>out</ows:Title>${
        id === 'sneaky'
          ? '<ComplexOutput><Default><Format><MimeType>text/html</MimeType></Format></Default><Supported><Format><MimeType>text/html</MimeType></Format></Supported></ComplexOutput>'
          : '<LiteralOutput><ows:DataType>string</ows:DataType></LiteralOutput>'
      }</Output></ProcessOutputs>
</ProcessDescription>`,
    )
    .join('')}</wps:ProcessDescriptions>`;
const SUCCEEDED = `<wps:ExecuteResponse ${NS} service="WPS" version="1.0.0"><wps:Status><wps:ProcessSucceeded>done</wps:ProcessSucceeded></wps:Status>
<wps:ProcessOutputs><wps:Output><ows:Identifier>out</ows:Identifier><ows:Title>out</ows:Title><wps:Data><wps:LiteralData>third time lucky</wps:LiteralData></wps:Data></wps:Output></wps:ProcessOutputs></wps:ExecuteResponse>`;
const SNEAKY = `<wps:ExecuteResponse ${NS} xmlns:xlink="http://www.w3.org/1999/xlink" service="WPS" version="1.0.0"><wps:Status><wps:ProcessSucceeded>done</wps:ProcessSucceeded></wps:Status>
<wps:ProcessOutputs><wps:Output><ows:Identifier>out</ows:Identifier><ows:Title>out</ows:Title><wps:Reference href="javascript:alert(1)" mimeType="text/html"/></wps:Output></wps:ProcessOutputs></wps:ExecuteResponse>`;
const MISSING = `<ows:ExceptionReport ${NS} version="1.0.0"><ows:Exception exceptionCode="MissingParameterValue" locator="x"><ows:ExceptionText>x is required here</ows:ExceptionText></ows:Exception></ows:ExceptionReport>`;

let fake: Server;
let gw: WpsServer;
/** Execute requests the fake got, per process. */
const executes: Record<string, number> = {};

beforeAll(async () => {
  fake = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    const kvp = Object.fromEntries([...url.searchParams].map(([k, v]) => [k.toLowerCase(), v]));
    if (req.method === 'GET' && kvp.request === 'GetCapabilities') {
      res.writeHead(200, { 'Content-Type': 'text/xml' }).end(CAPS);
      return;
    }
    if (req.method === 'GET' && kvp.request === 'DescribeProcess') {
      res.writeHead(200, { 'Content-Type': 'text/xml' }).end(describeDoc(kvp.identifier!.split(',')));
      return;
    }
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const id = IDS.find((p) => body.includes(`>${p}<`))!;
      const n = (executes[id] = (executes[id] ?? 0) + 1);
      if (id === 'flaky') {
        if (n === 1) res.writeHead(503, { 'Content-Type': 'text/plain' }).end('overloaded');
        else if (n === 2)
          return; // never answers: the provider's timeout ends the attempt
        else res.writeHead(200, { 'Content-Type': 'text/xml' }).end(SUCCEEDED);
      } else if (id === 'sneaky') {
        res.writeHead(200, { 'Content-Type': 'text/xml' }).end(SNEAKY);
      } else if (id === 'gone') {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('no such thing');
      } else {
        res.writeHead(400, { 'Content-Type': 'text/xml' }).end(MISSING);
      }
    });
  });
  await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(fake.address() as AddressInfo).port}/wps`;
  gw = await startWpsServer({
    processes: ['hello-world'],
    extraResources: [
      ...IDS.flatMap((id) => [
        `  cue.${id}:`,
        '    type: process',
        '    retry: {max_attempts: 3, backoff_seconds: 0.2, jitter: 0}',
      ]),
      'providers:',
      '  - id: cue',
      '    type: wps',
      `    url: ${url}`,
      '    allowed_hosts: [127.0.0.1]',
      '    timeout_seconds: 1',
      '    pass_through_references: true',
    ],
  });
}, 60_000);
afterAll(async () => {
  await gw?.close();
  fake?.closeAllConnections();
  await new Promise((r) => fake?.close(r));
});

async function run(id: string, body: unknown = { inputs: {} }) {
  const reply = await execute(gw.base, `cue.${id}`, body, { Prefer: 'respond-async' });
  expect(reply.status, reply.text).toBe(201);
  const seen = await pollJob(gw.base, reply.json.jobID, (s) => s === 'successful' || s === 'failed', 20_000);
  return seen.at(-1);
}

describe('retries of remote failures', () => {
  it('HTTP 503, then no answer within the timeout, are transient: the third attempt succeeds', async () => {
    const final = await run('flaky');
    expect(final.status, JSON.stringify(final)).toBe('successful');
    expect(executes.flaky).toBe(3);
    expect(final.attempts).toHaveLength(3);
    expect(final.attempts[0].error.message).toMatch(/HTTP 503/);
    expect(final.attempts[1].error.message).toMatch(/no complete answer within 1 s/);
    expect(final.attempts[2].error).toBeUndefined();
  });

  it('an HTTP 4xx without a document is permanent: one attempt', async () => {
    const final = await run('gone');
    expect(final.status).toBe('failed');
    expect(executes.gone).toBe(1);
    expect(final.attempts).toHaveLength(1);
    expect(final.message).toMatch(/HTTP 404/);
  });

  it('a remote ExceptionReport with MissingParameterValue is permanent: one attempt, its code kept', async () => {
    const final = await run('picky');
    expect(final.status).toBe('failed');
    expect(executes.picky).toBe(1);
    expect(final.attempts).toHaveLength(1);
    expect(final.attempts[0].error.code).toBe('MissingParameterValue');
    expect(final.message).toMatch(/x is required here/);
  });

  it('a result URL that is not http(s) is never handed to clients: the job fails, permanently', async () => {
    const final = await run('sneaky', { inputs: {}, outputs: { out: { transmissionMode: 'reference' } } });
    expect(final.status).toBe('failed');
    expect(executes.sneaky).toBe(1);
    expect(final.attempts).toHaveLength(1);
    expect(final.message).toMatch(/output 'out' cannot be passed through as 'javascript:alert\(1\)'/);
  });
});
