/**
 * Throughput and latency of this gateway against PyWPS (the reference WPS 1.0.0 server), measured
 * in the same run on the same machine, both as separate processes on loopback (PyWPS under gunicorn,
 * one worker per core, as it is deployed), driven by wrk.
 * Figures are ratios (gateway / PyWPS) because these shared machines are noisy.
 *
 *   bash .ci/setup.sh bash -c 'bench/setup.sh && npm run bench'      [SECONDS=10 CONNECTIONS=8]
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SECONDS = Number(process.env.SECONDS ?? 10);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 8);

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

async function waitFor(url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(url)).ok) return;
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
  errors: number;
}

function wrk(url: string): Result {
  const r = spawnSync('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${SECONDS}s`, '--latency', url], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`wrk failed: ${r.stderr}`);
  const out = r.stdout;
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const p50 = /\s50%\s+(\S+)/.exec(out)?.[1] ?? '?';
  const p99 = /\s99%\s+(\S+)/.exec(out)?.[1] ?? '?';
  const errors =
    Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0) +
    Number(/Socket errors:.*timeout (\d+)/.exec(out)?.[1] ?? 0);
  return { rps, p50, p99, errors };
}

const scenarios: Array<[string, string]> = [
  ['GetCapabilities', '?service=WPS&request=GetCapabilities'],
  ['DescribeProcess', '?service=WPS&version=1.0.0&request=DescribeProcess&identifier=hello-world'],
  [
    'Execute (sync, KVP)',
    '?service=WPS&version=1.0.0&request=Execute&identifier=hello-world&DataInputs=name=World',
  ],
];

const dir = mkdtempSync(path.join(tmpdir(), 'gw-bench-'));
const children: ChildProcess[] = [];
try {
  const [ours, peer] = [await freePort(), await freePort()];
  const config = path.join(dir, 'gateway.yml');
  writeFileSync(
    config,
    `server:\n  bind: {host: 127.0.0.1, port: ${ours}}\n  url: http://127.0.0.1:${ours}\n  manager:\n    work_dir: ${dir}/work\n    output_dir: ${dir}/outputs\n    connection: ${dir}/jobs.sqlite\n    max_queued_jobs: 1000\nlogging:\n  level: error\nresources:\n  hello-world:\n    type: process\n    processor: {name: hello-world}\n`,
  );
  children.push(
    spawn(process.execPath, [path.join(ROOT, 'src/cli.ts'), 'serve', '--config', config], {
      stdio: 'ignore',
    }),
  );
  const workers = String(availableParallelism());
  children.push(
    spawn(
      'gunicorn',
      [
        '-w',
        workers,
        '-b',
        `127.0.0.1:${peer}`,
        '--chdir',
        path.join(ROOT, 'bench'),
        'pywps_server:application',
      ],
      {
        stdio: 'ignore',
        env: { ...process.env, PYWPS_BENCH_PORT: String(peer), PYWPS_BENCH_DIR: dir },
      },
    ),
  );
  const gateway = `http://127.0.0.1:${ours}/wps`;
  const pywps = `http://127.0.0.1:${peer}/wps`;
  await waitFor(`${gateway}?service=WPS&request=GetCapabilities`);
  await waitFor(`${pywps}?service=WPS&request=GetCapabilities`);
  const peerVersion = spawnSync('/usr/bin/python3', ['-c', 'import pywps; print(pywps.__version__)'], {
    encoding: 'utf8',
  }).stdout.trim();
  console.log(
    `wrk -t1 -c${CONNECTIONS} -d${SECONDS}s per scenario and server; Node ${process.version}; PyWPS ${peerVersion} under gunicorn with ${workers} workers; the gateway with parallelprocesses = ${workers}\n`,
  );
  console.log(
    '| scenario | gateway req/s | PyWPS req/s | ratio | gateway p50 / p99 | PyWPS p50 / p99 | errors (gw/py) |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const [name, query] of scenarios) {
    wrk(`${gateway}${query}`); // warm-up is the first run; measure the second
    const a = wrk(`${gateway}${query}`);
    const b = wrk(`${pywps}${query}`);
    console.log(
      `| ${name} | ${a.rps.toFixed(0)} | ${b.rps.toFixed(0)} | ${(a.rps / b.rps).toFixed(1)}× | ${a.p50} / ${a.p99} | ${b.p50} / ${b.p99} | ${a.errors}/${b.errors} |`,
    );
  }
} finally {
  for (const c of children) c.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 500));
  rmSync(dir, { recursive: true, force: true });
}
