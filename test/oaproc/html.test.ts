import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES } from '../helpers/gateway.ts';
import { safeHref } from '../../src/oaproc/html/common.ts';
import { geoJson } from '../../src/oaproc/html/map-layers.ts';
import { attr, parsePage, textOf, type Page } from '../helpers/html.ts';
import { execute, parseLinkHeader, pollJob, request, type HttpReply } from '../helpers/oaproc-http.ts';
import { startWpsServer, type WpsServer } from '../helpers/wps.ts';

const list = (header: string | null) => (header ?? '').split(',').map((v) => v.trim().toLowerCase());
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8';
const HTML_CLASS = 'http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/html';

let s: WpsServer;
/** A finished OGC API job (echo: string, bbox, GeoJSON), a finished WPS job, and a running one. */
let apiJob: string;
let wpsJob: string;
let runningJob: string;

const say = path.join(FIXTURES, 'processes', 'say.ts');

beforeAll(async () => {
  s = await startWpsServer({
    extraResources: [`  say:\n    type: process\n    processor: {name: ${say}}`],
  });
  const created = await execute(
    s.base,
    'echo',
    {
      inputs: {
        stringInput: 'from the API',
        bboxInput: { bbox: [5, 45, 10, 47], crs: 'http://www.opengis.net/def/crs/OGC/1.3/CRS84' },
        complexInput: {
          value: { type: 'Feature', geometry: { type: 'Point', coordinates: [7, 46] }, properties: {} },
          mediaType: 'application/json',
        },
      },
      response: 'document',
    },
    { Prefer: 'respond-async' },
  );
  expect(created.status, created.text).toBe(201);
  apiJob = created.json.jobID;
  const wps = await fetch(
    `${s.wps}?service=WPS&version=1.0.0&request=Execute&identifier=echo&DataInputs=stringInput=from-wps&storeExecuteResponse=true&status=true`,
  );
  const xml = await wps.text();
  wpsJob = /status\/([0-9a-f-]{36})\.xml/.exec(xml)![1]!;
  const sleeping = await execute(s.base, 'sleep', { inputs: { seconds: 30 } }, { Prefer: 'respond-async' });
  expect(sleeping.status, sleeping.text).toBe(201);
  runningJob = sleeping.json.jobID;
  await pollJob(s.base, apiJob, (st) => st === 'successful');
  await pollJob(s.base, wpsJob, (st) => st === 'successful');
}, 60_000);
afterAll(() => s.close());

const get = (p: string, accept?: string): Promise<HttpReply> =>
  request(`${s.base}${p}`, accept === undefined ? {} : { headers: { Accept: accept } });

async function page(p: string, accept = BROWSER_ACCEPT): Promise<{ reply: HttpReply; page: Page }> {
  const reply = await get(p, accept);
  expect(reply.contentType, `${p}: ${reply.text.slice(0, 300)}`).toBe('text/html; charset=utf-8');
  return { reply, page: parsePage(reply.text) };
}

const resources = () => [
  '/',
  '/conformance',
  '/processes',
  '/processes/echo',
  '/jobs',
  `/jobs/${apiJob}`,
  `/jobs/${wpsJob}`,
];

