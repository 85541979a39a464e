import { EventEmitter } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import { OwsError, type OwsErrorJson } from '../core/errors.ts';
import { resolveExecutionMode, resolveOutputs, type RawExecuteRequest } from '../core/execute.ts';
import { isTerminal, type Job } from '../core/job.ts';
import type { ResourceLimits } from '../core/limits.ts';
import type { ProcessDescription } from '../core/model.ts';
import type { ProcessInputs } from '../core/values.ts';
import type { ContentChecker } from '../core/content-checks.ts';
import type { SchemaChecker } from '../core/schema-checks.ts';
import { validateInputs, type InputValidationOptions } from '../core/validate.ts';
import { precheckReference, type ReferencePolicy } from '../references/fetch.ts';
import type { ProcessRegistry } from '../registry/registry.ts';
import type { Logger } from '../util/logger.ts';
import type { JobFiles } from './files.ts';
import { hasPendingReferences, resolveReferences } from './references.ts';
import type { TaskRunner } from './pool.ts';
import type { StoreHealth } from './resilient-store.ts';
import {
  QueueFullError,
  type Admission,
  type JobFilter,
  type JobPatch,
  type JobStore,
  type NewJob,
} from './store.ts';

export interface JobManagerOptions {
  /** Jobs running at once, across all pools (PyWPS parallelprocesses). */
  parallel: number;
  /** Jobs waiting for a slot before submissions get ServerBusy (PyWPS maxprocesses). */
  maxQueued: number;
  jobTimeoutMs: number;
  syncTimeoutMs: number;
  /** How long an aborted processor may take to stop. */
  cancelGraceMs: number;
  /** How long finished jobs are kept. */
  retentionMs: number;
  /** How long finished synchronous jobs are kept (the shorter of this and `retentionMs` applies). */
  syncRetentionMs: number;
  /** Jobs kept at most: beyond it the oldest finished ones are removed. */
  maxJobs: number;
  sweepIntervalMs: number;
  cleanTempDir: boolean;
  maxSingleInputSize: number;
  /** Complex input text above this many bytes is written to a file before the job is stored. */
  inlineLimit: number;
  /** What a job may expand, read, write and keep (given to processors; see src/core/limits.ts). */
  limits: ResourceLimits;
  /** Makes room for a job's stored outputs or refuses them (src/jobs/disk-quota.ts); none = no quota. */
  diskQuota?: { admit(jobId: string): Promise<void> };
  contentCheckers?: readonly ContentChecker[];
  schemaCheckers?: readonly SchemaChecker[];
  /** How reference inputs are fetched when their job runs. */
  references: {
    policy: ReferencePolicy;
    /** Fetches of one job under way at once. */
    concurrency: number;
    /** Bytes all references of one job may bring in together. */
    budgetBytes: number;
  };
}

/**
 * What happens to a synchronous job that outlives the sync timeout: 'cancel' stops it and throws
 * (WPS: the client gets an exception); 'detach' lets it run on and returns it unfinished (OGC API:
 * the client may be pointed at the job instead).
 */
export type SyncTimeoutPolicy = 'cancel' | 'detach';

export interface JobManagerDeps {
  store: JobStore;
  runner: TaskRunner;
  registry: ProcessRegistry;
  files: JobFiles;
  logger: Logger;
  /** The state of the store (see ResilientStore), for /health. */
  storeHealth?: () => StoreHealth;
}

/** How a job ended, to be recorded in the store. */
interface Outcome {
  to: 'successful' | 'failed';
  patch: JobPatch;
}

/** What /health says about the job system beyond the processors. */
export interface JobSystemHealth {
  /** Why it is degraded; absent when it is not. */
  problems: string[];
}

/** Whether any input value is a file (placed in the job's work folder). */
const hasFiles = (inputs: Readonly<Record<string, readonly { kind: string; file?: string }[]>>): boolean =>
  Object.values(inputs).some((values) => values.some((v) => v.kind === 'complex' && v.file !== undefined));

/** Jobs removed per store call of a sweep (the event loop gets a turn in between). */
const SWEEP_BATCH = 500;
/** A job folder with no job in the store is removed once it is this old (its job may be being admitted). */
const ORPHAN_MIN_AGE_MS = 60_000;

