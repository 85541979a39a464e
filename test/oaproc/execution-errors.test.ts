/**
 * OGC API - Processes execution and results errors over real HTTP: every one is exception JSON
 * (exception.yaml) with the right status, and a rejected request creates no job.
 */
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { expectOfficial } from '../helpers/oaproc-schemas.ts';
import { EXC, execute, pollJob, request, type HttpReply } from '../helpers/oaproc-http.ts';
import { startWpsServer, type WpsServer } from '../helpers/wps.ts';

let s: WpsServer;
beforeAll(async () => {
  s = await startWpsServer({ manager: { parallel_processes: 2 }, extraServer: ['  max_request_size: 4kb'] });
}, 30_000);
afterAll(() => s.close());

/** Asserts an exception document with this status (and type, when the reason has one). */
function expectException(ctx: TestContext, r: HttpReply, status: number, type = 'about:blank'): void {
  expect(r.status, r.text).toBe(status);
  expect(r.contentType).toMatch(/^application\/json/);
  expect(r.json).toMatchObject({ type, status });
  expect(typeof r.json.detail).toBe('string');
  expectOfficial(ctx, r.json, 'exception');
}

const jobCount = async (): Promise<number> => (await request(`${s.base}/jobs?limit=1`)).json.numberMatched;

describe('bad execute requests: 4xx exception JSON before any job exists', () => {
  it('unknown process: 404 no-such-process', async (ctx) => {
    const r = await execute(s.base, 'no-such-thing', { inputs: {} });
    expectException(ctx, r, 404, `${EXC}no-such-process`);
    expect(r.json.detail).toContain('no-such-thing');
  });

  it.for([
    ['not JSON', '{"inputs": {'],
    ['a JSON array', '[1, 2]'],
    ['a JSON string', '"inputs"'],
    ['empty', ''],
  ])('body %s: 400', async ([, body], ctx) => {
    const before = await jobCount();
    const r = await execute(s.base, 'hello-world', body);
    expectException(ctx, r, 400);
    expect(await jobCount()).toBe(before);
  });

  it('wrong Content-Type: 415 naming what was sent', async (ctx) => {
    for (const type of ['text/plain', 'application/xml', 'application/x-www-form-urlencoded']) {
      const r = await execute(s.base, 'hello-world', { inputs: { name: 'x' } }, { 'Content-Type': type });
      expectException(ctx, r, 415);
      expect(r.json.detail).toContain(type);
    }
    // A +json media type is JSON.
    const ok = await execute(
      s.base,
      'hello-world',
      { inputs: { name: 'x' } },
      { 'Content-Type': 'application/vnd.ogc+json; charset=utf-8' },
    );
    expect(ok.status).toBe(200);
  });

  it('a body over max_request_size (4 kB): 413, and one just under passes', async (ctx) => {
    const big = await execute(s.base, 'hello-world', { inputs: { name: 'x'.repeat(5000) } });
    expectException(ctx, big, 413);
    expect(big.json.detail).toContain('4096');
    // Far over the limit (answered without reading it all), and chunked without a Content-Length.
    expectException(ctx, await execute(s.base, 'hello-world', { inputs: { name: 'x'.repeat(5e6) } }), 413);
    const chunked = await request(`${s.base}/processes/hello-world/execution`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: new Blob([JSON.stringify({ inputs: { name: 'z'.repeat(10_000) } })]).stream(),
      duplex: 'half',
    } as RequestInit);
    expectException(ctx, chunked, 413);
    const fits = await execute(s.base, 'hello-world', { inputs: { name: 'y'.repeat(3900) } });
    expect(fits.status).toBe(200);
    expect(fits.text).toBe(`Hello ${'y'.repeat(3900)}!`);
  });

  it.for([
    {
      what: 'an unknown input',
      process: 'hello-world',
      inputs: { name: 'x', colour: 'red' },
      locator: 'colour',
    },
    { what: 'a missing required input', process: 'hello-world', inputs: { message: 'hi' }, locator: 'name' },
    { what: 'a string for a double', process: 'sleep', inputs: { seconds: 'soon' }, locator: 'seconds' },
    { what: 'a value out of range', process: 'sleep', inputs: { seconds: 61 }, locator: 'seconds' },
    { what: 'an object for a literal', process: 'sleep', inputs: { seconds: { a: 1 } }, locator: 'seconds' },
    {
      what: 'a bbox with 3 numbers',
      process: 'echo',
      inputs: { stringInput: 's', bboxInput: { bbox: [1, 2, 3] } },
      locator: 'bboxInput',
    },
    {
      what: 'two values for a single input',
      process: 'hello-world',
      inputs: { name: ['a', 'b'] },
      locator: 'name',
    },
    {
      what: 'invalid base64',
      process: 'echo',
      inputs: {
        stringInput: 's',
        binaryInput: {
          value: 'not base64 at all!',
          mediaType: 'application/octet-stream',
          encoding: 'base64',
        },
      },
      locator: 'binaryInput',
    },
    {
      what: 'an unsupported media type',
      process: 'echo',
      inputs: { stringInput: 's', complexInput: { value: 'x', mediaType: 'image/png' } },
      locator: 'complexInput',
    },
    {
      what: 'an unknown output',
      process: 'echo',
      inputs: { stringInput: 's' },
      outputs: { nope: {} },
      locator: 'nope',
    },
    {
      what: 'a bad transmissionMode',
      process: 'echo',
      inputs: { stringInput: 's' },
      outputs: { stringInput: { transmissionMode: 'carrier-pigeon' } },
      locator: 'stringInput',
    },
    {
      what: 'a bad response',
      process: 'echo',
      inputs: { stringInput: 's' },
      response: 'pdf',
      locator: 'response',
    },
  ])('$what: 400 naming it', async (c, ctx) => {
    const before = await jobCount();
    const { what: _what, process, locator, ...body } = c;
    for (const headers of [{}, { Prefer: 'respond-async' }] as Array<Record<string, string>>) {
      const r = await execute(s.base, process, body, headers);
      expectException(ctx, r, 400);
      expect(r.json.locator).toBe(locator);
      expect(r.json.detail).toContain(locator);
    }
    expect(await jobCount()).toBe(before);
  });
});