describe('content negotiation', () => {
  it('JSON without Accept, with */* and with application/json; HTML for text/html and a browser', async () => {
    for (const p of [...resources(), `/jobs/${apiJob}/results`]) {
      for (const accept of [undefined, '*/*', 'application/json']) {
        const r = await get(p, accept);
        expect(r.status, `${p} ${accept}`).toBe(200);
        expect(r.contentType, `${p} ${accept}`).toMatch(/^application\/json/);
      }
      for (const accept of ['text/html', BROWSER_ACCEPT, 'application/json;q=0.5, text/html']) {
        const r = await get(p, accept);
        expect(r.status, `${p} ${accept}`).toBe(200);
        expect(r.contentType, `${p} ${accept}`).toBe('text/html; charset=utf-8');
      }
    }
  });

  it('f wins over Accept: f=html gives HTML to a JSON client, f=json JSON to a browser', async () => {
    for (const p of [...resources(), `/jobs/${apiJob}/results`]) {
      const sep = p.includes('?') ? '&' : '?';
      const html = await get(`${p}${sep}f=html`, 'application/json');
      expect(html.status, p).toBe(200);
      expect(html.contentType, p).toBe('text/html; charset=utf-8');
      const json = await get(`${p}${sep}f=json`, BROWSER_ACCEPT);
      expect(json.status, p).toBe(200);
      expect(json.contentType, p).toMatch(/^application\/json/);
      expect(json.json).toBeTypeOf('object');
    }
  });

  it('an unknown f is 400, an Accept without JSON or HTML 406 (exception JSON)', async () => {
    for (const p of resources()) {
      const bad = await get(`${p}?f=xml`, BROWSER_ACCEPT);
      expect(bad.status, p).toBe(400);
      expect(bad.json.detail, p).toMatch(/f=xml/);
      for (const accept of ['application/xml', 'image/png', 'text/plain']) {
        const r = await get(p, accept);
        expect(r.status, `${p} ${accept}`).toBe(406);
        expect(r.contentType).toMatch(/^application\/json/);
      }
    }
    expect((await get(`/jobs/${apiJob}/results?f=xml`)).status).toBe(400);
  });

  it('errors asked for as HTML are pages with the same status', async () => {
    const r = await get('/processes/no-such-process?f=html');
    expect(r.status).toBe(404);
    const p = parsePage(r.text);
    expect(textOf(p.byId('error-detail')!)).toContain('no-such-process');
    expect((await get('/jobs/00000000-0000-0000-0000-000000000000', 'text/html')).status).toBe(404);
  });

  it('an unknown path (or asset) is the 404 page for a browser, exception JSON otherwise', async () => {
    for (const [p, accept] of [
      ['/no/such/path', BROWSER_ACCEPT],
      ['/no/such/path?f=html', undefined],
      ['/assets/nope.js', 'text/html'],
    ] as const) {
      const r = await get(p, accept);
      expect(r.status, p).toBe(404);
      expect(r.contentType, p).toBe('text/html; charset=utf-8');
      expect(r.headers.get('content-security-policy'), p).toContain("script-src 'self'");
      expect(list(r.headers.get('vary')), p).toContain('accept');
      const page = parsePage(r.text);
      expect(attr(page.byId('error')!, 'data-status'), p).toBe('404');
      expect(textOf(page.byId('error-detail')!), p).toContain(new URL(p, s.base).pathname);
    }
    for (const [p, accept] of [
      ['/no/such/path', undefined],
      ['/no/such/path', 'application/json'],
      ['/no/such/path?f=json', BROWSER_ACCEPT],
      ['/no/such/path?f=xml', BROWSER_ACCEPT],
      ['/no/such/path', 'application/json, text/html;q=0.5'],
    ] as const) {
      const r = await get(p, accept);
      expect(r.status, `${p} ${accept}`).toBe(404);
      expect(r.contentType, `${p} ${accept}`).toMatch(/^application\/json/);
      expect(r.json.status).toBe(404);
    }
  });

  it('declares the html conformance class', async () => {
    expect((await get('/conformance')).json.conformsTo).toContain(HTML_CLASS);
  });
});

