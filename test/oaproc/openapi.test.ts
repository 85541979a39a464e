/**
 * The API definition (class oas30) over real HTTP: `/api` is an OpenAPI 3.0 document that validates
 * against the official OpenAPI 3.0 schema, Swagger UI is served from this server, each process has
 * its own execute request schema built from its description, and every response a sample of real
 * requests gets (success and error paths of every operation) is documented: path, method, status,
 * media type, and JSON bodies valid against the documented schema.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { OpenAPIV3 } from 'openapi-types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OWS_EXCEPTION_CODES, OwsError } from '../../src/core/errors.ts';
import { exceptionReply } from '../../src/oaproc/exceptions.ts';
import { oas30Schema } from '../../src/oaproc/openapi-execute.ts';
import { packageDir, UI_FILES } from '../../src/oaproc/swagger-ui.ts';
import { execute, pollJob, request, type HttpReply } from '../helpers/oaproc-http.ts';
import {
  documentedMediaType,
  findOperation,
  openApi30Errors,
  resolveResponse,
  schemaCompiler,
  type HttpMethod,
} from '../helpers/openapi.ts';
import { startWpsServer, type WpsServer } from '../helpers/wps.ts';

const OPENAPI_TYPE = 'application/vnd.oai.openapi+json;version=3.0';

let s: WpsServer;
let doc: OpenAPIV3.Document;
let compile: ReturnType<typeof schemaCompiler>;

beforeAll(async () => {
  s = await startWpsServer({
    manager: { parallel_processes: 2 },
    extraServer: ['  max_request_size: 4kb'],
    extraResources: [
      '  hello-sync:\n    type: process\n    processor: {name: hello-world}\n    job_control_options: [sync-execute]',
    ],
  });
  const r = await request(`${s.base}/api`);
  expect(r.status, r.text).toBe(200);
  doc = r.json as OpenAPIV3.Document;
  compile = schemaCompiler(doc);
}, 30_000);
afterAll(() => s.close());

describe('GET /api', () => {
  it('is an OpenAPI 3.0 document in application/vnd.oai.openapi+json;version=3.0, valid against the official schema', async () => {
    const r = await request(`${s.base}/api`);
    expect(r.contentType).toBe(OPENAPI_TYPE);
    expect(r.json.openapi).toMatch(/^3\.0\.\d$/);
    expect(openApi30Errors(r.json)).toEqual([]);
    expect(r.json.servers).toEqual([{ url: s.base }]);
    // The validation is real: a schema in the JSON Schema 2019+ dialect is refused.
    const broken = structuredClone(r.json);
    broken.components.schemas.link.properties.href.const = 'x';
    expect(openApi30Errors(broken).length).toBeGreaterThan(0);
  });

  it('f=json and Accept: application/json give the same document; ?f=html and Accept: text/html give Swagger UI', async () => {
    for (const accept of [OPENAPI_TYPE, 'application/vnd.oai.openapi+json', 'application/*']) {
      const r = await request(`${s.base}/api`, { headers: { Accept: accept } });
      expect(r.contentType, accept).toBe(OPENAPI_TYPE);
    }
    const json = await request(`${s.base}/api`, { headers: { Accept: 'application/json' } });
    expect(json.contentType).toMatch(/^application\/json/);
    expect(json.json).toEqual(doc);
    const f = await request(`${s.base}/api?f=json`, { headers: { Accept: 'text/html' } });
    expect(f.contentType).toBe(OPENAPI_TYPE);
    expect(f.json).toEqual(doc);
    for (const init of [{}, { headers: { Accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } }]) {
      const url = 'headers' in init ? `${s.base}/api` : `${s.base}/api?f=html`;
      const html = await request(url, init);
      expect(html.status).toBe(200);
      expect(html.contentType).toBe('text/html; charset=utf-8');
      expect(html.text).toMatch(/^<!DOCTYPE html>/);
      expect(html.text).toContain('<div id="swagger-ui">');
    }
  });

  it('Swagger UI has the headers of every page (strict CSP, no framing, no sniffing) and escapes the title', async () => {
    const html = await request(`${s.base}/api?f=html`);
    const csp = (html.headers.get('content-security-policy') ?? '').split(/;\s*/);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("object-src 'none'");
    expect(html.headers.get('x-content-type-options')).toBe('nosniff');
    expect(html.text).toContain(`<link rel="alternate" type="${OPENAPI_TYPE}" href="${s.base}/api?f=json">`);
    const identification = s.gateway.config.metadata.identification;
    const title = identification.title;
    identification.title = '<script>alert(1)</script> & "x"';
    try {
      const marked = await request(`${s.base}/api?f=html`);
      expect(marked.text).toContain(
        '<title>&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot; - API</title>',
      );
      expect(marked.text).not.toContain('<script>alert');
    } finally {
      identification.title = title;
    }
  });

  it('Swagger UI loads only files of this server, and they are the package files', async () => {
    const html = await request(`${s.base}/api?f=html`);
    const urls = [...html.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&'));
    expect(urls.length).toBeGreaterThanOrEqual(6);
    for (const url of urls) expect(url.startsWith(`${s.base}/`), url).toBe(true);
    const uiFiles = urls.filter((u) => u.startsWith(`${s.base}/api/ui/`));
    expect(new Set(uiFiles.map((u) => u.split('/').at(-1)))).toEqual(new Set(Object.keys(UI_FILES)));
    for (const url of uiFiles) {
      const name = url.split('/').at(-1)!;
      const r = await request(url);
      expect(r.status, url).toBe(200);
      expect(r.contentType).toBe(UI_FILES[name]);
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
      if (name === 'swagger-initializer.js') {
        expect(r.text).toContain(JSON.stringify(`${s.base}/api?f=json`));
        expect(r.text).toContain('validatorUrl: null');
      } else {
        expect(r.bytes.equals(readFileSync(path.join(packageDir(), name))), name).toBe(true);
      }
    }
  });

  it('the files of Swagger UI have ETag and Last-Modified, and a matching revalidation is a 304', async () => {
    for (const name of ['swagger-ui-bundle.js', 'favicon-16x16.png', 'swagger-initializer.js']) {
      const url = `${s.base}/api/ui/${name}`;
      const first = await request(url);
      const etag = first.headers.get('etag');
      expect(etag, name).toMatch(/^(W\/)?"[^"]+"$/);
      // `max-age=0` as a browser revalidating (fetch would add `no-cache`, which koa answers in full).
      const again = await request(url, { headers: { 'If-None-Match': etag!, 'Cache-Control': 'max-age=0' } });
      expect(again.status, name).toBe(304);
      expect(again.bytes.length).toBe(0);
      expect((await request(url, { headers: { 'If-None-Match': '"other"' } })).status).toBe(200);
      const modified = first.headers.get('last-modified');
      if (name !== 'swagger-initializer.js') {
        expect(modified, name).not.toBeNull();
        const since = await request(url, {
          headers: { 'If-Modified-Since': modified!, 'Cache-Control': 'max-age=0' },
        });
        expect(since.status, name).toBe(304);
      }
    }
  });

  it('nothing else of the package or of the disk is reachable under /api/ui', async () => {
    for (const p of [
      'package.json',
      'index.html',
      'swagger-ui.js.map',
      '..%2Fpackage.json',
      '..%2F..%2F..%2Fpackage.json',
      '%2e%2e%2fpackage.json',
      'constructor',
      '__proto__',
    ]) {
      const r = await request(`${s.base}/api/ui/${p}`);
      expect(r.status, p).toBe(404);
      expect(r.json?.type).toBe('about:blank');
    }
  });

  it('an unknown f is a 400, an Accept nothing fits a 406', async () => {
    const f = await request(`${s.base}/api?f=yaml`);
    expect(f.status).toBe(400);
    expect(f.json.detail).toContain('yaml');
    const a = await request(`${s.base}/api`, { headers: { Accept: 'image/png' } });
    expect(a.status).toBe(406);
  });

  it('the landing page links it as service-desc and service-doc, each answering in its type', async () => {
    const landing = await request(`${s.base}/`);
    const links = landing.json.links as Array<{ rel: string; href: string; type: string }>;
    const desc = links.find((l) => l.rel === 'service-desc')!;
    const docLink = links.find((l) => l.rel === 'service-doc')!;
    expect(desc).toMatchObject({ href: `${s.base}/api`, type: OPENAPI_TYPE });
    expect(docLink).toMatchObject({ href: `${s.base}/api?f=html`, type: 'text/html' });
    for (const l of [desc, docLink]) {
      const r = await request(l.href);
      expect(r.status).toBe(200);
      expect(r.contentType?.startsWith(l.type)).toBe(true);
    }
  });

  it('conformance declares oas30', async () => {
    const r = await request(`${s.base}/conformance`);
    expect(r.json.conformsTo).toContain('http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/oas30');
  });
});

