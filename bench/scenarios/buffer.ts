/**
 * Scenario 3: synchronous buffer of a GeoJSON FeatureCollection of N polygons (BUFFER_N, default
 * 10,1000,10000,100000; QUICK: 10,1000), quadsegs 30 everywhere (GDAL's default, PyWPS's). Per N:
 * the direct-GDAL floor (bench/scenarios/buffer-floor.ts in its own process), the gateway at
 * concurrency 1 (latency, peak RSS of the server and its GDAL children over the idle figure) and
 * at the pool size (throughput); at BUFFER_PEER_N (default 1,000) the gateway and PyWPS at
 * concurrency 4. Output vertex counts are compared (equal quadsegs ⇒ equal counts).
 * Every request is the same WPS XML POST (GeoJSON in CDATA, RawDataOutput GeoJSON).
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { env, type Context, type Scenario } from '../lib/context.ts';
import { countVertices, polygons } from '../lib/geojson.ts';
import { boundedLoop, median, quantile, TaskError, type LoopFigures } from '../lib/loop.ts';
import { ROOT } from '../lib/peers.ts';
import { sampleRss, treeRss } from '../lib/processes.ts';
import { errorText, ms, num, ratio, size, type Target } from '../lib/table.ts';

const DISTANCE = 0.01;
const QUADSEGS = 30;
const run = promisify(execFile);

export const executeXml = (geojson: string) => `<?xml version="1.0" encoding="UTF-8"?>
<wps:Execute service="WPS" version="1.0.0" xmlns:wps="http://www.opengis.net/wps/1.0.0" xmlns:ows="http://www.opengis.net/ows/1.1">
  <ows:Identifier>buffer</ows:Identifier>
  <wps:DataInputs>
    <wps:Input><ows:Identifier>data</ows:Identifier><wps:Data><wps:ComplexData mimeType="application/geo+json"><![CDATA[${geojson}]]></wps:ComplexData></wps:Data></wps:Input>
    <wps:Input><ows:Identifier>distance</ows:Identifier><wps:Data><wps:LiteralData>${DISTANCE}</wps:LiteralData></wps:Data></wps:Input>
    <wps:Input><ows:Identifier>quadsegs</ows:Identifier><wps:Data><wps:LiteralData>${QUADSEGS}</wps:LiteralData></wps:Data></wps:Input>
  </wps:DataInputs>
  <wps:ResponseForm><wps:RawDataOutput mimeType="application/geo+json"><ows:Identifier>buffered</ows:Identifier></wps:RawDataOutput></wps:ResponseForm>
</wps:Execute>`;

interface Output {
  vertices: number;
  bytes: number;
}

async function execute(wps: string, body: string, signal: AbortSignal): Promise<Output> {
  const r = await fetch(wps, { method: 'POST', body, headers: { 'Content-Type': 'text/xml' }, signal });
  if (!r.ok) {
    await r.arrayBuffer().catch(() => undefined);
    throw new TaskError(String(r.status));
  }
  const out = await countVertices(r.body);
  if (out.vertices === 0) throw new TaskError('no geometry');
  return out;
}

/** `count` requests at `concurrency`, bounded by `seconds`; the output of the first kept. */
async function load(
  wps: string,
  body: string,
  concurrency: number,
  count: number,
  seconds: number,
): Promise<{ loop: LoopFigures; output?: Output; perSecond: number }> {
  let output: Output | undefined;
  const loop = await boundedLoop({ concurrency, count, seconds }, async (_i, signal) => {
    const out = await execute(wps, body, signal);
    output ??= out;
  });
  return { loop, ...(output ? { output } : {}), perSecond: loop.ok / (loop.elapsedMs / 1000) };
}

