/**
 * Tests in a real browser: Debian's Chromium (installed by .ci/setup.sh) driven headless by
 * playwright-core, which downloads no browser of its own. Without Chromium a dev machine SKIPS these
 * tests, saying why once; under CI=true they FAIL. Screenshots are kept under .tmp/screenshots/
 * (ignored by git) as test artefacts.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core';
import { describe } from 'vitest';
import { IN_CI } from './ogc-material.ts';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Headless, and nothing that reaches out to Google's services: on a machine with a closed network those
 * connections fail by the dozen at every start. Playwright adds `--headless` and a fresh
 * `--user-data-dir` (a temporary profile it removes on close) itself, and refuses them in `args`.
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const SCREENSHOTS = fileURLToPath(new URL('../../.tmp/screenshots/', import.meta.url));

const missingReason = () =>
  existsSync(CHROMIUM)
    ? undefined
    : `Chromium not found at ${CHROMIUM}: run \`bash .ci/setup.sh\` (installs Debian's chromium) or set CHROMIUM_PATH`;

let warned = false;

/**
 * `describe` for tests that need the browser. Chromium missing: the group is skipped, its name and
 * one warning line saying why; under CI=true the file fails instead.
 */
export function describeWithChromium(name: string, body: () => void): void {
  const missing = missingReason();
  if (missing && IN_CI) throw new Error(`CI=true and ${missing}`);
  if (missing && !warned) {
    warned = true;
    console.warn(`SKIPPED browser tests: ${missing}`);
  }
  describe.skipIf(missing !== undefined)(missing ? `${name} (SKIPPED: ${missing})` : name, body);
}

export interface BrowserSession {
  browser: Browser;
  /** A page in a fresh context (its own cache, preflight cache included), recording its console. */
  open(url: string): Promise<OpenPage>;
  /** Saves a full-page PNG as .tmp/screenshots/{name}.png and returns its path. */
  screenshot(page: Page, name: string): Promise<string>;
  /** Closes every context and the browser (Playwright then removes the profile folder). */
  close(): Promise<void>;
}

export interface OpenPage {
  page: Page;
  context: BrowserContext;
  /** What the page wrote to its console, Chromium's CORS errors included. */
  console: ConsoleMessage[];
}

export async function launchChromium(): Promise<BrowserSession> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const contexts: BrowserContext[] = [];
  return {
    browser,
    async open(url) {
      const context = await browser.newContext();
      contexts.push(context);
      const page = await context.newPage();
      const console: ConsoleMessage[] = [];
      page.on('console', (m) => console.push(m));
      const response = await page.goto(url);
      if (!response?.ok()) throw new Error(`${url} answered ${response?.status() ?? 'nothing'}`);
      return { page, context, console };
    },
    async screenshot(page, name) {
      mkdirSync(SCREENSHOTS, { recursive: true });
      const file = path.join(SCREENSHOTS, `${name.replace(/[^\w.-]+/g, '-')}.png`);
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
    async close() {
      await Promise.allSettled(contexts.map((c) => c.close()));
      await browser.close();
    },
  };
}

export interface PageServer {
  /** Its origin, e.g. http://127.0.0.1:41234 (no trailing slash). */
  origin: string;
  port: number;
  close(): Promise<void>;
}

/**
 * A tiny static server for a test page on its own port (a different origin from the gateway):
 * `html` at `/`, 404 elsewhere. `host` is the name pages are loaded with (`localhost` and `127.0.0.1`
 * are two origins on one machine).
 */
export async function servePage(html: string, host = '127.0.0.1'): Promise<PageServer> {
  const server = createServer((req, res) => {
    if (req.url === '/' || req.url === '/index.html') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(html);
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
