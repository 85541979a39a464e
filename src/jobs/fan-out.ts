/**
 * Parallel fan-out of one job (split, map, merge) for processors that declare it
 * (src/core/processor.ts FanOut). A job whose input is large enough runs as several tasks of the
 * same job through the ordinary TaskRunner, so wherever tasks run (worker threads, GDAL child
 * processes, later other nodes), chunks run too:
 *
 *   1. split — one task cuts the job into chunks (or declines and runs the job whole, in the same task);
 *   2. chunks — each chunk is a task of its own, with the job's AbortSignal; up to `maxParallel` at
 *      once: the first on the job's own slot, the others only on slots nobody else wants (a
 *      SlotLender, the job manager); progress is reported as chunks advance and finish;
 *   3. merge — one task joins the parts, in chunk order, into the job's outputs.
 *
 * One failing chunk fails the job (the others are stopped first); an abort (dismiss, time limit,
 * shutdown) stops every chunk, and the job ends only once none is running.
 */
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { OwsError } from '../core/errors.ts';
import type { ProcessInputs, StoredOutputs } from '../core/values.ts';
import type { RunnerKind, TaskControl, TaskRunner } from './pool.ts';
import type { TaskSpec } from './task.ts';

/** When and how wide one process fans out (configuration, else the processor's defaults). */
export interface FanOutSettings {
  /** The complex input whose size decides. */
  input: string;
  /** Bytes of that input from which the job fans out. */
  minBytes: number;
  /** Chunks of one job running at once; 1 = never fan out. */
  maxParallel: number;
}

/**
 * Slots of the global cap that no job wants now. A chunk beyond a job's first runs only on one of
 * them and gives it back when it ends, so chunks never delay a waiting job by more than one chunk.
 */
export interface SlotLender {
  /** Takes a free slot if one is free and no job is waiting for it. */
  tryBorrow(): boolean;
  giveBack(): void;
  /** Calls `listener` when slots may have become free; returns the unsubscribe function. */
  onFree(listener: () => void): () => void;
}

/** The share of the progress bar the split takes (the chunks take the rest up to MERGE_FROM). */
const SPLIT_TO = 5;
const MERGE_FROM = 95;

/** Bytes of the first value of a complex input; 0 when there is none. */
export async function inputBytes(inputs: ProcessInputs, id: string): Promise<number> {
  const value = inputs[id]?.[0];
  if (value?.kind !== 'complex') return 0;
  if (value.file !== undefined) return (await stat(value.file)).size;
  if (value.bytes !== undefined) return value.bytes.byteLength;
  return Buffer.byteLength(value.text ?? '');
}

/**
 * Runs a job's task: fanned out when `settings` allow it and the input is large enough, else as
 * one task. Resolves with the job's stored outputs.
 */
export async function runFannedOut(
  runner: TaskRunner,
  task: TaskSpec,
  runtime: RunnerKind,
  control: TaskControl,
  settings: FanOutSettings | undefined,
  lender: SlotLender,
): Promise<StoredOutputs> {
  if (
    !settings ||
    settings.maxParallel < 2 ||
    (await inputBytes(task.inputs, settings.input)) < settings.minBytes
  ) {
    return runner.run(task, runtime, control);
  }
  const dir = path.join(task.workDir, 'fan-out');
  // Fresh: the plan file's presence says the split planned (a run again of the job finds none).
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const planFile = path.join(dir, 'plan.json');
  let reported = 0;
  const progress = (percent: number, message: string | undefined) => {
    reported = Math.max(reported, Math.floor(percent));
    control.onProgress(reported, message);
  };
  // The split may decline and run the job whole: its progress is then the job's.
  const whole = await runner.run(
    { ...task, step: { kind: 'split', slots: settings.maxParallel, planFile } },
    runtime,
    { ...control, onProgress: progress },
  );
  let chunks: unknown[];
  try {
    chunks = JSON.parse(await readFile(planFile, 'utf8')) as unknown[];
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return whole;
    throw error;
  }
  progress(SPLIT_TO, `split into ${chunks.length} chunks`);
  const parts = await runChunks(runner, task, runtime, control, chunks, settings.maxParallel, lender, dir, {
    report: (fraction, message) => progress(SPLIT_TO + (MERGE_FROM - SPLIT_TO) * fraction, message),
  });
  progress(MERGE_FROM, `merging ${chunks.length} chunks`);
  return runner.run({ ...task, step: { kind: 'merge', parts } }, runtime, {
    ...control,
    onProgress: (percent, message) =>
      progress(MERGE_FROM + ((100 - MERGE_FROM) * Math.min(percent, 99)) / 100, message),
  });
}

