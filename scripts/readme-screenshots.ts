/**
 * Makes the README's two screenshots: the jobs monitor (jobs of both protocols, two of them running)
 * and a buffer job's page with its map, as docs/jobs-monitor.png and docs/job-page-map.png (1200×800).
 * Not part of the tests: run it by hand after changing the pages, then look at the pictures.
 *
 *   node scripts/readme-screenshots.ts
 *
 * It starts a gateway on a free port with a temporary folder (removed at the end), runs a few jobs
 * through OGC API - Processes and WPS 1.0.0, and drives Debian's Chromium (CHROMIUM_PATH for another)
 * with playwright-core, as the browser tests do. Nothing is fetched from outside (no base map).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Page } from 'playwright-core';
import { parseConfig } from '../src/config/load.ts';
import { createGateway } from '../src/gateway.ts';
import { listen } from '../src/server.ts';
import { silentLogger } from '../src/util/logger.ts';
import { CHROMIUM, CHROMIUM_ARGS } from '../test/helpers/browser.ts';

const DOCS = fileURLToPath(new URL('../docs/', import.meta.url));
const VIEWPORT = { width: 1200, height: 800 };

const dir = mkdtempSync(path.join(tmpdir(), 'gw-readme-'));
const yaml = `
server:
  bind: {host: 127.0.0.1, port: 0}
  manager:
    work_dir: ${path.join(dir, 'work')}
    output_dir: ${path.join(dir, 'outputs')}
    connection: ${path.join(dir, 'jobs.sqlite')}
    parallel_processes: 4
logging:
  level: silent
resources:
${['hello-world', 'echo', 'sleep', 'buffer', 'centroids']
  .map((p) => `  ${p}:\n    type: process\n    processor: {name: ${p}}`)
  .join('\n')}
`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const gateway = await createGateway(
  parseConfig(yaml, path.join(dir, 'gateway.yml'), {}).config,
  silentLogger(),
);
const server = await listen(gateway);
const base = server.url;
const wps = `${base}/wps`;

/** An asynchronous OGC API job; its id. */
async function oaproc(processId: string, inputs: unknown): Promise<string> {
  const res = await fetch(`${base}/processes/${processId}/execution`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Prefer: 'respond-async' },
    body: JSON.stringify({ inputs }),
  });
  if (res.status !== 201) throw new Error(`${processId}: HTTP ${res.status} ${await res.text()}`);
  return ((await res.json()) as { jobID: string }).jobID;
}

/** An asynchronous WPS job (KVP, stored, with status); its id. */
async function wpsJob(identifier: string, dataInputs: string): Promise<string> {
  const res = await fetch(
    `${wps}?service=WPS&version=1.0.0&request=Execute&identifier=${identifier}&DataInputs=${encodeURIComponent(dataInputs)}&storeExecuteResponse=true&status=true`,
  );
  const id = /status\/([0-9a-f-]{36})\.xml/.exec(await res.text())?.[1];
  if (!id) throw new Error(`WPS ${identifier}: no status location`);
  return id;
}

async function status(id: string): Promise<{ status: string; progress?: number }> {
  return (await (await fetch(`${base}/jobs/${id}`)).json()) as { status: string; progress?: number };
}

async function until(id: string, done: (s: { status: string; progress?: number }) => boolean) {
  for (let i = 0; !done(await status(id)); i++) {
    if (i > 300) throw new Error(`job ${id} never got there`);
    await sleep(100);
  }
}

try {
  // A river and three wells near Lyon, buffered: the job page's map.
  const features = {
    type: 'FeatureCollection',
    features: [
      {
        type: 'Feature',
        properties: { name: 'river' },
        geometry: {
          type: 'LineString',
          coordinates: [
            [4.78, 45.7],
            [4.81, 45.74],
            [4.84, 45.75],
            [4.86, 45.79],
            [4.9, 45.81],
          ],
        },
      },
      ...[
        [4.8, 45.79],
        [4.88, 45.74],
        [4.92, 45.77],
      ].map((coordinates, i) => ({
        type: 'Feature',
        properties: { name: `well ${i + 1}` },
        geometry: { type: 'Point', coordinates },
      })),
    ],
  };
  const finished = [
    await wpsJob('hello-world', 'name=QGIS'),
    await oaproc('echo', { stringInput: 'hello', bboxInput: { bbox: [4.7, 45.6, 5, 45.9] } }),
    await wpsJob('echo', 'stringInput=from WPS'),
    await oaproc('centroids', { data: { value: features, mediaType: 'application/geo+json' } }),
  ];
  const buffer = await oaproc('buffer', {
    data: { value: features, mediaType: 'application/geo+json' },
    distance: 0.012,
  });
  finished.push(buffer);
  for (const id of finished) await until(id, (s) => s.status === 'successful');
  // Two running jobs, one per protocol, the OGC API one started a little earlier.
  const running = [await oaproc('sleep', { seconds: 40 })];
  await sleep(4000);
  running.push(await wpsJob('sleep', 'seconds=60'));
  for (const id of running) await until(id, (s) => s.status === 'running' && (s.progress ?? 0) > 0);

  mkdirSync(DOCS, { recursive: true });
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  try {
    const context = await browser.newContext({ viewport: VIEWPORT });
    const page: Page = await context.newPage();

    await page.goto(`${base}/jobs?f=html`);
    await page.locator('#live-status[data-updated]').waitFor();
    await page.screenshot({ path: path.join(DOCS, 'jobs-monitor.png') });

    await page.goto(`${base}/jobs/${buffer}?f=html`);
    await page.locator('#map[data-rendered="true"]').waitFor();
    // Scrolled so that the map ends at the bottom of the picture, the outputs above it.
    await page.evaluate(
      `window.scrollTo(0, document.querySelector('#map-legend').getBoundingClientRect().bottom + window.scrollY + 16 - ${VIEWPORT.height})`,
    );
    await page.screenshot({ path: path.join(DOCS, 'job-page-map.png') });
    console.log(`Wrote ${path.join(DOCS, 'jobs-monitor.png')} and ${path.join(DOCS, 'job-page-map.png')}`);
  } finally {
    await browser.close();
  }
  for (const id of running) await fetch(`${base}/jobs/${id}`, { method: 'DELETE' });
} finally {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}