describe('the execute request of each process', () => {
  it('every published process has its own execution path whose input schemas are those of its description', async () => {
    const list = await request(`${s.base}/processes?limit=10000`);
    const ids = list.json.processes.map((p: { id: string }) => p.id) as string[];
    expect(ids.length).toBe(s.gateway.registry.list().length);
    for (const id of ids) {
      const found = findOperation(doc, `/processes/${encodeURIComponent(id)}/execution`, 'post');
      expect(found?.template, id).toBe(`/processes/${encodeURIComponent(id)}/execution`);
      const body = found!.operation.requestBody as OpenAPIV3.RequestBodyObject;
      const ref = (body.content['application/json']!.schema as OpenAPIV3.ReferenceObject).$ref;
      const schema = doc.components!.schemas![ref.split('/').at(-1)!] as OpenAPIV3.SchemaObject;
      const description = (await request(`${s.base}/processes/${encodeURIComponent(id)}`)).json;
      const inputs = schema.properties!.inputs as OpenAPIV3.SchemaObject;
      expect(Object.keys(inputs.properties ?? {}), id).toEqual(Object.keys(description.inputs));
      const required = Object.entries(description.inputs as Record<string, { minOccurs: number }>)
        .filter(([, i]) => i.minOccurs > 0)
        .map(([k]) => k);
      expect(inputs.required ?? [], id).toEqual(required);
      for (const [inputId, input] of Object.entries(
        description.inputs as Record<string, { schema: Record<string, unknown>; maxOccurs: unknown }>,
      )) {
        // The bare value is the description's schema in the OpenAPI 3.0 dialect.
        const documented = inputs.properties![inputId] as OpenAPIV3.SchemaObject;
        const alternatives = documented.anyOf as OpenAPIV3.SchemaObject[];
        expect(alternatives[0], `${id}.${inputId}`).toEqual(oas30Schema(input.schema));
      }
      const outputs = schema.properties!.outputs as OpenAPIV3.SchemaObject;
      expect(Object.keys(outputs.properties ?? {}), id).toEqual(Object.keys(description.outputs));
    }
  });

  const requestSchema = (id: string) => {
    const found = findOperation(doc, `/processes/${id}/execution`, 'post')!;
    const body = found.operation.requestBody as OpenAPIV3.RequestBodyObject;
    return compile(body.content['application/json']!.schema);
  };

  it.for([
    ['hello-world', { inputs: { name: 'World' } }],
    ['hello-world', { inputs: { name: { value: 'World' } }, response: 'document' }],
    ['sleep', { inputs: { seconds: 0.1 } }],
    [
      'echo',
      {
        inputs: {
          stringInput: 'x',
          arrayInput: ['a', 'b'],
          bboxInput: { bbox: [1, 2, 3, 4], crs: 'http://www.opengis.net/def/crs/OGC/1.3/CRS84' },
          complexInput: { value: { a: 1 }, mediaType: 'application/json' },
        },
        outputs: { stringInput: { transmissionMode: 'reference' } },
      },
    ],
  ] as const)('a request the server runs fits the schema: %s %j', async ([id, body]) => {
    const validate = requestSchema(id);
    expect(validate(body), JSON.stringify(validate.errors)).toBe(true);
    const r = await execute(s.base, id, body);
    expect(r.status, r.text).toBeLessThan(300);
  });

  it.for([
    ['hello-world', { inputs: { name: 'x', colour: 'red' } }],
    ['hello-world', { inputs: {} }],
    ['sleep', { inputs: { seconds: 'soon' } }],
    ['sleep', { inputs: { seconds: 61 } }],
    ['echo', { inputs: { stringInput: 's', bboxInput: { bbox: [1, 2, 3] } } }],
    ['hello-world', { inputs: { name: ['a', 'b'] } }],
    ['echo', { inputs: { stringInput: 's' }, outputs: { nope: {} } }],
    ['echo', { inputs: { stringInput: 's' }, response: 'pdf' }],
  ] as const)('a request the server refuses (400) does not fit the schema: %s %j', async ([id, body]) => {
    expect(requestSchema(id)(body)).toBe(false);
    const r = await execute(s.base, id, body);
    expect(r.status, r.text).toBe(400);
  });
});

