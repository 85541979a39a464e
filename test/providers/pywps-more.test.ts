/**
 * Real PyWPS 4.5 servers as providers, for what the first provider tests left out:
 * - `pass_through_references` (a result asked by reference is the remote's URL, served by both
 *   front ends, nothing stored here) against the default (fetched and stored here);
 * - `forward_references` (a reference input reaches PyWPS as a reference and PyWPS fetches it)
 *   against the default (the gateway fetches it and sends the data);
 * - a remote whose process list changes between refreshes (the registry generation bumps once per
 *   change; an added process appears, a removed one disappears from both front ends, and a job of
 *   it already stored stays readable);
 * - per-process policies naming remote processes of a provider that is down at start-up;
 * - retries: a refused connection is transient (retried, then successful once the remote is back),
 *   a remote exception with a client error code (InvalidParameterValue) is permanent.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executeDocument } from '../../src/providers/wps/execute.ts';
import { attr, NS } from '../../src/wps/xml.ts';
import { startTestGateway } from '../helpers/gateway.ts';
import { execute, pollJob, request } from '../helpers/oaproc-http.ts';
import { startPywps, type PywpsServer } from '../helpers/pywps.ts';
import {
  all,
  doc,
  execute as wpsExecute,
  expectValid,
  freePort,
  one,
  post,
  startWpsServer,
  text,
  type WpsServer,
} from '../helpers/wps.ts';

const FEATURES = {
  type: 'FeatureCollection',
  features: [{ type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: [1, 2] } }],
};

const provider = (id: string, url: string, extra: string[] = []) => [
  `  - id: ${id}`,
  '    type: wps',
  `    url: ${url}`,
  '    allowed_hosts: [127.0.0.1]',
  '    timeout_seconds: 5',
  '    poll_interval_seconds: 0.2',
  ...extra.map((l) => `    ${l}`),
];

const policy = (id: string, lines: string[]) => [
  `  ${id}:`,
  '    type: process',
  ...lines.map((l) => `    ${l}`),
];

let steady: PywpsServer; // never changes: stored results, and the retry tests
let live: PywpsServer; // its process list changes
let later: PywpsServer | undefined; // down when the gateway starts
let laterPort: number;
let steadyPort: number;
let livePort: number;
let data: Server;
let dataUrl: string;
/** User-Agent of each request the data server got. */
const dataHits: string[] = [];
let gw: WpsServer;

beforeAll(async () => {
  data = createServer((req, res) => {
    dataHits.push(req.headers['user-agent'] ?? '');
    res.writeHead(200, { 'Content-Type': 'application/geo+json' }).end(JSON.stringify(FEATURES));
  });
  await new Promise<void>((r) => data.listen(0, '127.0.0.1', r));
  dataUrl = `http://127.0.0.1:${(data.address() as AddressInfo).port}/features.geojson`;
  [steady, live] = await Promise.all([startPywps(), startPywps(0, ['say_hello', 'slow', 'geojson'])]);
  steadyPort = steady.port;
  livePort = live.port;
  laterPort = await freePort();
  gw = await startWpsServer({
    extraServer: ['  allowed_reference_hosts: [127.0.0.1]'],
    extraResources: [
      // Policies of remote processes; those of `later` name processes not published at start-up.
      ...policy('steady.say_hello', ['retry: {max_attempts: 3, backoff_seconds: 1.5, jitter: 0}']),
      ...policy('steady.geojson', ['retry: {max_attempts: 3, backoff_seconds: 0.2, jitter: 0}']),
      ...policy('later.slow', ['max_running_jobs: 1']),
      ...policy('cached.geojson', ['cache: true']),
      'providers:',
      ...provider('steady', steady.url),
      ...provider('pt', steady.url, ['pass_through_references: true', 'forward_references: true']),
      ...provider('cached', steady.url, ['pass_through_references: true']),
      ...provider('live', live.url, ['refresh_interval_seconds: 0']),
      ...provider('later', `http://127.0.0.1:${laterPort}/wps`, ['refresh_interval_seconds: 0.5']),
    ],
  });
}, 60_000);
afterAll(async () => {
  await gw?.close();
  await Promise.all([steady?.close(), live?.close(), later?.close()]);
  await new Promise((r) => data?.close(r));
});

