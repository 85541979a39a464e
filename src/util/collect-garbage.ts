/**
 * A major garbage collection on request, for the moment a large amount of memory has just become
 * garbage while the process is about to sit idle: a 25 MB request text, once its job's input is
 * on disk, would otherwise stay resident for as long as the job runs (V8 collects its old
 * generation only when that grows past a limit, which a process waiting for a job does not reach),
 * beside the memory of the GDAL process doing the work.
 *
 * V8's collector is exposed to a fresh context for this (the flag is set and unset again, so no
 * other context gets a `gc` global); when that fails, nothing is collected early.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Collector = () => void;

let collector: Collector | null | undefined;

function find(): Collector | null {
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === 'function') return exposed as Collector;
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? (gc as Collector) : null;
  } catch {
    return null;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}

/** A major collection now; false when V8's collector could not be reached. */
export function collectGarbage(): boolean {
  collector ??= find();
  collector?.();
  return collector !== null;
}

/** Collections asked for through collectGarbageSoon start at least this far apart. */
const MIN_INTERVAL_MS = 1000;

let scheduled = false;
let last = -Infinity;

/**
 * One major collection at the next turn of the event loop (after the promise callbacks under way,
 * so that the frames that held the garbage have moved on), or once MIN_INTERVAL_MS have passed
 * since the last one: a stream of large requests costs a collection (tens of milliseconds) a
 * second at most. Requests made meanwhile share it.
 */
export function collectGarbageSoon(): void {
  if (scheduled) return;
  scheduled = true;
  const run = () => {
    scheduled = false;
    last = performance.now();
    collectGarbage();
  };
  const wait = last + MIN_INTERVAL_MS - performance.now();
  if (wait <= 0) setImmediate(run);
  else setTimeout(run, wait).unref();
}
