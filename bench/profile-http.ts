/**
 * A quick, standalone measurement of the HTTP hot paths (not the benchmark of record: that is
 * bench/run.ts). Starts this gateway (`node src/cli.ts serve`) and, in the same run, a bare koa
 * server answering a fixed document as large as our Capabilities (the floor), then drives each
 * scenario with wrk, interleaved, and prints requests/s, p50/p99 and the ratio to the floor.
 *
 *   node bench/profile-http.ts          [SECONDS=5 CONNECTIONS=8 ONLY=caps,async PROF=1 BASELINE=/work/main NODE_FLAGS=…]
 *
 * BASELINE=<another checkout> also starts the gateway of that checkout (same configuration, its own
 * store) and measures it in the same run, interleaved: before/after figures from one run.
 * PROF=1 starts the gateway with `node --cpu-prof` (profiles in the run's temporary folder, kept).
 * Every process it starts is stopped by its PID.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SECONDS = Number(process.env.SECONDS ?? 5);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 8);
const ONLY = process.env.ONLY?.split(',');
const PROF = process.env.PROF === '1';

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

async function waitFor(url: string): Promise<string> {
  for (let i = 0; i < 150; i++) {
    try {
      const r = await fetch(url);
      if (r.ok) return await r.text();
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not come up`);
}

interface Result {
  rps: number;
  p50: string;
  p99: string;
  non2xx: number;
  requests: number;
}

function wrk(url: string, script?: string, seconds = SECONDS): Result {
  const args = ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency'];
  if (script) args.push('-s', script);
  const r = spawnSync('wrk', [...args, url], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`wrk failed: ${r.stderr}`);
  const out = r.stdout;
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]),
    p50: /\s50%\s+(\S+)/.exec(out)?.[1] ?? '?',
    p99: /\s99%\s+(\S+)/.exec(out)?.[1] ?? '?',
    non2xx: Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0),
    requests: Number(/(\d+) requests in/.exec(out)?.[1] ?? 0),
  };
}

/** CPU time (user + system, ms) a process has used so far, from /proc (Linux). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ 100)
}

/** wrk against `url`, with the CPU time the server `pid` spent per request (µs). */
function measure(pid: number, url: string, script?: string): Result & { cpuUs: number } {
  const before = cpuMs(pid);
  const r = wrk(url, script);
  return { ...r, cpuUs: ((cpuMs(pid) - before) * 1000) / Math.max(1, r.requests) };
}

const luaPost = (file: string, body: string, headers: Record<string, string>) => {
  const lines = [
    'wrk.method = "POST"',
    `wrk.body = ${JSON.stringify(body)}`,
    ...Object.entries(headers).map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`),
  ];
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
};

const dir = mkdtempSync(path.join(tmpdir(), 'gw-prof-'));
const children: ChildProcess[] = [];

interface Gateway {
  name: string;
  pid: number;
  base: string;
  store: string;
}

/** Starts the gateway of checkout `root` on a fresh port, store and folders under `dir`. */
async function startGateway(root: string, name: string, prof: boolean): Promise<Gateway> {
  const port = await freePort();
  const own = path.join(dir, name);
  const config = path.join(dir, `${name}.yml`);
  const store = path.join(own, 'jobs.sqlite');
  writeFileSync(
    config,
    `server:\n  bind: {host: 127.0.0.1, port: ${port}}\n  url: http://127.0.0.1:${port}\n  manager:\n    work_dir: ${own}/work\n    output_dir: ${own}/outputs\n    connection: ${store}\n    max_queued_jobs: 20000\n    max_jobs: 1000000\n    parallel_processes: 2\nlogging:\n  level: error\nresources:\n  hello-world:\n    type: process\n    processor: {name: hello-world}\n  echo:\n    type: process\n    processor: {name: echo}\n  sleep:\n    type: process\n    processor: {name: sleep}\n`,
  );
  const nodeArgs = prof ? ['--cpu-prof', `--cpu-prof-dir=${dir}/prof-${name}`] : [];
  // NODE_FLAGS: extra Node/V8 flags for the gateway under test (not the baseline), e.g. a GC setting.
  if (name === 'gateway' && process.env.NODE_FLAGS) nodeArgs.push(...process.env.NODE_FLAGS.split(' '));
  const child = spawn(
    process.execPath,
    [...nodeArgs, path.join(root, 'src/cli.ts'), 'serve', '--config', config],
    {
      stdio: 'ignore',
    },
  );
  children.push(child);
  const base = `http://127.0.0.1:${port}`;
  await waitFor(`${base}/wps?service=WPS&request=GetCapabilities`);
  return { name, pid: child.pid!, base, store };
}

