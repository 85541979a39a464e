/**
 * Swagger UI (`/api?f=html`) in a real browser (Debian's Chromium through playwright-core), under the
 * Content-Security-Policy of every page: it draws the operations of this server's definition, with no
 * CSP violation, console error or failed request, and loads nothing from another server.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithChromium, launchChromium, type BrowserSession } from '../helpers/browser.ts';
import { startWpsServer, type WpsServer } from '../helpers/wps.ts';

describeWithChromium('Swagger UI in Chromium', () => {
  let s: WpsServer;
  let browser: BrowserSession;
  beforeAll(async () => {
    s = await startWpsServer();
    browser = await launchChromium();
  }, 30_000);
  afterAll(async () => {
    await browser?.close();
    await s?.close();
  });

  it('renders the operations under the page CSP, with no violation and nothing from elsewhere', async () => {
    const context = await browser.browser.newContext();
    try {
      const page = await context.newPage();
      const problems: string[] = [];
      const requested: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(`console: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`exception: ${e.message}`));
      page.on('request', (r) => requested.push(r.url()));
      page.on('requestfailed', (r) => problems.push(`failed: ${r.url()}`));
      page.on('response', (r) => {
        if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
      });
      // Violations of the policy, as the page itself sees them (reported whether or not they log).
      await page.addInitScript(`
        window.__csp = [];
        document.addEventListener('securitypolicyviolation', (e) =>
          window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
      `);
      const response = await page.goto(`${s.base}/api?f=html`);
      expect(response?.status()).toBe(200);
      expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
      // Swagger UI fetched the definition and drew one block per operation.
      await page.locator('.opblock').first().waitFor({ timeout: 15_000 });
      expect(await page.locator('.opblock').count()).toBeGreaterThanOrEqual(10);
      expect(await page.locator('.info .title').first().innerText()).toContain(
        s.gateway.config.metadata.identification.title,
      );
      expect(await page.evaluate(() => (globalThis as unknown as { __csp: string[] }).__csp)).toEqual([]);
      expect(problems).toEqual([]);
      expect(requested.filter((u) => !u.startsWith(`${s.base}/`) && !u.startsWith('data:'))).toEqual([]);
    } finally {
      await context.close();
    }
  }, 40_000);
});
