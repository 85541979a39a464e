import { fork, type ChildProcess } from 'node:child_process';
import { OwsError } from '../core/errors.ts';
import type { ProcessRuntime } from '../core/processor.ts';
import type { StoredOutputs } from '../core/values.ts';
import type { TaskControl, TaskRunner } from './pool.ts';
import type { ChildMessage, ParentMessage, TaskSpec } from './task.ts';

export interface ChildProcessRunnerOptions {
  /** The runtime these children serve, and its name in messages ('gdal', 'GDAL'). */
  runtime: ProcessRuntime;
  label: string;
  /** Children at most, each running one task at a time. */
  size: number;
  /** After an abort, how long a task may take to stop before its child is killed. */
  cancelGraceMs: number;
  /** Variables added to the children's environment (after the proxy variables are removed). */
  env?: Readonly<Record<string, string>>;
  /** Node flags of the children, after those inherited from this process. */
  nodeFlags?: readonly string[];
  /** libuv threads of each child (one task per child needs few). Default 2. */
  threadPoolSize?: number;
  /** How long an idle child is kept warm. Default 5 minutes. */
  idleTimeoutMs?: number;
  /** How long a child may take to say it is ready. Default 30 s. */
  startTimeoutMs?: number;
}

const HOST = new URL('./child-host.ts', import.meta.url);

/**
 * Proxy settings a child must not inherit: libcurl (under GDAL) honours NO_PROXY over any proxy and
 * the *_PROXY variables as proxies, so either would undo the sandbox's dead proxy (see
 * processes/_gdal/sandbox.ts).
 */
const PROXY_VARIABLE = /^(no|http|https|ftp|all|socks)_proxy$/i;

/** Node flags of this process that the children need too (type stripping, warnings, memory). */
const INHERITED_FLAG = /^--(no-)?(experimental-(strip|transform)-types|disable-warning|max-old-space-size)/;

/** Consecutive failed starts before the runtime is reported unavailable. */
const START_FAILURES_UNAVAILABLE = 3;
const MAX_BACKOFF_MS = 30_000;

interface Child {
  proc: ChildProcess;
  /** Settles once the process has exited. */
  exited: Promise<void>;
  idleTimer?: NodeJS.Timeout;
  /** Whoever wants to hear of the child's stderr and end while it runs a task. */
  onStderr?: (text: string) => void;
}

/** The environment of a child: this process's, less proxy settings, plus the runner's additions. */
export function childEnvironment(
  parent: NodeJS.ProcessEnv,
  extra: Readonly<Record<string, string>>,
  threadPoolSize: number,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(parent)) {
    if (!PROXY_VARIABLE.test(key)) env[key] = value;
  }
  return { ...env, UV_THREADPOOL_SIZE: String(threadPoolSize), ...extra };
}

/**
 * Runs tasks in supervised child processes (child-host.ts), one task per child at a time: the
 * isolation unit is one job. Children start on demand, up to `size`, and stay warm for the next
 * task. A task that does not stop within the grace period after an abort (dismissal, time limit,
 * shutdown) has its child killed, whatever it is stuck in; a child that dies fails only its own task,
 * and the next task gets a fresh child. Children that cannot even start are retried with a growing
 * back-off, and reported unavailable after a few failures in a row.
 */
