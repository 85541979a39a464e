import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFORMANCE_CLASSES } from '../../src/oaproc/conformance.ts';
import { startWpsServer, type WpsServer } from '../helpers/wps.ts';
import { expectOfficial } from '../helpers/oaproc-schemas.ts';

const OGC_REL = 'http://www.opengis.net/def/rel/ogc/1.0/';
const EXC = 'http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/';

interface JsonReply {
  status: number;
  contentType: string | null;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response JSON; tests check its shape and validate it against the official schemas
  body: any;
}

async function getJson(url: string, init: RequestInit = {}): Promise<JsonReply> {
  const res = await fetch(url, init);
  const text = await res.text();
  return {
    status: res.status,
    contentType: res.headers.get('content-type'),
    headers: res.headers,
    body: text === '' ? undefined : JSON.parse(text),
  };
}

let s: WpsServer;
beforeAll(async () => {
  s = await startWpsServer();
}, 30_000);
afterAll(() => s.close());

const link = (body: { links: Array<{ rel: string; href: string }> }, rel: string) =>
  body.links.find((l) => l.rel === rel);

describe('landing page', () => {
  it('links self, conformance, processes and the job list with absolute URLs', async (ctx) => {
    const r = await getJson(`${s.base}/`);
    expect(r.status).toBe(200);
    expect(r.contentType).toMatch(/^application\/json/);
    expect(link(r.body, 'self')?.href).toBe(`${s.base}/`);
    expect(link(r.body, `${OGC_REL}conformance`)?.href).toBe(`${s.base}/conformance`);
    expect(link(r.body, `${OGC_REL}processes`)?.href).toBe(`${s.base}/processes`);
    expect(link(r.body, `${OGC_REL}job-list`)?.href).toBe(`${s.base}/jobs`);
    expectOfficial(ctx, r.body, 'landingPage');
  });

  it('every link resolves to a 200 document of the type the link says', async () => {
    const r = await getJson(`${s.base}/`);
    const links = r.body.links as Array<{ rel: string; href: string; type: string }>;
    expect(links.map((l) => l.rel)).toEqual([
      'self',
      'service-desc',
      'service-doc',
      `${OGC_REL}conformance`,
      `${OGC_REL}processes`,
      `${OGC_REL}job-list`,
      'alternate',
    ]);
    for (const l of links) {
      const target = await fetch(l.href, { headers: { Accept: l.type } });
      expect(target.status, l.href).toBe(200);
      expect(target.headers.get('content-type')?.startsWith(l.type), l.href).toBe(true);
      await target.text();
    }
  });
});

describe('conformance', () => {
  it('declares the classes of this issue', async (ctx) => {
    const r = await getJson(`${s.base}/conformance`);
    expect(r.status).toBe(200);
    expect(r.body.conformsTo).toEqual(CONFORMANCE_CLASSES);
    expect(r.body.conformsTo).toContain('http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/core');
    expectOfficial(ctx, r.body, 'confClasses');
  });
});

describe('process list', () => {
  it('lists 10 by default with summaries that validate', async (ctx) => {
    const r = await getJson(`${s.base}/processes`);
    expect(r.status).toBe(200);
    const ids = r.body.processes.map((p: { id: string }) => p.id);
    expect(ids).toEqual(
      s.gateway.registry
        .list()
        .map((e) => e.description.id)
        .slice(0, 10),
    );
    for (const p of r.body.processes) {
      for (const key of [
        'id',
        'version',
        'title',
        'description',
        'jobControlOptions',
        'outputTransmission',
        'links',
      ])
        expect(p, `${p.id}.${key}`).toHaveProperty(key);
      expect(link(p, 'self')?.href).toBe(`${s.base}/processes/${p.id}`);
      expect(link(p, `${OGC_REL}execute`)?.href).toBe(`${s.base}/processes/${p.id}/execution`);
    }
    expectOfficial(ctx, r.body, 'processList');
  });

  it('pages with limit and next/prev links until every process is seen once', async (ctx) => {
    const all = s.gateway.registry.list().map((e) => e.description.id);
    expect(all.length).toBeGreaterThan(2);
    const seen: string[] = [];
    let url: string | undefined = `${s.base}/processes?limit=2`;
    let pages = 0;
    let previous: string | undefined;
    while (url) {
      const r = await getJson(url);
      expect(r.status).toBe(200);
      expectOfficial(ctx, r.body, 'processList');
      expect(r.body.processes.length).toBeLessThanOrEqual(2);
      expect(link(r.body, 'self')?.href).toBe(url.includes('offset') ? url : `${url}&offset=0`);
      if (previous) expect(link(r.body, 'prev')?.href).toBe(previous);
      else expect(link(r.body, 'prev')).toBeUndefined();
      seen.push(...r.body.processes.map((p: { id: string }) => p.id));
      previous = link(r.body, 'self')?.href;
      url = link(r.body, 'next')?.href;
      pages++;
      expect(pages).toBeLessThan(50);
    }
    expect(seen).toEqual(all);
    expect(pages).toBe(Math.ceil(all.length / 2));
  });

  it('gives exactly one process for limit=1', async () => {
    const r = await getJson(`${s.base}/processes?limit=1`);
    expect(r.body.processes).toHaveLength(1);
    expect(link(r.body, 'next')?.href).toBe(`${s.base}/processes?limit=1&offset=1`);
  });

  it.each(['0', 'abc', '10001', '-1', '1.5', ''])('rejects limit=%s with 400', async (limit) => {
    const r = await getJson(`${s.base}/processes?limit=${limit}`);
    expect(r.status).toBe(400);
    expect(r.contentType).toMatch(/^application\/json/);
    expect(r.body.detail).toMatch(/limit/);
  });

  it('accepts limit=10000', async () => {
    const r = await getJson(`${s.base}/processes?limit=10000`);
    expect(r.status).toBe(200);
    expect(r.body.processes).toHaveLength(s.gateway.registry.list().length);
    expect(link(r.body, 'next')).toBeUndefined();
  });

  it('rejects a bad offset with 400', async () => {
    expect((await getJson(`${s.base}/processes?offset=x`)).status).toBe(400);
  });
});