describe('alternate links both ways', () => {
  it('every JSON document links its HTML page, which links the JSON back', async () => {
    for (const p of resources()) {
      const json = await get(p);
      const alternate = (json.json.links as Array<{ rel: string; type?: string; href: string }>).find(
        (l) => l.rel === 'alternate' && l.type === 'text/html',
      );
      expect(alternate, p).toBeDefined();
      const html = await page(
        new URL(alternate!.href).pathname + new URL(alternate!.href).search,
        'application/json',
      );
      expect(html.reply.status, p).toBe(200);
      const back = html.page
        .all('link')
        .find((l) => attr(l, 'rel') === 'alternate' && attr(l, 'type') === 'application/json');
      expect(back, p).toBeDefined();
      const again = await request(attr(back!, 'href')!, { headers: { Accept: BROWSER_ACCEPT } });
      expect(again.status, p).toBe(200);
      // The job list holds a running job whose progress moves between the two requests.
      const stable = (body: { jobs?: Array<{ jobID: string }> }) =>
        body.jobs ? { ...body, jobs: body.jobs.map((j) => j.jobID) } : body;
      expect(stable(again.json), p).toEqual(stable(json.json));
    }
  });

  it('a results document links its page in a Link header; the page links the document', async () => {
    const r = await get(`/jobs/${apiJob}/results`);
    const link = parseLinkHeader(r.headers.get('link')).find((l) => l.params.rel === 'alternate');
    expect(link?.params.type).toBe('text/html');
    const html = await request(link!.href);
    expect(html.contentType).toBe('text/html; charset=utf-8');
    const back = parsePage(html.text)
      .all('link')
      .find((l) => attr(l, 'rel') === 'alternate');
    const again = await request(attr(back!, 'href')!);
    expect(again.json).toEqual(r.json);
  });

  it('raw results link their page too; f=json gives a literal as JSON, as Accept: application/json does', async () => {
    const created = await execute(
      s.base,
      'hello-world',
      { inputs: { name: 'Raw' } },
      { Prefer: 'respond-async' },
    );
    expect(created.status).toBe(201);
    const id = created.json.jobID as string;
    await pollJob(s.base, id, (st) => st === 'successful');
    const raw = await get(`/jobs/${id}/results`);
    expect(raw.contentType).toMatch(/^text\/plain/);
    expect(raw.text).toContain('Raw');
    const link = parseLinkHeader(raw.headers.get('link')).find((l) => l.params.rel === 'alternate');
    expect(link?.params.type).toBe('text/html');
    const html = await request(link!.href);
    expect(html.contentType).toBe('text/html; charset=utf-8');
    // The page's JSON alternate is f=json: the same answer as asking for JSON by Accept.
    const back = parsePage(html.text)
      .all('link')
      .find((l) => attr(l, 'rel') === 'alternate' && attr(l, 'type') === 'application/json');
    expect(new URL(attr(back!, 'href')!).searchParams.get('f')).toBe('json');
    const byF = await request(attr(back!, 'href')!);
    const byAccept = await request(`${s.base}/jobs/${id}/results`, {
      headers: { Accept: 'application/json' },
    });
    expect(byAccept.contentType).toMatch(/^application\/json/);
    expect(byAccept.json).toBe(raw.text);
    expect(byF.contentType).toBe(byAccept.contentType);
    expect(byF.json).toBe(raw.text);
    expect(parseLinkHeader(byF.headers.get('link')).some((l) => l.params.rel === 'alternate')).toBe(true);
  });
});

