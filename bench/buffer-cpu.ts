/**
 * CPU time per request of the synchronous buffer (scenario 3b's request: N polygons, WPS XML POST,
 * GeoJSON inline, RawDataOutput, quadsegs 30), per process: the gateway's main process and each of
 * its GDAL children (utime + stime from /proc/PID/stat, before and after), at concurrency 1 and 4,
 * and PyWPS's whole process tree for comparison (WITH_PYWPS=1). Not part of the record.
 *
 *   N=1000 COUNT=40 POOL=2 node bench/buffer-cpu.ts
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { env } from './lib/context.ts';
import { countVertices, polygons } from './lib/geojson.ts';
import { boundedLoop, quantile } from './lib/loop.ts';
import { startGateway, startPywps, type Server, type Settings } from './lib/peers.ts';
import { processTree, stopAll, stopOnExit } from './lib/processes.ts';
import { executeXml } from './scenarios/buffer.ts';

const TICK_MS = 10; // USER_HZ 100

/** utime + stime of one process, in ms (undefined when it is gone). */
function cpuOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return undefined;
  }
}

const snapshot = (root: number) => new Map(processTree(root).map((pid) => [pid, cpuOf(pid) ?? 0]));

async function measure(server: Server, body: string, concurrency: number, count: number) {
  const before = snapshot(server.pid);
  const loop = await boundedLoop({ concurrency, count, seconds: 300 }, async (_i, signal) => {
    const r = await fetch(server.wps, {
      method: 'POST',
      body,
      headers: { 'Content-Type': 'text/xml' },
      signal,
    });
    if (!r.ok) throw new Error(`${r.status}: ${await r.text()}`);
    const out = await countVertices(r.body);
    if (out.vertices === 0) throw new Error('no geometry');
  });
  const after = snapshot(server.pid);
  const per = (pid: number) => ((after.get(pid) ?? 0) - (before.get(pid) ?? 0)) / loop.ok;
  const rows = [...after.keys()].map((pid) => ({
    pid,
    role: pid === server.pid ? 'main' : 'child',
    msPerRequest: Number(per(pid).toFixed(1)),
  }));
  return {
    server: server.name,
    concurrency,
    ok: loop.ok,
    errors: loop.errors,
    perSecond: Number((loop.ok / (loop.elapsedMs / 1000)).toFixed(2)),
    p50: Number(quantile(loop.latencies, 0.5).toFixed(0)),
    totalMsPerRequest: Number(rows.reduce((s, r) => s + r.msPerRequest, 0).toFixed(1)),
    processes: rows.filter((r) => r.msPerRequest > 0),
  };
}

stopOnExit();
const n = env.number('N', 1000);
const count = env.number('COUNT', 40);
const geojson = polygons(n);
const body = executeXml(geojson);
const dir = mkdtempSync(path.join(tmpdir(), 'gw-cpu-'));
const settings: Settings = {
  pool: env.number('POOL', 2),
  queue: 1000,
  maxRequestSize: Math.max(3 * 2 ** 20, 2 * body.length),
  maxInputSize: Math.max(3 * 2 ** 20, 2 * body.length),
  workers: env.number('WORKERS', 2),
  dir,
};
try {
  const servers = [await startGateway(settings)];
  if (process.env.WITH_PYWPS === '1') servers.push(await startPywps(settings));
  for (const server of servers) await measure(server, body, settings.pool, settings.pool * 2); // warm
  for (const c of [1, 4]) {
    for (const server of servers) {
      process.stdout.write(`${JSON.stringify(await measure(server, body, c, count))}\n`);
    }
  }
} finally {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
}