async function processIds(): Promise<string[]> {
  const list = await request(`${gw.base}/processes?limit=100`);
  return (list.json.processes as Array<{ id: string }>).map((p) => p.id);
}

async function capabilityIds(): Promise<string[]> {
  const caps = await fetch(`${gw.wps}?service=WPS&request=GetCapabilities`);
  return all(doc(await caps.text()), 'Process').map((p) => text(one(p, 'Identifier')).trim());
}

/** The cached metadata documents (src/util/document-cache.ts), keyed on the registry's generation. */
const METADATA = [
  () => `${gw.wps}?service=WPS&request=GetCapabilities`,
  () => `${gw.wps}?service=WPS&version=1.0.0&request=DescribeProcess&identifier=ALL`,
  () => `${gw.base}/processes?limit=100`,
  () => `${gw.base}/api`,
];

/** Each metadata document's tag now, and whether a client holding `held` tags would get 304. */
async function metadataTags(held?: string[]): Promise<{ tags: string[]; unchanged: boolean[] }> {
  const tags: string[] = [];
  const unchanged: boolean[] = [];
  for (const [i, url] of METADATA.entries()) {
    const r = await fetch(url());
    await r.body?.cancel();
    tags.push(r.headers.get('etag') ?? '');
    if (held) {
      // max-age=0: a revalidation (fetch would add no-cache to a conditional request otherwise).
      const again = await fetch(url(), {
        headers: { 'If-None-Match': held[i]!, 'Cache-Control': 'max-age=0' },
      });
      await again.body?.cancel();
      unchanged.push(again.status === 304);
    }
  }
  return { tags, unchanged };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs a job asynchronously to its end: its id and last statusInfo. */
async function runAsync(processId: string, body: unknown) {
  const reply = await execute(gw.base, processId, body, { Prefer: 'respond-async' });
  expect(reply.status, reply.text).toBe(201);
  const location = reply.headers.get('location')!;
  return { id: location.split('/').at(-1)!, final: await finished(location) };
}

async function finished(location: string) {
  const id = location.split('/').at(-1)!;
  const seen = await pollJob(gw.base, id, (s) => ['successful', 'failed', 'dismissed'].includes(s), 30_000);
  return seen.at(-1);
}

describe('pass_through_references', () => {
  const geojson = async (processId: string, transmissionMode: 'reference' | 'value') => {
    const { id, final } = await runAsync(processId, {
      inputs: { features: { value: FEATURES, mediaType: 'application/geo+json' }, dx: 10 },
      outputs: { moved: { transmissionMode } },
      response: 'document',
    });
    expect(final.status, JSON.stringify(final)).toBe('successful');
    return { jobId: id, reply: await request(`${gw.base}/jobs/${id}/results`) };
  };

  it("OGC API: an output asked by reference is PyWPS's URL; nothing is stored here", async () => {
    const { jobId, reply } = await geojson('pt.geojson', 'reference');
    expect(reply.status, reply.text).toBe(200);
    const href: string = reply.json.moved.href;
    expect(href.startsWith(`http://127.0.0.1:${steadyPort}/outputs/`), href).toBe(true);
    expect(reply.json.moved.type).toBe('application/geo+json');
    const fetched = await request(href);
    expect(fetched.status).toBe(200);
    expect(JSON.parse(fetched.text).features[0].geometry.coordinates).toEqual([11, 2]);
    // The job holds no file, and the gateway's output route serves nothing for it.
    expect(existsSync(gw.gateway.files.outputDir(jobId))).toBe(false);
    const job = await gw.gateway.jobs.find(jobId);
    expect(job?.results?.moved).toEqual({
      kind: 'reference',
      href,
      format: { mimeType: 'application/geo+json' },
    });
    expect((await request(`${gw.base}/outputs/${jobId}/moved.json`)).status).toBe(404);
  });

  it('a cache hit of a passed-through result is the same remote URL, with no file anywhere', async () => {
    const first = await geojson('cached.geojson', 'reference');
    const second = await geojson('cached.geojson', 'reference');
    const status = (await request(`${gw.base}/jobs/${second.jobId}`)).json;
    expect(status.cache).toEqual({ hit: true, sourceJobID: first.jobId });
    expect(second.reply.json.moved.href).toBe(first.reply.json.moved.href);
    expect(first.reply.json.moved.href.startsWith(`http://127.0.0.1:${steadyPort}/outputs/`)).toBe(true);
    for (const id of [first.jobId, second.jobId])
      expect(existsSync(gw.gateway.files.outputDir(id))).toBe(false);
  });

  it('OGC API: by value, and without pass-through, the result is fetched and stored here', async () => {
    const { reply: byValue } = await geojson('pt.geojson', 'value');
    expect(byValue.status, byValue.text).toBe(200);
    expect(byValue.json.moved.value.features[0].geometry.coordinates).toEqual([11, 2]);
    const { reply: stored } = await geojson('steady.geojson', 'reference');
    expect(stored.status, stored.text).toBe(200);
    const href: string = stored.json.moved.href;
    expect(href.startsWith(`${gw.base}/`), href).toBe(true);
    expect(JSON.parse((await request(href)).text).features[0].geometry.coordinates).toEqual([11, 2]);
  });

  it("WPS: asReference gives a wps:Reference to PyWPS's URL (pass-through) or to ours (default)", async () => {
    const body = (id: string) =>
      wpsExecute(
        id,
        `<wps:Input><ows:Identifier>features</ows:Identifier><wps:Data><wps:ComplexData mimeType="application/geo+json"><![CDATA[${JSON.stringify(FEATURES)}]]></wps:ComplexData></wps:Data></wps:Input>`,
        '<wps:ResponseForm><wps:ResponseDocument><wps:Output asReference="true"><ows:Identifier>moved</ows:Identifier></wps:Output></wps:ResponseDocument></wps:ResponseForm>',
      );
    const hrefOf = async (id: string) => {
      const reply = await post(gw.wps, body(id));
      expect(reply.status, reply.body).toBe(200);
      expectValid(reply.body, 'execute');
      const reference = one(doc(reply.body), 'Reference');
      return reference.attrs.get('href') ?? reference.attrs.get('xlink:href') ?? '';
    };
    const passed = await hrefOf('pt.geojson');
    expect(passed.startsWith(`http://127.0.0.1:${steadyPort}/outputs/`), passed).toBe(true);
    const own = await hrefOf('steady.geojson');
    expect(own.startsWith(`${gw.base}/`), own).toBe(true);
    const [a, b] = await Promise.all([request(passed), request(own)]);
    expect(JSON.parse(a.text)).toEqual(JSON.parse(b.text));
  });
});

describe('forward_references', () => {
  it('sends a reference input to PyWPS as a reference: PyWPS fetches it, the gateway does not', async () => {
    dataHits.length = 0;
    const reply = await execute(gw.base, 'pt.geojson', {
      inputs: { features: { href: dataUrl, type: 'application/geo+json' }, dx: 1 },
      outputs: { moved: {} },
      response: 'document',
    });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json.moved.value.features[0].geometry.coordinates).toEqual([2, 2]);
    expect(dataHits.length).toBe(1);
    expect(dataHits[0]).toMatch(/python/i);
  });

  it('the Execute request sent to the remote holds a schema-valid wps:Reference', async () => {
    const entry = gw.gateway.providers!.remoteDescription('pt', 'geojson')!;
    const xml = await executeDocument(
      entry,
      {
        features: [{ kind: 'reference', href: `${dataUrl}?a=1&b=2`, mimeType: 'application/geo+json' }],
        dx: [{ kind: 'literal', value: 1 }],
      },
      { moved: { transmission: 'reference' } },
      { async: true, complexByReference: true },
    );
    expectValid(xml, 'executeRequest');
    const reference = one(doc(xml), 'Reference');
    expect(attr(reference, 'href', NS.xlink)).toBe(`${dataUrl}?a=1&b=2`);
    expect(reference.attrs.get('mimeType')).toBe('application/geo+json');
  });

  it('by default the gateway fetches the reference and sends the data by value', async () => {
    dataHits.length = 0;
    const reply = await execute(gw.base, 'steady.geojson', {
      inputs: { features: { href: dataUrl, type: 'application/geo+json' }, dx: 1 },
      outputs: { moved: {} },
      response: 'document',
    });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json.moved.value.features[0].geometry.coordinates).toEqual([2, 2]);
    expect(dataHits.length).toBe(1);
    expect(dataHits[0]).not.toMatch(/python/i);
  });

  it('a reference the outbound policy refuses is refused as before, never forwarded', async () => {
    const reply = await execute(gw.base, 'pt.geojson', {
      inputs: { features: { href: 'http://10.255.255.1/x.geojson', type: 'application/geo+json' } },
    });
    expect(reply.status).toBe(400);
    expect(reply.json.detail).toMatch(/private address, which the server may not reach/);
  });
});