const noSuchJob = (id: string) =>
  new OwsError('InvalidParameterValue', `No job '${id}'`, 'JobID', 'no-such-job');

const interruptedByRestart: OwsErrorJson = {
  code: 'NoApplicableCode',
  message: 'The job was interrupted by a server restart',
  reason: 'interrupted',
};

/**
 * Orchestrates jobs: validates and admits submissions (bounded queue), dispatches accepted jobs to
 * the task runner within the concurrency cap, records progress and results in the store, enforces
 * time limits, dismisses, recovers after a restart and sweeps old jobs. The store holds all job
 * state; this object only holds what is in flight in this process.
 */
export class JobManager {
  readonly #store: JobStore;
  readonly #runner: TaskRunner;
  readonly #registry: ProcessRegistry;
  readonly #files: JobFiles;
  readonly #log: Logger;
  readonly #storeHealth: () => StoreHealth;
  readonly #options: JobManagerOptions;
  readonly #events = new EventEmitter();
  readonly #active = new Map<string, { controller: AbortController; done: Promise<void> }>();
  /** Of the active jobs, the synchronous ones of inline processors (main thread, no pool slot). */
  readonly #inline = new Set<string>();
  /** Jobs failed on a sync timeout while a claim of them may be under way: never started. */
  readonly #cancelled = new Map<string, OwsError>();
  /** Jobs that ended but whose end the store has not taken yet (it is tried again). */
  readonly #unrecorded = new Set<string>();
  #endedSinceSweep = 0;
  #sweeping: Promise<number> | undefined;
  #redispatchTimer: NodeJS.Timeout | undefined;
  /** Submissions being stored (shutdown waits for them before it closes the store). */
  readonly #admitting = new Set<Promise<Job>>();
  #dispatching = false;
  #redispatch = false;
  #closing = false;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(deps: JobManagerDeps, options: JobManagerOptions) {
    this.#store = deps.store;
    this.#runner = deps.runner;
    this.#registry = deps.registry;
    this.#files = deps.files;
    this.#log = deps.logger;
    this.#storeHealth = deps.storeHealth ?? (() => ({ ok: true }));
    this.#options = options;
    this.#events.setMaxListeners(0);
  }

  /** Jobs running in the pools (the ones `parallel` bounds; inline jobs take no slot). */
  get running(): number {
    return this.#active.size - this.#inline.size;
  }

  /** Kinds of processors that cannot run for now (GDAL child processes that keep failing to start), with the reason. */
  unavailable(): Record<string, string> {
    return this.#runner.unavailable();
  }

  /** Problems of the job system that /health reports (the store, job ends not yet recorded). */
  health(): JobSystemHealth {
    const problems: string[] = [];
    const store = this.#storeHealth();
    if (!store.ok) problems.push(`job store: ${store.reason} (since ${store.since.toISOString()})`);
    if (this.#unrecorded.size > 0) {
      problems.push(`${this.#unrecorded.size} finished jobs could not be recorded yet; retrying`);
    }
    return { problems };
  }

  /** Recovers from a previous run (running → failed, accepted → queued again) and starts dispatching. */
  async start(): Promise<void> {
    const failed = await this.#store.failRunning(interruptedByRestart, new Date());
    for (const id of failed) await this.#files.removeWork(id).catch(() => undefined);
    const queued = await this.#store.countByStatus('accepted');
    if (failed.length > 0 || queued > 0) {
      this.#log.info({ failed: failed.length, requeued: queued }, 'recovered jobs from the previous run');
    }
    this.#sweeper = setInterval(() => void this.#sweepSafely(true), this.#options.sweepIntervalMs);
    this.#sweeper.unref();
    this.#dispatch();
  }

  /** Subscribes to job updates; returns the unsubscribe function. */
  onUpdate(listener: (job: Job) => void): () => void {
    this.#events.on('update', listener);
    return () => this.#events.off('update', listener);
  }

  #emit(job: Job | undefined): void {
    if (job) this.#events.emit('update', job);
  }

  /**
   * Validates a request and stores it as an accepted job (before anyone is told about it).
   * Throws OwsError: unknown process, bad inputs, disallowed mode, ServerBusy when the queue is full.
   */
  async submit(raw: RawExecuteRequest): Promise<Job> {
    const { description, location } = this.#registry.get(raw.processId);
    const mode = resolveExecutionMode(description, raw.mode);
    const inputs = validateInputs(description, raw.inputs, this.#validation());
    // A synchronous job of an inline processor with no reference to fetch waits for no slot: it
    // runs at once, in the main thread, and is stored once, ended (see #runInline).
    const immediate = mode === 'sync' && location.runtime === 'inline' && !hasPendingReferences(inputs);
    // What can be known of a reference without fetching it is refused now, not when the job runs.
    for (const [id, values] of Object.entries(inputs)) {
      for (const value of values) {
        if (value.kind !== 'reference') continue;
        precheckReference(value.href, this.#options.references.policy, id);
        if (value.bodyReference !== undefined) {
          precheckReference(value.bodyReference, this.#options.references.policy, id);
        }
      }
    }
    const outputs = resolveOutputs(description, raw.outputs);
    if (this.#closing) throw new OwsError('ServerBusy', 'The server is shutting down');
    const id = randomUUID();
    const admitted = (async (): Promise<Job> => {
      try {
        const placed = await this.#files.prepare(id, inputs, this.#options.inlineLimit);
        const request = {
          processId: raw.processId,
          inputs: placed,
          outputs,
          outputsSelected: raw.outputs !== undefined,
        };
        // The queue bound is checked by the store in the transaction that inserts the job: exact
        // whatever else is being admitted or claimed at the same moment (group commits).
        const job: NewJob = {
          id,
          processId: raw.processId,
          mode,
          created: new Date(),
          request: raw.binding ? { ...request, binding: raw.binding } : request,
        };
        if (immediate) return await this.#runInline(job);
        const stored = await this.#store.insert(job, this.#admissionBound());
        this.#emit(stored);
        return stored;
      } catch (error) {
        await this.#files.removeWork(id).catch(() => undefined);
        if (error instanceof QueueFullError) {
          throw new OwsError(
            'ServerBusy',
            `The server is busy: ${error.running} jobs running and ${error.waiting} waiting (at most ${this.#options.maxQueued})`,
          );
        }
        throw error;
      }
    })();
    this.#admitting.add(admitted);
    const job = await admitted.finally(() => this.#admitting.delete(admitted));
    if (!immediate) this.#dispatch();
    return job;
  }

  /** The queue bound the store checks when it inserts a job. */
  #admissionBound(): Admission {
    return { maxActive: this.#options.parallel + this.#options.maxQueued };
  }

  #syncTimeoutError(): OwsError {
    const seconds = this.#options.syncTimeoutMs / 1000;
    return new OwsError(
      'NoApplicableCode',
      `The job did not finish within the synchronous execution limit of ${seconds} s and was cancelled; run it asynchronously instead`,
      undefined,
      'sync-timeout',
    );
  }

  /**
   * Runs a synchronous job of an inline processor at once (no pool slot: it runs in the main
   * thread, in microseconds) and then stores it, ended, with one commit: its insertion (as
   * running) and its end are queued together and so share one
   * transaction. The job is in the store, in its final state, before its client has an answer; it
   * is never seen waiting or running (a crash before that commit leaves no job, and the client,
   * whose connection it also cut, no answer). Past the synchronous limit it is aborted and fails
   * with sync-timeout, whatever the caller's policy: an inline job cannot go on detached.
   */
  async #runInline(job: NewJob): Promise<Job> {
    const started: Job = {
      ...job,
      status: 'running',
      progress: 0,
      started: job.created,
      updated: job.created,
    };
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(this.#syncTimeoutError()), this.#options.syncTimeoutMs);
    let finished: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (finished = resolve));
    this.#active.set(job.id, { controller, done });
    this.#inline.add(job.id);
    try {
      const outcome = await this.#execute(started, controller);
      // Admitted like any job (a full queue refuses it with ServerBusy, though it took no place in
      // it): the bound is checked in the commit that stores it. A refused job computed for nothing.
      const inserted = this.#store.insert({ ...job, started: job.created }, this.#admissionBound());
      const ended = this.#store.transition(job.id, outcome.to, outcome.patch);
      try {
        await inserted;
      } catch (error) {
        await ended.catch(() => undefined);
        if (outcome.to === 'successful') await this.#files.removeOutputs(job.id).catch(() => undefined);
        throw error;
      }
      // The end failed apart from the insertion (a busy store retried apart): recorded as any job end.
      const final = (await ended.catch(() => undefined)) ?? (await this.#record(job.id, outcome));
      if (!final) throw new OwsError('NoApplicableCode', 'The end of the job could not be recorded');
      this.#emit(final);
      this.#jobEnded();
      return final;
    } finally {
      clearTimeout(timer);
      this.#active.delete(job.id);
      this.#inline.delete(job.id);
      finished();
    }
  }

  #validation(): InputValidationOptions {
    return {
      maxSingleInputSize: this.#options.maxSingleInputSize,
      ...(this.#options.contentCheckers ? { contentCheckers: this.#options.contentCheckers } : {}),
      ...(this.#options.schemaCheckers ? { schemaCheckers: this.#options.schemaCheckers } : {}),
    };
  }

  /**
   * Submits and, for a synchronous job, waits for its end (at most the sync timeout; past it the
   * policy decides). An asynchronous job is returned as accepted. A synchronous job whose
   * referenced input was refused when it was fetched throws that error, as inline data would have.
   */
  async execute(
    raw: RawExecuteRequest,
    options: { onSyncTimeout?: SyncTimeoutPolicy; waitMs?: number } = {},
  ): Promise<Job> {
    const job = await this.submit(raw);
    if (job.mode === 'async') return job;
    if (isTerminal(job.status)) {
      // Run and ended already (inline): its sync timeout is an exception, as below.
      if (job.status === 'failed' && job.error?.reason === 'sync-timeout') throw OwsError.fromJSON(job.error);
      return job;
    }
    const waitMs = Math.min(options.waitMs ?? Infinity, this.#options.syncTimeoutMs);
    const done = await this.waitFor(job.id, waitMs);
    if (done?.status === 'failed' && done.error?.reason === 'input-rejected') {
      throw OwsError.fromJSON(done.error);
    }
    if (done) return done;
    if ((options.onSyncTimeout ?? 'cancel') === 'detach') return this.get(job.id);
    const error = this.#syncTimeoutError();
    await this.#cancel(job.id, error);
    throw error;
  }

  /** Resolves with the job once it is finished, or undefined after `timeoutMs`. */
  async waitFor(id: string, timeoutMs: number): Promise<Job | undefined> {
    return new Promise<Job | undefined>((resolve, reject) => {
      const settle = (fn: () => void) => {
        clearTimeout(timer);
        unsubscribe();
        fn();
      };
      const unsubscribe = this.onUpdate((job) => {
        if (job.id === id && isTerminal(job.status)) settle(() => resolve(job));
      });
      const timer = setTimeout(() => settle(() => resolve(undefined)), timeoutMs);
      this.#store.get(id).then(
        (job) => {
          if (!job) settle(() => reject(noSuchJob(id)));
          else if (isTerminal(job.status)) settle(() => resolve(job));
        },
        (error: unknown) => settle(() => reject(error)),
      );
    });
  }

  async get(id: string): Promise<Job> {
    const job = await this.#store.get(id);
    if (!job) throw noSuchJob(id);
    return job;
  }

  find(id: string): Promise<Job | undefined> {
    return this.#store.get(id);
  }

  list(filter: JobFilter): Promise<{ jobs: Job[]; total: number }> {
    return this.#store.list(filter);
  }

  /**
   * Dismisses a job: a waiting one never runs, a running one is aborted (its slot is freed once the
   * processor stops), a finished one is removed with its files. Returns the job as dismissed.
   */
  async dismiss(id: string): Promise<Job> {
    const job = await this.get(id);
    const process = this.#registry.find(job.processId);
    if (process && !process.description.jobControlOptions.includes('dismiss')) {
      throw new OwsError(
        'OperationNotSupported',
        `Jobs of process '${job.processId}' cannot be dismissed`,
        'JobID',
      );
    }
    if (isTerminal(job.status)) {
      await this.#store.delete(id);
      await Promise.all([this.#files.removeOutputs(id), this.#files.removeWork(id)]);
      return { ...job, status: 'dismissed', updated: new Date() };
    }
    const dismissed = await this.#store.transition(id, 'dismissed', {
      message: 'Dismissed by the client',
      finished: new Date(),
    });
    if (!dismissed) return this.dismiss(id); // it finished in the meantime
    this.#emit(dismissed);
    this.#active
      .get(id)
      ?.controller.abort(new OwsError('NoApplicableCode', 'The job was dismissed', undefined, 'cancelled'));
    if (job.status === 'accepted') await this.#files.removeWork(id).catch(() => undefined);
    return dismissed;
  }

  /**
   * Fails a job with `error` and stops it if it runs. A job the dispatcher has claimed but not started
   * yet is marked so that it never starts (the claim and this call race).
   */
  async #cancel(id: string, error: OwsError): Promise<void> {
    const active = this.#active.get(id);
    if (active) {
      active.controller.abort(error);
      return;
    }
    this.#cancelled.set(id, error);
    let failed: Job | undefined;
    try {
      failed = await this.#store.transition(id, 'failed', {
        message: error.message,
        error: error.toJSON(),
        finished: new Date(),
      });
    } finally {
      // Started meanwhile: stop it. Never claimed (no start time): no claim will come.
      const started = this.#active.get(id);
      if (started) {
        started.controller.abort(error);
        this.#cancelled.delete(id);
      } else if (!failed || failed.started === undefined) {
        this.#cancelled.delete(id);
      }
    }
    this.#emit(failed);
  }

  #dispatch(): void {
    if (this.#dispatching) {
      this.#redispatch = true;
      return;
    }
    this.#dispatching = true;
    void (async () => {
      try {
        do {
          this.#redispatch = false;
          while (!this.#closing && this.running < this.#options.parallel) {
            // One claim per free slot, all at once: the store commits them together.
            const now = new Date();
            const claims = Array.from({ length: this.#options.parallel - this.running }, () =>
              this.#store.claimNext(now),
            );
            let empty = false;
            let failure: { reason: unknown } | undefined;
            // Every job claimed is started, even when another claim failed.
            for (const result of await Promise.allSettled(claims)) {
              if (result.status === 'rejected') failure ??= { reason: result.reason };
              else if (!result.value) empty = true;
              else {
                this.#emit(result.value);
                this.#start(result.value);
              }
            }
            if (failure) throw failure.reason;
            if (empty) break;
          }
        } while (this.#redispatch && !this.#closing);
      } catch (error) {
        // The store is unavailable (locked, full): the jobs stay queued; try again shortly.
        this.#log.error({ err: error }, 'dispatch failed; retrying');
        clearTimeout(this.#redispatchTimer);
        this.#redispatchTimer = setTimeout(() => this.#dispatch(), 1000);
        this.#redispatchTimer.unref();
      } finally {
        this.#dispatching = false;
      }
    })();
  }

  #start(job: Job): void {
    const controller = new AbortController();
    const cancelled = this.#cancelled.get(job.id);
    if (cancelled) {
      this.#cancelled.delete(job.id);
      controller.abort(cancelled);
    }
    // The final update is announced only once the slot is free and the work folder cleaned.
    const done = this.#run(job, controller)
      .then((final) => {
        this.#active.delete(job.id);
        this.#inline.delete(job.id);
        this.#emit(final);
        this.#jobEnded();
        this.#dispatch();
      })
      .catch((error: unknown) => this.#log.error({ err: error, job: job.id }, 'job end handling failed'));
    this.#active.set(job.id, { controller, done });
  }

  /**
   * Records the end of a job. While the store refuses it (locked for longer than its retries, disk
   * full), the job is kept in #unrecorded (reported by /health) and tried again with backoff; it
   * gives up at shutdown, and the next start fails the job as interrupted.
   */
  async #record(id: string, outcome: Outcome): Promise<Job | undefined> {
    for (let pause = 1000; ; pause = Math.min(pause * 2, 30_000)) {
      try {
        const job = await this.#store.transition(id, outcome.to, outcome.patch);
        this.#unrecorded.delete(id);
        return job;
      } catch (error) {
        this.#unrecorded.add(id);
        this.#log.error({ err: error, job: id }, 'could not record the end of a job; retrying');
        if (this.#closing) return undefined;
        await delay(pause);
      }
    }
  }

  /** Runs a claimed job and records its end; returns the final job, or undefined if it was dismissed. */
  async #run(job: Job, controller: AbortController): Promise<Job | undefined> {
    const outcome = await this.#execute(job, controller);
    const final = await this.#record(job.id, outcome);
    if (outcome.to === 'successful' && !final) {
      await this.#files.removeOutputs(job.id).catch(() => undefined); // dismissed while it ran
    }
    return final;
  }

  /** Runs a claimed job: how it ended. Never throws. */
  async #execute(job: Job, controller: AbortController): Promise<Outcome> {
    const log = this.#log.child({ job: job.id, process: job.processId });
    const entry = this.#registry.find(job.processId);
    const timer = setTimeout(
      () =>
        controller.abort(
          new OwsError(
            'NoApplicableCode',
            `The job exceeded its time limit of ${this.#options.jobTimeoutMs / 1000} s`,
            undefined,
            'job-timeout',
          ),
        ),
      this.#options.jobTimeoutMs,
    );
    // An inline processor gets no work folder: its job touches the disk only if its inputs or
    // outputs are files, and then only is the disk quota checked and are its folders cleaned.
    const inline = entry?.location.runtime === 'inline';
    let onDisk = !inline || hasFiles(job.request.inputs);
    try {
      controller.signal.throwIfAborted();
      if (!entry) throw new OwsError('NoApplicableCode', `Process '${job.processId}' is no longer published`);
      log.info('job started');
      const inputs = await this.#resolveInputs(job, entry.description, controller.signal);
      if (inline) onDisk ||= hasFiles(inputs);
      else await this.#files.ensureWork(job.id);
      const results = await this.#runner.run(
        {
          jobId: job.id,
          modulePath: entry.location.modulePath,
          inputs,
          outputs: job.request.outputs,
          outputDescriptions: entry.description.outputs,
          workDir: this.#files.workDir(job.id),
          outputDir: this.#files.outputDir(job.id),
          limits: this.#options.limits,
        },
        entry.location.runtime,
        {
          signal: controller.signal,
          onProgress: (percent, message) => {
            // Progress is best effort: a store that cannot take it now does not stop the job.
            this.#store
              .report(job.id, message === undefined ? { progress: percent } : { progress: percent, message })
              .then(
                (j) => this.#emit(j),
                (error: unknown) => log.warn({ err: error }, 'could not record progress'),
              );
          },
          onLog: (level, message) => log[level](message),
        },
      );
      onDisk ||= Object.values(results).some((output) => output.kind === 'complex');
      // Within the disk quota: old finished jobs make room, else NotEnoughStorage (files removed below).
      if (onDisk) await this.#options.diskQuota?.admit(job.id);
      log.info('job succeeded');
      return {
        to: 'successful',
        patch: { progress: 100, message: 'Process succeeded', results, finished: new Date() },
      };
    } catch (thrown) {
      const error = OwsError.from(controller.signal.aborted ? controller.signal.reason : thrown);
      if (error.reason === 'cancelled') {
        log.info('job dismissed');
      } else {
        log.warn({ code: error.code }, `job failed: ${error.message}`);
      }
      if (onDisk) await this.#files.removeOutputs(job.id).catch(() => undefined);
      return {
        to: 'failed',
        patch: { message: error.message, error: error.toJSON(), finished: new Date() },
      };
    } finally {
      clearTimeout(timer);
      if (this.#options.cleanTempDir && onDisk) await this.#files.removeWork(job.id).catch(() => undefined);
    }
  }

  /**
   * The inputs a processor gets: references fetched (inside the job, so an asynchronous client had
   * its answer long before), validated like inline data and placed in the work folder.
   */
  async #resolveInputs(
    job: Job,
    description: ProcessDescription,
    signal: AbortSignal,
  ): Promise<ProcessInputs> {
    const inputs = job.request.inputs;
    if (!hasPendingReferences(inputs)) return inputs as ProcessInputs;
    this.#emit(await this.#store.report(job.id, { message: 'Fetching referenced inputs' }));
    let resolved: ProcessInputs;
    try {
      resolved = await resolveReferences(inputs, description, {
        ...this.#options.references,
        validation: this.#validation(),
        signal,
      });
    } catch (thrown) {
      if (signal.aborted) throw signal.reason;
      const error = OwsError.from(thrown);
      throw new OwsError(error.code, error.message, error.locator, 'input-rejected');
    }
    return this.#files.prepare(job.id, resolved, this.#options.inlineLimit);
  }

  /** Counts ended jobs; every so many, the store is trimmed to its cap without waiting for the timer. */
  #jobEnded(): void {
    if (++this.#endedSinceSweep >= this.#trimEvery() && !this.#sweeping) void this.#sweepSafely(false);
  }

  /** Jobs that end between two trims of the store to its cap. */
  #trimEvery(): number {
    return Math.max(50, Math.floor(this.#options.maxJobs / 20));
  }

  /**
   * How many jobs a trim keeps: room is left for the jobs that end before the next trim and for
   * those waiting or running, so that the store never holds more than `maxJobs`.
   */
  #keep(): number {
    const { maxJobs, parallel, maxQueued } = this.#options;
    return Math.max(0, maxJobs - this.#trimEvery() - parallel - maxQueued);
  }

  async #sweepSafely(orphans: boolean): Promise<void> {
    await this.sweep(new Date(), { orphans }).catch((e: unknown) =>
      this.#log.error({ err: e }, 'sweep failed'),
    );
  }

  /**
   * Removes finished jobs past their retention age (shorter for synchronous ones) or beyond the
   * job cap, oldest first, with their files; with `orphans`, also job folders that belong to no job.
   * Returns the number of jobs removed. One sweep at a time.
   */
  sweep(now = new Date(), { orphans = true } = {}): Promise<number> {
    if (this.#sweeping) return this.#sweeping;
    this.#endedSinceSweep = 0;
    const run = async () => {
      const rule = {
        finishedBefore: new Date(now.getTime() - this.#options.retentionMs),
        syncFinishedBefore: new Date(
          now.getTime() - Math.min(this.#options.syncRetentionMs, this.#options.retentionMs),
        ),
        maxJobs: this.#keep(),
      };
      let removed = 0;
      for (;;) {
        const ids = await this.#store.deleteExpired(rule, SWEEP_BATCH);
        // All at once: one by one, a trim could not keep up with jobs ending thousands a second.
        await Promise.all(
          ids.map((id) => Promise.all([this.#files.removeOutputs(id), this.#files.removeWork(id)])),
        );
        removed += ids.length;
        if (ids.length < SWEEP_BATCH || this.#closing) break;
      }
      if (removed > 0) this.#log.info({ removed }, 'removed expired jobs');
      if (orphans) await this.#removeOrphans(now);
      return removed;
    };
    const sweeping = run().finally(() => (this.#sweeping = undefined));
    this.#sweeping = sweeping;
    return sweeping;
  }

  /** Removes work and output folders of jobs the store does not have (left by a crash, or by hand). */
  async #removeOrphans(now: Date): Promise<void> {
    const folders = await this.#files.jobFolders(now.getTime() - ORPHAN_MIN_AGE_MS);
    const ids = [...new Set(folders.map((f) => f.id))].filter((id) => !this.#active.has(id));
    const known = await this.#store.existing(ids);
    const orphans = folders.filter((f) => !known.has(f.id) && !this.#active.has(f.id));
    for (const folder of orphans) await this.#files.removeFolder(folder);
    if (orphans.length > 0) this.#log.info({ removed: orphans.length }, 'removed folders of no job');
  }

  /**
   * Stops taking work, lets running jobs finish for `graceMs`, then fails the rest as interrupted.
   * Jobs still waiting stay accepted and run after the next start.
   */
  async shutdown(graceMs: number): Promise<void> {
    this.#closing = true;
    clearInterval(this.#sweeper);
    clearTimeout(this.#redispatchTimer);
    const all = () => Promise.all([...this.#active.values()].map((a) => a.done));
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<'timeout'>(
      (resolve) => (timer = setTimeout(() => resolve('timeout'), graceMs)),
    );
    if ((await Promise.race([all(), graceOver])) === 'timeout') {
      const error = new OwsError(
        'NoApplicableCode',
        'The job was interrupted by a server shutdown',
        undefined,
        'interrupted',
      );
      for (const active of this.#active.values()) active.controller.abort(error);
      // A task that ignores its abort is cut off when the pools close (threads terminated, GDAL children killed).
      await Promise.race([all(), delay(this.#options.cancelGraceMs + 1000)]);
    }
    clearTimeout(timer);
    await this.#runner.close();
    await all();
    await Promise.allSettled([...this.#admitting]);
    await this.#sweeping?.catch(() => undefined);
    await this.#store.close();
  }
}