describe('pages', () => {
  it('landing page: service title, links to processes, jobs, conformance and the WPS', async () => {
    const { page: p } = await page('/');
    expect(textOf(p.byId('page-title')!)).toBe(s.gateway.config.metadata.identification.title);
    for (const id of ['link-processes', 'link-jobs', 'link-conformance', 'link-wps'])
      expect(p.withAttr('data-testid', id), id).toHaveLength(1);
    expect(attr(p.withAttr('data-testid', 'link-wps')[0]!, 'href')).toBe(s.wps);
  });

  it('conformance page lists every class', async () => {
    const { page: p } = await page('/conformance');
    const listed = p
      .byId('conformance-classes')!
      .childNodes.filter((n) => 'tagName' in n)
      .map((n) => textOf(n).trim());
    expect(listed).toEqual((await get('/conformance')).json.conformsTo);
  });

  it('process list: a row per process of the page, pager links to HTML pages', async () => {
    const { page: p } = await page('/processes?limit=2');
    const ids = p.withAttr('data-process-id').map((e) => attr(e, 'data-process-id'));
    expect(ids).toEqual(
      s.gateway.registry
        .list()
        .slice(0, 2)
        .map((e) => e.description.id),
    );
    const next = p.withAttr('data-testid', 'pager-next')[0]!;
    expect(attr(next, 'href')).toBe(`${s.base}/processes?limit=2&offset=2&f=html`);
  });

  it('process page: inputs and outputs tables and an execute form with a field set per input', async () => {
    const { page: p } = await page('/processes/echo');
    const description = s.gateway.registry.get('echo').description;
    const rows = (id: string, a: string) =>
      p.elements
        .filter((e) => e.tagName === 'tr' && attr(e, a) !== undefined && p.byId(id))
        .map((e) => attr(e, a));
    expect(rows('process-inputs', 'data-input-id')).toEqual(description.inputs.map((i) => i.id));
    expect(rows('process-outputs', 'data-output-id')).toEqual(description.outputs.map((o) => o.id));
    const pauseRow = p.elements.find((e) => e.tagName === 'tr' && attr(e, 'data-input-id') === 'pause')!;
    expect(textOf(pauseRow)).toContain('[0 … 60]');
    expect(textOf(pauseRow)).toContain('literal (double)');
    const form = p.byId('execute-form')!;
    expect(attr(form, 'data-execute-url')).toBe(`${s.base}/processes/echo/execution`);
    const sets = p.all('fieldset').filter((f) => attr(f, 'data-input-id'));
    expect(sets.map((f) => attr(f, 'data-input-id'))).toEqual(description.inputs.map((i) => i.id));
    const template = JSON.parse(textOf(p.byId('execute-request')!));
    expect(template).toEqual({ inputs: {}, response: 'document' });
    expect(p.byId('execute-submit')).toBeDefined();
  });

  it('the execute form starts from a request the server accepts once required inputs are filled', async () => {
    const { page: p } = await page('/processes/sleep');
    const template = JSON.parse(textOf(p.byId('execute-request')!));
    expect(template).toEqual({ inputs: {}, response: 'document' });
    // The one required input has no default: the client fills it in the form.
    const r = await execute(s.base, 'sleep', { ...template, inputs: { seconds: 0 } });
    expect(r.status, r.text).toBe(200);
  });

  it('jobs monitor: jobs of both protocols with status, process, times and a progress bar', async () => {
    const { page: p } = await page('/jobs?limit=100');
    const row = (id: string) => p.elements.find((e) => e.tagName === 'tr' && attr(e, 'data-job-id') === id);
    for (const [id, protocol] of [
      [apiJob, 'OGC API - Processes'],
      [wpsJob, 'WPS 1.0.0'],
    ] as const) {
      const r = row(id)!;
      expect(r, id).toBeDefined();
      expect(attr(r, 'data-status')).toBe('successful');
      expect(textOf(r)).toContain(protocol);
      expect(textOf(r)).toContain('echo');
      const bar = p.all('progress').find((b) => attr(b, 'data-job-id') === id)!;
      expect(attr(bar, 'data-progress')).toBe('100');
      expect(p.all('time').length).toBeGreaterThan(0);
    }
    const live = p.withAttr('data-testid', 'jobs-monitor')[0]!;
    expect(attr(live, 'data-live-url')).toBe(`${s.base}/jobs?limit=100&offset=0&f=html`);
    expect(attr(p.byId('job-count')!, 'data-number-matched')).toBe(
      String((await get('/jobs?limit=100')).json.numberMatched),
    );
  });

  it('jobs monitor filters like /jobs and keeps the filter in its form and live URL', async () => {
    const { page: p } = await page('/jobs?processID=sleep&status=running,accepted');
    const ids = p
      .withAttr('data-job-id')
      .filter((e) => e.tagName === 'tr')
      .map((e) => attr(e, 'data-job-id'));
    const json = await get('/jobs?processID=sleep&status=running,accepted');
    expect(ids).toEqual(json.json.jobs.map((j: { jobID: string }) => j.jobID));
    expect(ids).toContain(runningJob);
    const checked = p
      .all('input')
      .filter((i) => attr(i, 'name') === 'status' && attr(i, 'checked') !== undefined);
    expect(checked.map((i) => attr(i, 'value')).sort()).toEqual(['accepted', 'running']);
    const selected = p
      .all('option')
      .find((o) => attr(o, 'selected') !== undefined && attr(o, 'value') === 'sleep');
    expect(selected).toBeDefined();
    expect(attr(p.byId('jobs-live')!, 'data-live-url')).toContain('processID=sleep');
    const bad = await get('/jobs?status=nonsense&f=html');
    expect(bad.status).toBe(400);
    expect(bad.contentType).toBe('text/html; charset=utf-8');
  });

  it('job page: status, progress, message, inputs, outputs, links to results and WPS status, dismiss, map data', async () => {
    const { page: p } = await page(`/jobs/${apiJob}`);
    expect(attr(p.byId('job-status')!, 'data-status')).toBe('successful');
    expect(attr(p.byId('job-progress')!, 'data-progress')).toBe('100');
    expect(attr(p.byId('job-progress')!, 'data-job-id')).toBe(apiJob);
    expect(attr(p.byId('wps-status-link')!, 'href')).toBe(`${s.wps}/status/${apiJob}.xml`);
    expect(attr(p.byId('results-link')!, 'href')).toBe(`${s.base}/jobs/${apiJob}/results?f=html`);
    expect(attr(p.byId('dismiss-button')!, 'data-url')).toBe(`${s.base}/jobs/${apiJob}`);
    const inputRows = p.withAttr('data-input-id').map((e) => attr(e, 'data-input-id'));
    expect(inputRows).toEqual(expect.arrayContaining(['stringInput', 'bboxInput', 'complexInput']));
    expect(textOf(p.byId('job-inputs')!)).toContain('from the API');
    const outputRows = p.withAttr('data-output-id').map((e) => attr(e, 'data-output-id'));
    expect(outputRows).toEqual(expect.arrayContaining(['stringInput', 'complexOutput', 'bboxOutput']));
    for (const a of p.withAttr('data-role', 'output-link')) {
      const r = await request(attr(a, 'href')!);
      expect(r.status, attr(a, 'href')).toBe(200);
    }
    const map = p.byId('map')!;
    const layers = JSON.parse(attr(map, 'data-layers')!);
    expect(layers).toEqual(
      expect.arrayContaining([
        { role: 'input', id: 'bboxInput', kind: 'bbox', extent: [5, 45, 10, 47], projection: 'EPSG:4326' },
        expect.objectContaining({ role: 'input', id: 'complexInput', kind: 'geojson' }),
        expect.objectContaining({ role: 'output', id: 'complexOutput', kind: 'geojson' }),
        expect.objectContaining({ role: 'output', id: 'bboxOutput', kind: 'bbox' }),
      ]),
    );
    expect(p.all('script').map((e) => attr(e, 'src'))).toEqual([
      `${s.base}/assets/ol.js`,
      `${s.base}/assets/gateway.js`,
    ]);
  });

  it('malformed GeoJSON is kept off the map; the other layers stay', async () => {
    const created = await execute(
      s.base,
      'echo',
      {
        inputs: {
          stringInput: 'a',
          complexInput: { value: { type: 'FeatureCollection' }, mediaType: 'application/json' },
          bboxInput: { bbox: [5, 45, 6, 46] },
        },
      },
      { Prefer: 'respond-async' },
    );
    expect(created.status, created.text).toBe(201);
    const id = created.json.jobID as string;
    await pollJob(s.base, id, (st) => st === 'successful');
    const { page: p } = await page(`/jobs/${id}`);
    const layers = JSON.parse(attr(p.byId('map')!, 'data-layers')!) as Array<{ id: string; kind: string }>;
    expect(layers.map((l) => `${l.id}:${l.kind}`).sort()).toEqual(['bboxInput:bbox', 'bboxOutput:bbox']);
    // The checks behind it: only well-formed GeoJSON goes on the map.
    const point = { type: 'Point', coordinates: [7, 46] };
    const good = [
      point,
      { type: 'Feature', geometry: null, properties: {} },
      { type: 'FeatureCollection', features: [{ type: 'Feature', geometry: point, properties: {} }] },
      {
        type: 'Polygon',
        coordinates: [
          [
            [0, 0],
            [1, 0],
            [1, 1],
            [0, 0],
          ],
        ],
      },
      { type: 'GeometryCollection', geometries: [point] },
    ];
    for (const g of good) expect(geoJson(JSON.stringify(g)), JSON.stringify(g)).toEqual(g);
    const bad = [
      { type: 'FeatureCollection' },
      { type: 'FeatureCollection', features: [point] },
      { type: 'FeatureCollection', features: [{ type: 'Feature' }] },
      { type: 'Feature', geometry: { type: 'Point' } },
      { type: 'Point', coordinates: 'x' },
      { type: 'Point', coordinates: [7] },
      { type: 'Polygon', coordinates: [1, 2] },
      { type: 'GeometryCollection' },
      { type: 'Circle', coordinates: [0, 0] },
      [point],
    ];
    for (const b of bad) expect(geoJson(JSON.stringify(b)), JSON.stringify(b)).toBeUndefined();
  });

  it('a running job page polls itself and offers dismiss', async () => {
    const { page: p } = await page(`/jobs/${runningJob}`);
    const live = p.byId('job-live')!;
    expect(attr(live, 'data-terminal')).toBe('false');
    expect(attr(live, 'data-live-url')).toBe(`${s.base}/jobs/${runningJob}?f=html`);
    expect(textOf(p.byId('dismiss-button')!)).toMatch(/Dismiss/);
    expect(textOf(p.byId('no-outputs')!)).toMatch(/running|accepted/);
  });

  it('a WPS job page shows WPS as its protocol, its inputs and its results', async () => {
    const { page: p } = await page(`/jobs/${wpsJob}`);
    expect(textOf(p.byId('job-protocol')!)).toBe('WPS 1.0.0');
    expect(textOf(p.byId('job-inputs')!)).toContain('from-wps');
    const results = await page(`/jobs/${wpsJob}/results`);
    expect(textOf(results.page.byId('results')!)).toContain('from-wps');
  });

  it('results page lists the outputs with links', async () => {
    const { reply, page: p } = await page(`/jobs/${apiJob}/results`);
    expect(reply.status).toBe(200);
    const ids = p.withAttr('data-output-id').map((e) => attr(e, 'data-output-id'));
    expect(ids).toEqual(Object.keys((await get(`/jobs/${apiJob}/results`)).json));
  });

  it('pages carry a script policy: only scripts of this server', async () => {
    const r = await get('/jobs?f=html');
    const csp = r.headers.get('content-security-policy')!;
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).toMatch(/frame-ancestors 'none'/);
  });
});

