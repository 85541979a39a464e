/**
 * OGC API - Processes execution over real HTTP: the whole response matrix of clause 7 (raw or
 * document × value, reference or mixed × one or many outputs × sync or async), results of async
 * jobs answered exactly as the synchronous request, and the Prefer header.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { expectOfficial } from '../helpers/oaproc-schemas.ts';
import {
  execute,
  parseLinkHeader,
  parseMultipart,
  pollJob,
  REL_RESULTS,
  request,
  UUID,
  type HttpReply,
} from '../helpers/oaproc-http.ts';
import { startWpsServer, type WpsServer } from '../helpers/wps.ts';

let s: WpsServer;
beforeAll(async () => {
  s = await startWpsServer({
    manager: { parallel_processes: 2 },
    extraResources: [
      '  hello-sync:\n    type: process\n    processor: {name: hello-world}\n    job_control_options: [sync-execute]',
      '  hello-async:\n    type: process\n    processor: {name: hello-world}\n    job_control_options: [async-execute, dismiss]',
    ],
  });
}, 30_000);
afterAll(() => s.close());

// ---- The echo request and what each output must be ----------------------------------------------

/** Bytes that would break a careless multipart writer or a text decoder. */
const BINARY = Buffer.concat([
  Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80]),
  Buffer.from('\r\n--gateway-\r\n\r\n--'),
  randomBytes(300),
]);
const DOCUMENT = { answer: 42, list: ['x', 'é'], nested: { ok: true } };
const CRS84 = 'http://www.opengis.net/def/crs/OGC/1.3/CRS84';

const ECHO_INPUTS = {
  stringInput: 'teststring',
  arrayInput: ['a', 'b,c'],
  binaryInput: {
    value: BINARY.toString('base64'),
    mediaType: 'application/octet-stream',
    encoding: 'base64',
  },
  complexInput: { value: DOCUMENT, mediaType: 'application/json' },
  bboxInput: { bbox: [1.5, 2, 3, 4.25], crs: CRS84 },
};

interface Expected {
  /** Content-Type of the raw value (and of the referenced file). */
  mediaType: string;
  /** The raw value, byte for byte (JSON outputs are compared parsed). */
  bytes: Buffer;
  json: boolean;
  /** The inline value in a results document. */
  document: unknown;
}

const EXPECTED: Record<string, Expected> = {
  stringInput: {
    mediaType: 'text/plain; charset=utf-8',
    bytes: Buffer.from('teststring'),
    json: false,
    document: 'teststring',
  },
  arrayOutput: {
    mediaType: 'application/json',
    bytes: Buffer.from('["a","b,c"]'),
    json: true,
    document: { value: ['a', 'b,c'], mediaType: 'application/json', encoding: 'UTF-8' },
  },
  binaryOutput: {
    mediaType: 'application/octet-stream',
    bytes: BINARY,
    json: false,
    document: { value: BINARY.toString('base64'), mediaType: 'application/octet-stream', encoding: 'base64' },
  },
  complexOutput: {
    mediaType: 'application/json',
    bytes: Buffer.from(JSON.stringify(DOCUMENT)),
    json: true,
    document: { value: DOCUMENT, mediaType: 'application/json' },
  },
  bboxOutput: {
    mediaType: 'application/json',
    bytes: Buffer.from(JSON.stringify({ bbox: [1.5, 2, 3, 4.25], crs: CRS84 })),
    json: true,
    document: { bbox: [1.5, 2, 3, 4.25], crs: CRS84 },
  },
};
const ALL_OUTPUTS = Object.keys(EXPECTED);

/** Whether `bytes` (served as `contentType`) is output `id`'s value. */
function expectValue(id: string, contentType: string | null | undefined, bytes: Buffer): void {
  const e = EXPECTED[id]!;
  expect(contentType, `media type of ${id}`).toBe(e.mediaType);
  if (e.json) expect(JSON.parse(bytes.toString('utf8')), id).toEqual(JSON.parse(e.bytes.toString('utf8')));
  else expect(bytes.equals(e.bytes), `bytes of ${id}: ${bytes.toString('base64').slice(0, 80)}`).toBe(true);
}