describe('documented versus actual', () => {
  const seen = new Set<string>();

  /** Asserts the exchange is documented: operation, status, media type, headers and JSON body. */
  function expectDocumented(method: HttpMethod, url: string, r: HttpReply): void {
    const { pathname } = new URL(url);
    const what = `${method.toUpperCase()} ${pathname} → ${r.status} ${r.contentType ?? ''}`;
    const found = findOperation(doc, pathname, method);
    expect(found, `${what}: no such operation documented`).toBeDefined();
    seen.add(
      `${method} ${found!.template.replace(/^\/processes\/[^{/]+\/execution$/, '/processes/*/execution')}`,
    );
    const documented = found!.operation.responses[String(r.status)] ?? found!.operation.responses.default;
    expect(
      documented,
      `${what}: status not documented (${Object.keys(found!.operation.responses)})`,
    ).toBeDefined();
    const response = resolveResponse(doc, documented!);
    for (const name of Object.keys(response.headers ?? {})) {
      if (['Location', 'Retry-After', 'Link'].includes(name))
        expect(r.headers.get(name), `${what}: header ${name}`).not.toBeNull();
    }
    if (!response.content) {
      expect(r.bytes.length, `${what}: a body where none is documented`).toBe(0);
      return;
    }
    expect(r.contentType, `${what}: no Content-Type`).not.toBeNull();
    const key = documentedMediaType(response.content, r.contentType!);
    expect(key, `${what}: media type not documented (${Object.keys(response.content)})`).toBeDefined();
    const schema = response.content[key!]!.schema;
    if (r.json !== undefined && schema) {
      const validate = compile(schema);
      expect(validate(r.json), `${what}: ${JSON.stringify(validate.errors?.slice(0, 3))}`).toBe(true);
    }
  }

  const get = async (p: string, headers: Record<string, string> = {}) => {
    const r = await request(`${s.base}${p}`, { headers });
    expectDocumented('get', `${s.base}${p}`, r);
    return r;
  };
  const post = async (id: string, body: unknown, headers: Record<string, string> = {}) => {
    const r = await execute(s.base, id, body, headers);
    expectDocumented('post', `${s.base}/processes/${id}/execution`, r);
    return r;
  };
  const del = async (p: string) => {
    const r = await request(`${s.base}${p}`, { method: 'DELETE' });
    expectDocumented('delete', `${s.base}${p}`, r);
    return r;
  };

  const UNKNOWN_JOB = '00000000-0000-4000-8000-000000000000';

  it('capabilities, processes and the API definition', async () => {
    expect((await get('/')).status).toBe(200);
    expect((await get('/?f=nope')).status).toBe(400);
    expect((await get('/', { Accept: 'image/png' })).status).toBe(406);
    expect((await get('/conformance')).status).toBe(200);
    expect((await get('/conformance', { Accept: 'text/csv' })).status).toBe(406);
    expect((await get('/api')).status).toBe(200);
    expect((await get('/api', { Accept: 'application/json' })).status).toBe(200);
    expect((await get('/api?f=html')).status).toBe(200);
    expect((await get('/api?f=pdf')).status).toBe(400);
    expect((await get('/api', { Accept: 'image/png' })).status).toBe(406);
    expect((await get('/api/ui/swagger-ui-bundle.js')).status).toBe(200);
    expect((await get('/api/ui/favicon-32x32.png')).status).toBe(200);
    expect((await get('/api/ui/no-such-file.js')).status).toBe(404);
    expect((await get('/processes')).status).toBe(200);
    expect((await get('/processes?limit=2&offset=1')).status).toBe(200);
    expect((await get('/processes?limit=0')).status).toBe(400);
    expect((await get('/processes?offset=-1')).status).toBe(400);
    expect((await get('/processes/echo')).status).toBe(200);
    expect((await get('/processes/no-such-process')).status).toBe(404);
    expect((await get('/processes/echo', { Accept: 'application/xml' })).status).toBe(406);
    expect((await get('/health')).status).toBe(200);
  });

  it('exceptions a browser asked for are pages, documented as text/html', async () => {
    const pages: Array<[string, Record<string, string>, number]> = [
      ['/processes/no-such-process', { Accept: 'text/html' }, 404],
      ['/processes/no-such-process?f=html', {}, 404],
      ['/processes?limit=0&f=html', {}, 400],
      ['/jobs?status=bogus', { Accept: 'text/html,*/*;q=0.8' }, 400],
      [`/jobs/${UNKNOWN_JOB}?f=html`, {}, 404],
      [`/jobs/${UNKNOWN_JOB}/results`, { Accept: 'text/html' }, 404],
    ];
    for (const [p, headers, status] of pages) {
      const r = await get(p, headers);
      expect(r.status, p).toBe(status);
      expect(r.contentType, p).toBe('text/html; charset=utf-8');
    }
    const failed = await execute(s.base, 'fail', { inputs: { how: 'ows' } }, { Prefer: 'respond-async' });
    await pollJob(s.base, failed.json.jobID, (st) => st === 'failed');
    for (const headers of [{ Accept: 'text/html' }, {}] as Array<Record<string, string>>) {
      const q = 'Accept' in headers ? '' : '?f=html';
      const r = await get(`/jobs/${failed.json.jobID}/results${q}`, headers);
      expect(r.status).toBe(400);
      expect(r.contentType).toBe('text/html; charset=utf-8');
    }
    // Negotiation that fails is answered in JSON, as documented: no page for a 406.
    const refused = await get('/processes', { Accept: 'text/csv' });
    expect(refused.status).toBe(406);
    expect(refused.contentType).toMatch(/^application\/json/);
  });

  it('execution: results raw and as a document, multipart, references, jobs and every refusal', async () => {
    expect((await post('hello-world', { inputs: { name: 'A' } })).status).toBe(200);
    expect(
      (await post('hello-world', { inputs: { name: 'A' } }, { Accept: 'application/json' })).status,
    ).toBe(200);
    expect((await post('hello-world', { inputs: { name: 'A' }, response: 'document' })).status).toBe(200);
    const echo = { stringInput: 'x', complexInput: { value: { a: 1 }, mediaType: 'application/json' } };
    expect((await post('echo', { inputs: echo })).status).toBe(200);
    const one = await post('echo', { inputs: echo, outputs: { complexOutput: {} } });
    expect(one.contentType).toMatch(/^application\/json/);
    const refs = await post('echo', {
      inputs: echo,
      outputs: {
        stringInput: { transmissionMode: 'reference' },
        complexOutput: { transmissionMode: 'reference' },
      },
    });
    expect(refs.status).toBe(204);
    expect(
      (await post('echo', { inputs: echo, outputs: { complexOutput: { transmissionMode: 'reference' } } }))
        .status,
    ).toBe(204);
    expect((await post('echo', { inputs: echo, response: 'document' })).status).toBe(200);

    expect((await post('no-such-process', { inputs: {} })).status).toBe(404);
    expect((await post('hello-world', '{"inputs": {')).status).toBe(400);
    expect((await post('hello-world', { inputs: { name: 'x', colour: 'red' } })).status).toBe(400);
    expect(
      (await post('hello-world', { inputs: { name: 'x' } }, { 'Content-Type': 'text/plain' })).status,
    ).toBe(415);
    expect((await post('hello-world', { inputs: { name: 'x'.repeat(5000) } })).status).toBe(413);
    expect((await post('fail', { inputs: { how: 'error' } })).status).toBe(500);
    expect((await post('fail', { inputs: { how: 'ows' } })).status).toBe(400);
  });

  it('jobs: creation, status, list, results in every state, dismissal', async () => {
    const created = await post(
      'echo',
      { inputs: { stringInput: 'x', pause: 1 } },
      { Prefer: 'respond-async' },
    );
    expect(created.status).toBe(201);
    const id = created.json.jobID as string;
    expect((await get(`/jobs/${id}/results`)).status).toBe(404);
    expect((await get(`/jobs/${id}`)).status).toBe(200);
    await pollJob(s.base, id, (st) => st === 'successful');
    expect((await get(`/jobs/${id}/results`)).status).toBe(200);
    expect((await get(`/jobs/${id}`, { Accept: 'application/json' })).status).toBe(200);
    expect((await get(`/jobs/${id}?f=bogus`)).status).toBe(400);

    const failed = await post('fail', { inputs: { how: 'error' } }, { Prefer: 'respond-async' });
    await pollJob(s.base, failed.json.jobID, (st) => st === 'failed');
    expect((await get(`/jobs/${failed.json.jobID}/results`)).status).toBe(500);

    const document = await post(
      'hello-world',
      { inputs: { name: 'd' }, response: 'document' },
      { Prefer: 'respond-async' },
    );
    await pollJob(s.base, document.json.jobID, (st) => st === 'successful');
    expect((await get(`/jobs/${document.json.jobID}/results`)).status).toBe(200);

    expect((await get('/jobs')).status).toBe(200);
    expect((await get('/jobs?limit=1&status=successful,failed&processID=echo&type=process')).status).toBe(
      200,
    );
    expect((await get('/jobs?datetime=2020-01-01T00:00:00Z/..&minDuration=0&maxDuration=100')).status).toBe(
      200,
    );
    expect((await get('/jobs?status=bogus')).status).toBe(400);
    expect((await get('/jobs?limit=0')).status).toBe(400);
    expect((await get('/jobs', { Accept: 'text/csv' })).status).toBe(406);
    expect((await get(`/jobs/${UNKNOWN_JOB}`)).status).toBe(404);
    expect((await get(`/jobs/${UNKNOWN_JOB}/results`)).status).toBe(404);

    const running = await post('sleep', { inputs: { seconds: 5 } }, { Prefer: 'respond-async' });
    expect(running.status).toBe(201);
    expect((await del(`/jobs/${running.json.jobID}`)).status).toBe(200);
    expect((await del(`/jobs/${id}`)).status).toBe(200);
    expect((await del(`/jobs/${UNKNOWN_JOB}`)).status).toBe(404);
    // A process that does not allow dismissal: 400.
    const sync = await post('hello-sync', { inputs: { name: 's' } }, { Prefer: 'respond-async' });
    expect(sync.status).toBe(200);
    const [job] = (await request(`${s.base}/jobs?processID=hello-sync`)).json.jobs;
    expect((await del(`/jobs/${job.jobID}`)).status).toBe(400);
  });

  it('a full queue: 503 with Retry-After, documented', async () => {
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
        expect(r.status).toBe(503);
        expectDocumented('post', `${busy.base}/processes/hello-world/execution`, r);
      }
      await pollJob(busy.base, first.json.jobID, (st) => st === 'successful');
    } finally {
      await busy.close();
    }
  });

  it('map layers of a job (vector formats converted to GeoJSON), documented', async () => {
    const geo = await startWpsServer({ processes: ['buffer'] });
    try {
      const kml =
        '<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><Point><coordinates>5,45</coordinates></Point></Placemark></kml>';
      const created = await execute(
        geo.base,
        'buffer',
        {
          inputs: { data: { value: kml, mediaType: 'application/vnd.google-earth.kml+xml' }, distance: 0.1 },
          outputs: { buffered: { format: { mediaType: 'application/gml+xml' } } },
        },
        { Prefer: 'respond-async' },
      );
      expect(created.status, created.text).toBe(201);
      const id = created.json.jobID as string;
      await pollJob(geo.base, id, (st) => st === 'successful', 30_000);
      for (const [path, status] of [
        [`/jobs/${id}/layers/output/buffered.geojson`, 200],
        [`/jobs/${id}/layers/input/data/0.geojson`, 200],
        [`/jobs/${id}/layers/output/nope.geojson`, 404],
        [`/jobs/${id}/layers/input/data/7.geojson`, 404],
      ] as const) {
        const r = await request(`${geo.base}${path}`);
        expect(r.status, `${path}: ${r.text.slice(0, 200)}`).toBe(status);
        expectDocumented('get', `${geo.base}${path}`, r);
      }
    } finally {
      await geo.close();
    }
  });

  it('every operation of the definition was exercised above', () => {
    const operations = Object.entries(doc.paths).flatMap(([template, item]) =>
      (['get', 'post', 'put', 'delete', 'patch'] as const)
        .filter((m) => item?.[m])
        .map((m) => `${m} ${template.replace(/^\/processes\/[^{/]+\/execution$/, '/processes/*/execution')}`),
    );
    const templated = [...new Set(operations)].filter((o) => o !== 'post /processes/{processID}/execution');
    expect(templated.filter((o) => !seen.has(o))).toEqual([]);
  });

  it('every status a core error can take in this binding is documented on execute and results', () => {
    // What exceptionReply answers for each OWS code, and for the reasons with their own types.
    const errors = [
      ...OWS_EXCEPTION_CODES.map((code) => new OwsError(code, 'x')),
      ...(['no-such-process', 'no-such-job', 'result-not-ready'] as const).map(
        (reason) => new OwsError('InvalidParameterValue', 'x', undefined, reason),
      ),
    ];
    const statuses = new Set(errors.map((e) => exceptionReply(e).status));
    expect([...statuses].sort()).toEqual([400, 404, 413, 500, 503, 507]);
    for (const [p, method] of [
      ['/processes/{processID}/execution', 'post'],
      ['/processes/echo/execution', 'post'],
      ['/jobs/{jobId}/results', 'get'],
    ] as const) {
      const responses = doc.paths[p]![method]!.responses;
      for (const status of statuses) expect(responses, `${p} ${status}`).toHaveProperty(String(status));
    }
  });
});
