import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { doc, execute, literalInput, one, post, startWpsServer, type WpsServer } from '../helpers/wps.ts';

let s: WpsServer;
beforeAll(async () => {
  s = await startWpsServer();
});
afterAll(async () => {
  await s.close();
});

const XHTML =
  '<html xmlns="http://www.w3.org/1999/xhtml"><body><script>alert(document.cookie)</script></body></html>';

/** Runs echo with `content` as complexInput and returns the by-reference URL of complexOutput. */
async function stored(content: string, mimeType: string): Promise<string> {
  const r = await post(
    s.wps,
    execute(
      'echo',
      literalInput('stringInput', 's') +
        `<wps:Input><ows:Identifier>complexInput</ows:Identifier><wps:Data><wps:ComplexData mimeType="${mimeType}"><![CDATA[${content}]]></wps:ComplexData></wps:Data></wps:Input>`,
      '<wps:ResponseForm><wps:ResponseDocument><wps:Output asReference="true"><ows:Identifier>complexOutput</ows:Identifier></wps:Output></wps:ResponseDocument></wps:ResponseForm>',
    ),
  );
  expect(r.status, r.body).toBe(200);
  return one(doc(r.body), 'Reference').attrs.get('href')!;
}

describe('stored outputs served from this origin', () => {
  it('client XML with script is never sniffed, sandboxed by CSP and downloaded, not shown', async () => {
    const href = await stored(XHTML, 'text/xml');
    const res = await fetch(href);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'.*sandbox/);
    expect(res.headers.get('content-disposition')).toMatch(/^attachment;/);
    expect(await res.text()).toContain('<script>');
  });

  it('plain text stays inline, with the same protections', async () => {
    const href = await stored('just text', 'text/plain');
    const res = await fetch(href);
    expect(res.headers.get('content-disposition')).toMatch(/^inline;/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toMatch(/sandbox/);
  });

  it('RawDataOutput of active content is an attachment with nosniff and CSP', async () => {
    const url = `${s.wps}?service=WPS&version=1.0.0&request=Execute&identifier=echo&DataInputs=stringInput=s;complexInput=${encodeURIComponent(XHTML.replace(/;/g, ''))}@mimeType=text/xml&RawDataOutput=complexOutput`;
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toMatch(/^attachment;/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toMatch(/sandbox/);
  });

  it('a stored output whose file has gone is a 404, not a 500', async () => {
    const href = await stored('{"a":1}', 'application/json');
    const [jobId, file] = new URL(href).pathname.split('/').slice(-2) as [string, string];
    rmSync(path.join(s.dir, 'outputs', jobId, file));
    const res = await fetch(href);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ status: 404 });
  });
});
