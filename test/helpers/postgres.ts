/**
 * A real PostgreSQL server for tests and benchmarks: `initdb` into a temporary folder, `postgres` on
 * a free port with its unix socket in that folder, stopped by its PID. As root (CI), both run as the
 * `postgres` user (PostgreSQL refuses to run as root). The binaries come from `pg_config --bindir`
 * or /usr/lib/postgresql/<version>/bin (Debian's `postgresql` package, installed by .ci/setup.sh).
 * No vitest import: bench/ scripts use it too.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';

export interface PostgresServer {
  /** postgresql://postgres@127.0.0.1:<port>/postgres */
  url: string;
  port: number;
  /** A new empty database; its connection string. */
  createDatabase(name?: string): Promise<string>;
  /** Fast shutdown by PID, then the folder is removed. */
  stop(): Promise<void>;
  /** Fast shutdown (every session ends), `downMs` without a server, then the same server again. */
  restart(downMs?: number): Promise<void>;
}

/** Where initdb and postgres are. */
export function postgresBinDir(): string {
  try {
    const dir = execFileSync('pg_config', ['--bindir'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    if (existsSync(path.join(dir, 'initdb'))) return dir;
  } catch {
    // No pg_config (Debian ships it in libpq-dev): look where the server package puts its binaries.
  }
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(path.join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) {
    throw new Error('PostgreSQL is not installed (no initdb); run .ci/setup.sh, which installs `postgresql`');
  }
  return path.join(root, versions[0]!, 'bin');
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const asRoot = process.getuid?.() === 0;
/** The command line, as the postgres user when we are root. */
const asPostgres = (bin: string, args: string[]): [string, string[]] =>
  asRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];

let databases = 0;

/**
 * Starts a PostgreSQL server. `durable: false` (the default, for tests) turns off fsync: nothing
 * here must survive a power loss, and tests run faster; benchmarks pass `durable: true`.
 */
export async function startPostgres(options: { durable?: boolean } = {}): Promise<PostgresServer> {
  const bin = postgresBinDir();
  const dir = mkdtempSync(path.join(tmpdir(), 'gw-pg-'));
  const data = path.join(dir, 'data');
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  const [initCmd, initArgs] = asPostgres(path.join(bin, 'initdb'), [
    '-D',
    data,
    '-U',
    'postgres',
    '-A',
    'trust',
    '-E',
    'UTF8',
    '--no-sync',
  ]);
  execFileSync(initCmd, initArgs, { stdio: ['ignore', 'ignore', 'pipe'] });
  const port = await freePort();
  const settings = [
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    `unix_socket_directories=${dir}`,
    '-c',
    'max_connections=200',
    '-c',
    'shared_buffers=32MB',
    ...(options.durable
      ? []
      : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']),
  ];
  const [cmd, args] = asPostgres(path.join(bin, 'postgres'), ['-D', data, '-p', String(port), ...settings]);
  let log = '';
  let child: ChildProcess;
  let exited: Promise<unknown>;
  const launch = () => {
    child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
    exited = new Promise((resolve) => child.once('exit', resolve));
  };
  launch();
  const url = `postgresql://postgres@127.0.0.1:${port}/postgres`;

  /** The postmaster's own PID (runuser sits between it and us when we are root). */
  const postmasterPid = (): number | undefined => {
    try {
      return Number(readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    } catch {
      return undefined;
    }
  };
  const shutdown = async () => {
    const pid = postmasterPid();
    if (pid) {
      try {
        process.kill(pid, 'SIGINT'); // fast shutdown: active sessions are ended
      } catch {
        // already gone
      }
    } else if (child.exitCode === null) {
      child.kill('SIGINT');
    }
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
  };
  const stop = async () => {
    await shutdown();
    rmSync(dir, { recursive: true, force: true });
  };

  // Ready when it accepts a connection.
  const ready = async () => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const client = new pg.Client({ connectionString: url });
      try {
        await client.connect();
        await client.end();
        break;
      } catch (error) {
        await client.end().catch(() => undefined);
        if (child.exitCode !== null || Date.now() > deadline) {
          await stop();
          throw new Error(`PostgreSQL did not start: ${(error as Error).message}\n${log}`, { cause: error });
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  await ready();

  return {
    url,
    port,
    async createDatabase(name = `t${process.pid}_${++databases}`) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return `postgresql://postgres@127.0.0.1:${port}/${name}`;
    },
    stop,
    async restart(downMs = 0) {
      await shutdown();
      await new Promise((r) => setTimeout(r, downMs));
      launch();
      await ready();
    },
  };
}
