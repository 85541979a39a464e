/**
 * The metadata fast path (src/http/document-fast-path.ts) answers Capabilities, DescribeProcess and
 * the OGC API landing page, conformance, process list and descriptions before routing. Its answers
 * must be the routes' own: the same URL spelled otherwise (`/WPS`, `/Processes`, a trailing slash)
 * is not recognised by the fast path but matched by the (case-insensitive, slash-tolerant) routers,
 * so the two answers of each pair come from the two paths and are compared header by header. Real
 * HTTP against real servers.
 */
import Koa from 'koa';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentFastPath, type DocumentLookup } from '../../src/http/document-fast-path.ts';
import { entityTag } from '../../src/util/document-cache.ts';
import { doc, expectException as expectReport, startWpsServer, type WpsServer } from '../helpers/wps.ts';

const PAGE = 'http://app.example:8080';

interface Answer {
  status: number;
  headers: Record<string, string>;
  contentType: string | null;
  body: string;
}

async function get(url: string, init: RequestInit = {}): Promise<Answer> {
  const r = await fetch(url, init);
  const headers: Record<string, string> = {};
  // The date is the clock's; the rest must be the same.
  for (const [k, v] of r.headers) if (k !== 'date' && k !== 'keep-alive') headers[k] = v;
  return { status: r.status, headers, contentType: r.headers.get('content-type'), body: await r.text() };
}

const expectException = (a: Answer, status: number, code: string, locator: string) =>
  expectReport({ ...a, headers: new Headers(a.headers) }, status, code, locator);

/** Header sets a client sends: none, a page's Origin, the media types asked for. */
const VARIANTS: Array<[string, Record<string, string>]> = [
  ['plain', {}],
  ['origin', { Origin: PAGE }],
  ['other origin', { Origin: 'https://evil.example' }],
  ['accept json', { Accept: 'application/json' }],
  ['accept html', { Accept: 'text/html' }],
  ['accept html over json', { Accept: 'text/html;q=0.5, application/json' }],
  ['accept nothing offered', { Accept: 'text/plain' }],
];

/** Metadata requests (path and query), answered by the fast path or, in error, left to the routes. */
const REQUESTS = [
  '/wps?service=WPS&request=GetCapabilities',
  '/wps?service=WPS&request=GetCapabilities&language=fr-CA',
  '/wps?service=WPS&request=GetCapabilities&language=xx-XX',
  '/wps?service=WPS&request=GetCapabilities&AcceptVersions=2.0.0',
  '/wps?service=WPS&version=1.0.0&request=DescribeProcess&identifier=hello-world',
  '/wps?service=WPS&version=1.0.0&request=DescribeProcess&identifier=ALL',
  '/wps?service=WPS&version=1.0.0&request=DescribeProcess&identifier=nope',
  '/wps?service=WPS&version=9.9.9&request=DescribeProcess&identifier=hello-world',
  '/wps?request=GetCapabilities',
  '/conformance',
  '/conformance?f=json',
  '/processes',
  '/processes?limit=2&offset=1',
  '/processes?limit=0',
  '/processes?f=html',
  '/processes?f=xml',
  '/processes/hello-world',
  '/processes/hello-world?f=html',
  '/processes/nope',
];

/**
 * The first segment of the path in capitals (`/WPS`, `/PROCESSES`): the routers match it, the fast
 * path does not. The answers are compared with that segment spelled back (pages name the path).
 */
const capitalised = (request: string): [url: string, back: (a: Answer) => Answer] => {
  const segment = /^\/[a-z]+/.exec(request)![0];
  const other = segment.toUpperCase();
  return [other + request.slice(segment.length), (a) => ({ ...a, body: a.body.replaceAll(other, segment) })];
};