/** Fetches a reference and checks it is output `id`. */
async function expectReference(id: string, href: string): Promise<void> {
  expect(href, `reference of ${id}`).toMatch(new RegExp(`^${s.base}/`));
  const r = await request(href);
  expect(r.status, `GET ${href}`).toBe(200);
  expectValue(id, r.contentType, r.bytes);
}

// ---- The matrix ---------------------------------------------------------------------------------

type Transmission = 'value' | 'reference' | 'mixed';
interface Case {
  name: string;
  response: 'raw' | 'document';
  transmission: Transmission;
  /** The outputs asked for; undefined: `outputs` omitted (every output, by value). */
  outputs?: string[];
}

const modeOf = (c: Case, index: number): 'value' | 'reference' =>
  c.transmission === 'mixed' ? (index % 2 === 0 ? 'value' : 'reference') : c.transmission;

const requestBody = (c: Case) => ({
  inputs: ECHO_INPUTS,
  ...(c.outputs
    ? { outputs: Object.fromEntries(c.outputs.map((id, i) => [id, { transmissionMode: modeOf(c, i) }])) }
    : {}),
  response: c.response,
});

const CASES: Case[] = [
  ...(['raw', 'document'] as const).flatMap((response) =>
    (['value', 'reference'] as const).flatMap((transmission) =>
      ALL_OUTPUTS.map((id) => ({
        name: `${response}, ${transmission}, one output (${id})`,
        response,
        transmission,
        outputs: [id],
      })),
    ),
  ),
  ...(['raw', 'document'] as const).flatMap((response) =>
    (['value', 'reference', 'mixed'] as const).map((transmission) => ({
      name: `${response}, ${transmission}, ${ALL_OUTPUTS.length} outputs`,
      response,
      transmission,
      outputs: ALL_OUTPUTS,
    })),
  ),
  { name: 'raw, outputs omitted (all, by value)', response: 'raw', transmission: 'value' },
  { name: 'document, outputs omitted (all, by value)', response: 'document', transmission: 'value' },
];

/** Asserts a reply is the results of case `c`, as clause 7's table wants them. */
async function expectResults(r: HttpReply, c: Case, ctx: TestContext): Promise<void> {
  const ids = c.outputs ?? ALL_OUTPUTS;
  const modes = new Map(ids.map((id, i) => [id, c.outputs ? modeOf(c, i) : 'value']));
  if (c.response === 'document') {
    expect(r.status, r.text).toBe(200);
    expect(r.contentType).toMatch(/^application\/json/);
    expectOfficial(ctx, r.json, 'results');
    expect(Object.keys(r.json).sort()).toEqual([...ids].sort());
    for (const id of ids) {
      if (modes.get(id) === 'reference') {
        expect(Object.keys(r.json[id]).sort()).toEqual(['href', 'type']);
        expect(r.json[id].type).toBe(EXPECTED[id]!.mediaType.replace('; charset=utf-8', ''));
        await expectReference(id, r.json[id].href);
      } else {
        expect(r.json[id], id).toEqual(EXPECTED[id]!.document);
      }
    }
    return;
  }
  if ([...modes.values()].every((m) => m === 'reference')) {
    expect(r.status, r.text).toBe(204);
    expect(r.bytes.length).toBe(0);
    // A job's results also link their HTML page (rel=alternate); the outputs are the rest.
    const links = parseLinkHeader(r.headers.get('link')).filter((l) => l.params.rel !== 'alternate');
    expect(links.map((l) => l.params.title).sort()).toEqual([...ids].sort());
    for (const link of links) {
      expect(link.params.rel).toBe(REL_RESULTS);
      await expectReference(link.params.title!, link.href);
    }
    return;
  }
  expect(parseLinkHeader(r.headers.get('link')).filter((l) => l.params.rel !== 'alternate')).toEqual([]);
  if (ids.length === 1) {
    expect(r.status, r.text).toBe(200);
    expectValue(ids[0]!, r.contentType, r.bytes);
    return;
  }
  expect(r.status, r.text).toBe(200);
  const { type, parts } = parseMultipart(r.contentType!, r.bytes);
  expect(type.essence).toBe('multipart/related');
  const first = parts[0]!.headers.get('content-type');
  expect(type.params.get('type'), 'the root part type').toBe(first);
  expect(parts.map((p) => p.headers.get('content-id'))).toEqual(ids.map((id) => `<${id}>`));
  for (const part of parts) {
    const id = part.headers.get('content-id')!.slice(1, -1);
    if (modes.get(id) === 'reference') {
      expect(part.body.length, `${id}: a reference part is empty`).toBe(0);
      expect(part.headers.get('content-type')).toBe(EXPECTED[id]!.mediaType.replace('; charset=utf-8', ''));
      await expectReference(id, part.headers.get('content-location')!);
    } else {
      expect(part.headers.has('content-location')).toBe(false);
      expectValue(id, part.headers.get('content-type'), part.body);
    }
  }
}

