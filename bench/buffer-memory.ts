/**
 * Where the memory of one large synchronous buffer goes, per process: the gateway's main process
 * and each GDAL child. The gateway is started as bench/run.ts starts it (bench/lib/peers.ts), each
 * GDAL child is warmed (WARM_N polygons at the pool's concurrency, then the same once more at the
 * size that fans out, so every child has read and written a large GeoJSON before), then one request
 * of N polygons (WPS XML POST, GeoJSON in CDATA, RawDataOutput: scenario 3's request) runs while
 * every process of the tree is sampled every 25 ms (its resident size, /proc/PID/status VmRSS) and
 * its peak (VmHWM, reset through /proc/PID/clear_refs just before) is read at the end.
 *
 *   node bench/buffer-memory.ts [N=100000] [ROUNDS=1]
 *   env: POOL (default: cores), WARM_N (default 10), WARM_LARGE_N (default 20000; 0 = none)
 *
 * Prints per process: idle RSS, sampled peak, VmHWM, growth; and for the tree the sampled peak of
 * the sum over its idle sum (scenario 3's figure), in MiB and × the input size.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { countVertices, polygons } from './lib/geojson.ts';
import { startGateway } from './lib/peers.ts';
import { memoryOf, processTree, stopAll, stopOnExit } from './lib/processes.ts';
import { executeXml } from './scenarios/buffer.ts';

const MIB = 1024 * 1024;
const n = Number(process.argv[2] ?? 100_000);
const rounds = Number(process.argv[3] ?? 1);
const pool = Number(process.env.POOL ?? availableParallelism());
const warmN = Number(process.env.WARM_N ?? 10);
const warmLargeN = Number(process.env.WARM_LARGE_N ?? 20_000);

async function execute(wps: string, body: string): Promise<{ vertices: number; bytes: number }> {
  const r = await fetch(wps, { method: 'POST', body, headers: { 'Content-Type': 'text/xml' } });
  if (!r.ok) throw new Error(`${r.status}: ${(await r.text()).slice(0, 500)}`);
  return countVertices(r.body);
}

const mib = (bytes: number) => (bytes / MIB).toFixed(1);

stopOnExit();
const dir = mkdtempSync(path.join(tmpdir(), 'buffer-memory-'));
try {
  const geojson = polygons(n);
  const body = executeXml(geojson);
  const gateway = await startGateway({
    pool,
    queue: 100,
    maxRequestSize: Math.max(3 * MIB, 2 * body.length),
    maxInputSize: Math.max(3 * MIB, 2 * body.length),
    workers: 1,
    dir,
  });
  const warm = async (size: number) => {
    const b = executeXml(polygons(size));
    await Promise.all(Array.from({ length: pool }, () => execute(gateway.wps, b)));
  };
  await warm(warmN);
  if (warmLargeN > 0) await warm(warmLargeN);
  console.log(
    `N = ${n}: input ${mib(geojson.length)} MiB, body ${mib(body.length)} MiB; pool ${pool}; warmed with ${warmN}${warmLargeN ? ` and ${warmLargeN}` : ''} polygons`,
  );
  for (let round = 1; round <= rounds; round++) {
    await new Promise((r) => setTimeout(r, 500));
    const pids = processTree(gateway.pid);
    const idle = new Map(pids.map((p) => [p, memoryOf(p).rss]));
    for (const p of pids) writeFileSync(`/proc/${p}/clear_refs`, '5');
    const idleSum = [...idle.values()].reduce((a, b) => a + b, 0);
    const peaks = new Map<number, number>();
    let peakSum = idleSum;
    const hwm = new Map<number, number>();
    const trace: string[] = [];
    const sample = () => {
      let sum = 0;
      const row: string[] = [];
      for (const p of processTree(gateway.pid)) {
        const m = memoryOf(p);
        sum += m.rss;
        row.push(mib(m.rss - (idle.get(p) ?? 0)));
        peaks.set(p, Math.max(peaks.get(p) ?? 0, m.rss));
        hwm.set(p, Math.max(hwm.get(p) ?? 0, m.hwm));
      }
      peakSum = Math.max(peakSum, sum);
      if (process.env.TRACE) trace.push(`${(performance.now() - started).toFixed(0)} ms: ${row.join(' ')}`);
    };
    const started = performance.now();
    const timer = setInterval(sample, 25);
    const out = await execute(gateway.wps, body);
    const ms = performance.now() - started;
    sample();
    clearInterval(timer);
    if (process.env.TRACE) console.log(trace.join('\n'));
    console.log(
      `\nround ${round}: ${ms.toFixed(0)} ms, output ${mib(out.bytes)} MiB, ${out.vertices} vertices`,
    );
    console.log(
      '| process | idle MiB | sampled peak MiB | VmHWM MiB | growth (sampled) MiB | growth / input |',
    );
    console.log('|---|---|---|---|---|---|');
    for (const [p, peak] of peaks) {
      const base = idle.get(p) ?? 0;
      const role = p === gateway.pid ? 'main' : `child ${p}${idle.has(p) ? '' : ' (new)'}`;
      console.log(
        `| ${role} | ${mib(base)} | ${mib(peak)} | ${mib(hwm.get(p) ?? 0)} | ${mib(peak - base)} | ${((peak - base) / geojson.length).toFixed(2)} |`,
      );
    }
    console.log(
      `| tree (sum) | ${mib(idleSum)} | ${mib(peakSum)} |  | ${mib(peakSum - idleSum)} | ${((peakSum - idleSum) / geojson.length).toFixed(2)} |`,
    );
  }
} finally {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
}