export class ChildProcessRunner implements TaskRunner {
  readonly #options: Required<Omit<ChildProcessRunnerOptions, 'env' | 'nodeFlags'>> & {
    env: Record<string, string>;
    nodeFlags: readonly string[];
  };
  readonly #idle: Child[] = [];
  readonly #all = new Set<Child>();
  /** Tasks waiting for a slot (the job manager's cap normally keeps this empty). */
  readonly #waiting: Array<() => void> = [];
  #busy = 0;
  #closing = false;
  #startFailures = 0;
  #lastStartError = '';
  #retryAt = 0;

  constructor(options: ChildProcessRunnerOptions) {
    this.#options = {
      threadPoolSize: 2,
      idleTimeoutMs: 5 * 60_000,
      startTimeoutMs: 30_000,
      ...options,
      env: { ...options.env },
      nodeFlags: options.nodeFlags ?? [],
    };
  }

  /** Process ids of the children alive now (tests check that none outlive close()). */
  get pids(): number[] {
    return [...this.#all].map((c) => c.proc.pid).filter((pid): pid is number => pid !== undefined);
  }

  unavailable(): Partial<Record<ProcessRuntime, string>> {
    if (this.#startFailures < START_FAILURES_UNAVAILABLE) return {};
    return {
      [this.#options.runtime]:
        `${this.#options.label} processes failed to start ${this.#startFailures} times in a row (${this.#lastStartError}); retrying`,
    };
  }

  async run(task: TaskSpec, _runtime: ProcessRuntime, control: TaskControl): Promise<StoredOutputs> {
    await this.#acquire(control.signal);
    try {
      const child = this.#takeIdle() ?? (await this.#start(control.signal));
      return await this.#runOn(child, task, control);
    } finally {
      this.#busy--;
      this.#waiting.shift()?.();
    }
  }

  async #acquire(signal: AbortSignal): Promise<void> {
    while (!this.#closing && this.#busy >= this.#options.size) {
      signal.throwIfAborted();
      await new Promise<void>((resolve) => {
        const wake = () => {
          signal.removeEventListener('abort', wake);
          const i = this.#waiting.indexOf(wake);
          if (i >= 0) this.#waiting.splice(i, 1);
          resolve();
        };
        this.#waiting.push(wake);
        signal.addEventListener('abort', wake, { once: true });
      });
    }
    if (this.#closing) throw new OwsError('NoApplicableCode', 'The server is shutting down');
    signal.throwIfAborted();
    this.#busy++;
  }

  #takeIdle(): Child | undefined {
    for (let child = this.#idle.pop(); child; child = this.#idle.pop()) {
      clearTimeout(child.idleTimer);
      if (child.proc.connected) return child;
    }
    return undefined;
  }

  #release(child: Child): void {
    if (this.#closing || !child.proc.connected) {
      this.#kill(child);
      return;
    }
    child.onStderr = undefined;
    child.idleTimer = setTimeout(() => {
      const i = this.#idle.indexOf(child);
      if (i >= 0) this.#idle.splice(i, 1);
      child.proc.disconnect(); // the child exits on disconnect
    }, this.#options.idleTimeoutMs);
    child.idleTimer.unref();
    this.#idle.push(child);
  }

  #kill(child: Child): void {
    clearTimeout(child.idleTimer);
    const i = this.#idle.indexOf(child);
    if (i >= 0) this.#idle.splice(i, 1);
    if (child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill('SIGKILL');
  }

  /** Forks a child and waits for it to be ready. */
  async #start(signal: AbortSignal): Promise<Child> {
    const { label } = this.#options;
    if (Date.now() < this.#retryAt) {
      throw new OwsError(
        'NoApplicableCode',
        `${label} processes cannot start at the moment (${this.#lastStartError}); try again later`,
      );
    }
    const proc = fork(HOST, [], {
      execPath: process.execPath,
      execArgv: [...process.execArgv.filter((flag) => INHERITED_FLAG.test(flag)), ...this.#options.nodeFlags],
      env: childEnvironment(process.env, this.#options.env, this.#options.threadPoolSize),
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'advanced',
    });
    const child: Child = {
      proc,
      exited: new Promise<void>((resolve) => {
        proc.once('exit', () => resolve());
        // A process that could not be spawned has no pid and never exits.
        proc.once('error', () => proc.pid === undefined && resolve());
      }),
    };
    // Failed spawns, sends and kills: the exit (or start) handlers deal with the consequences.
    proc.on('error', () => undefined);
    this.#all.add(child);
    void child.exited.then(() => {
      this.#all.delete(child);
      const i = this.#idle.indexOf(child);
      if (i >= 0) this.#idle.splice(i, 1);
      clearTimeout(child.idleTimer);
    });
    proc.stderr?.setEncoding('utf8').on('data', (text: string) => child.onStderr?.(text));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => fail(new Error(`not ready within ${this.#options.startTimeoutMs / 1000} s`)),
          this.#options.startTimeoutMs,
        );
        const cleanup = () => {
          clearTimeout(timer);
          proc.off('message', onMessage).off('error', fail).off('exit', onExit);
          signal.removeEventListener('abort', onAbort);
        };
        const fail = (error: Error) => {
          cleanup();
          reject(error);
        };
        const onMessage = (m: ChildMessage) => {
          if (m.type !== 'ready') return;
          cleanup();
          resolve();
        };
        const onExit = (code: number | null, sig: NodeJS.Signals | null) =>
          fail(new Error(`exited before it was ready (${sig ? `signal ${sig}` : `exit code ${code}`})`));
        const onAbort = () => fail(signal.reason as Error);
        proc.on('message', onMessage).on('error', fail).on('exit', onExit);
        signal.addEventListener('abort', onAbort, { once: true });
      });
    } catch (error) {
      this.#kill(child);
      if (signal.aborted) throw OwsError.from(signal.reason);
      this.#startFailures++;
      this.#lastStartError = (error as Error).message;
      this.#retryAt = Date.now() + Math.min(MAX_BACKOFF_MS, 250 * 2 ** this.#startFailures);
      throw new OwsError(
        'NoApplicableCode',
        `Could not start a process for ${label} jobs: ${this.#lastStartError}`,
      );
    }
    this.#startFailures = 0;
    return child;
  }

  /** Runs one task on a ready child; kills the child if the task outlives the grace after an abort. */
  #runOn(child: Child, task: TaskSpec, control: TaskControl): Promise<StoredOutputs> {
    const { proc } = child;
    const { label, cancelGraceMs } = this.#options;
    return new Promise<StoredOutputs>((resolve, reject) => {
      let graceTimer: NodeJS.Timeout | undefined;
      let settled = false;
      const settle = (after: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(graceTimer);
        control.signal.removeEventListener('abort', onAbort);
        proc.off('message', onMessage).off('exit', onExit);
        after();
      };
      const send = (message: ParentMessage) => {
        if (proc.connected) proc.send(message, (error) => error && this.#kill(child));
      };
      const onMessage = (m: ChildMessage) => {
        if (m.type === 'progress') control.onProgress(m.percent, m.message);
        else if (m.type === 'log') control.onLog(m.level, m.message);
        else if (m.type === 'result') {
          settle(() => {
            this.#release(child);
            if (m.result.ok) resolve(m.result.outputs);
            else reject(OwsError.fromJSON(m.result.error));
          });
        }
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
        settle(() =>
          reject(
            control.signal.aborted
              ? OwsError.from(control.signal.reason)
              : new OwsError(
                  'NoApplicableCode',
                  `The ${label} process running this job stopped unexpectedly (${signal ? `signal ${signal}` : `exit code ${code}`})`,
                  undefined,
                  'transient',
                ),
          ),
        );
      const onAbort = () => {
        send({ type: 'abort', reason: OwsError.from(control.signal.reason).toJSON() });
        graceTimer = setTimeout(
          () =>
            settle(() => {
              this.#kill(child);
              reject(OwsError.from(control.signal.reason));
            }),
          cancelGraceMs,
        );
      };
      child.onStderr = (text) => control.onLog('warn', `${label} process: ${text.trimEnd()}`);
      proc.on('message', onMessage).on('exit', onExit);
      send({ type: 'run', task });
      if (control.signal.aborted) onAbort();
      else control.signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Stops every child (killing those still running a task) and waits until they are gone. */
  async close(): Promise<void> {
    this.#closing = true;
    for (const wake of this.#waiting.splice(0)) wake();
    const children = [...this.#all];
    for (const child of children) {
      if (this.#idle.includes(child) && child.proc.connected) {
        clearTimeout(child.idleTimer);
        child.proc.disconnect();
      } else {
        this.#kill(child);
      }
    }
    this.#idle.length = 0;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), 2000)));
    const gone = Promise.all(children.map((c) => c.exited));
    if ((await Promise.race([gone, late])) === 'late') {
      for (const child of children) this.#kill(child);
      await gone;
    }
    clearTimeout(timer);
  }
}
