/**
 * The HTML pages in a real browser (Debian's Chromium through playwright-core) against a real server
 * publishing the bundled processes, buffer among them: every page loads with its key fields and
 * without console errors or failed requests; a `sleep` job started from the process page's form shows
 * its progress advancing on the jobs monitor opened before, and finishing, without a reload; a buffer
 * job's page draws the buffered polygon on its map where the map's view puts it; a running job is
 * dismissed from its page; client markup in job inputs and messages shows as text and runs nothing.
 * Screenshots go to .tmp/screenshots/.
 */
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { FIXTURES } from '../helpers/gateway.ts';
import { describeWithChromium, launchChromium, type BrowserSession } from '../helpers/browser.ts';
import { mercator } from '../helpers/mercator.ts';
import { execute, pollJob, request } from '../helpers/oaproc-http.ts';
import { startWpsServer, type WpsServer } from '../helpers/wps.ts';

const CRS84 = 'http://www.opengis.net/def/crs/OGC/1.3/CRS84';
/** Markup a client might send; on a page it must stay text and set nothing. */
const PAYLOAD = '<img src=x onerror=window.__pwned=1><script>window.__pwned=1</script>';

/** The buffered square: its centre, half its side and the buffer distance, in degrees. */
const SQUARE = { lon: 10, lat: 45, half: 0.5, distance: 0.3 };

interface Watched {
  page: Page;
  /** Console errors, uncaught exceptions, failed requests and error responses, as text. */
  problems: string[];
  /** Every URL the page requested. */
  requested: string[];
}

let s: WpsServer;
let browser: BrowserSession;
let context: BrowserContext;
const watched: Watched[] = [];
/** A finished echo job (OGC API), a finished WPS job and a finished buffer job. */
let echoJob: string;
let wpsJob: string;
let bufferJob: string;

