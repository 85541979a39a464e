/**
 * Metadata documents are rendered once per registry generation and variant and served with an
 * ETag: a client that has the document gets 304; a process added or withdrawn at run time changes
 * every document (and its tag) at once. Real HTTP against a real server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  all,
  doc,
  expectException,
  expectValid,
  one,
  startWpsServer,
  text,
  type WpsServer,
} from '../helpers/wps.ts';

let s: WpsServer;
beforeAll(async () => {
  s = await startWpsServer();
});
afterAll(() => s.close());

const caps = () => `${s.wps}?service=WPS&request=GetCapabilities`;
const describeUrl = (id: string) =>
  `${s.wps}?service=WPS&version=1.0.0&request=DescribeProcess&identifier=${id}`;

async function fetchTagged(url: string, headers: Record<string, string> = {}) {
  // fetch adds `Cache-Control: no-cache` to a conditional request unless told otherwise (a
  // revalidating browser sends max-age=0); no-cache asks for the document whatever the tag.
  const conditional = 'If-None-Match' in headers ? { 'Cache-Control': 'max-age=0' } : {};
  const r = await fetch(url, { headers: { ...conditional, ...headers } });
  return {
    status: r.status,
    etag: r.headers.get('etag'),
    contentType: r.headers.get('content-type'),
    headers: r.headers,
    body: await r.text(),
  };
}

const OAPROC_DOCUMENTS = [
  '/',
  '/conformance',
  '/processes',
  '/processes?limit=2&offset=1',
  '/processes/hello-world',
  '/api',
];

describe('ETag and 304 on the metadata documents', () => {
  it('GetCapabilities and DescribeProcess: the same tag each time, 304 for it, 200 for another', async () => {
    for (const url of [caps(), describeUrl('hello-world'), describeUrl('ALL')]) {
      const first = await fetchTagged(url);
      expect(first.status).toBe(200);
      expect(first.etag).toMatch(/^"[\w-]+"$/);
      const again = await fetchTagged(url);
      expect([again.etag, again.body]).toEqual([first.etag, first.body]);
      const cached = await fetchTagged(url, { 'If-None-Match': first.etag! });
      expect([cached.status, cached.body, cached.etag]).toEqual([304, '', first.etag]);
      const stale = await fetchTagged(url, { 'If-None-Match': '"not-this-one"' });
      expect([stale.status, stale.body]).toEqual([200, first.body]);
    }
    expectValid((await fetchTagged(caps())).body, 'capabilities');
    expectValid((await fetchTagged(describeUrl('hello-world'))).body, 'describe');
  });

  it('each language is its own document with its own tag', async () => {
    const en = await fetchTagged(`${caps()}&language=en-US`);
    const fr = await fetchTagged(`${caps()}&language=fr-CA`);
    expect(en.etag).not.toBe(fr.etag);
    expect(doc(fr.body).attrs.get('{http://www.w3.org/XML/1998/namespace}lang')).toBe('fr-CA');
    expect((await fetchTagged(`${caps()}&language=fr-CA`, { 'If-None-Match': en.etag! })).status).toBe(200);
    expect((await fetchTagged(`${caps()}&language=fr-CA`, { 'If-None-Match': fr.etag! })).status).toBe(304);
  });

  it('the OGC API documents (landing, conformance, process list pages, description, OpenAPI)', async () => {
    for (const p of OAPROC_DOCUMENTS) {
      const first = await fetchTagged(`${s.base}${p}`);
      expect(first.status, p).toBe(200);
      expect(first.etag, p).toMatch(/^"[\w-]+"$/);
      JSON.parse(first.body);
      const cached = await fetchTagged(`${s.base}${p}`, { 'If-None-Match': first.etag! });
      expect([cached.status, cached.body], p).toEqual([304, '']);
    }
    // Each page of the list is its own document.
    const [page1, page2] = await Promise.all([
      fetchTagged(`${s.base}/processes?limit=2`),
      fetchTagged(`${s.base}/processes?limit=2&offset=2`),
    ]);
    expect(page1.etag).not.toBe(page2.etag);
    expect(
      (JSON.parse(page2.body) as { processes: Array<{ id: string }> }).processes.map((p) => p.id),
    ).toEqual(['sleep', 'fail']);
  });

  it('an unknown identifier is an exception each time (an error is never cached)', async () => {
    for (let i = 0; i < 2; i++) {
      const r = await fetchTagged(describeUrl('nope'));
      expect(r.etag).toBeNull();
      expectException(r, 400, 'InvalidParameterValue', 'Identifier');
    }
  });
});

describe('a process added or withdrawn at run time', () => {
  it('is in every document at once, under new tags; withdrawn, it is gone again', async () => {
    const urls = [caps(), describeUrl('ALL'), `${s.base}/processes?limit=100`, `${s.base}/api`];
    const before = await Promise.all(urls.map((u) => fetchTagged(u)));
    const generation = s.gateway.registry.generation;
    const hello = s.gateway.registry.get('hello-world');
    s.gateway.registry.add({
      description: { ...hello.description, id: 'hello-again', title: 'Hello again' },
      location: hello.location,
    });
    expect(s.gateway.registry.generation).toBeGreaterThan(generation);
    const after = await Promise.all(urls.map((u) => fetchTagged(u)));
    for (const [i, r] of after.entries()) {
      expect(r.etag, urls[i]).not.toBe(before[i]!.etag);
      expect(r.body, urls[i]).toContain('hello-again');
      // The tag the client had no longer matches: it gets the new document.
      expect((await fetchTagged(urls[i]!, { 'If-None-Match': before[i]!.etag! })).status, urls[i]).toBe(200);
    }
    const ids = all(doc(after[0]!.body), 'Process').map((p) => text(one(p, 'Identifier')));
    expect(ids).toContain('hello-again');
    expectValid(after[0]!.body, 'capabilities');
    expect((await fetchTagged(describeUrl('hello-again'))).status).toBe(200);
    expect((await fetchTagged(`${s.base}/processes/hello-again`)).status).toBe(200);

    expect(s.gateway.registry.remove('hello-again')).toBe(true);
    const removed = await Promise.all(urls.map((u) => fetchTagged(u)));
    for (const [i, r] of removed.entries()) {
      expect(r.body, urls[i]).not.toContain('hello-again');
      expect(r.body, urls[i]).toBe(before[i]!.body);
    }
    expect((await fetchTagged(describeUrl('hello-again'))).status).toBe(400);
    expect((await fetchTagged(`${s.base}/processes/hello-again`)).status).toBe(404);
  });
});
