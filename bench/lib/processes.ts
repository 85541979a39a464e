/**
 * Every process the benchmark starts, registered by PID and stopped by PID: SIGTERM, then SIGKILL
 * after a grace period, then any descendant still alive (gunicorn workers, PyWPS job processes, our
 * GDAL children) by its own PID. Ctrl-C, SIGTERM and uncaught errors stop them too.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

interface Started {
  name: string;
  child: ChildProcess;
  exited: Promise<void>;
}

const started: Started[] = [];

/** Starts a process and registers it; its stderr is kept (last 8 KiB) for error messages. */
export function start(
  name: string,
  command: string,
  args: string[],
  options: SpawnOptions = {},
): { child: ChildProcess; pid: number; stderr: () => string } {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], ...options });
  if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-8192);
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  started.push({ name, child, exited });
  return { child, pid: child.pid, stderr: () => err };
}

/** Direct children of a process (Linux /proc/PID/task/TID/children). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (text) out.push(...text.split(/\s+/).map(Number));
    }
  } catch {
    // gone
  }
  return out;
}

/** A process and all its descendants, the process first. */
export function processTree(pid: number): number[] {
  const all = [pid];
  for (let i = 0; i < all.length; i++) all.push(...childrenOf(all[i]!));
  return all;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Stops one registered process and its descendants, by PID. */
export async function stop(child: ChildProcess, graceMs = 5000): Promise<void> {
  const entry = started.find((s) => s.child === child);
  const pid = child.pid;
  if (!entry || pid === undefined) return;
  const tree = processTree(pid);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  const timedOut = await Promise.race([entry.exited.then(() => false), sleep(graceMs).then(() => true)]);
  if (timedOut) child.kill('SIGKILL');
  await entry.exited;
  // Descendants that outlived their parent (reparented, so only the PIDs seen before tell them).
  for (const d of tree.slice(1)) {
    if (!alive(d)) continue;
    try {
      process.kill(d, 'SIGTERM');
    } catch {
      // gone meanwhile
    }
  }
  await sleep(tree.length > 1 ? 200 : 0);
  for (const d of tree.slice(1)) {
    if (!alive(d)) continue;
    try {
      process.kill(d, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  started.splice(started.indexOf(entry), 1);
}

/** Stops every registered process, latest first. */
export async function stopAll(): Promise<void> {
  for (const s of [...started].reverse()) await stop(s.child);
}

let installed = false;
/** Stops everything on Ctrl-C, SIGTERM, an uncaught exception or an unhandled rejection. */
export function stopOnExit(): void {
  if (installed) return;
  installed = true;
  const bail = (code: number, why: unknown) => {
    if (why) console.error(why);
    void stopAll().finally(() => process.exit(code));
  };
  process.once('SIGINT', () => bail(130, 'interrupted: stopping every process started'));
  process.once('SIGTERM', () => bail(143, 'terminated: stopping every process started'));
  process.once('uncaughtException', (e) => bail(1, e));
  process.once('unhandledRejection', (e) => bail(1, e));
}

/** VmRSS and VmHWM of one process, in bytes (0 when it is gone). */
export function memoryOf(pid: number): { rss: number; hwm: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1] ?? 0);
    return { rss: kib('VmRSS') * 1024, hwm: kib('VmHWM') * 1024 };
  } catch {
    return { rss: 0, hwm: 0 };
  }
}

/** The resident memory of a process and all its descendants (GDAL children included), in bytes. */
export const treeRss = (pid: number): number => processTree(pid).reduce((sum, p) => sum + memoryOf(p).rss, 0);

/** Samples treeRss every `ms` until stopped; returns the peak seen. */
export function sampleRss(pid: number, ms = 50): { stop(): number; peak(): number } {
  let peak = treeRss(pid);
  const timer = setInterval(() => {
    peak = Math.max(peak, treeRss(pid));
  }, ms);
  return {
    peak: () => peak,
    stop() {
      clearInterval(timer);
      peak = Math.max(peak, treeRss(pid));
      return peak;
    },
  };
}