describe('process description', () => {
  it('describes echo from the same model as WPS', async (ctx) => {
    const r = await getJson(`${s.base}/processes/echo`);
    expect(r.status).toBe(200);
    expect(r.body.id).toBe('echo');
    expect(Object.keys(r.body.inputs)).toEqual(
      s.gateway.registry.get('echo').description.inputs.map((i) => i.id),
    );
    expect(r.body.inputs.arrayInput).toMatchObject({
      minOccurs: 0,
      maxOccurs: 'unbounded',
      schema: { type: 'string' },
    });
    expect(r.body.inputs.pause.schema).toEqual({ type: 'number', format: 'double', minimum: 0, maximum: 60 });
    expect(r.body.inputs.bboxInput.schema.allOf[0]).toEqual({ format: 'ogc-bbox' });
    expect(r.body.inputs.complexInput.schema.oneOf[0]).toEqual({
      type: 'object',
      contentMediaType: 'application/json',
    });
    expect(link(r.body, `${OGC_REL}execute`)?.href).toBe(`${s.base}/processes/echo/execution`);
    expectOfficial(ctx, r.body, 'process');
  });

  it('answers an unknown process with 404 no-such-process', async (ctx) => {
    const r = await getJson(`${s.base}/processes/invalid-process-123`, {
      headers: { Accept: 'application/json' },
    });
    expect(r.status).toBe(404);
    expect(r.contentType).toMatch(/^application\/json/);
    expect(r.body).toMatchObject({ type: `${EXC}no-such-process`, status: 404 });
    expect(r.body.detail).toContain('invalid-process-123');
    expectOfficial(ctx, r.body, 'exception');
  });
});

describe('HTTP errors are exception JSON', () => {
  it('405 with Allow for another method', async (ctx) => {
    for (const [method, path] of [
      ['POST', '/processes'],
      ['DELETE', '/'],
      ['PUT', '/conformance'],
      ['POST', '/processes/echo'],
    ] as const) {
      const r = await getJson(`${s.base}${path}`, { method });
      expect(r.status, `${method} ${path}`).toBe(405);
      expect(r.headers.get('allow')).toMatch(/GET/);
      expect(r.contentType).toMatch(/^application\/json/);
      expect(r.body).toMatchObject({ status: 405, type: 'about:blank' });
      expectOfficial(ctx, r.body, 'exception');
    }
  });

  it('406 when the Accept header excludes JSON and HTML', async (ctx) => {
    for (const accept of ['image/png', 'application/xml']) {
      const r = await getJson(`${s.base}/processes`, { headers: { Accept: accept } });
      expect(r.status, accept).toBe(406);
      expect(r.contentType).toMatch(/^application\/json/);
      expectOfficial(ctx, r.body, 'exception');
    }
  });

  it('JSON for no Accept, */*, application/json and f=json', async () => {
    for (const headers of [{}, { Accept: '*/*' }, { Accept: 'text/html;q=0.9, application/json' }]) {
      expect((await getJson(`${s.base}/conformance`, { headers })).status).toBe(200);
    }
    expect((await getJson(`${s.base}/conformance?f=json`, { headers: { Accept: 'text/html' } })).status).toBe(
      200,
    );
  });

  it('400 for an unknown f', async () => {
    const r = await getJson(`${s.base}/conformance?f=xml`);
    expect(r.status).toBe(400);
    expect(r.body.detail).toMatch(/f=xml/);
  });

  it('404 JSON for an unknown path; /wps and /health keep their own answers', async () => {
    const r = await getJson(`${s.base}/no/such/thing`);
    expect(r.status).toBe(404);
    expect(r.body).toMatchObject({ status: 404 });
    const wps = await fetch(`${s.wps}?service=WPS&request=GetCapabilities`);
    expect(wps.status).toBe(200);
    expect(wps.headers.get('content-type')).toBe('text/xml');
    await wps.text();
    const health = await fetch(`${s.base}/health`, { method: 'POST' });
    expect(health.status).toBe(405);
    await health.text();
  });
});