describe('a remote whose process list changes', () => {
  // `live` refreshes only when told (refresh_interval_seconds: 0): each refresh below is the one
  // the timer would make, and the generation can be counted exactly.
  const refresh = () => gw.gateway.providers!.refresh('live');

  it('publishes an added process, withdraws a removed one; the generation bumps once per change', async () => {
    const { id: jobId, final: ran } = await runAsync('live.say_hello', {
      inputs: { name: 'Ada' },
      response: 'document',
    });
    expect(ran.status).toBe('successful');
    expect(await processIds()).toEqual(expect.arrayContaining(['live.say_hello', 'live.slow']));
    expect(await processIds()).not.toContain('live.bbox');
    const before = gw.gateway.registry.generation;
    const { tags: first } = await metadataTags();
    expect(first.every((t) => /^"[\w-]+"$/.test(t))).toBe(true);
    await refresh(); // nothing changed
    expect(gw.gateway.registry.generation).toBe(before);
    // The cached documents stand: a client holding their tags gets 304.
    expect((await metadataTags(first)).unchanged).toEqual(METADATA.map(() => true));
    live.setProcesses(['slow', 'geojson', 'bbox']);
    await refresh();
    expect(gw.gateway.registry.generation).toBe(before + 1);
    // Every cached document is renewed at once: new tags, the old ones no longer match.
    const changed = await metadataTags(first);
    expect(changed.unchanged).toEqual(METADATA.map(() => false));
    changed.tags.forEach((t, i) => expect(t, METADATA[i]!()).not.toBe(first[i]));
    const ids = await processIds();
    expect(ids).toContain('live.bbox');
    expect(ids).not.toContain('live.say_hello');
    const caps = await capabilityIds();
    expect(caps).toEqual(expect.arrayContaining(['live.bbox', 'live.slow', 'live.geojson']));
    expect(caps).not.toContain('live.say_hello');
    expect((await request(`${gw.base}/processes/live.say_hello`)).status).toBe(404);
    const described = await fetch(
      `${gw.wps}?service=WPS&version=1.0.0&request=DescribeProcess&identifier=live.say_hello`,
    );
    expect(await described.text()).toContain('InvalidParameterValue');
    // The added one runs.
    const box = await runAsync('live.bbox', {
      inputs: { area: { bbox: [1, 2, 3, 5], crs: 'http://www.opengis.net/def/crs/EPSG/0/3857' } },
      response: 'document',
    });
    expect(box.final.status).toBe('successful');
    // The stored job of the removed process stays readable, through both front ends.
    expect((await request(`${gw.base}/jobs/${jobId}`)).json.status).toBe('successful');
    const results = await request(`${gw.base}/jobs/${jobId}/results`);
    expect(results.status, results.text).toBe(200);
    expect(results.json).toEqual({ message: 'Hello Ada!', length: 10 });
    const status = await fetch(`${gw.wps}/status/${jobId}.xml`);
    const wpsDoc = await status.text();
    expect(status.status, wpsDoc).toBe(200);
    expect(wpsDoc).toContain('ProcessSucceeded');
    expect(wpsDoc).toContain('Hello Ada!');
    // Another refresh without a change bumps nothing; each further change bumps once.
    await refresh();
    expect(gw.gateway.registry.generation).toBe(before + 1);
    live.setProcesses(['say_hello', 'slow', 'geojson', 'bbox']);
    await refresh();
    expect(gw.gateway.registry.generation).toBe(before + 2);
    expect(await processIds()).toContain('live.say_hello');
    // Down: its processes are withdrawn (a change); back: published again (another).
    const { tags: up } = await metadataTags();
    live.kill();
    await live.close();
    await refresh();
    expect(gw.gateway.registry.generation).toBe(before + 3);
    // The provider's processes disappeared: every document (and tag) changes with them.
    expect((await metadataTags(up)).unchanged).toEqual(METADATA.map(() => false));
    expect((await processIds()).some((id) => id.startsWith('live.'))).toBe(false);
    expect(await capabilityIds()).not.toContain('live.bbox');
    live = await startPywps(livePort);
    await refresh();
    expect(gw.gateway.registry.generation).toBe(before + 4);
    expect(await processIds()).toContain('live.bbox');
  }, 60_000);
});