describe('results errors', () => {
  const UNKNOWN = '00000000-0000-4000-8000-000000000000';

  it('an unknown job: 404 no-such-job for its status, results and dismissal', async (ctx) => {
    for (const [method, path] of [
      ['GET', `/jobs/${UNKNOWN}`],
      ['GET', `/jobs/${UNKNOWN}/results`],
      ['GET', '/jobs/invalid-job-xyz/results'],
      ['DELETE', `/jobs/${UNKNOWN}`],
    ] as const) {
      const r = await request(`${s.base}${path}`, { method });
      expectException(ctx, r, 404, `${EXC}no-such-job`);
    }
  });

  it('a running job: 404 result-not-ready, then the results once it is done', async (ctx) => {
    const created = await execute(
      s.base,
      'echo',
      { inputs: { stringInput: 'teststring', pause: 1 } },
      { Prefer: 'respond-async' },
    );
    expect(created.status).toBe(201);
    const location = created.headers.get('location')!;
    const early = await request(`${location}/results`);
    expectException(ctx, early, 404, `${EXC}result-not-ready`);
    await pollJob(s.base, created.json.jobID, (st) => st === 'successful');
    const results = await request(`${location}/results`);
    expect(results.status).toBe(200);
    expect(results.text).toBe('teststring');
  });

  it.for([
    { how: 'error', status: 500, code: 'NoApplicableCode', detail: 'boom: the processor broke' },
    { how: 'ows', status: 400, code: 'InvalidParameterValue', detail: 'the data has no features' },
  ])(
    'a job failing with $how: its exception with HTTP $status, sync and from /results',
    async ({ how, status, code, detail }, ctx) => {
      const sync = await execute(s.base, 'fail', { inputs: { how } });
      expectException(ctx, sync, status);
      expect(sync.json).toMatchObject({ code, detail });

      const created = await execute(s.base, 'fail', { inputs: { how } }, { Prefer: 'respond-async' });
      expect(created.status).toBe(201);
      const seen = await pollJob(s.base, created.json.jobID, (st) => st === 'failed');
      const failed = seen.at(-1);
      expectOfficial(ctx, failed, 'statusInfo');
      expect(failed.message).toBe(detail);
      expect(failed.links.map((l: { rel: string }) => l.rel)).not.toContain(
        'http://www.opengis.net/def/rel/ogc/1.0/results',
      );
      const results = await request(`${created.headers.get('location')}/results`);
      expectException(ctx, results, status);
      expect(results.json).toMatchObject({ code, detail });
    },
  );

  it('other methods on the job resources: 405 with Allow', async (ctx) => {
    for (const [method, path, allowed] of [
      ['PUT', `/jobs/${UNKNOWN}`, ['GET', 'DELETE']],
      ['POST', `/jobs/${UNKNOWN}`, ['GET', 'DELETE']],
      ['POST', `/jobs/${UNKNOWN}/results`, ['GET']],
      ['DELETE', `/jobs/${UNKNOWN}/results`, ['GET']],
      ['PATCH', '/jobs', ['GET']],
      ['GET', '/processes/echo/execution', ['POST']],
    ] as const) {
      const r = await request(`${s.base}${path}`, { method });
      expectException(ctx, r, 405);
      const allow = (r.headers.get('allow') ?? '').split(/\s*,\s*/);
      for (const m of allowed) expect(allow, `${method} ${path}: Allow ${allow.join(',')}`).toContain(m);
      expect(allow).not.toContain(method);
    }
  });
});