/** A reply with job ids and multipart boundaries blanked, to compare two replies. */
function normalized(r: HttpReply): unknown {
  const blank = (text: string | null) => text?.replace(UUID, 'ID');
  const body = r.contentType?.startsWith('multipart/')
    ? parseMultipart(r.contentType, r.bytes).parts.map((p) => ({
        headers: Object.fromEntries([...p.headers].map(([k, v]) => [k, blank(v)])),
        body: p.body.toString('base64'),
      }))
    : r.json !== undefined
      ? JSON.parse(blank(JSON.stringify(r.json))!)
      : r.bytes.toString('base64');
  return {
    status: r.status,
    contentType: blank(r.contentType)?.replace(/boundary=[^;]+/, 'boundary=B'),
    // The results links; a job's results document also links its HTML page, which a sync response has not.
    link: blank(
      parseLinkHeader(r.headers.get('link'))
        .filter((l) => l.params.rel !== 'alternate')
        .map((l) => `<${l.href}>; ${JSON.stringify(l.params)}`)
        .join(', ') || null,
    ),
    body,
  };
}

/** Runs `body` asynchronously over HTTP: 201, Location, statusInfo, then polled until successful. */
async function runAsync(
  processId: string,
  body: unknown,
  ctx: TestContext,
  headers: Record<string, string> = {},
): Promise<{ location: string; created: HttpReply }> {
  const created = await execute(s.base, processId, body, { Prefer: 'respond-async', ...headers });
  expect(created.status, created.text).toBe(201);
  expect(created.headers.get('preference-applied')).toBe('respond-async');
  expectOfficial(ctx, created.json, 'statusInfo');
  const location = created.headers.get('location')!;
  expect(location).toBe(`${s.base}/jobs/${created.json.jobID}`);
  expect(created.json).toMatchObject({ processID: processId, type: 'process' });
  expect(['accepted', 'running', 'successful']).toContain(created.json.status);
  const seen = await pollJob(s.base, created.json.jobID, (st) => st === 'successful' || st === 'failed');
  const last = seen.at(-1);
  expect(last.status, JSON.stringify(last)).toBe('successful');
  expectOfficial(ctx, last, 'statusInfo');
  expect(last.links.find((l: { rel: string }) => l.rel === REL_RESULTS)?.href).toBe(`${location}/results`);
  return { location, created };
}

describe('execute matrix (echo): sync, and async then GET /jobs/{id}/results', () => {
  it.for(CASES)('$name', async (c, ctx) => {
    const sync = await execute(s.base, 'echo', requestBody(c));
    await expectResults(sync, c, ctx);

    const { location } = await runAsync('echo', requestBody(c), ctx);
    const results = await request(`${location}/results`);
    await expectResults(results, c, ctx);
    expect(normalized(results)).toEqual(normalized(sync));
  });
});

