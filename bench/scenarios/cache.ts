/**
 * Scenario 8: the cost of a result-cache hit against a fresh run (issue 14). A second gateway, the
 * same settings, with `buffer` cached (`resources.buffer.cache: {ttl_seconds: 600}`); the request
 * is scenario 3's WPS XML POST (CACHE_N deterministic hexagons, default 1,000; RawDataOutput).
 * Interleaved, CACHE_ROUNDS times (20; QUICK 10): a fresh run (`Cache-Control: no-cache`, which
 * runs the process and replaces the entry), then the same request again (a hit). Latency p50/p99 of
 * each, requests/s of each with wrk at the pool size, and the ratios hit ÷ fresh. Checks that a hit
 * answers the fresh run's bytes and that its job is marked as served from the cache.
 */
import { createHash } from 'node:crypto';
import { env, type Context, type Scenario } from '../lib/context.ts';
import { polygons } from '../lib/geojson.ts';
import { median, quantile } from '../lib/loop.ts';
import { startGateway } from '../lib/peers.ts';
import { errorText, ms, num, ratio, type Target } from '../lib/table.ts';
import { errorsOf, interleaved } from '../lib/wrk.ts';
import { executeXml } from './buffer.ts';

const digest = (bytes: ArrayBuffer) => createHash('sha256').update(new Uint8Array(bytes)).digest('hex');

async function execute(wps: string, body: string, fresh: boolean): Promise<{ ms: number; sha: string }> {
  const t = performance.now();
  const r = await fetch(wps, {
    method: 'POST',
    body,
    headers: { 'Content-Type': 'text/xml', ...(fresh ? { 'Cache-Control': 'no-cache' } : {}) },
    signal: AbortSignal.timeout(120_000),
  });
  const bytes = await r.arrayBuffer();
  const elapsed = performance.now() - t;
  if (!r.ok) throw new Error(`buffer answered ${r.status}: ${new TextDecoder().decode(bytes).slice(0, 300)}`);
  return { ms: elapsed, sha: digest(bytes) };
}

/** The newest job's statusInfo `cache` member (OGC API job list, newest first). */
async function newestJobCache(base: string): Promise<unknown> {
  const r = await fetch(`${base}/jobs?limit=1`, { headers: { Accept: 'application/json' } });
  const body = (await r.json()) as { jobs?: Array<{ cache?: unknown }> };
  return body.jobs?.[0]?.cache;
}

export const cache: Scenario = {
  id: '8',
  title: '8. Result cache: a hit against a fresh run',
  async run(ctx: Context) {
    const { knobs, settings } = ctx;
    const n = env.number('CACHE_N', 1000);
    const rounds = env.number('CACHE_ROUNDS', knobs.quick ? 10 : 20);
    const body = executeXml(polygons(n));
    const gateway = await startGateway(settings, {
      name: 'gateway-cache',
      resources: { buffer: 'cache: {ttl_seconds: 600}' },
    });
    try {
      // Warm-up (GDAL children started, the entry filled), then the check that a hit is one.
      const first = await execute(gateway.wps, body, true);
      const hit0 = await execute(gateway.wps, body, false);
      const marked = (await newestJobCache(gateway.base)) as { hit?: boolean } | undefined;
      const fresh: number[] = [];
      const hits: number[] = [];
      let sameBytes = hit0.sha === first.sha;
      for (let i = 0; i < rounds; i++) {
        const f = await execute(gateway.wps, body, true);
        const h = await execute(gateway.wps, body, false);
        fresh.push(f.ms);
        hits.push(h.ms);
        sameBytes &&= f.sha === h.sha;
      }
      fresh.sort((a, b) => a - b);
      hits.sort((a, b) => a - b);
      const request = (noCache: boolean) => ({
        url: gateway.wps,
        method: 'POST' as const,
        body,
        headers: { 'Content-Type': 'text/xml', ...(noCache ? { 'Cache-Control': 'no-cache' } : {}) },
      });
      const load = await interleaved(
        [
          { key: 'fresh', request: request(true) },
          { key: 'hit', request: request(false) },
        ],
        { seconds: knobs.duration, connections: settings.pool, rounds: knobs.rounds },
      );
      const lf = load.get('fresh')!;
      const lh = load.get('hit')!;
      const p50 = { fresh: median(fresh), hit: median(hits) };
      const p99 = { fresh: quantile(fresh, 0.99), hit: quantile(hits, 0.99) };
      const targets: Target[] = [
        {
          name: 'a hit answers the bytes of a fresh run',
          goal: 'identical (SHA-256)',
          measured: sameBytes ? 'identical' : 'different',
          pass: sameBytes,
        },
        {
          name: 'a hit is marked as served from the cache',
          goal: 'statusInfo cache.hit',
          measured: JSON.stringify(marked ?? null),
          pass: marked?.hit === true,
        },
        {
          name: 'a hit is cheaper than a fresh run',
          goal: 'p50 hit < p50 fresh',
          measured: `${ratio(p50.hit, p50.fresh)} of the fresh p50`,
          pass: p50.hit < p50.fresh,
        },
      ];
      ctx.report.add({
        id: this.id,
        title: this.title,
        notes: [
          `A gateway of its own (pool ${settings.pool}, queue ${settings.queue}) with \`resources.buffer.cache: {ttl_seconds: 600}\`; ` +
            `sync WPS XML POST buffer of ${num(n)} polygons (RawDataOutput GeoJSON). Latency: ${rounds} interleaved pairs at concurrency 1, ` +
            `a fresh run (\`Cache-Control: no-cache\`: runs and replaces the entry) then the same request (a hit). ` +
            `req/s: wrk -t1 -c${settings.pool} -d${knobs.duration}s, ${knobs.rounds} interleaved round(s), POST through a Lua script.`,
        ],
        columns: ['request', 'p50 (c=1)', 'p99 (c=1)', 'req/s (wrk)', 'wrk p50', 'wrk p99', 'errors'],
        rows: [
          [
            'fresh run (no-cache)',
            ms(p50.fresh),
            ms(p99.fresh),
            num(lf.okRps),
            ms(lf.p50Ms),
            ms(lf.p99Ms),
            errorText(errorsOf(lf)),
          ],
          [
            'cache hit',
            ms(p50.hit),
            ms(p99.hit),
            num(lh.okRps),
            ms(lh.p50Ms),
            ms(lh.p99Ms),
            errorText(errorsOf(lh)),
          ],
          [
            'hit ÷ fresh',
            ratio(p50.hit, p50.fresh),
            ratio(p99.hit, p99.fresh),
            ratio(lh.okRps, lf.okRps),
            ratio(lh.p50Ms, lf.p50Ms),
            ratio(lh.p99Ms, lf.p99Ms),
            '',
          ],
        ],
        targets,
        data: { n, rounds, fresh, hits, wrk: { fresh: lf, hit: lh }, sameBytes, marked },
      });
    } finally {
      await gateway.stop();
    }
  },
};