/** Asserts that nothing of `marker` became markup: no element or attribute the page does not make itself. */
function expectInert(p: Page, marker: string): void {
  for (const e of p.elements) {
    expect(e.tagName, 'an injected element').not.toBe('img');
    expect(e.tagName, 'an injected element').not.toBe('svg');
    for (const a of e.attrs) {
      expect(a.name.startsWith('on'), `event handler attribute ${a.name} on <${e.tagName}>`).toBe(false);
      expect(a.name, 'an injected attribute').not.toBe('x-injected');
    }
  }
  for (const script of p.all('script')) {
    expect(attr(script, 'src'), "only the server's own scripts").toMatch(/\/assets\/(ol|gateway)\.js$/);
    expect(textOf(script)).toBe('');
  }
  expect(p.elements.filter((e) => e.tagName === 'iframe' || e.tagName === 'object')).toHaveLength(0);
  expect(p.text, 'the client text is shown as text').toContain(marker);
}

const PAYLOAD = `"'><script>alert(1)</script><img src=x onerror=alert(2) x-injected=1><svg onload=alert(3)>`;

describe('client values are escaped, never active', () => {
  it('a process id in the URL (404 page)', async () => {
    const r = await get(`/processes/${encodeURIComponent(PAYLOAD)}?f=html`);
    expect(r.status).toBe(404);
    expectInert(parsePage(r.text), 'alert(1)');
  });

  it('a job id in the URL (404 page), and filter values echoed by the jobs monitor', async () => {
    const r = await get(`/jobs/${encodeURIComponent(PAYLOAD)}`, BROWSER_ACCEPT);
    expect(r.status).toBe(404);
    expectInert(parsePage(r.text), 'alert(1)');
    const filter = await get(`/jobs?f=html&processID=${encodeURIComponent(PAYLOAD)}`);
    expect(filter.status).toBe(200);
    expectInert(parsePage(filter.text), '');
    const datetime = await get(`/jobs?f=html&datetime=${encodeURIComponent(PAYLOAD)}`);
    expect(datetime.status).toBe(400);
    expectInert(parsePage(datetime.text), 'alert(1)');
  });

  it('job inputs and the job message on the job page and the monitor', async () => {
    const created = await execute(
      s.base,
      'say',
      { inputs: { message: PAYLOAD } },
      { Prefer: 'respond-async' },
    );
    expect(created.status, created.text).toBe(201);
    const id = created.json.jobID as string;
    await pollJob(s.base, id, (st) => st === 'running');
    for (let i = 0; (await get(`/jobs/${id}`)).json.message !== PAYLOAD; i++) {
      expect(i, 'the message reaches the job').toBeLessThan(100);
      await new Promise((r) => setTimeout(r, 50));
    }
    const job = await page(`/jobs/${id}`);
    expectInert(job.page, PAYLOAD);
    expect(textOf(job.page.byId('job-message')!)).toBe(PAYLOAD);
    expect(textOf(job.page.byId('job-inputs')!)).toContain(PAYLOAD);
    const monitor = await page('/jobs?processID=say');
    expectInert(monitor.page, PAYLOAD);
    const row = monitor.page.elements.find((e) => e.tagName === 'tr' && attr(e, 'data-job-id') === id)!;
    expect(textOf(row)).toContain(PAYLOAD);
    const dismissed = await request(`${s.base}/jobs/${id}`, { method: 'DELETE' });
    expect(dismissed.status).toBe(200);
    const after = await page(`/jobs/${id}`);
    expectInert(after.page, PAYLOAD);
  });

  it('outputs made of client text on the results and job pages', async () => {
    const created = await execute(
      s.base,
      'echo',
      { inputs: { stringInput: PAYLOAD, complexInput: { value: PAYLOAD, mediaType: 'text/plain' } } },
      { Prefer: 'respond-async' },
    );
    expect(created.status, created.text).toBe(201);
    const id = created.json.jobID as string;
    await pollJob(s.base, id, (st) => st === 'successful');
    for (const p of [`/jobs/${id}/results`, `/jobs/${id}`]) {
      const { page: html } = await page(p);
      expectInert(html, PAYLOAD);
      expect(html.withAttr('data-output-id', 'stringInput')).toHaveLength(1);
    }
  });

  it('only http(s) URLs a client sent become links (javascript:, data: stay text)', () => {
    for (const href of [
      'javascript:alert(1)',
      ' JavaScript:alert(1)',
      'data:text/html,<script>',
      'vbscript:x',
      'nonsense',
    ]) {
      expect(safeHref(href), href).toBeUndefined();
    }
    expect(safeHref('https://example.org/a?b=c')).toBe('https://example.org/a?b=c');
  });

  it('templates write raw HTML only for the layout body and includes', () => {
    const dir = fileURLToPath(new URL('../../src/html/templates/', import.meta.url));
    for (const file of readdirSync(dir)) {
      const text = readFileSync(path.join(dir, file), 'utf8');
      for (const m of text.matchAll(/<%~\s*([^%]*)%>/g)) {
        expect(m[1]!.trim(), `${file}: ${m[0]}`).toMatch(/^(it\.body|include\('\.\/[\w-]+', \{[^}]*\}\))$/);
      }
    }
  });
});