describe('raw literal values and content negotiation', () => {
  const body = { inputs: { stringInput: 'teststring' }, outputs: { stringInput: {} } };

  it('one literal: text/plain by default, a JSON string for Accept: application/json, sync and async', async (ctx) => {
    const plain = await execute(s.base, 'echo', body);
    expect(plain.status).toBe(200);
    expect(plain.contentType).toBe('text/plain; charset=utf-8');
    expect(plain.text).toBe('teststring');

    const json = await execute(s.base, 'echo', body, { Accept: 'application/json' });
    expect(json.status).toBe(200);
    expect(json.contentType).toMatch(/^application\/json/);
    expect(json.json).toBe('teststring');

    const { location } = await runAsync('echo', body, ctx);
    const asJson = await request(`${location}/results`, { headers: { Accept: 'application/json' } });
    expect(asJson.contentType).toMatch(/^application\/json/);
    expect(asJson.json).toBe('teststring');
    const asText = await request(`${location}/results`);
    expect(asText.contentType).toBe('text/plain; charset=utf-8');
    expect(asText.text).toBe('teststring');
  });

  it('hello-world: raw greeting, document, reference', async (ctx) => {
    const inputs = { name: 'Ada', message: 'Ça va ?' };
    const raw = await execute(s.base, 'hello-world', { inputs });
    expect(raw.status).toBe(200);
    expect(raw.text).toBe('Hello Ada! Ça va ?');
    const document = await execute(s.base, 'hello-world', { inputs, response: 'document' });
    expect(document.json).toEqual({ echo: 'Hello Ada! Ça va ?' });
    expectOfficial(ctx, document.json, 'results');
    const ref = await execute(s.base, 'hello-world', {
      inputs,
      outputs: { echo: { transmissionMode: 'reference' } },
      response: 'document',
    });
    expect(ref.json.echo.type).toBe('text/plain');
    const file = await request(ref.json.echo.href);
    expect(file.text).toBe('Hello Ada! Ça va ?');
  });

  it('sleep: a double with its unit of measure (raw text, qualified document value)', async (ctx) => {
    const raw = await execute(s.base, 'sleep', { inputs: { seconds: 0.1 } });
    expect(raw.status).toBe(200);
    expect(raw.text).toBe('0.1');
    const document = await execute(s.base, 'sleep', { inputs: { seconds: 0.1 }, response: 'document' });
    expect(document.json).toEqual({ slept: { value: 0.1, uom: 's' } });
    expectOfficial(ctx, document.json, 'results');
  });

  it.for([
    { crs: 'http://www.opengis.net/def/crs/EPSG/0/4326', bbox: [47.5, 7.25, 48, 8] },
    { crs: CRS84, bbox: [7.25, 47.5, 8, 48] },
    { crs: 'http://www.opengis.net/def/crs/EPSG/0/3857', bbox: [-1000.5, 2000, 3000, 4000.25] },
  ])('a bounding box in $crs comes back in the same CRS and axis order', async (box, ctx) => {
    const body = { inputs: { stringInput: 's', bboxInput: box }, outputs: { bboxOutput: {} } };
    const raw = await execute(s.base, 'echo', body);
    expect(raw.status).toBe(200);
    expect(raw.contentType).toMatch(/^application\/json/);
    expect(raw.json).toEqual(box);
    const document = await execute(s.base, 'echo', { ...body, response: 'document' });
    expect(document.json.bboxOutput).toEqual(box);
    expectOfficial(ctx, document.json, 'results');
  });

  it('a JSON document given as an object reaches the process exactly as written, whatever its size', async () => {
    // A JSON round trip would turn the first into …992, -0 into 0 and 1e400 into null.
    const written =
      '{"type": "FeatureCollection", "features": [], "big": 9007199254740993, "negZero": -0, "huge": 1e400}';
    const body = `{"inputs": {"stringInput": "s", "complexInput": ${written}}, "outputs": {"complexOutput": {}}}`;
    const raw = await request(`${s.base}/processes/echo/execution`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body,
    });
    expect(raw.status, raw.text).toBe(200);
    expect(raw.text).toBe(written);
  });

  it('an XML document is served raw in its own media type, and inline in a document as a string', async () => {
    const xml = '<a xmlns="urn:x"><b>1 &amp; 2</b></a>';
    const inputs = { stringInput: 's', complexInput: { value: xml, mediaType: 'text/xml' } };
    const raw = await execute(s.base, 'echo', { inputs, outputs: { complexOutput: {} } });
    expect(raw.status).toBe(200);
    expect(raw.contentType).toBe('text/xml');
    expect(raw.text).toBe(xml);
    const document = await execute(s.base, 'echo', {
      inputs,
      outputs: { complexOutput: {} },
      response: 'document',
    });
    expect(document.json.complexOutput).toEqual({ value: xml, mediaType: 'text/xml' });
  });
});

