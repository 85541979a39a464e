/**
 * The servers of one run, all on loopback, each started here and stopped by its PID:
 * - the gateway (src/cli.ts serve) publishing hello-world, sleep and buffer;
 * - PyWPS 4.5 under gunicorn, one worker per core, the same processes (bench/pywps_server.py);
 * - the floors: bare node:http and bare koa answering fixed documents (bench/floors/).
 * Both WPS servers get the same limits: pool size (parallel_processes = parallelprocesses), queue
 * (max_queued_jobs = maxprocesses), request size and single input size.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, HOST, waitUntilUp } from './ports.ts';
import { start, stop } from './processes.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface Settings {
  /** Jobs running at once (both servers). */
  pool: number;
  /** Jobs waiting at most (both servers). */
  queue: number;
  /** Bytes of one request body, and of one input (both servers). */
  maxRequestSize: number;
  maxInputSize: number;
  /** gunicorn workers. */
  workers: number;
  /** A scratch folder for this run. */
  dir: string;
}

export interface Server {
  name: string;
  /** e.g. http://127.0.0.1:40123 */
  base: string;
  /** The WPS endpoint. */
  wps: string;
  pid: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

const alive = (child: ChildProcess) => () => child.exitCode === null && child.signalCode === null;

async function up(
  name: string,
  handle: ReturnType<typeof start>,
  base: string,
  wps: string,
  probe: string,
): Promise<Server> {
  try {
    await waitUntilUp(probe, alive(handle.child));
  } catch (e) {
    await stop(handle.child);
    throw new Error(`${name}: ${(e as Error).message}\n${handle.stderr()}`, { cause: e });
  }
  return { name, base, wps, pid: handle.pid, child: handle.child, stop: () => stop(handle.child) };
}

/** The gateway, configured for the run (YAML dialect). */
export async function startGateway(
  settings: Settings,
  extra: { name?: string; yaml?: string[]; resources?: Record<string, string> } = {},
): Promise<Server> {
  const port = await freePort();
  const dir = path.join(settings.dir, extra.name ?? 'gateway');
  mkdirSync(dir, { recursive: true });
  const config = path.join(dir, 'gateway.yml');
  writeFileSync(
    config,
    [
      'server:',
      `  bind: {host: ${HOST}, port: ${port}}`,
      `  url: http://${HOST}:${port}`,
      `  max_request_size: ${settings.maxRequestSize}`,
      `  max_single_input_size: ${settings.maxInputSize}`,
      '  limits: {max_output_size: 4gb, max_job_output_size: 4gb, max_storage_size: 0}',
      '  manager:',
      `    connection: ${dir}/jobs.sqlite`,
      `    work_dir: ${dir}/work`,
      `    output_dir: ${dir}/outputs`,
      `    parallel_processes: ${settings.pool}`,
      `    max_queued_jobs: ${settings.queue}`,
      // Every job kept (PyWPS keeps them all): the default trim beyond 100,000 finished jobs would
      // take jobs out while scenario 2 counts them.
      '    max_jobs: 100000000',
      '    shutdown_grace_seconds: 1',
      '    cancel_grace_seconds: 1',
      ...(extra.yaml ?? []),
      'logging:',
      '  level: ERROR',
      'resources:',
      ...['hello-world', 'sleep', 'buffer'].map(
        (p) =>
          `  ${p}: {type: process, processor: {name: ${p}}${extra.resources?.[p] ? `, ${extra.resources[p]}` : ''}}`,
      ),
      '',
    ].join('\n'),
  );
  const handle = start(
    'gateway',
    process.execPath,
    [path.join(ROOT, 'src/cli.ts'), 'serve', '--config', config],
    {
      cwd: ROOT,
    },
  );
  const base = `http://${HOST}:${port}`;
  return up('gateway', handle, base, `${base}/wps`, `${base}/wps?service=WPS&request=GetCapabilities`);
}

/** PyWPS under gunicorn, one worker per core, with the gateway's limits. */
export async function startPywps(settings: Settings): Promise<Server> {
  const port = await freePort();
  const dir = path.join(settings.dir, 'pywps');
  mkdirSync(dir, { recursive: true });
  const handle = start(
    'pywps',
    'gunicorn',
    [
      '-w',
      String(settings.workers),
      '-b',
      `${HOST}:${port}`,
      '--timeout',
      '600',
      '--chdir',
      path.join(ROOT, 'bench'),
      'pywps_server:application',
    ],
    {
      env: {
        ...process.env,
        PYWPS_BENCH_PORT: String(port),
        PYWPS_BENCH_DIR: dir,
        PYWPS_PARALLEL: String(settings.pool),
        PYWPS_MAXPROCESSES: String(settings.queue),
        PYWPS_MAXREQUESTSIZE: String(settings.maxRequestSize),
        PYWPS_MAXSINGLEINPUTSIZE: String(settings.maxInputSize),
      },
    },
  );
  const base = `http://${HOST}:${port}`;
  return up('PyWPS', handle, base, `${base}/wps`, `${base}/wps?service=WPS&request=GetCapabilities`);
}

/** A floor server ('http' = bare node:http, 'koa' = bare koa) answering the two fixed documents. */
export async function startFloor(kind: 'http' | 'koa', xml: string, json: string): Promise<Server> {
  const port = await freePort();
  const handle = start(`floor-${kind}`, process.execPath, [path.join(ROOT, 'bench/floors', `${kind}.ts`)], {
    env: { ...process.env, FLOOR_PORT: String(port), FLOOR_XML: xml, FLOOR_JSON: json },
  });
  const base = `http://${HOST}:${port}`;
  return up(kind === 'http' ? 'node:http' : 'koa', handle, base, `${base}/wps`, `${base}/wps`);
}

export const pywpsVersion = () =>
  spawnSync('/usr/bin/python3', ['-c', 'import pywps; print(pywps.__version__)'], {
    encoding: 'utf8',
  }).stdout.trim() || '?';
