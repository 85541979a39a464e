import type { MessagePort } from 'node:worker_threads';
import type { OwsErrorJson } from '../core/errors.ts';
import type { OutputRequest } from '../core/execute.ts';
import type { ResourceLimits } from '../core/limits.ts';
import type { OutputDescription } from '../core/model.ts';
import type { JobInputs, ProcessInputs, StoredOutputs } from '../core/values.ts';

/**
 * What the main thread sends a worker thread or child process to run one job (large data travels
 * as files, not here).
 */
export interface TaskSpec {
  jobId: string;
  /** The processor module of a local process ('' for a remote one). */
  modulePath: string;
  /**
   * The provider and remote id of a remote provider's process (src/providers/), and its inputs
   * when references are forwarded to it unfetched (`inputs` then has gaps in their places).
   */
  remote?: { provider: string; remoteId: string; inputs?: JobInputs };
  inputs: ProcessInputs;
  outputs: Record<string, OutputRequest>;
  outputDescriptions: OutputDescription[];
  workDir: string;
  outputDir: string;
  /** The configured resource limits, for the processor (ctx.limits) and for storing its outputs. */
  limits: ResourceLimits;
}

export interface WorkerTask extends TaskSpec {
  /** The worker's end of a channel for progress and logs (worker → main) and abort (main → worker). */
  port: MessagePort;
}

export type WorkerResult = { ok: true; outputs: StoredOutputs } | { ok: false; error: OwsErrorJson };

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type WorkerMessage =
  | { type: 'progress'; percent: number; message?: string }
  | { type: 'log'; level: LogLevel; message: string }
  /** The last message of a task: everything the worker reported is in before its result is used. */
  | { type: 'done' };

export type ControlMessage = { type: 'abort'; reason: OwsErrorJson };

/** What a child process running tasks tells its parent over IPC (one task at a time). */
export type ChildMessage =
  | WorkerMessage
  /** Sent once, when the child listens for tasks. */
  | { type: 'ready' }
  /** The end of the task under way; everything it reported came before (one ordered channel). */
  | { type: 'result'; result: WorkerResult };

/** What the parent tells a child process: run a task, or stop the one under way. */
export type ParentMessage = { type: 'run'; task: TaskSpec } | ControlMessage;