describe('a full queue', () => {
  it('answers 503 with Retry-After and exception JSON; capacity comes back when the job ends', async (ctx) => {
    const busy = await startWpsServer({ manager: { parallel_processes: 1, max_queued_jobs: 0 } });
    try {
      const first = await execute(
        busy.base,
        'sleep',
        { inputs: { seconds: 1 } },
        { Prefer: 'respond-async' },
      );
      expect(first.status).toBe(201);
      for (const prefer of [{ Prefer: 'respond-async' }, {}] as Array<Record<string, string>>) {
        const r = await execute(busy.base, 'hello-world', { inputs: { name: 'x' } }, prefer);
        expectException(ctx, r, 503);
        expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
        expect(r.json.code).toBe('ServerBusy');
      }
      const listed = await request(`${busy.base}/jobs`);
      expect(listed.json.jobs.map((j: { jobID: string }) => j.jobID)).toEqual([first.json.jobID]);
      await pollJob(busy.base, first.json.jobID, (st) => st === 'successful');
      const after = await execute(busy.base, 'hello-world', { inputs: { name: 'x' } });
      expect(after.status).toBe(200);
    } finally {
      await busy.close();
    }
  });
});

describe('hostile JSON bodies', () => {
  let big: WpsServer;
  beforeAll(async () => {
    big = await startWpsServer({ extraServer: ['  max_request_size: 4mb'] });
  });
  afterAll(() => big.close());

  it('a body nested deeper than the limit, or with too many members, is a fast 400 naming the body', async () => {
    const deep = `{"inputs":{"name":${'['.repeat(100_000)}${']'.repeat(100_000)}}}`;
    const many = `{"inputs":{"name":"x"},"extra":[${Array.from({ length: 600_000 }, () => '0').join(',')}]}`;
    for (const body of [deep, many]) {
      const t0 = Date.now();
      const r = await execute(big.base, 'hello-world', body);
      expect(r.status, r.text.slice(0, 300)).toBe(400);
      expect(r.json).toMatchObject({ locator: 'body', detail: expect.stringMatching(/exceeds a limit/) });
      expect(Date.now() - t0).toBeLessThan(2000);
    }
  });
});

describe('the character encoding of a JSON body', () => {
  const send = (body: Uint8Array, headers: Record<string, string>) =>
    fetch(`${s.base}/processes/hello-world/execution`, { method: 'POST', headers, body });

  it('is UTF-8: invalid bytes are a 400, another charset or a content coding a 415', async () => {
    const invalid = Buffer.concat([
      Buffer.from('{"inputs":{"name":"'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}}'),
    ]);
    const bad = await send(invalid, { 'Content-Type': 'application/json' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({
      locator: 'body',
      detail: expect.stringMatching(/not valid utf-8/i),
    });
    const latin1 = await send(Buffer.from('{"inputs":{"name":"Jörg"}}', 'latin1'), {
      'Content-Type': 'application/json; charset=iso-8859-1',
    });
    expect(latin1.status).toBe(415);
    const gzip = await send(Buffer.from('{"inputs":{"name":"x"}}'), {
      'Content-Type': 'application/json',
      'Content-Encoding': 'gzip',
    });
    expect(gzip.status).toBe(415);
    const ok = await send(Buffer.from('\uFEFF{"inputs":{"name":"Jörg"}}'), {
      'Content-Type': 'application/json; charset=UTF-8',
    });
    expect([ok.status, await ok.text()]).toEqual([200, 'Hello Jörg!']);
  });
});

describe('references refused at submission', () => {
  it('a reference no policy could allow is a 400 before any job exists, even asynchronously', async () => {
    const count = async () =>
      ((await (await fetch(`${s.base}/jobs?limit=1000`)).json()) as { jobs: unknown[] }).jobs.length;
    const before = await count();
    for (const href of [
      'javascript:alert(1)',
      'ftp://example.org/x.json',
      'file:///etc/passwd',
      'http://127.0.0.1/x',
      'not a url',
    ]) {
      const r = await execute(
        s.base,
        'echo',
        { inputs: { stringInput: 'x', complexInput: { href, type: 'application/json' } } },
        { Prefer: 'respond-async' },
      );
      expect(r.status, `${href}: ${r.text}`).toBe(400);
      expect(r.json).toMatchObject({ locator: 'complexInput' });
    }
    expect(await count()).toBe(before);
  });
});
