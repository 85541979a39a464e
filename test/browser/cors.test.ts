/**
 * CORS in a real browser: a page served on one origin calls the gateway on another (another port)
 * with fetch, through both protocols. With the default configuration everything works, preflights
 * included (JSON and XML POSTs), and the page reads the exposed Location and Preference-Applied
 * headers; with `allowed_origins` that leaves the page's origin out, Chromium blocks every call and
 * the preflighted POSTs never reach the server. Screenshots go to .tmp/screenshots/.
 */
import type { ConsoleMessage } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  describeWithChromium,
  launchChromium,
  servePage,
  type BrowserSession,
  type PageServer,
} from '../helpers/browser.ts';
import { startWpsServer, type WpsServer } from '../helpers/wps.ts';
import { CORS_PAGE } from './cors-page.ts';

/** What the page's check() returns. */
interface Check {
  ok: boolean;
  error?: string;
  [seen: string]: unknown;
}
interface OaprocSeen {
  list: Check;
  execute: Check;
}
interface WpsSeen {
  capabilities: Check;
  execute: Check;
}

const corsErrors = (console: ConsoleMessage[]) =>
  console.filter((m) => m.type() === 'error' && /blocked by CORS policy/.test(m.text())).map((m) => m.text());

async function jobCount(s: WpsServer): Promise<number> {
  return (await s.gateway.jobs.list({ limit: 0 })).total;
}

describeWithChromium('CORS in Chromium: a page on another origin calls the gateway', () => {
  let browser: BrowserSession;
  let pages: PageServer;
  beforeAll(async () => {
    pages = await servePage(CORS_PAGE);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await pages?.close();
  });

  function expectWorks(oaproc: OaprocSeen, wps: WpsSeen, api: WpsServer): void {
    expect(oaproc.list, JSON.stringify(oaproc.list)).toMatchObject({ ok: true, status: 200 });
    expect(oaproc.list.ids).toEqual(expect.arrayContaining(['hello-world', 'echo']));
    expect(oaproc.execute, JSON.stringify(oaproc.execute)).toMatchObject({
      ok: true,
      status: 201,
      preferenceApplied: 'respond-async',
      finalStatus: 'successful',
      dismissStatus: 200,
    });
    expect(oaproc.execute.location).toBe(`${api.base}/jobs/${String(oaproc.execute.jobID)}`);
    expect(oaproc.execute.results).toBe('Hello Browser!');
    expect(wps.capabilities, JSON.stringify(wps.capabilities)).toMatchObject({
      ok: true,
      status: 200,
      root: 'Capabilities',
    });
    expect(wps.capabilities.ids).toEqual(expect.arrayContaining(['hello-world', 'echo']));
    expect(wps.execute, JSON.stringify(wps.execute)).toMatchObject({
      ok: true,
      status: 200,
      succeeded: true,
    });
    expect(String(wps.execute.statusLocation)).toMatch(new RegExp(`^${api.wps}/status/`));
    expect(wps.execute.output).toContain('Hello Browser');
  }

  async function run(origin: string, api: WpsServer) {
    const opened = await browser.open(`${origin}/`);
    const oaproc = (await opened.page.evaluate(`oaproc(${JSON.stringify(api.base)})`)) as OaprocSeen;
    const wps = (await opened.page.evaluate(`wps(${JSON.stringify(api.wps)})`)) as WpsSeen;
    return { ...opened, oaproc, wps };
  }

  describe('default configuration (any origin)', () => {
    let api: WpsServer;
    beforeAll(async () => {
      api = await startWpsServer();
    });
    afterAll(() => api?.close());

    it('both protocols work from the page: preflighted POSTs, exposed Location and Preference-Applied', async () => {
      expect(new URL(pages.origin).origin).not.toBe(new URL(api.base).origin);
      const { page, console, oaproc, wps } = await run(pages.origin, api);
      await browser.screenshot(page, 'cors-default-any-origin');
      expectWorks(oaproc, wps, api);
      expect(corsErrors(console)).toEqual([]);
    });
  });

  describe('allowed_origins lists one origin', () => {
    let api: WpsServer;
    let allowed: string;
    beforeAll(async () => {
      // The same page server under two names: http://localhost:P is listed, http://127.0.0.1:P is not.
      allowed = `http://localhost:${pages.port}`;
      api = await startWpsServer({ extraServer: [`  cors: {allowed_origins: ['${allowed}']}`] });
    });
    afterAll(() => api?.close());

    it('the listed origin works', async () => {
      const { page, console, oaproc, wps } = await run(allowed, api);
      await browser.screenshot(page, 'cors-listed-origin');
      expectWorks(oaproc, wps, api);
      expect(corsErrors(console)).toEqual([]);
    });

    it('another origin is blocked by the browser; the preflighted POSTs never reach the server', async () => {
      const before = await jobCount(api);
      const { page, console, oaproc, wps } = await run(pages.origin, api);
      await browser.screenshot(page, 'cors-origin-not-listed');
      for (const check of [oaproc.list, oaproc.execute, wps.capabilities, wps.execute]) {
        expect(check, JSON.stringify(check)).toMatchObject({ ok: false });
        expect(check.error).toMatch(/TypeError: Failed to fetch/);
      }
      const errors = corsErrors(console);
      // The GETs were answered but not shared with the page; the POSTs stopped at their preflight.
      expect(errors.filter((e) => /No 'Access-Control-Allow-Origin' header/.test(e)).length).toBeGreaterThan(
        0,
      );
      expect(errors.filter((e) => /preflight/.test(e)).length).toBe(2);
      expect(await jobCount(api)).toBe(before);
    });
  });
});
