/**
 * A second instance of this gateway (a separate process) as the remote OGC API - Processes provider,
 * for what the first provider tests left out:
 * - `pass_through_references`: a result asked by reference is the remote's link (OGC API `href`,
 *   WPS `wps:Reference`), nothing stored here; the default fetches and stores it here;
 * - `forward_references`: a reference input reaches the remote as `{href}` and the remote fetches
 *   it; the default fetches it here and sends the data by value;
 * - retries: a remote job that failed with a server error (HTTP 500 results) is transient and tried
 *   again; one that failed with InvalidParameterValue is permanent.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execute, pollJob, request } from '../helpers/oaproc-http.ts';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { doc, execute as wpsExecute, one, post, startWpsServer, type WpsServer } from '../helpers/wps.ts';

const DATA = {
  type: 'FeatureCollection',
  features: [
    { type: 'Feature', properties: { name: 'a' }, geometry: { type: 'Point', coordinates: [1, 2] } },
  ],
};

const provider = (id: string, url: string, extra: string[] = []) => [
  `  - id: ${id}`,
  '    type: ogcapi-processes',
  `    url: ${url}`,
  '    allowed_hosts: [127.0.0.1]',
  '    timeout_seconds: 10',
  '    poll_interval_seconds: 0.2',
  ...extra.map((l) => `    ${l}`),
];

let remote: ServerProcess;
let local: WpsServer;
let data: Server;
let dataUrl: string;
let dataHits = 0;

beforeAll(async () => {
  data = createServer((_req, res) => {
    dataHits++;
    res.writeHead(200, { 'Content-Type': 'application/geo+json' }).end(JSON.stringify(DATA));
  });
  await new Promise<void>((r) => data.listen(0, '127.0.0.1', r));
  dataUrl = `http://127.0.0.1:${(data.address() as AddressInfo).port}/data.geojson`;
  remote = await startServerProcess({
    processes: ['buffer'],
    prefix: 'gw-remote-more-',
    server: '  allowed_reference_hosts: [127.0.0.1]',
  });
  local = await startWpsServer({
    processes: ['hello-world'],
    extraServer: ['  allowed_reference_hosts: [127.0.0.1]'],
    extraResources: [
      '  remote.fail:',
      '    type: process',
      '    retry: {max_attempts: 3, backoff_seconds: 0.2, jitter: 0}',
      'providers:',
      ...provider('remote', remote.address),
      ...provider('pt', remote.address, ['pass_through_references: true', 'forward_references: true']),
    ],
  });
}, 60_000);
afterAll(async () => {
  await local?.close();
  await remote?.stop();
  await new Promise((r) => data?.close(r));
});

/** Runs a job asynchronously on the local gateway to its end: its id and last statusInfo. */
async function runAsync(processId: string, body: unknown) {
  const reply = await execute(local.base, processId, body, { Prefer: 'respond-async' });
  expect(reply.status, reply.text).toBe(201);
  const id = reply.json.jobID as string;
  const seen = await pollJob(local.base, id, (s) => ['successful', 'failed'].includes(s), 30_000);
  return { id, final: seen.at(-1) };
}

const buffer = (
  transmissionMode: 'value' | 'reference',
  data: unknown = { value: DATA, mediaType: 'application/geo+json' },
) => ({
  inputs: { data, distance: 1, quadsegs: 2 },
  outputs: { buffered: { format: { mediaType: 'application/geo+json' }, transmissionMode } },
  response: 'document',
});

