/**
 * A real server (`src/cli.ts serve`) in its own process, on a fresh folder with the test
 * configuration: what the soak and load tests drive, so that its memory can be read from /proc and
 * nothing the test process does counts against it. No vitest import: bench/ scripts use it too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { testConfigYaml, type TestGatewayOptions } from './gateway.ts';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

export interface ServerProcess {
  child: ChildProcess;
  /** e.g. http://127.0.0.1:40123 */
  address: string;
  /** The folder holding the configuration, the job store and the work and output areas. */
  dir: string;
  /** Resident memory now and its peak so far (VmRSS, VmHWM), in bytes. */
  memory(): { rss: number; peak: number };
  /** SIGTERM, wait for the exit, remove the folder. */
  stop(): Promise<void>;
}

/** VmRSS and VmHWM of a process, in bytes (Linux /proc). */
export function processMemory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
    if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
    return Number(m[1]) * 1024;
  };
  return { rss: kib('VmRSS'), peak: kib('VmHWM') };
}

export async function startServerProcess(
  options: TestGatewayOptions & { prefix?: string; args?: string[] } = {},
): Promise<ServerProcess> {
  const dir = mkdtempSync(path.join(tmpdir(), options.prefix ?? 'gw-process-'));
  const config = path.join(dir, 'gateway.yml');
  writeFileSync(config, testConfigYaml(dir, options));
  const child = spawn(
    process.execPath,
    [CLI, 'serve', '--config', config, '--port', '0', ...(options.args ?? [])],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const address = await new Promise<string>((resolve, reject) => {
      let err = '';
      child.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /Listening on (http:\/\/\S+)/.exec(err);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`server exited (${code}): ${err}`)));
    });
    return { child, address, dir, memory: () => processMemory(child.pid!), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