describe('policies of remote processes', () => {
  it('a policy naming a process of a provider down at start-up applies once the process appears', async () => {
    expect(await processIds()).not.toContain('later.slow');
    later = await startPywps(laterPort);
    await waitFor('later.slow', async () => ((await processIds()).includes('later.slow') ? true : undefined));
    // max_running_jobs: 1: two jobs never run at once.
    const started = await Promise.all(
      [0, 1].map(() =>
        execute(gw.base, 'later.slow', { inputs: { steps: 3, delay: 0.3 } }, { Prefer: 'respond-async' }),
      ),
    );
    const ids = started.map((r) => {
      expect(r.status, r.text).toBe(201);
      return r.headers.get('location')!.split('/').at(-1)!;
    });
    let both = false;
    const t0 = Date.now();
    for (;;) {
      const infos = await Promise.all(ids.map(async (id) => (await request(`${gw.base}/jobs/${id}`)).json));
      const statuses = infos.map((i) => i.status as string);
      if (Date.now() - t0 > 20_000) throw new Error(`jobs did not end: ${JSON.stringify(infos)}`);
      if (statuses.every((s) => s === 'running')) both = true;
      if (statuses.every((s) => s === 'successful' || s === 'failed')) {
        expect(statuses).toEqual(['successful', 'successful']);
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(both).toBe(false);
  });

  it('a policy for an id under no provider prefix is still a start-up error', async () => {
    await expect(
      startTestGateway({ extraResources: policy('nowhere.thing', ['max_running_jobs: 1']) }),
    ).rejects.toThrow(/Job policy for process 'nowhere\.thing', which is not published/);
  });
});

describe('retries of remote failures', () => {
  it('a refused connection is transient: retried, and successful once the remote is back', async () => {
    steady.kill();
    await steady.close();
    const reply = await execute(
      gw.base,
      'steady.say_hello',
      { inputs: { name: 'Bo' }, response: 'document' },
      { Prefer: 'respond-async' },
    );
    expect(reply.status, reply.text).toBe(201);
    const id = reply.headers.get('location')!.split('/').at(-1)!;
    await waitFor('a failed first attempt', async () => {
      const s = (await request(`${gw.base}/jobs/${id}`)).json;
      return s.attempts?.[0]?.error ? s : undefined;
    });
    steady = await startPywps(steadyPort);
    const final = await finished(`${gw.base}/jobs/${id}`);
    expect(final.status, JSON.stringify(final)).toBe('successful');
    expect(final.attempts.length).toBeGreaterThanOrEqual(2);
    expect(final.attempts[0].error.message).toMatch(/could not be reached/);
    const results = await request(`${gw.base}/jobs/${id}/results`);
    expect(results.json.message).toBe('Hello Bo!');
  });

  it('a remote exception with a client error code is permanent: one attempt only', async () => {
    // PyWPS no longer offers geojson; the gateway has not refreshed (every 300 s) and still does.
    steady.setProcesses(['say_hello', 'slow']);
    const reply = await execute(
      gw.base,
      'steady.geojson',
      { inputs: { features: { value: FEATURES, mediaType: 'application/geo+json' } } },
      { Prefer: 'respond-async' },
    );
    expect(reply.status, reply.text).toBe(201);
    const final = await finished(reply.headers.get('location')!);
    expect(final.status).toBe('failed');
    expect(final.message).toMatch(/Unknown process/);
    expect(final.attempts).toHaveLength(1);
    expect(final.attempts[0].error.code).toBe('InvalidParameterValue');
  });
});