describe('fast path and routes give the same answers', () => {
  let s: WpsServer;
  beforeAll(async () => {
    s = await startWpsServer({
      extraServer: [`  cors: {allowed_origins: ['${PAGE}'], max_age_seconds: 30}`],
    });
  });
  afterAll(() => s.close());

  it('for every metadata request, header set and method (GET, HEAD)', async () => {
    let compared = 0;
    for (const request of REQUESTS) {
      const [routed, back] = capitalised(request);
      for (const [variant, headers] of VARIANTS) {
        for (const method of ['GET', 'HEAD']) {
          const a = await get(`${s.base}${request}`, { method, headers });
          const b = back(await get(`${s.base}${routed}`, { method, headers }));
          expect(a, `${method} ${request} (${variant})`).toEqual(b);
          compared++;
        }
      }
    }
    expect(compared).toBe(REQUESTS.length * VARIANTS.length * 2);
  });

  it('a revalidation gets the same 304 either way; a stale tag the same 200', async () => {
    for (const request of REQUESTS) {
      const [routed, back] = capitalised(request);
      const first = await get(`${s.base}${request}`);
      const etag = first.headers.etag;
      if (first.status !== 200 || etag === undefined) continue;
      // A revalidating browser sends max-age=0 (fetch would add no-cache to a conditional request).
      const revalidations: Array<[number, Record<string, string>]> = [
        [304, { 'If-None-Match': etag, 'Cache-Control': 'max-age=0' }],
        [304, { 'If-None-Match': `"other", ${etag}`, 'Cache-Control': 'max-age=0', Origin: PAGE }],
        [200, { 'If-None-Match': etag, 'Cache-Control': 'no-cache' }],
        [200, { 'If-None-Match': '"stale"', 'Cache-Control': 'max-age=0' }],
      ];
      for (const [status, headers] of revalidations) {
        const a = await get(`${s.base}${request}`, { headers });
        const b = back(await get(`${s.base}${routed}`, { headers }));
        expect(a, `${request} ${JSON.stringify(headers)}`).toEqual(b);
        expect(a.status).toBe(status);
      }
    }
  });

  it('the documents answered are the cached ones, with their tags and headers', async () => {
    const caps = await get(`${s.wps}?service=WPS&request=GetCapabilities`, { headers: { Origin: PAGE } });
    expect(caps.status).toBe(200);
    expect(caps.headers['content-type']).toBe('text/xml');
    expect(caps.headers.etag).toBe(entityTag(caps.body));
    expect(caps.headers['access-control-allow-origin']).toBe(PAGE);
    expect(caps.headers.vary).toBe('Origin');
    expect(doc(caps.body).name).toMatch(/Capabilities$/);
    const list = await get(`${s.base}/processes`, { headers: { Accept: 'application/json' } });
    expect(list.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(list.headers.vary).toBe('Origin, Accept');
    expect(list.headers.etag).toBe(entityTag(list.body));
    // `f` chooses: the answer does not vary by Accept.
    expect((await get(`${s.base}/processes?f=json`)).headers.vary).toBe('Origin');
  });
});

describe('answers remembered per request follow the registry', () => {
  let s: WpsServer;
  beforeAll(async () => {
    s = await startWpsServer();
  });
  afterAll(() => s.close());

  it('a process asked for before it is added, while published, after it is withdrawn', async () => {
    const describe = `${s.wps}?service=WPS&version=1.0.0&request=DescribeProcess&identifier=hello-later`;
    const json = `${s.base}/processes/hello-later`;
    const hello = s.gateway.registry.get('hello-world');
    const publish = (title: string) =>
      s.gateway.registry.add({
        description: { ...hello.description, id: 'hello-later', title },
        location: hello.location,
      });
    // Each asked twice, so that a remembered answer would be used.
    const twice = async (check: () => Promise<void>) => {
      await check();
      await check();
    };
    await twice(async () => {
      expectException(await get(describe), 400, 'InvalidParameterValue', 'Identifier');
      expect((await get(json)).status).toBe(404);
    });
    // First asked while published (so that the document would be remembered), then withdrawn; and
    // published again under another title.
    for (const [round, title] of ['Hello later', 'Hello again, retitled'].entries()) {
      publish(title);
      const [d, j] = [`${describe}&round=${round}`, `${json}?round=${round}`];
      await twice(async () => {
        const described = await get(d);
        expect(described.status).toBe(200);
        expect(described.body).toContain(title);
        const description = await get(j);
        expect(description.status).toBe(200);
        expect(JSON.parse(description.body)).toMatchObject({ id: 'hello-later', title });
      });
      s.gateway.registry.remove('hello-later');
      await twice(async () => {
        expectException(await get(d), 400, 'InvalidParameterValue', 'Identifier');
        expect((await get(j)).status).toBe(404);
      });
    }
  });
});

describe('WPS at the root (wps_path: /)', () => {
  let s: WpsServer;
  beforeAll(async () => {
    s = await startWpsServer({ extraServer: ['  wps_path: /'] });
  });
  afterAll(() => s.close());

  it('the root is the WPS endpoint: KVP answered, the OGC API landing page not served there', async () => {
    const caps = await get(`${s.base}/?service=WPS&request=GetCapabilities`);
    expect(caps.status).toBe(200);
    expect(doc(caps.body).name).toMatch(/Capabilities$/);
    // The WPS route takes `/`: a bare GET is a KVP request without parameters.
    expectException(
      await get(`${s.base}/`, { headers: { Accept: 'application/json' } }),
      400,
      'MissingParameterValue',
      'service',
    );
    // The other OGC API documents are still answered.
    expect((await get(`${s.base}/processes`)).status).toBe(200);
  });
});

describe('documentFastPath', () => {
  let server: Server;
  let base: string;
  const asked: string[] = [];
  const document = (body: string) => ({ body, etag: entityTag(body) });
  const lookup =
    (name: string, answers: Record<string, 'routes' | string>): DocumentLookup =>
    (ctx) => {
      asked.push(name);
      const a = answers[ctx.path];
      if (a === undefined || a === 'routes') return a;
      return { document: document(a), contentType: 'text/plain', byAccept: name === 'b' };
    };

  beforeAll(async () => {
    const app = new Koa();
    app.use(
      documentFastPath([
        lookup('a', { '/mine': 'from a', '/routed': 'routes' }),
        lookup('b', { '/mine': 'from b', '/routed': 'from b', '/b': 'from b' }),
      ]),
    );
    app.use((ctx) => {
      ctx.body = `routes: ${ctx.method} ${ctx.path}`;
    });
    server = createServer(app.callback()).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it('the first lookup that knows the path decides: its document, or the routes', async () => {
    asked.length = 0;
    const mine = await get(`${base}/mine`);
    expect([mine.status, mine.body, mine.headers['content-type']]).toEqual([200, 'from a', 'text/plain']);
    expect(mine.headers.etag).toBe(entityTag('from a'));
    expect(asked).toEqual(['a']);
    asked.length = 0;
    expect((await get(`${base}/routed`)).body).toBe('routes: GET /routed');
    expect(asked).toEqual(['a']);
    asked.length = 0;
    const b = await get(`${base}/b`);
    expect([b.body, b.headers.vary]).toEqual(['from b', 'Accept']);
    expect(asked).toEqual(['a', 'b']);
    expect((await get(`${base}/nobody`)).body).toBe('routes: GET /nobody');
  });

  it('GET and HEAD only; HEAD without a body; a matching tag is a 304', async () => {
    expect((await get(`${base}/mine`, { method: 'POST' })).body).toBe('routes: POST /mine');
    expect((await get(`${base}/mine`, { method: 'DELETE' })).body).toBe('routes: DELETE /mine');
    const head = await get(`${base}/mine`, { method: 'HEAD' });
    expect([head.status, head.body, head.headers['content-length']]).toEqual([200, '', '6']);
    const cached = await get(`${base}/mine`, {
      headers: { 'If-None-Match': entityTag('from a'), 'Cache-Control': 'max-age=0' },
    });
    expect([cached.status, cached.body, cached.headers.etag]).toEqual([304, '', entityTag('from a')]);
  });
});