describe('pass_through_references', () => {
  it("OGC API: an output asked by reference is the remote's link; the default stores it here", async () => {
    const passed = await runAsync('pt.buffer', buffer('reference'));
    expect(passed.final.status, JSON.stringify(passed.final)).toBe('successful');
    const results = (await request(`${local.base}/jobs/${passed.id}/results`)).json;
    const href: string = results.buffered.href;
    expect(href.startsWith(`${remote.address}/`), href).toBe(true);
    expect(results.buffered.type).toBe('application/geo+json');
    expect(existsSync(local.gateway.files.outputDir(passed.id))).toBe(false);
    // The job page links the remote's result.
    const page = await request(`${local.base}/jobs/${passed.id}`, { headers: { Accept: 'text/html' } });
    expect(page.text).toContain(`href="${href}"`);

    const stored = await runAsync('remote.buffer', buffer('reference'));
    expect(stored.final.status).toBe('successful');
    const own: string = (await request(`${local.base}/jobs/${stored.id}/results`)).json.buffered.href;
    expect(own.startsWith(`${local.base}/`), own).toBe(true);
    const [theirs, ours] = await Promise.all([request(href), request(own)]);
    expect(theirs.status).toBe(200);
    expect(JSON.parse(theirs.text)).toEqual(JSON.parse(ours.text));
    expect(JSON.parse(theirs.text).features[0].geometry.type).toBe('Polygon');
  });

  it('OGC API: asked by value, the data is fetched and given inline', async () => {
    const byValue = await runAsync('pt.buffer', buffer('value'));
    expect(byValue.final.status).toBe('successful');
    const results = (await request(`${local.base}/jobs/${byValue.id}/results`)).json;
    expect(results.buffered.value.features[0].geometry.type).toBe('Polygon');
  });

  it("WPS 1.0.0: asReference gives a wps:Reference to the remote's URL", async () => {
    const body = wpsExecute(
      'pt.buffer',
      `<wps:Input><ows:Identifier>data</ows:Identifier><wps:Data><wps:ComplexData mimeType="application/geo+json"><![CDATA[${JSON.stringify(DATA)}]]></wps:ComplexData></wps:Data></wps:Input>` +
        '<wps:Input><ows:Identifier>distance</ows:Identifier><wps:Data><wps:LiteralData>1</wps:LiteralData></wps:Data></wps:Input>',
      '<wps:ResponseForm><wps:ResponseDocument><wps:Output asReference="true" mimeType="application/geo+json"><ows:Identifier>buffered</ows:Identifier></wps:Output></wps:ResponseDocument></wps:ResponseForm>',
    );
    const reply = await post(local.wps, body);
    expect(reply.status, reply.body).toBe(200);
    const reference = one(doc(reply.body), 'Reference');
    const href = reference.attrs.get('href') ?? reference.attrs.get('xlink:href') ?? '';
    expect(href.startsWith(`${remote.address}/`), reply.body).toBe(true);
    expect(reference.attrs.get('mimeType')).toBe('application/geo+json');
    expect(JSON.parse((await request(href)).text).features[0].geometry.type).toBe('Polygon');
  });
});

/** The ids of the remote's jobs of `processId`. */
async function remoteJobs(processId: string): Promise<Set<string>> {
  const list = await request(`${remote.address}/jobs?processID=${processId}&limit=1000`);
  return new Set((list.json.jobs as Array<{ jobID: string }>).map((j) => j.jobID));
}

/** The HTML page of the remote job that `run` created. */
async function remoteJobPage(run: () => Promise<unknown>): Promise<string> {
  const before = await remoteJobs('buffer');
  await run();
  const created = [...(await remoteJobs('buffer'))].filter((id) => !before.has(id));
  expect(created).toHaveLength(1);
  const page = await request(`${remote.address}/jobs/${created[0]}`, { headers: { Accept: 'text/html' } });
  expect(page.status).toBe(200);
  return page.text;
}

describe('forward_references', () => {
  it('sends a reference input as {href}: the remote fetches it, the gateway does not', async () => {
    dataHits = 0;
    const page = await remoteJobPage(async () => {
      const run = await runAsync(
        'pt.buffer',
        buffer('value', { href: dataUrl, type: 'application/geo+json' }),
      );
      expect(run.final.status, JSON.stringify(run.final)).toBe('successful');
    });
    // The remote's own job holds the reference (its page links it), and it was fetched once.
    expect(page).toContain(dataUrl);
    expect(dataHits).toBe(1);
  });

  it('by default the gateway fetches it and sends the data by value', async () => {
    dataHits = 0;
    const page = await remoteJobPage(async () => {
      const run = await runAsync(
        'remote.buffer',
        buffer('value', { href: dataUrl, type: 'application/geo+json' }),
      );
      expect(run.final.status, JSON.stringify(run.final)).toBe('successful');
    });
    expect(page).not.toContain(dataUrl);
    expect(page).toContain('FeatureCollection');
    expect(dataHits).toBe(1);
  });
});

describe('retries of remote failures', () => {
  it('a remote job that failed with a server error (HTTP 500) is transient: tried again', async () => {
    const { final } = await runAsync('remote.fail', { inputs: { how: 'error' } });
    expect(final.status).toBe('failed');
    expect(final.attempts).toHaveLength(3);
    expect(final.message).toMatch(/boom: the processor broke.*\(failed after 3 attempts\)/);
    for (const attempt of final.attempts) expect(attempt.error.code).toBe('NoApplicableCode');
  });

  it('a remote job that failed with InvalidParameterValue is permanent: one attempt', async () => {
    const { id, final } = await runAsync('remote.fail', { inputs: { how: 'ows' } });
    expect(final.status).toBe('failed');
    expect(final.attempts).toHaveLength(1);
    expect(final.attempts[0].error.code).toBe('InvalidParameterValue');
    const results = await request(`${local.base}/jobs/${id}/results`);
    expect(results.json.code).toBe('InvalidParameterValue');
  });
});