// ---- Prefer ------------------------------------------------------------------------------------------

describe('execution mode and the Prefer header', () => {
  const hello = { inputs: { name: 'P' } };

  it('no Prefer on a process that allows both: synchronous (200), no Preference-Applied', async () => {
    const r = await execute(s.base, 'hello-world', hello);
    expect(r.status).toBe(200);
    expect(r.text).toBe('Hello P!');
    expect(r.headers.get('preference-applied')).toBeNull();
    expect(r.headers.get('location')).toBeNull();
  });

  it.for([
    'respond-async',
    'Respond-Async',
    'RESPOND-ASYNC',
    '  respond-async  ',
    'respond-async ',
    'handling=lenient, respond-async',
    'return=minimal,respond-async;x=1, foo="a,b"',
    'foo, respond-async, bar=baz',
  ])('Prefer: %j → 201, Preference-Applied: respond-async', async (prefer, ctx) => {
    const r = await execute(s.base, 'hello-world', hello, { Prefer: prefer });
    expect(r.status, r.text).toBe(201);
    expect(r.headers.get('preference-applied')).toBe('respond-async');
    expect(r.headers.get('location')).toBe(`${s.base}/jobs/${r.json.jobID}`);
    expectOfficial(ctx, r.json, 'statusInfo');
    await pollJob(s.base, r.json.jobID, (st) => st === 'successful');
  });

  it('unknown preferences alone are ignored: 200, nothing applied', async () => {
    for (const prefer of [
      'return=representation',
      'handling=strict, foo',
      'respond-asynchronously',
      'wait',
    ]) {
      const r = await execute(s.base, 'hello-world', hello, { Prefer: prefer });
      expect(r.status, prefer).toBe(200);
      expect(r.text).toBe('Hello P!');
      expect(r.headers.get('preference-applied'), prefer).toBeNull();
    }
  });

  it('respond-async on a sync-only process: 200 and no Preference-Applied respond-async', async () => {
    const description = await request(`${s.base}/processes/hello-sync`);
    expect(description.json.jobControlOptions).toEqual(['sync-execute']);
    const r = await execute(s.base, 'hello-sync', hello, { Prefer: 'respond-async' });
    expect(r.status).toBe(200);
    expect(r.text).toBe('Hello P!');
    expect(r.headers.get('preference-applied') ?? '').not.toMatch(/respond-async/);
  });

  it('an async-only process runs asynchronously without Prefer (201, no Preference-Applied)', async (ctx) => {
    const r = await execute(s.base, 'hello-async', hello);
    expect(r.status).toBe(201);
    expect(r.headers.get('preference-applied')).toBeNull();
    expectOfficial(ctx, r.json, 'statusInfo');
    await pollJob(s.base, r.json.jobID, (st) => st === 'successful');
    expect((await request(`${s.base}/jobs/${r.json.jobID}/results`)).text).toBe('Hello P!');
  });

  it('wait=N: a job done within N seconds answers 200 with Preference-Applied wait=N', async () => {
    const r = await execute(s.base, 'sleep', { inputs: { seconds: 0.2 } }, { Prefer: 'wait=5' });
    expect(r.status).toBe(200);
    expect(r.text).toBe('0.2');
    expect(r.headers.get('preference-applied')).toBe('wait=5');
  });

  it('wait=N: a job still running after N seconds is answered 201 with its status after about N s', async (ctx) => {
    const t0 = Date.now();
    const r = await execute(s.base, 'sleep', { inputs: { seconds: 3 } }, { Prefer: 'wait=1' });
    const elapsed = Date.now() - t0;
    expect(r.status, r.text).toBe(201);
    expect(elapsed).toBeGreaterThanOrEqual(950);
    expect(elapsed).toBeLessThan(2500);
    expect(r.headers.get('preference-applied')).toBe('wait=1');
    expect(r.headers.get('location')).toBe(`${s.base}/jobs/${r.json.jobID}`);
    expect(r.json.status).toBe('running');
    expectOfficial(ctx, r.json, 'statusInfo');
    await pollJob(s.base, r.json.jobID, (st) => st === 'successful');
    expect((await request(`${r.headers.get('location')}/results`)).text).toBe('3');
  });

  it('respond-async wins over wait: 201 at once, only respond-async applied', async () => {
    const t0 = Date.now();
    const r = await execute(
      s.base,
      'sleep',
      { inputs: { seconds: 3 } },
      { Prefer: 'wait=10, respond-async' },
    );
    expect(r.status).toBe(201);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(r.headers.get('preference-applied')).toBe('respond-async');
    await pollJob(s.base, r.json.jobID, (st) => st === 'successful');
  });
});