const sizes = (quick: boolean) =>
  (process.env.BUFFER_N ?? (quick ? '10,1000' : '10,1000,10000,100000'))
    .split(',')
    .map((s) => Number(s.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);

/** Requests per measurement: fewer for larger inputs. */
const roundsFor = (n: number, quick: boolean) => (n <= 1000 ? (quick ? 5 : 10) : n <= 10_000 ? 3 : 2);

export const buffer: Scenario = {
  id: '3',
  title: '3. Synchronous buffer',
  async run(ctx: Context) {
    const { gateway, pywps, settings, knobs } = ctx;
    const quick = knobs.quick;
    const peerN = env.number('BUFFER_PEER_N', 1000);
    const seconds = env.number('BUFFER_SECONDS', quick ? 30 : 180);
    const ns = sizes(quick);
    const rows: string[][] = [];
    const data: Record<number, unknown> = {};
    const targets: Target[] = [];
    const perFeature = new Map<number, number>();
    let warmed = false;
    let peerRow: string[][] = [];
    for (const n of ns) {
      const geojson = polygons(n);
      const file = path.join(settings.dir, `polygons-${n}.geojson`);
      writeFileSync(file, geojson);
      const body = executeXml(geojson);
      const rounds = roundsFor(n, quick);
      if (!warmed) {
        // Start and warm the GDAL children (not measured).
        await load(gateway.wps, executeXml(polygons(10)), settings.pool, settings.pool, 60);
        warmed = true;
      }
      const floor = JSON.parse(
        (
          await run(process.execPath, [path.join(ROOT, 'bench/scenarios/buffer-floor.ts')], {
            env: {
              ...process.env,
              FLOOR_INPUT: file,
              FLOOR_DISTANCE: String(DISTANCE),
              FLOOR_QUADSEGS: String(QUADSEGS),
              FLOOR_ROUNDS: String(rounds),
              FLOOR_SECONDS: String(seconds),
            },
            maxBuffer: 1 << 20,
            timeout: (seconds + 120) * 1000,
          })
        ).stdout,
      ) as { ms: number; vertices: number; bytes: number };

      const idle = treeRss(gateway.pid);
      const sampler = sampleRss(gateway.pid, 25);
      const one = await load(gateway.wps, body, 1, rounds, seconds);
      const peak = sampler.stop();
      const pool = await load(gateway.wps, body, settings.pool, settings.pool * rounds, seconds);
      const p50 = quantile(one.loop.latencies, 0.5);
      perFeature.set(n, p50 / n);
      const growth = peak - idle;
      rows.push([
        num(n),
        size(geojson.length),
        ms(floor.ms),
        ms(p50),
        ratio(p50, floor.ms),
        `${num((p50 / n) * 1000, 1)} µs`,
        `${num(pool.perSecond, 2)} (${errorText(pool.loop.errors)})`,
        `${size(growth)} (${ratio(growth, geojson.length)})`,
        `${num(one.output?.vertices ?? NaN)} / ${num(floor.vertices)}`,
        errorText(one.loop.errors),
      ]);
      data[n] = { inputBytes: geojson.length, floor, one, pool, idleRss: idle, peakRss: peak };
      if (n >= 10_000)
        targets.push({
          name: `N = ${num(n)}: time vs direct GDAL`,
          goal: '≤ 1.5×',
          measured: ratio(p50, floor.ms),
          pass: p50 <= 1.5 * floor.ms,
        });
      if (n === ns[ns.length - 1])
        targets.push({
          name: `N = ${num(n)}: peak memory growth vs input size`,
          goal: '≤ 3×',
          measured: `${size(growth)} for ${size(geojson.length)} (${ratio(growth, geojson.length)})`,
          pass: growth <= 3 * geojson.length,
        });
      targets.push({
        name: `N = ${num(n)}: output vertices equal to direct GDAL's (quadsegs ${QUADSEGS})`,
        goal: 'equal',
        measured: `${num(one.output?.vertices ?? NaN)} / ${num(floor.vertices)}`,
        pass: one.output?.vertices === floor.vertices,
      });

      if (n === peerN) {
        const count = quick ? 8 : 16;
        const ours = await load(gateway.wps, body, 4, count, seconds);
        const peer = await load(pywps.wps, body, 4, count, seconds);
        peerRow = [
          [
            'gateway',
            num(ours.perSecond, 2),
            ms(median(ours.loop.latencies)),
            errorText(ours.loop.errors),
            num(ours.output?.vertices ?? NaN),
            ratio(ours.perSecond, peer.perSecond),
          ],
          [
            'PyWPS',
            num(peer.perSecond, 2),
            ms(median(peer.loop.latencies)),
            errorText(peer.loop.errors),
            num(peer.output?.vertices ?? NaN),
            '',
          ],
        ];
        data[n] = { ...(data[n] as object), concurrency4: { ours, peer } };
        targets.push(
          {
            name: `N = ${num(n)}, concurrency 4: throughput vs PyWPS`,
            goal: '≥ 2×',
            measured: ratio(ours.perSecond, peer.perSecond),
            pass: ours.perSecond >= 2 * peer.perSecond,
          },
          {
            name: `N = ${num(n)}: output vertices equal to PyWPS's`,
            goal: 'equal',
            measured: `${num(ours.output?.vertices ?? NaN)} / ${num(peer.output?.vertices ?? NaN)}`,
            pass: ours.output !== undefined && ours.output.vertices === peer.output?.vertices,
          },
        );
      }
    }
    const big = ns.filter((n) => n >= 1000);
    if (big.length >= 2) {
      const [lo, hi] = [big[0]!, big[big.length - 1]!];
      const growth = perFeature.get(hi)! / perFeature.get(lo)!;
      targets.push({
        name: `linear in N (time per feature at ${num(hi)} vs ${num(lo)})`,
        goal: '≤ 1.5×',
        measured: `${growth.toFixed(2)}×`,
        pass: growth <= 1.5,
      });
    }
    ctx.report.add({
      id: this.id,
      title: this.title,
      notes: [
        `Hexagons generated deterministically (seed 11), distance ${DISTANCE}°, quadsegs ${QUADSEGS} everywhere, WPS XML POST with the GeoJSON inline and RawDataOutput. ` +
          `Direct GDAL: the same open/buffer/write in a Node script with gdal-async, no HTTP and no pool (median of the same number of rounds). ` +
          `Memory: peak resident memory of the server and its GDAL children (sampled every 25 ms) over their idle figure, during the concurrency-1 requests. ` +
          `Pool size ${settings.pool}. Each measurement bounded by count and by ${seconds} s.`,
      ],
      columns: [
        'N',
        'input',
        'direct GDAL',
        'gateway p50 (c=1)',
        '× direct GDAL',
        'per feature',
        `gateway req/s (c=${settings.pool})`,
        'peak memory growth (× input)',
        'vertices gateway / GDAL',
        'errors (c=1)',
      ],
      rows,
      targets,
      data,
    });
    ctx.report.add({
      id: `${this.id}b`,
      title: `3b. Buffer against PyWPS (N = ${num(peerN)}, concurrency 4)`,
      notes: ns.includes(peerN) ? [] : [`N = ${peerN} is not among BUFFER_N: not measured.`],
      columns: ['server', 'req/s', 'p50', 'errors', 'vertices', '× PyWPS'],
      rows: peerRow,
      targets: [],
      data: {},
    });
  },
};