describe('static assets', () => {
  it("serves OpenLayers and the pages' own script and styles from this server", async () => {
    for (const [name, type] of [
      ['ol.js', 'text/javascript'],
      ['ol.css', 'text/css'],
      ['gateway.js', 'text/javascript'],
      ['gateway.css', 'text/css'],
    ] as const) {
      const r = await get(`/assets/${name}`);
      expect(r.status, name).toBe(200);
      expect(r.contentType, name).toContain(type);
      expect(r.bytes.length, name).toBeGreaterThan(500);
    }
    expect((await get('/assets/ol.js')).text).toMatch(/\bol\b/);
  });

  it('serves nothing else: no traversal, no other file of node_modules', async () => {
    for (const p of [
      '/assets/..%2Fpackage.json',
      '/assets/%2e%2e%2f%2e%2e%2fpackage.json',
      '/assets/package.json',
      '/assets/constructor',
      '/assets/__proto__',
      '/assets/ol.js%00',
    ]) {
      const r = await get(p);
      expect(r.status, p).toBe(404);
      expect(r.text, p).not.toContain('"dependencies"');
    }
    const raw = await fetch(`${s.base}/assets/../package.json`);
    expect(raw.status).not.toBe(200);
    await raw.text();
  });

  it('an unknown asset is a 404 exception in JSON, not sniffed, and its name is not echoed as text', async () => {
    const r = await get('/assets/%3Cb%3Enope.js');
    expect(r.status).toBe(404);
    expect(r.contentType).toMatch(/^application\/json/);
    expect(r.json.status).toBe(404);
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('revalidation: ETag and Last-Modified, 304 for a matching If-None-Match or If-Modified-Since', async () => {
    for (const name of ['gateway.js', 'ol.css']) {
      const first = await get(`/assets/${name}`);
      const etag = first.headers.get('etag');
      const modified = first.headers.get('last-modified');
      expect(etag, name).toMatch(/^(W\/)?"[^"]+"$/);
      expect(modified, name).not.toBeNull();
      // fetch adds `Cache-Control: no-cache` to a conditional request unless told otherwise (and koa
      // then answers in full); a browser revalidating sends `max-age=0`.
      for (const conditional of [{ 'If-None-Match': etag! }, { 'If-Modified-Since': modified! }]) {
        const headers = { ...conditional, 'Cache-Control': 'max-age=0' };
        const again = await request(`${s.base}/assets/${name}`, { headers });
        expect(again.status, `${name} ${JSON.stringify(headers)}`).toBe(304);
        expect(again.bytes.length).toBe(0);
        expect(again.headers.get('etag')).toBe(etag);
      }
      const stale = await request(`${s.base}/assets/${name}`, {
        headers: {
          'If-None-Match': '"something-else"',
          'If-Modified-Since': new Date(Date.parse(modified!) - 60_000).toUTCString(),
        },
      });
      expect(stale.status, name).toBe(200);
      expect(stale.bytes.equals(first.bytes)).toBe(true);
    }
  });
});

describe('WPS landing page', () => {
  it('a browser at the bare endpoint gets a page with the GetCapabilities URL and the processes', async () => {
    const r = await request(s.wps, { headers: { Accept: BROWSER_ACCEPT } });
    expect(r.status).toBe(200);
    expect(r.contentType).toBe('text/html; charset=utf-8');
    const p = parsePage(r.text);
    const url = attr(p.byId('capabilities-url')!, 'value')!;
    expect(url).toBe(`${s.wps}?service=WPS&request=GetCapabilities`);
    const caps = await request(url);
    expect(caps.status).toBe(200);
    expect(caps.text).toContain('Capabilities');
    const ids = p.withAttr('data-process-id').map((e) => attr(e, 'data-process-id'));
    expect(ids).toEqual(s.gateway.registry.list().map((e) => e.description.id));
  });

  it('WPS clients keep XML: no Accept, XML Accept, or any parameter', async () => {
    for (const [url, accept] of [
      [s.wps, undefined],
      [s.wps, 'text/xml'],
      [`${s.wps}?service=WPS&request=GetCapabilities`, BROWSER_ACCEPT],
    ] as const) {
      const r = await request(url, accept ? { headers: { Accept: accept } } : {});
      expect(r.contentType, `${url} ${accept}`).toBe('text/xml');
    }
  });
});

describe('base map', () => {
  it('none unless configured; server.map gives the job map its tiles and the page policy their origin', async () => {
    const { page: p, reply } = await page(`/jobs/${apiJob}`);
    expect(attr(p.byId('map')!, 'data-base-map')).toBe('');
    expect(reply.headers.get('content-security-policy')).not.toMatch(/tile/);
    const mapped = await startWpsServer({
      extraServer: [
        '  map:',
        '    url: https://{a-c}.tile.example.org/{z}/{x}/{y}.png',
        "    attribution: '© Example'",
      ],
    });
    try {
      const r = await request(`${mapped.base}/jobs?f=html`);
      expect(r.headers.get('content-security-policy')).toContain('img-src ');
      expect(r.headers.get('content-security-policy')).toContain('https://*.tile.example.org');
      const created = await execute(
        mapped.base,
        'hello-world',
        { inputs: { name: 'map' } },
        { Prefer: 'respond-async' },
      );
      const id =
        created.json?.jobID ?? /jobs\/([0-9a-f-]{36})/.exec(created.headers.get('location') ?? '')?.[1];
      expect(id, created.text).toBeTruthy();
      const job = parsePage((await request(`${mapped.base}/jobs/${id}?f=html`)).text);
      expect(attr(job.byId('map')!, 'data-base-map')).toBe('https://{a-c}.tile.example.org/{z}/{x}/{y}.png');
      expect(attr(job.byId('map')!, 'data-base-map-attribution')).toBe('© Example');
    } finally {
      await mapped.close();
    }
  });
});
