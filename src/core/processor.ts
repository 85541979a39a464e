import { readFile } from 'node:fs/promises';
import type { OutputRequest } from './execute.ts';
import type { ResourceLimits } from './limits.ts';
import type { ProcessSpec } from './model.ts';
import type { ComplexValue, InputValue, LiteralScalar, ProcessInputs, ProcessOutputs } from './values.ts';

export interface ProcessLogger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface ProcessContext {
  jobId: string;
  /** A private folder for this job; removed after the job when the server cleans temporary files. */
  workDir: string;
  /** Aborted when the job is dismissed, times out or the server shuts down; stop promptly. */
  signal: AbortSignal;
  /** The outputs the client asked for, with the chosen formats. */
  outputs: Record<string, OutputRequest>;
  progress(percent: number, message?: string): void;
  logger: ProcessLogger;
  /**
   * What the job may expand, read and write (configuration `server.limits`): check sizes before
   * decompressing or allocating, and refuse with FileSizeExceeded when an input is beyond them.
   */
  limits: Readonly<ResourceLimits>;
}

/**
 * 'js' processors run in a pool of worker threads; 'gdal' processors in supervised child processes
 * (gdal-async is not context-aware). See DESIGN.md. 'inline' processors run in the server's main
 * thread, with no hop at all: only for processors that compute a small result from literal inputs
 * in microseconds and never block (an abort ends their job at once, but a blocking loop cannot be
 * stopped; they get no work folder). See src/jobs/inline-runner.ts.
 */
export type ProcessRuntime = 'js' | 'gdal' | 'inline';

/** Per-resource settings from the configuration (pygeoapi: the resource's `processor` section). */
export type ProcessorOptions = Record<string, unknown>;

export interface Processor {
  /** The description, or a function of the resource's options that returns it. */
  description: ProcessSpec | ((options: ProcessorOptions) => ProcessSpec);
  runtime?: ProcessRuntime;
  /**
   * Runs in a worker thread with validated, typed inputs. Must not import gdal-async at module top
   * level: descriptions are also read in the main thread.
   */
  execute(inputs: ProcessInputs, ctx: ProcessContext): Promise<ProcessOutputs>;
  /** How a large job splits into chunks run in parallel (src/jobs/fan-out.ts); none = never. */
  fanOut?: FanOut;
}

/**
 * Split, map, merge: a processor that can cut a large job into chunks run as parallel tasks of the
 * same job (src/jobs/fan-out.ts). Each step runs in a task like `execute` (worker thread or child
 * process, possibly another one each time): what one step hands the next is JSON (chunks, parts);
 * large data travels as files under the job's work folder. The merged outputs must be what
 * `execute` would have produced for the whole input.
 */
export interface FanOut<Chunk = unknown, Part = unknown> {
  /** The complex input whose size in bytes decides whether a job fans out. */
  input: string;
  /** The size of that input from which a job fans out, unless the configuration says otherwise. */
  minBytes: number;
  /**
   * Cuts the job into chunks, in order, or returns undefined when it cannot or need not (a format
   * the merge cannot join, one feature): the same task then runs `execute`. Up to `slots` chunks
   * run at once: as many chunks as slots when each chunk has a fixed cost (opening the whole
   * input), more (2 per slot) when chunks are cheap, for finer progress and a slot freed mid-way.
   */
  split(inputs: ProcessInputs, ctx: ProcessContext, slots: number): Promise<Chunk[] | undefined>;
  /** Runs one chunk, in a work folder of its own (`ctx.workDir`); its progress is the chunk's. */
  chunk(inputs: ProcessInputs, chunk: Chunk, ctx: ProcessContext): Promise<Part>;
  /** Joins the parts, in chunk order, into the outputs `execute` would have produced. */
  merge(inputs: ProcessInputs, parts: Part[], ctx: ProcessContext): Promise<ProcessOutputs>;
}

/** Declares a processor's fan-out with its own chunk and part types (the job system sees JSON). */
export const fanOut = <Chunk, Part>(steps: FanOut<Chunk, Part>): FanOut => steps as unknown as FanOut;

// ---- Helpers for processor authors ---------------------------------------------------------------

export function first<T extends InputValue['kind']>(
  inputs: ProcessInputs,
  id: string,
  kind: T,
): Extract<InputValue, { kind: T }> | undefined {
  const value = inputs[id]?.[0];
  if (value === undefined) return undefined;
  if (value.kind !== kind) throw new Error(`Input '${id}' is ${value.kind}, not ${kind}`);
  return value as Extract<InputValue, { kind: T }>;
}

export const literal = (inputs: ProcessInputs, id: string): LiteralScalar | undefined =>
  first(inputs, id, 'literal')?.value;

export async function complexBytes(value: ComplexValue): Promise<Uint8Array> {
  if (value.file) return readFile(value.file);
  if (value.bytes) return value.bytes;
  return new TextEncoder().encode(value.text ?? '');
}

export async function complexText(value: ComplexValue): Promise<string> {
  if (value.text !== undefined) return value.text;
  return new TextDecoder().decode(await complexBytes(value));
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it is aborted. */
export function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
