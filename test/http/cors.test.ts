/**
 * CORS over plain HTTP against real servers: preflights and actual requests of both protocols, with
 * the default configuration (any origin), a list of origins, and CORS turned off. What a browser does
 * with these answers is tested in test/browser/cors.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXPOSE_HEADERS } from '../../src/http/cors.ts';
import { execute as executeJson, pollJob, request } from '../helpers/oaproc-http.ts';
import { execute, startWpsServer, type WpsServer } from '../helpers/wps.ts';

const PAGE = 'http://app.example:8080';
const OTHER = 'https://evil.example';

const list = (header: string | null) => (header ?? '').split(',').map((s) => s.trim().toLowerCase());

function preflight(url: string, origin: string, method = 'POST', headers = 'content-type, prefer') {
  return request(url, {
    method: 'OPTIONS',
    headers: {
      Origin: origin,
      'Access-Control-Request-Method': method,
      'Access-Control-Request-Headers': headers,
    },
  });
}

const helloJson = JSON.stringify({ inputs: { name: 'CORS' } });
const helloXml = execute(
  'hello-world',
  '<wps:Input><ows:Identifier>name</ows:Identifier><wps:Data><wps:LiteralData>CORS</wps:LiteralData></wps:Data></wps:Input>',
);

describe('CORS, default configuration: any origin', () => {
  let s: WpsServer;
  beforeAll(async () => {
    s = await startWpsServer();
  });
  afterAll(() => s.close());

  it('preflight of a JSON execute with Prefer: 204, *, methods, headers, max age, Vary: Origin', async () => {
    const r = await preflight(`${s.base}/processes/hello-world/execution`, PAGE);
    expect(r.status).toBe(204);
    expect(r.text).toBe('');
    expect(r.headers.get('access-control-allow-origin')).toBe('*');
    expect(list(r.headers.get('access-control-allow-methods'))).toEqual(
      expect.arrayContaining(['get', 'post', 'delete']),
    );
    expect(list(r.headers.get('access-control-allow-headers'))).toEqual(
      expect.arrayContaining(['content-type', 'prefer', 'accept', 'accept-language']),
    );
    expect(r.headers.get('access-control-max-age')).toBe('600');
    expect(list(r.headers.get('vary'))).toContain('origin');
    expect(r.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('preflight of a WPS XML POST and of a dismiss (DELETE)', async () => {
    const wps = await preflight(s.wps, PAGE, 'POST', 'content-type');
    expect(wps.status).toBe(204);
    expect(wps.headers.get('access-control-allow-origin')).toBe('*');
    const dismiss = await preflight(`${s.base}/jobs/some-job`, PAGE, 'DELETE', '');
    expect(dismiss.status).toBe(204);
    expect(list(dismiss.headers.get('access-control-allow-methods'))).toContain('delete');
  });

  it('an async execute exposes Location and Preference-Applied to the page', async () => {
    const r = await request(`${s.base}/processes/hello-world/execution`, {
      method: 'POST',
      headers: { Origin: PAGE, 'Content-Type': 'application/json', Prefer: 'respond-async' },
      body: helloJson,
    });
    expect(r.status, r.text).toBe(201);
    expect(r.headers.get('location')).toBe(`${s.base}/jobs/${r.json.jobID}`);
    expect(r.headers.get('preference-applied')).toBe('respond-async');
    expect(r.headers.get('access-control-allow-origin')).toBe('*');
    const exposed = list(r.headers.get('access-control-expose-headers'));
    expect(exposed).toEqual(EXPOSE_HEADERS.map((h) => h.toLowerCase()));
    expect(exposed).toEqual(
      expect.arrayContaining(['location', 'preference-applied', 'link', 'retry-after']),
    );
  });

  it('WPS GetCapabilities, XML Execute and status documents carry it too', async () => {
    const caps = await request(`${s.wps}?service=WPS&request=GetCapabilities`, { headers: { Origin: PAGE } });
    expect(caps.status).toBe(200);
    expect(caps.headers.get('access-control-allow-origin')).toBe('*');
    const exec = await request(s.wps, {
      method: 'POST',
      headers: { Origin: PAGE, 'Content-Type': 'text/xml' },
      body: helloXml,
    });
    expect(exec.status, exec.text).toBe(200);
    expect(exec.text).toContain('Hello CORS');
    expect(exec.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('error answers of both protocols are readable too (exception JSON, ExceptionReport)', async () => {
    const missing = await request(`${s.base}/processes/no-such-process`, { headers: { Origin: PAGE } });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('access-control-allow-origin')).toBe('*');
    const bad = await request(`${s.wps}?service=WPS&request=Nonsense`, { headers: { Origin: PAGE } });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('ExceptionReport');
    expect(bad.headers.get('access-control-allow-origin')).toBe('*');
  });
});

describe('CORS restricted to a list of origins', () => {
  let s: WpsServer;
  beforeAll(async () => {
    s = await startWpsServer({
      extraServer: [`  cors: {allowed_origins: ['${PAGE}'], max_age_seconds: 30}`],
    });
  });
  afterAll(() => s.close());

  it('an allowed origin is echoed (with Vary: Origin), on preflights and actual requests', async () => {
    const pre = await preflight(`${s.base}/processes/hello-world/execution`, PAGE);
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe(PAGE);
    expect(pre.headers.get('access-control-max-age')).toBe('30');
    const get = await request(`${s.base}/processes`, { headers: { Origin: PAGE } });
    expect(get.status).toBe(200);
    expect(get.headers.get('access-control-allow-origin')).toBe(PAGE);
    expect(list(get.headers.get('vary'))).toContain('origin');
  });

  it('another origin gets no CORS header: its preflight is not approved, its GET not shared', async () => {
    for (const url of [`${s.base}/processes/hello-world/execution`, s.wps]) {
      const pre = await preflight(url, OTHER);
      expect(pre.status).not.toBe(204);
      expect(pre.headers.get('access-control-allow-origin')).toBeNull();
      expect(pre.headers.get('access-control-allow-methods')).toBeNull();
      expect(pre.headers.get('access-control-allow-headers')).toBeNull();
    }
    const get = await request(`${s.base}/processes`, { headers: { Origin: OTHER } });
    expect(get.status).toBe(200);
    expect(get.headers.get('access-control-allow-origin')).toBeNull();
    expect(get.headers.get('access-control-expose-headers')).toBeNull();
    // The answer still varies by Origin, so that a shared cache does not serve one origin's to another.
    expect(list(get.headers.get('vary'))).toContain('origin');
  });

  it('negotiated pages and raw results vary by both Origin and Accept', async () => {
    const expectBoth = (r: { status: number; headers: Headers }, what: string) => {
      expect(list(r.headers.get('vary')), what).toEqual(expect.arrayContaining(['origin', 'accept']));
      expect(r.headers.get('access-control-allow-origin'), what).toBe(PAGE);
    };
    for (const [p, accept] of [
      ['/', 'text/html'],
      ['/processes?f=html', undefined],
      ['/processes/hello-world', 'text/html,*/*;q=0.8'],
      ['/processes/no-such-process', 'text/html'],
      ['/jobs?f=html', undefined],
      ['/processes', 'application/json'],
    ] as const) {
      const r = await request(`${s.base}${p}`, {
        headers: { Origin: PAGE, ...(accept ? { Accept: accept } : {}) },
      });
      expect(r.status, p).toBeLessThan(500);
      expectBoth(r, `${p} ${accept ?? ''}`);
    }
    // A literal raw: text/plain, or JSON for a client that prefers it; the same URL either way.
    const sync = await executeJson(s.base, 'hello-world', { inputs: { name: 'V' } }, { Origin: PAGE });
    expect(sync.status).toBe(200);
    expect(sync.contentType).toMatch(/^text\/plain/);
    expectBoth(sync, 'sync raw execute');
    const job = await executeJson(
      s.base,
      'hello-world',
      { inputs: { name: 'V' } },
      { Origin: PAGE, Prefer: 'respond-async' },
    );
    expect(job.status).toBe(201);
    await pollJob(s.base, job.json.jobID, (st) => st === 'successful');
    for (const accept of [undefined, 'application/json', 'text/plain']) {
      const r = await request(`${s.base}/jobs/${job.json.jobID}/results`, {
        headers: { Origin: PAGE, ...(accept ? { Accept: accept } : {}) },
      });
      expect(r.status).toBe(200);
      expectBoth(r, `raw results ${accept ?? ''}`);
    }
  });

  it('a request without Origin (not from a browser page) is answered as before, without CORS headers', async () => {
    const get = await request(`${s.base}/processes`);
    expect(get.status).toBe(200);
    expect(get.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('CORS turned off (allowed_origins: [])', () => {
  let s: WpsServer;
  beforeAll(async () => {
    s = await startWpsServer({ extraServer: ['  cors: {allowed_origins: []}'] });
  });
  afterAll(() => s.close());

  it('no CORS header at all, on preflights and actual requests', async () => {
    const pre = await preflight(`${s.base}/processes/hello-world/execution`, PAGE);
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
    expect(pre.headers.get('access-control-allow-methods')).toBeNull();
    const get = await request(`${s.base}/processes`, { headers: { Origin: PAGE } });
    expect(get.status).toBe(200);
    expect(get.headers.get('access-control-allow-origin')).toBeNull();
    // Content negotiation still varies on Accept; nothing varies on Origin.
    expect(get.headers.get('vary') ?? '').not.toMatch(/origin/i);
  });
});
