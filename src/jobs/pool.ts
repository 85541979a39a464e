import { setTimeout as delay } from 'node:timers/promises';
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { OwsError } from '../core/errors.ts';
import type { ProcessRuntime } from '../core/processor.ts';
import type { StoredOutputs } from '../core/values.ts';
import type { LogLevel, TaskSpec, WorkerMessage, WorkerResult } from './task.ts';

export interface TaskControl {
  /** Aborting asks the processor to stop; its reason (an OwsError) becomes the task's error. */
  signal: AbortSignal;
  onProgress(percent: number, message: string | undefined): void;
  onLog(level: LogLevel, message: string): void;
}

/** Runs tasks somewhere (worker threads here; another host later). */
export interface TaskRunner {
  run(task: TaskSpec, runtime: ProcessRuntime, control: TaskControl): Promise<StoredOutputs>;
  /** Runtimes that can no longer run anything in this process, with the reason. */
  unavailable(): Partial<Record<ProcessRuntime, string>>;
  close(): Promise<void>;
}

export interface PiscinaRunnerOptions {
  /** Threads of the JavaScript pool, and concurrent tasks of the single GDAL thread. */
  parallel: number;
  /** After an abort, how long a processor may take to stop before its thread is terminated. */
  cancelGraceMs: number;
}

const WORKER = new URL('./worker.ts', import.meta.url).href;

/**
 * Two piscina pools: several threads for JavaScript processors, and one thread running several
 * tasks at a time for GDAL processors (gdal-async loads in one thread per process only, so that
 * thread is never terminated: a GDAL task that ignores its abort signal is left to finish).
 */
export class PiscinaRunner implements TaskRunner {
  readonly #options: PiscinaRunnerOptions;
  readonly #pools = new Map<ProcessRuntime, Piscina>();
  /** Set once the GDAL thread has died: GDAL cannot be loaded again in this process. */
  #gdalLost: string | undefined;

  constructor(options: PiscinaRunnerOptions) {
    this.#options = options;
  }

  #pool(runtime: ProcessRuntime): Piscina {
    let pool = this.#pools.get(runtime);
    if (!pool) {
      const gdal = runtime === 'gdal';
      pool = new Piscina({
        filename: WORKER,
        minThreads: gdal ? 1 : 0,
        maxThreads: gdal ? 1 : this.#options.parallel,
        concurrentTasksPerWorker: gdal ? this.#options.parallel : 1,
        idleTimeout: gdal ? Infinity : 30_000,
      });
      this.#pools.set(runtime, pool);
    }
    return pool;
  }

  unavailable(): Partial<Record<ProcessRuntime, string>> {
    return this.#gdalLost
      ? { gdal: `the GDAL worker thread stopped (${this.#gdalLost}); restart the server` }
      : {};
  }

  async run(task: TaskSpec, runtime: ProcessRuntime, control: TaskControl): Promise<StoredOutputs> {
    if (runtime === 'gdal' && this.#gdalLost) {
      throw new OwsError(
        'NoApplicableCode',
        `GDAL processes are unavailable until the server restarts: the GDAL worker thread stopped (${this.#gdalLost})`,
      );
    }
    const { port1, port2 } = new MessageChannel();
    let reportsDone: () => void = () => undefined;
    const allReported = new Promise<void>((resolve) => (reportsDone = resolve));
    port1.on('message', (m: WorkerMessage) => {
      if (m.type === 'progress') control.onProgress(m.percent, m.message);
      else if (m.type === 'log') control.onLog(m.level, m.message);
      else reportsDone();
    });
    port1.on('close', () => reportsDone());
    const hardStop = new AbortController();
    let graceTimer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      const reason = OwsError.from(control.signal.reason).toJSON();
      port1.postMessage({ type: 'abort', reason });
      if (runtime !== 'gdal') {
        graceTimer = setTimeout(() => hardStop.abort(), this.#options.cancelGraceMs);
      }
    };
    if (control.signal.aborted) onAbort();
    else control.signal.addEventListener('abort', onAbort, { once: true });
    try {
      const result = (await this.#pool(runtime).run(
        { ...task, port: port2 },
        { transferList: [port2], signal: hardStop.signal },
      )) as WorkerResult;
      // Progress posted just before the result must be recorded before the result is.
      await Promise.race([allReported, delay(1000, undefined, { ref: false })]);
      if (!result.ok) throw OwsError.fromJSON(result.error);
      return result.outputs;
    } catch (error) {
      if (error instanceof OwsError) throw error;
      if (control.signal.aborted) throw OwsError.from(control.signal.reason);
      // gdal-async cannot be loaded by a second thread of this process, so the GDAL pool is done for.
      if (runtime === 'gdal') this.#gdalLost = (error as Error).message;
      throw new OwsError(
        'NoApplicableCode',
        `The worker thread running this job stopped unexpectedly: ${(error as Error).message}`,
      );
    } finally {
      clearTimeout(graceTimer);
      control.signal.removeEventListener('abort', onAbort);
      port1.close();
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((p) => p.destroy()));
    this.#pools.clear();
  }
}
