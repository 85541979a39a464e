import { setTimeout as delay } from 'node:timers/promises';
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { OwsError } from '../core/errors.ts';
import type { ProcessRuntime } from '../core/processor.ts';
import type { StoredOutputs } from '../core/values.ts';
import { ChildProcessRunner } from './child-runner.ts';
import { InlineRunner } from './inline-runner.ts';
import type { LogLevel, TaskSpec, WorkerMessage, WorkerResult } from './task.ts';

export interface TaskControl {
  /** Aborting asks the processor to stop; its reason (an OwsError) becomes the task's error. */
  signal: AbortSignal;
  onProgress(percent: number, message: string | undefined): void;
  onLog(level: LogLevel, message: string): void;
}

/** Where a task runs: a local runtime, or 'remote' (a process of a remote provider, run in the main thread). */
export type RunnerKind = ProcessRuntime | 'remote';

/** Runs tasks somewhere (worker threads, child processes, remote providers; another host later). */
export interface TaskRunner {
  run(task: TaskSpec, runtime: RunnerKind, control: TaskControl): Promise<StoredOutputs>;
  /** Runtimes that can no longer run anything in this process, with the reason. */
  unavailable(): Partial<Record<RunnerKind, string>>;
  close(): Promise<void>;
}

export interface PiscinaRunnerOptions {
  /** Threads of the pool. */
  parallel: number;
  /** After an abort, how long a processor may take to stop before its thread is terminated. */
  cancelGraceMs: number;
}

const WORKER = new URL('./worker.ts', import.meta.url).href;

/**
 * Runs JavaScript processors in a piscina pool of worker threads, one task per thread; a task that
 * ignores its abort has its thread terminated after the grace period.
 */
export class PiscinaRunner implements TaskRunner {
  readonly #options: PiscinaRunnerOptions;
  #pool: Piscina | undefined;

  constructor(options: PiscinaRunnerOptions) {
    this.#options = options;
  }

  unavailable(): Partial<Record<RunnerKind, string>> {
    return {};
  }

  async run(task: TaskSpec, _runtime: RunnerKind, control: TaskControl): Promise<StoredOutputs> {
    this.#pool ??= new Piscina({
      filename: WORKER,
      minThreads: 0,
      maxThreads: this.#options.parallel,
      idleTimeout: 30_000,
    });
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
      graceTimer = setTimeout(() => hardStop.abort(), this.#options.cancelGraceMs);
    };
    if (control.signal.aborted) onAbort();
    else control.signal.addEventListener('abort', onAbort, { once: true });
    try {
      const result = (await this.#pool.run(
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
      throw new OwsError(
        'NoApplicableCode',
        `The worker thread running this job stopped unexpectedly: ${(error as Error).message}`,
        undefined,
        'transient',
      );
    } finally {
      clearTimeout(graceTimer);
      control.signal.removeEventListener('abort', onAbort);
      port1.close();
    }
  }

  async close(): Promise<void> {
    await this.#pool?.destroy();
    this.#pool = undefined;
  }
}

/** The runners of each kind; 'remote' only when providers are configured. */
export type Runners = Readonly<Record<ProcessRuntime, TaskRunner> & { remote?: TaskRunner }>;

/** Sends each task to the runner of its processor's runtime (or to the remote runner). */
export class RuntimeRunner implements TaskRunner {
  readonly #runners: Runners;

  constructor(runners: Runners) {
    this.#runners = runners;
  }

  /** The runner of one runtime (tests reach the GDAL children's pids through it). */
  runner(runtime: ProcessRuntime): TaskRunner {
    return this.#runners[runtime];
  }

  run(task: TaskSpec, runtime: RunnerKind, control: TaskControl): Promise<StoredOutputs> {
    const runner = this.#runners[runtime];
    if (!runner) {
      return Promise.reject(new OwsError('NoApplicableCode', `No runner for '${runtime}' processes`));
    }
    return runner.run(task, runtime, control);
  }

  unavailable(): Partial<Record<RunnerKind, string>> {
    return Object.assign({}, ...Object.values(this.#runners).map((r) => r.unavailable())) as Partial<
      Record<RunnerKind, string>
    >;
  }

  async close(): Promise<void> {
    await Promise.all(Object.values(this.#runners).map((r) => r.close()));
  }
}

/**
 * Node flags of the GDAL children. A vector job turns every output geometry into text: with V8's
 * default heap sizing a child grew by about 200 MB over a 30 MB buffer input (young generation and
 * old-space slack), with --optimize-for-size by about 20 MB, for about 10 % more time (measured with
 * 10,000 and 100,000 polygons; the GDAL work itself is native).
 */
export const GDAL_NODE_FLAGS: readonly string[] = ['--optimize-for-size'];

export interface LocalRunnerOptions {
  /** Jobs at once (the job manager enforces it across runtimes; each pool is sized to it). */
  parallel: number;
  cancelGraceMs: number;
  /** Variables added to the environment of the GDAL child processes (tests). */
  gdalEnv?: Readonly<Record<string, string>>;
  /** Runs the jobs of remote providers' processes (src/jobs/remote-runner.ts); none = no providers. */
  remote?: TaskRunner;
}

/**
 * The runner of one host: trivial 'inline' processors in the main thread, JavaScript processors in
 * worker threads (piscina), GDAL processors in
 * supervised child processes, one job per child (gdal-async loads in one thread per process, and
 * a process can be killed whatever native call it is stuck in).
 */
export function createLocalRunner(options: LocalRunnerOptions): RuntimeRunner {
  return new RuntimeRunner({
    inline: new InlineRunner(),
    js: new PiscinaRunner({ parallel: options.parallel, cancelGraceMs: options.cancelGraceMs }),
    gdal: new ChildProcessRunner({
      runtime: 'gdal',
      label: 'GDAL',
      size: options.parallel,
      cancelGraceMs: options.cancelGraceMs,
      nodeFlags: GDAL_NODE_FLAGS,
      ...(options.gdalEnv ? { env: options.gdalEnv } : {}),
    }),
    ...(options.remote ? { remote: options.remote } : {}),
  });
}