async function open(p: string): Promise<Watched> {
  const page = await context.newPage();
  const w: Watched = { page, problems: [], requested: [] };
  page.on('console', (m) => {
    if (m.type() === 'error') w.problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => w.problems.push(`exception: ${e.message}`));
  page.on('request', (r) => w.requested.push(r.url()));
  page.on('requestfailed', (r) => w.problems.push(`failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('response', (r) => {
    if (r.status() >= 400) w.problems.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  watched.push(w);
  const response = await page.goto(`${s.base}${p}`);
  expect(response?.status(), p).toBe(200);
  expect(response?.headers()['content-type'], p).toMatch(/^text\/html/);
  return w;
}

const text = (page: Page, selector: string) => page.locator(selector).first().innerText();
const attr = async (page: Page, selector: string, name: string) =>
  (await page.locator(selector).first().getAttribute(name)) ?? undefined;

async function waitJob(id: string, status = 'successful') {
  await pollJob(s.base, id, (st) => st === status, 20_000);
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * No page opened in this test wrote an error to its console (a CSP violation, a failed script, a 404
 * favicon), threw, or saw a request fail or answer 4xx/5xx; none fetched anything from another server.
 */
function expectNoProblems(): void {
  for (const w of watched) {
    expect(w.problems, w.page.url()).toEqual([]);
    expect(
      w.requested.filter((url) => !url.startsWith(`${s.base}/`) && !url.startsWith('data:')),
      w.page.url(),
    ).toEqual([]);
  }
}

type Rgba = [number, number, number, number];

/** The colours at these pixels of a PNG, decoded by the browser itself (on a blank page, no CSP). */
async function pixels(png: Buffer, points: Array<[number, number]>): Promise<Rgba[]> {
  const blank = await context.newPage();
  try {
    return (await blank.evaluate(`(async () => {
      const bytes = Uint8Array.from(atob(${JSON.stringify(png.toString('base64'))}), (c) => c.charCodeAt(0));
      const image = await createImageBitmap(new Blob([bytes], { type: 'image/png' }));
      const canvas = new OffscreenCanvas(image.width, image.height);
      const g = canvas.getContext('2d');
      g.drawImage(image, 0, 0);
      return ${JSON.stringify(points)}.map(([x, y]) => [...g.getImageData(Math.round(x), Math.round(y), 1, 1).data]);
    })()`)) as Rgba[];
  } finally {
    await blank.close();
  }
}

/** How far apart two colours are (sum of the channel differences). */
const distance = (a: Rgba, b: Rgba) => a.reduce((sum, v, i) => sum + Math.abs(v - b[i]!), 0);

describeWithChromium('HTML pages in Chromium', () => {
  beforeAll(async () => {
    const say = path.join(FIXTURES, 'processes', 'say.ts');
    [s, browser] = await Promise.all([
      startWpsServer({
        processes: ['hello-world', 'echo', 'sleep', 'buffer'],
        extraResources: [`  say:\n    type: process\n    processor: {name: ${say}}`],
      }),
      launchChromium(),
    ]);
    context = await browser.browser.newContext({ viewport: { width: 1200, height: 800 } });
    const { lon, lat, half } = SQUARE;
    const square = [
      [lon - half, lat - half],
      [lon + half, lat - half],
      [lon + half, lat + half],
      [lon - half, lat + half],
      [lon - half, lat - half],
    ];
    const [echo, buffer, wps] = await Promise.all([
      execute(
        s.base,
        'echo',
        {
          inputs: {
            stringInput: 'from the API',
            bboxInput: { bbox: [5, 45, 10, 47], crs: CRS84 },
          },
        },
        { Prefer: 'respond-async' },
      ),
      execute(
        s.base,
        'buffer',
        {
          inputs: {
            data: {
              value: {
                type: 'Feature',
                properties: { name: 'square' },
                geometry: { type: 'Polygon', coordinates: [square] },
              },
              mediaType: 'application/geo+json',
            },
            distance: SQUARE.distance,
          },
          outputs: { buffered: { format: { mediaType: 'application/geo+json' } } },
        },
        { Prefer: 'respond-async' },
      ),
      request(
        `${s.wps}?service=WPS&version=1.0.0&request=Execute&identifier=echo&DataInputs=stringInput=from-wps&storeExecuteResponse=true&status=true`,
      ),
    ]);
    expect(echo.status, echo.text).toBe(201);
    expect(buffer.status, buffer.text).toBe(201);
    echoJob = echo.json.jobID;
    bufferJob = buffer.json.jobID;
    wpsJob = /status\/([0-9a-f-]{36})\.xml/.exec(wps.text)![1]!;
    await Promise.all([waitJob(echoJob), waitJob(bufferJob), waitJob(wpsJob)]);
  }, 30_000);

  // The pages of a test are closed after it (live pages poll the server until then).
  afterEach(async () => {
    for (const w of watched.splice(0)) await w.page.close();
  });
  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await s?.close();
  });

  it('every page loads with its key fields, a screenshot each', async () => {
    const landing = await open('/');
    expect(await text(landing.page, '#page-title')).toBeTruthy();
    for (const link of ['processes', 'jobs', 'conformance', 'wps']) {
      expect(await landing.page.locator(`[data-testid=link-${link}]`).count(), link).toBe(1);
    }
    expect(await attr(landing.page, '[data-testid=alternate]', 'href')).toBe(`${s.base}/?f=json`);
    await browser.screenshot(landing.page, 'page-landing');

    const conformance = await open('/conformance?f=html');
    expect(await text(conformance.page, '#conformance-classes')).toContain(
      'http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/html',
    );
    await browser.screenshot(conformance.page, 'page-conformance');

    const processes = await open('/processes?f=html');
    const ids = await processes.page
      .locator('#process-list tr[data-process-id]')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-process-id')));
    expect(ids).toEqual(expect.arrayContaining(['hello-world', 'echo', 'sleep', 'buffer', 'say']));
    await browser.screenshot(processes.page, 'page-processes');

    const buffer = await open('/processes/buffer?f=html');
    expect(await text(buffer.page, '#page-title')).toContain('Buffer');
    const inputs = await buffer.page
      .locator('#process-inputs tr[data-input-id]')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-input-id')));
    expect(inputs).toEqual(['data', 'distance', 'quadsegs']);
    expect(await buffer.page.locator('fieldset[data-input-id] #input-distance').count()).toBe(1);
    // The script enabled the form, and filled the request with the default value of quadsegs.
    await expect.poll(() => buffer.page.locator('#execute-submit').isEnabled()).toBe(true);
    expect(JSON.parse(await buffer.page.locator('#execute-request').inputValue())).toMatchObject({
      inputs: { quadsegs: 30 },
    });
    await browser.screenshot(buffer.page, 'page-process-buffer');

    const jobs = await open('/jobs?f=html');
    await jobs.page.locator(`#job-rows tr[data-job-id="${wpsJob}"]`).waitFor();
    for (const id of [echoJob, wpsJob, bufferJob]) {
      expect(await attr(jobs.page, `#job-rows tr[data-job-id="${id}"]`, 'data-status'), id).toBe(
        'successful',
      );
      expect(await attr(jobs.page, `progress[data-job-id="${id}"]`, 'data-progress'), id).toBe('100');
    }
    expect(await text(jobs.page, `#job-rows tr[data-job-id="${wpsJob}"] .protocol`)).toBe('WPS 1.0.0');
    expect(await text(jobs.page, `#job-rows tr[data-job-id="${echoJob}"] .protocol`)).toBe(
      'OGC API - Processes',
    );
    expect(Number(await attr(jobs.page, '#job-count', 'data-number-matched'))).toBe(3);
    expect(await jobs.page.locator('#job-filters').count()).toBe(1);
    await browser.screenshot(jobs.page, 'page-jobs-monitor');

    const job = await open(`/jobs/${echoJob}?f=html`);
    expect(await attr(job.page, '#job-status', 'data-status')).toBe('successful');
    expect(await attr(job.page, '#job-live', 'data-terminal')).toBe('true');
    expect(await text(job.page, '#job-inputs')).toContain('from the API');
    expect(await job.page.locator('#job-outputs tr[data-output-id="stringInput"]').count()).toBe(1);
    expect(await attr(job.page, '#results-link', 'href')).toBe(`${s.base}/jobs/${echoJob}/results?f=html`);
    const wpsStatus = await attr(job.page, '#wps-status-link', 'href');
    expect(wpsStatus).toMatch(new RegExp(`/status/${echoJob}\\.xml$`));
    expect((await request(wpsStatus!)).text).toContain('ProcessSucceeded');
    const outputLink = await attr(job.page, '#job-outputs a[data-role=output-link]', 'href');
    expect((await request(outputLink!)).status).toBe(200);
    // The bounding box input and its echo, the output, are on the map.
    await job.page.locator('#map[data-rendered="true"]').waitFor();
    expect(await attr(job.page, '#map', 'data-features')).toBe('2');
    await browser.screenshot(job.page, 'page-job-echo');

    const results = await open(`/jobs/${echoJob}/results?f=html`);
    expect(await results.page.locator('#results tr[data-output-id="stringInput"]').count()).toBe(1);
    expect(await text(results.page, '#results')).toContain('from the API');
    await browser.screenshot(results.page, 'page-results');

    const api = await open('/api?f=html');
    await api.page.locator('.swagger-ui .opblock').first().waitFor();
    expect(await api.page.locator('.swagger-ui .opblock-summary-path').allInnerTexts()).toEqual(
      expect.arrayContaining(['/processes/buffer/execution', '/processes/sleep/execution', '/jobs/{jobId}']),
    );
    await browser.screenshot(api.page, 'page-api-swagger-ui');

    const wps = await open('/wps');
    expect(await wps.page.locator('#capabilities-url').inputValue()).toBe(
      `${s.wps}?service=WPS&request=GetCapabilities`,
    );
    const wpsIds = await wps.page
      .locator('#wps-processes tr[data-process-id]')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-process-id')));
    expect(wpsIds).toEqual(expect.arrayContaining(['echo', 'sleep', 'buffer']));
    await browser.screenshot(wps.page, 'page-wps-landing');
    expectNoProblems();
  });

  it('a sleep job started from the form advances and finishes on the monitor opened before, without a reload', async () => {
    const monitor = await open('/jobs?f=html&processID=sleep');
    let navigations = 0;
    monitor.page.on('framenavigated', (frame) => {
      if (frame === monitor.page.mainFrame()) navigations++;
    });
    await monitor.page.evaluate('window.__marker = "still the same page"');
    await monitor.page.locator('#live-status[data-updated]').waitFor();
    const firstUpdate = Number(await attr(monitor.page, '#live-status', 'data-updated'));
    expect(await monitor.page.locator('#job-rows tr[data-job-id]').count()).toBe(0);

    const form = await open('/processes/sleep?f=html');
    await expect.poll(() => form.page.locator('#execute-submit').isEnabled()).toBe(true);
    await form.page.locator('#input-seconds').fill('4');
    await form.page.locator('#execute-mode').selectOption('async');
    expect(JSON.parse(await form.page.locator('#execute-request').inputValue())).toEqual({
      inputs: { seconds: { value: 4, uom: 's' } },
      response: 'document',
    });
    await Promise.all([
      form.page.waitForURL(/\/jobs\/[0-9a-f-]{36}\?f=html$/),
      form.page.locator('#execute-submit').click(),
    ]);
    const id = /\/jobs\/([0-9a-f-]{36})\?/.exec(form.page.url())![1]!;

    // What the monitor shows of the job, sampled every 100 ms until it says successful.
    const samples: Array<{ status: string; progress: number }> = [];
    const probe = `(() => {
      const row = document.querySelector('#job-rows tr[data-job-id="${id}"]');
      const bar = document.querySelector('progress[data-job-id="${id}"]');
      return row && bar ? { status: row.dataset.status, progress: Number(bar.dataset.progress) } : null;
    })()`;
    for (const deadline = Date.now() + 20_000; samples.at(-1)?.status !== 'successful'; await pause(100)) {
      expect(Date.now(), JSON.stringify(samples)).toBeLessThan(deadline);
      const seen = (await monitor.page.evaluate(probe)) as { status: string; progress: number } | null;
      if (seen) samples.push(seen);
    }
    const progress = samples.map((x) => x.progress);
    expect(progress, 'the bar never goes back').toEqual([...progress].sort((a, b) => a - b));
    const running = new Set(samples.filter((x) => x.status === 'running').map((x) => x.progress));
    expect(
      [...running].filter((p) => p > 0 && p < 100).length,
      JSON.stringify(samples),
    ).toBeGreaterThanOrEqual(2);
    expect(samples.at(-1)).toEqual({ status: 'successful', progress: 100 });
    expect(Number(await attr(monitor.page, '#live-status', 'data-updated'))).toBeGreaterThan(firstUpdate);
    expect(await monitor.page.evaluate('window.__marker')).toBe('still the same page');
    expect(navigations, 'the monitor was never reloaded').toBe(0);
    expect(Number(await attr(monitor.page, '#job-count', 'data-number-matched'))).toBe(1);
    await browser.screenshot(monitor.page, 'live-jobs-monitor-after-sleep');

    // The job page the form opened followed the job too, and links its results once it succeeded.
    await form.page.locator('#job-status[data-status="successful"]').waitFor({ timeout: 10_000 });
    await form.page.locator('#results-link').waitFor();
    expect(await text(form.page, '#job-outputs tr[data-output-id="slept"]')).toContain('4 s');
    await browser.screenshot(form.page, 'live-job-page-after-sleep');
    expectNoProblems();
  });

  it("a buffer job's page draws the buffered square on its map, where the map's view puts it", async () => {
    const job = await open(`/jobs/${bufferJob}?f=html`);
    await job.page.locator('#map[data-rendered="true"]').waitFor();
    const layers = JSON.parse((await attr(job.page, '#map', 'data-layers'))!) as Array<{
      role: string;
      id: string;
    }>;
    expect(layers.map((l) => `${l.role}:${l.id}`)).toEqual(['input:data', 'output:buffered']);
    expect(await attr(job.page, '#map', 'data-features')).toBe('2');
    const viewport = job.page.locator('#map .ol-viewport');
    const box = (await viewport.boundingBox())!;
    const png = await viewport.screenshot();
    await browser.screenshot(job.page, 'page-job-buffer-map');

    // The view fits the buffered square (it holds the input) with 30 px padding: its resolution and
    // centre, and from them where a longitude and latitude lands, computed here from the definitions.
    const { lon, lat, half, distance: d } = SQUARE;
    const [x0, y0] = mercator(lon - half - d, lat - half - d);
    const [x1, y1] = mercator(lon + half + d, lat + half + d);
    const resolution = Math.max((x1 - x0) / (box.width - 60), (y1 - y0) / (box.height - 60));
    const at = (lo: number, la: number): [number, number] => {
      const [x, y] = mercator(lo, la);
      return [
        box.width / 2 + (x - (x0 + x1) / 2) / resolution,
        box.height / 2 - (y - (y0 + y1) / 2) / resolution,
      ];
    };
    const [left] = at(lon - half - d, lat);
    const [right] = at(lon + half + d, lat);
    const [, top] = at(lon, lat + half + d);
    const points: Array<[number, number]> = [
      at(lon, lat), // the centre of the square: input and output
      at(lon + half + d / 2, lat), // in the buffer ring, right: output only
      at(lon, lat + half + d / 2), // in the buffer ring, above: output only
      [right + (box.width - right) / 2, box.height / 2], // right of the polygon: background
      [left / 2, box.height / 2], // left of it: background
      [box.width / 2, top / 2], // above it: background
    ];
    for (const [x, y] of points) {
      expect(x).toBeGreaterThan(0);
      expect(x).toBeLessThan(box.width);
      expect(y).toBeGreaterThan(0);
      expect(y).toBeLessThan(box.height);
    }
    const [centre, ringRight, ringAbove, ...background] = await pixels(png, points);
    const [bg] = background as [Rgba];
    for (const other of background) expect(distance(other, bg), 'one background colour').toBeLessThan(10);
    for (const drawn of [centre!, ringRight!, ringAbove!]) {
      expect(distance(drawn, bg), `${String(drawn)} is not the background ${String(bg)}`).toBeGreaterThan(80);
    }
    // The output's fill is orange (#d9480f at 45 %): much more red than blue.
    for (const ring of [ringRight!, ringAbove!]) expect(ring[0] - ring[2], String(ring)).toBeGreaterThan(60);
    expectNoProblems();
  });

  it("a buffer job's GML output is fetched as GeoJSON and drawn on the map", async () => {
    const { lon, lat, half } = SQUARE;
    const created = await execute(
      s.base,
      'buffer',
      {
        inputs: {
          data: {
            value: {
              type: 'Polygon',
              coordinates: [
                [
                  [lon - half, lat - half],
                  [lon + half, lat - half],
                  [lon + half, lat + half],
                  [lon - half, lat - half],
                ],
              ],
            },
            mediaType: 'application/geo+json',
          },
          distance: SQUARE.distance,
        },
        outputs: { buffered: { format: { mediaType: 'application/gml+xml' } } },
      },
      { Prefer: 'respond-async' },
    );
    expect(created.status, created.text).toBe(201);
    const id = created.json.jobID as string;
    await waitJob(id);
    const job = await open(`/jobs/${id}?f=html`);
    await job.page.locator('#map[data-loaded="true"]').waitFor({ timeout: 15_000 });
    const layers = JSON.parse((await attr(job.page, '#map', 'data-layers'))!) as Array<{ url?: string }>;
    expect(layers[1]?.url).toBe(`${s.base}/jobs/${id}/layers/output/buffered.geojson`);
    expect(job.requested).toContain(layers[1]!.url);
    // The input triangle and the buffered polygon from the GML.
    expect(await attr(job.page, '#map', 'data-features')).toBe('2');
    expect(await attr(job.page, '#map', 'data-skipped')).toBe('');
    expectNoProblems();
  });

  it('a running job page with a layer the map cannot read stays live and draws the other layers', async () => {
    const created = await execute(
      s.base,
      'echo',
      {
        inputs: {
          stringInput: 'a',
          pause: 3,
          complexInput: { value: { type: 'FeatureCollection' }, mediaType: 'application/json' },
          bboxInput: { bbox: [5, 45, 6, 46] },
        },
      },
      { Prefer: 'respond-async' },
    );
    expect(created.status, created.text).toBe(201);
    const id = created.json.jobID as string;
    // The server leaves the malformed input off the map; a broken layer slipped into the page
    // anyway (as an older server or a bug might send) must not stop the page either.
    const broken = JSON.stringify({
      role: 'input',
      id: 'broken',
      kind: 'geojson',
      data: { type: 'FeatureCollection' },
    });
    const url = `${s.base}/jobs/${id}?f=html`;
    await context.route(url, async (route) => {
      const response = await route.fetch();
      const body = (await response.text()).replace(
        'data-layers="[',
        `data-layers="[${broken.replaceAll('"', '&quot;')},`,
      );
      await route.fulfill({ response, body });
    });
    try {
      const job = await open(`/jobs/${id}?f=html`);
      expect(await attr(job.page, '#job-live', 'data-terminal')).toBe('false');
      expect(await attr(job.page, '#map', 'data-skipped')).toBe('input: broken');
      expect(await attr(job.page, '#map', 'data-features')).toBe('1');
      await job.page.locator('#job-status[data-status="successful"]').waitFor({ timeout: 15_000 });
      await job.page.locator('#map[data-rendered="true"]').waitFor();
      expect(await attr(job.page, '#map', 'data-features')).toBe('2');
    } finally {
      await context.unroute(url);
    }
    expectNoProblems();
  });

  it('dismisses a running job from its page; the API confirms', async () => {
    const created = await execute(s.base, 'sleep', { inputs: { seconds: 30 } }, { Prefer: 'respond-async' });
    expect(created.status, created.text).toBe(201);
    const id = created.json.jobID as string;
    await waitJob(id, 'running');
    const job = await open(`/jobs/${id}?f=html`);
    expect(await attr(job.page, '#job-live', 'data-terminal')).toBe('false');
    const button = job.page.locator('#dismiss-button');
    await expect.poll(() => button.isEnabled()).toBe(true);
    await button.click();
    await job.page.locator('#job-status[data-status="dismissed"]').waitFor({ timeout: 10_000 });
    expect(await job.page.locator('#dismiss-error').count()).toBe(0);
    expect(await attr(job.page, '#job-live', 'data-terminal')).toBe('true');
    expect((await request(`${s.base}/jobs/${id}`)).json.status).toBe('dismissed');
    await browser.screenshot(job.page, 'page-job-dismissed');
    expectNoProblems();
  });

  it('client markup in job inputs, messages and outputs shows as text and runs nothing', async () => {
    const [said, echoed] = await Promise.all([
      execute(s.base, 'say', { inputs: { message: PAYLOAD } }, { Prefer: 'respond-async' }),
      execute(s.base, 'echo', { inputs: { stringInput: PAYLOAD } }, { Prefer: 'respond-async' }),
    ]);
    expect(said.status, said.text).toBe(201);
    expect(echoed.status, echoed.text).toBe(201);
    const sayJob = said.json.jobID as string;
    const echoed2 = echoed.json.jobID as string;
    await waitJob(echoed2);
    await expect.poll(async () => (await request(`${s.base}/jobs/${sayJob}`)).json.message).toBe(PAYLOAD);

    const sayPage = await open(`/jobs/${sayJob}?f=html`);
    const monitor = await open('/jobs?f=html&processID=say');
    const echoPage = await open(`/jobs/${echoed2}?f=html`);
    const results = await open(`/jobs/${echoed2}/results?f=html`);
    // Let the live pages replace their parts with fresh copies at least once.
    await monitor.page.locator('#live-status[data-updated]').waitFor();
    await pause(1500);

    expect(await text(sayPage.page, '#job-message')).toBe(PAYLOAD);
    expect(await text(sayPage.page, '#job-inputs')).toContain(PAYLOAD);
    expect(await text(monitor.page, `#job-rows tr[data-job-id="${sayJob}"]`)).toContain(PAYLOAD);
    expect(await text(echoPage.page, '#job-outputs')).toContain(PAYLOAD);
    expect(await text(results.page, '#results')).toContain(PAYLOAD);
    for (const [w, name] of [
      [sayPage, 'escaping-job-message'],
      [monitor, 'escaping-monitor'],
      [echoPage, 'escaping-job-outputs'],
      [results, 'escaping-results'],
    ] as const) {
      expect(await w.page.evaluate('typeof window.__pwned'), name).toBe('undefined');
      expect(await w.page.locator('main img, main script, body > script:not([src])').count(), name).toBe(0);
      await browser.screenshot(w.page, name);
    }
    expect((await request(`${s.base}/jobs/${sayJob}`, { method: 'DELETE' })).status).toBe(200);
    expectNoProblems();
  });
});