try {
  const gateways = [await startGateway(ROOT, 'gateway', PROF)];
  if (process.env.BASELINE) gateways.unshift(await startGateway(process.env.BASELINE, 'baseline', false));
  const caps = await waitFor(`${gateways.at(-1)!.base}/wps?service=WPS&request=GetCapabilities`);
  // The floor: bare koa answering a fixed document the size of our Capabilities.
  const floor = await freePort();
  const floorScript = path.join(dir, 'floor.mjs');
  writeFileSync(
    floorScript,
    `import Koa from ${JSON.stringify(path.join(ROOT, 'node_modules/koa/dist/koa.mjs'))};\nconst body = ${JSON.stringify(caps)};\nconst app = new Koa();\napp.use((ctx) => { ctx.type = 'text/xml'; ctx.body = body; });\napp.listen(${floor}, '127.0.0.1');\n`,
  );
  const floorProcess = spawn(process.execPath, [floorScript], { stdio: 'ignore' });
  children.push(floorProcess);
  const floorUrl = `http://127.0.0.1:${floor}/`;
  await waitFor(floorUrl);

  const xmlPost = luaPost(
    path.join(dir, 'xml.lua'),
    `<?xml version="1.0" encoding="UTF-8"?><wps:Execute service="WPS" version="1.0.0" xmlns:wps="http://www.opengis.net/wps/1.0.0" xmlns:ows="http://www.opengis.net/ows/1.1"><ows:Identifier>hello-world</ows:Identifier><wps:DataInputs><wps:Input><ows:Identifier>name</ows:Identifier><wps:Data><wps:LiteralData>World</wps:LiteralData></wps:Data></wps:Input></wps:DataInputs><wps:ResponseForm><wps:ResponseDocument><wps:Output><ows:Identifier>echo</ows:Identifier></wps:Output></wps:ResponseDocument></wps:ResponseForm></wps:Execute>`,
    { 'Content-Type': 'text/xml' },
  );
  const oapBody = JSON.stringify({ inputs: { name: 'World' } });
  const oapSync = luaPost(path.join(dir, 'oap.lua'), oapBody, { 'Content-Type': 'application/json' });
  const oapAsync = luaPost(path.join(dir, 'oap-async.lua'), oapBody, {
    'Content-Type': 'application/json',
    Prefer: 'respond-async',
  });
  const kvp = '/wps?service=WPS&version=1.0.0&request=Execute&identifier=hello-world&DataInputs=name=World';
  const scenarios: Array<[string, string, string, string?]> = [
    ['caps', 'WPS GetCapabilities', '/wps?service=WPS&request=GetCapabilities'],
    [
      'describe',
      'WPS DescribeProcess',
      '/wps?service=WPS&version=1.0.0&request=DescribeProcess&identifier=hello-world',
    ],
    ['processes', 'GET /processes', '/processes'],
    ['process', 'GET /processes/hello-world', '/processes/hello-world'],
    ['kvp', 'sync hello KVP RawDataOutput', `${kvp}&RawDataOutput=echo`],
    ['xml', 'sync hello XML POST', '/wps', xmlPost],
    ['oap', 'sync hello OGC API execute', '/processes/hello-world/execution', oapSync],
    ['async', 'async WPS KVP accepted', `${kvp}&ResponseDocument=echo&storeExecuteResponse=true&status=true`],
    ['async-oap', 'async OGC API accepted', '/processes/hello-world/execution', oapAsync],
  ];
  console.log(
    `wrk -t1 -c${CONNECTIONS} -d${SECONDS}s; Node ${process.version}; Capabilities ${caps.length} bytes\n`,
  );
  console.log(
    '| scenario | server | req/s | floor req/s | % of floor | p50 / p99 | non-2xx | CPU µs/req (server / floor) |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const g of gateways) wrk(`${g.base}/wps?service=WPS&request=GetCapabilities`, undefined, 2); // warm-up
  wrk(floorUrl, undefined, 2);
  for (const [key, name, suffix, script] of scenarios) {
    if (ONLY && !ONLY.includes(key)) continue;
    for (const g of gateways) {
      const url = `${g.base}${suffix}`;
      wrk(url, script, 1); // warm-up
      const a = measure(g.pid, url, script);
      const f = measure(floorProcess.pid!, floorUrl);
      console.log(
        `| ${name} | ${g.name} | ${a.rps.toFixed(0)} | ${f.rps.toFixed(0)} | ${((100 * a.rps) / f.rps).toFixed(1)} % | ${a.p50} / ${a.p99} | ${a.non2xx} | ${a.cpuUs.toFixed(0)} / ${f.cpuUs.toFixed(0)} |`,
      );
    }
  }
  for (const g of gateways) {
    const db = new Database(g.store, { readonly: true });
    const counts = db.prepare('SELECT status, mode, count(*) AS n FROM jobs GROUP BY status, mode').all();
    db.close();
    console.log(`\njobs in the store of ${g.name}: ${JSON.stringify(counts)}`);
  }
} finally {
  for (const c of children) if (c.pid) process.kill(c.pid, 'SIGTERM');
  await new Promise((r) => setTimeout(r, 3000));
  if (PROF) console.log(`profiles kept in ${dir}/prof-gateway`);
  else rmSync(dir, { recursive: true, force: true });
}