describe('the synchronous execution limit (sync_job_execution_timeout_seconds: 0.5)', () => {
  let slow: WpsServer;
  beforeAll(async () => {
    slow = await startWpsServer({ manager: { sync_job_execution_timeout_seconds: 0.5 } });
  }, 30_000);
  afterAll(() => slow.close());

  it('a synchronous job past the limit is answered 201 with its status; it runs on to success', async (ctx) => {
    const t0 = Date.now();
    const r = await execute(slow.base, 'sleep', { inputs: { seconds: 3 } });
    expect(Date.now() - t0).toBeLessThan(2500);
    expect(r.status, r.text).toBe(201);
    expect(r.headers.get('preference-applied')).toBeNull();
    expect(r.headers.get('location')).toBe(`${slow.base}/jobs/${r.json.jobID}`);
    expect(r.json.status).toBe('running');
    expectOfficial(ctx, r.json, 'statusInfo');
    await pollJob(slow.base, r.json.jobID, (st) => st === 'successful');
    expect((await request(`${slow.base}/jobs/${r.json.jobID}/results`)).text).toBe('3');
  });

  it('wait=N longer than the limit waits only as long as the limit, and is not reported as applied', async () => {
    const t0 = Date.now();
    const r = await execute(slow.base, 'sleep', { inputs: { seconds: 3 } }, { Prefer: 'wait=30' });
    const elapsed = Date.now() - t0;
    expect(r.status, r.text).toBe(201);
    expect(elapsed).toBeGreaterThanOrEqual(450);
    expect(elapsed).toBeLessThan(2500);
    expect(r.headers.get('preference-applied')).toBeNull();
    await pollJob(slow.base, r.json.jobID, (st) => st === 'successful');
  });
});

describe('synchronous answers', () => {
  it('carry no Link header (the OGC test suite follows any Link as a monitor link)', async () => {
    for (const body of [
      { inputs: { stringInput: 'x' }, outputs: { stringInput: {} } },
      { inputs: { stringInput: 'x' }, response: 'document' },
    ]) {
      const r = await execute(s.base, 'echo', body);
      expect(r.status, r.text).toBe(200);
      expect(r.headers.get('link')).toBeNull();
    }
  });
});
