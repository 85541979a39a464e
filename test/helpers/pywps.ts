/**
 * A real PyWPS 4.5 server (Debian python3-pywps, run by Debian's /usr/bin/python3) serving the
 * processes of test/fixtures/pywps/server.py on a loopback port, in its own process group (PyWPS
 * runs asynchronous jobs in child processes; stopping the server stops them too).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PYTHON = '/usr/bin/python3';
const SERVER = fileURLToPath(new URL('../fixtures/pywps/server.py', import.meta.url));

export interface PywpsServer {
  port: number;
  /** The WPS endpoint. */
  url: string;
  /** Changes the processes the server offers from the next request on (all five by default). */
  setProcesses(ids: string[]): void;
  /** Kills the server and its job processes at once (SIGKILL to the group), as a crash would. */
  kill(): void;
  close(): Promise<void>;
}

export async function startPywps(port = 0, processes?: string[]): Promise<PywpsServer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'gw-pywps-'));
  const list = path.join(dir, 'processes.txt');
  // Written whole, then renamed: the server never reads half a list.
  const setProcesses = (ids: string[]) => {
    writeFileSync(`${list}.new`, ids.join(','));
    renameSync(`${list}.new`, list);
  };
  setProcesses(processes ?? ['say_hello', 'geojson', 'slow', 'fail', 'bbox']);
  const child: ChildProcess = spawn(PYTHON, [SERVER, dir, String(port), list], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const actual = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`PyWPS did not start:\n${err}`)), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /LISTENING (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`PyWPS exited with ${code}:\n${err}`));
    });
  });
  const kill = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  return {
    port: actual,
    url: `http://127.0.0.1:${actual}/wps`,
    setProcesses,
    kill,
    async close() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        kill();
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** YAML lines of a `providers:` entry `pywps` for a PyWPS at `url` (appended after `resources:`). */
export function providerYaml(url: string, extra: string[] = []): string[] {
  return [
    'providers:',
    '  - id: pywps',
    '    type: wps',
    `    url: ${url}`,
    '    allowed_hosts: [127.0.0.1]',
    '    timeout_seconds: 5',
    '    poll_interval_seconds: 0.2',
    ...extra.map((l) => `    ${l}`),
  ];
}