/**
 * Runs the chunks, at most `maxParallel` at once (one on the job's slot, the rest on borrowed
 * ones), and returns their parts in chunk order. The first failure stops the others and is thrown
 * once none runs any more.
 */
async function runChunks(
  runner: TaskRunner,
  task: TaskSpec,
  runtime: RunnerKind,
  control: TaskControl,
  chunks: unknown[],
  maxParallel: number,
  lender: SlotLender,
  dir: string,
  progress: { report(fraction: number, message: string): void },
): Promise<unknown[]> {
  const n = chunks.length;
  const parts: unknown[] = new Array<unknown>(n);
  const percents = new Array<number>(n).fill(0);
  // Stops the chunks still running when one fails; the job's own abort reaches them through it too.
  const stop = new AbortController();
  const onJobAbort = () => stop.abort(control.signal.reason);
  if (control.signal.aborted) onJobAbort();
  else control.signal.addEventListener('abort', onJobAbort, { once: true });
  let next = 0;
  let finished = 0;
  let running = 0;
  let ownSlotBusy = false;
  let failure: OwsError | undefined;
  const report = (message: string) =>
    progress.report(percents.reduce((a, b) => a + b, 0) / (100 * n), message);

  return new Promise<unknown[]>((resolve, reject) => {
    const settleIfDone = () => {
      if (running > 0) return;
      if (failure || stop.signal.aborted) {
        cleanup();
        reject(failure ?? OwsError.from(stop.signal.reason));
      } else if (finished === n) {
        cleanup();
        resolve(parts);
      }
    };
    const launch = (index: number, borrowed: boolean) => {
      running++;
      const workDir = path.join(dir, `chunk-${index + 1}`);
      const partFile = path.join(dir, `part-${index + 1}.json`);
      const label = `chunk ${index + 1} of ${n}`;
      void mkdir(workDir, { recursive: true })
        .then(() =>
          runner.run({ ...task, workDir, step: { kind: 'chunk', chunk: chunks[index], partFile } }, runtime, {
            signal: stop.signal,
            onProgress: (percent) => {
              percents[index] = Math.max(percents[index]!, Math.min(percent, 99));
              report(`${finished} of ${n} chunks done`);
            },
            onLog: (level, message) => control.onLog(level, `${label}: ${message}`),
          }),
        )
        .then(() => readFile(partFile, 'utf8'))
        .then(
          (json) => {
            parts[index] = JSON.parse(json) as unknown;
            percents[index] = 100;
            finished++;
            report(`${finished} of ${n} chunks done`);
          },
          (thrown: unknown) => {
            if (failure || stop.signal.aborted) return; // stopped because of another failure or an abort
            const error = OwsError.from(thrown);
            failure = new OwsError(
              error.code,
              `Chunk ${index + 1} of ${n} failed: ${error.message}`,
              error.locator,
              error.reason,
            );
            stop.abort(failure);
          },
        )
        .finally(() => {
          running--;
          if (borrowed) lender.giveBack();
          else ownSlotBusy = false;
          fill();
          settleIfDone();
        });
    };
    /** Starts chunks while there are chunks left and slots to run them on. */
    const fill = () => {
      while (next < n && !failure && !stop.signal.aborted && running < maxParallel) {
        if (!ownSlotBusy) {
          ownSlotBusy = true;
          launch(next++, false);
        } else if (lender.tryBorrow()) {
          launch(next++, true);
        } else {
          break;
        }
      }
    };
    const unsubscribe = lender.onFree(fill);
    const cleanup = () => {
      unsubscribe();
      control.signal.removeEventListener('abort', onJobAbort);
    };
    fill();
    settleIfDone(); // aborted before any chunk started
  });
}
