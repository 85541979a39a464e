import { EventEmitter } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import { OwsError, type OwsErrorJson } from '../core/errors.ts';
import {
  resolveExecutionMode,
  resolveOutputs,
  type OutputRequest,
  type RawExecuteRequest,
} from '../core/execute.ts';
import { isTerminal, type Job, type JobAttempt } from '../core/job.ts';
import type { ResourceLimits } from '../core/limits.ts';
import type { InputDescription, ProcessDescription } from '../core/model.ts';
import type {
  InputValue,
  JobInputs,
  PendingReference,
  ProcessInputs,
  StoredOutputs,
} from '../core/values.ts';
import type { ContentChecker } from '../core/content-checks.ts';
import type { SchemaChecker } from '../core/schema-checks.ts';
import { validateInputs, type InputValidationOptions } from '../core/validate.ts';
import { precheckReference, type ReferencePolicy } from '../references/fetch.ts';
import type { ProcessLocation, ProcessRegistry } from '../registry/registry.ts';
import { collectGarbageSoon } from '../util/collect-garbage.ts';
import type { Logger } from '../util/logger.ts';
import { runFannedOut, type FanOutSettings, type SlotLender } from './fan-out.ts';
import type { JobFiles } from './files.ts';
import { hasPendingReferences, resolveReferences } from './references.ts';
import type { TaskRunner } from './pool.ts';
import type { StoreHealth } from './resilient-store.ts';
import {
  QueueFullError,
  type Admission,
  type JobFilter,
  type JobPatch,
  type JobReport,
  type JobStore,
  type NewJob,
} from './store.ts';
import type { ProcessLimits } from './process-limits.ts';
import { ProgressWriter } from './progress-writer.ts';
import type { CacheTicket, ResultCache } from './result-cache.ts';
import { backoffMs, isTransient, NO_RETRY, type RetryPolicy } from './retry.ts';

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
  /**
   * Fan-out of large jobs (src/jobs/fan-out.ts): the input size from which a job fans out (else the
   * processor's default) and its chunks at once (else `parallel`; never more), globally and per
   * process id.
   */
  fanOut?: FanOutOptions & { processes?: Record<string, FanOutOptions> };
  /** How reference inputs are fetched when their job runs. */
  references: {
    policy: ReferencePolicy;
    /** Fetches of one job under way at once. */
    concurrency: number;
    /** Bytes all references of one job may bring in together. */
    budgetBytes: number;
    /**
     * Whether a remote provider gets the reference inputs of its processes' jobs as references,
     * unfetched (its `forward_references`); default: they are fetched and sent by value.
     */
    forward?: (provider: string) => boolean;
  };
  /** Per-process caps on running and waiting jobs (src/jobs/process-limits.ts). */
  processLimits?: ProcessLimits;
  /** The retry policy of each process (src/jobs/retry.ts); none = one attempt. */
  retryPolicy?: (processId: string) => RetryPolicy;
  /** The result cache of deterministic processes (src/jobs/result-cache.ts). */
  resultCache?: ResultCache;
  /** False on an API-only instance of a cluster: it accepts jobs, workers run them (default true). */
  runJobs?: boolean;
  /**
   * Jobs waiting or running at most before submissions get ServerBusy; default parallel + maxQueued.
   * A shared store that bounds its queue for the whole cluster itself gets Infinity here.
   */
  maxPending?: number;
  /**
   * How often a synchronous client's wait looks at the store itself (a shared store: the job may end
   * on another node, whose announcement can be missed while the notifications reconnect); default
   * never (this process runs or announces every end it waits for).
   */
  waitPollMs?: number;
}

export interface FanOutOptions {
  minBytes?: number;
  maxParallel?: number;
}

/**
 * What happens to a synchronous job that outlives the sync timeout: 'cancel' stops it and throws
 * (WPS: the client gets an exception); 'detach' lets it run on and returns it unfinished (OGC API:
 * the client may be pointed at the job instead).
 */
export type SyncTimeoutPolicy = 'cancel' | 'detach';

/** Who recorded a job update: this instance, or another instance of the cluster. */
export type JobUpdateOrigin = 'here' | 'elsewhere';

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

/** Which attempt of a job runs, and the progress clients have seen so far (it never goes back). */
interface AttemptContext {
  number: number;
  of: number;
  shown: { progress: number };
}

/** A job served from the result cache: successful with the results of job `from`. */
function cachedOutcome(from: string, results: StoredOutputs, now: Date): Outcome {
  return {
    to: 'successful',
    patch: {
      progress: 100,
      message: `Process succeeded (served from the result cache: the results of job ${from})`,
      results,
      finished: now,
      execution: { attempts: [], cachedFrom: from },
    },
  };
}

/**
 * The end of a job that was given several attempts: the last error, saying how many attempts were
 * made. A reference that stayed unreachable is the client's input error, as on a first attempt.
 */
function finalFailure(outcome: Outcome, error: OwsErrorJson, attempts?: JobAttempt[]): Outcome {
  const n = attempts?.length ?? 1;
  const reason =
    error.reason === 'transient' && error.code !== 'NoApplicableCode' ? 'input-rejected' : error.reason;
  const last: OwsErrorJson = {
    ...error,
    message: n > 1 ? `${error.message} (failed after ${n} attempts)` : error.message,
    ...(reason !== undefined ? { reason } : {}),
  };
  return {
    to: 'failed',
    patch: {
      ...outcome.patch,
      message: last.message,
      error: last,
      ...(attempts ? { execution: { attempts } } : {}),
    },
  };
}

/**
 * Whether a reference may go to a remote provider unfetched: a plain GET of an http(s) URL (no
 * headers or body, which not every protocol can pass on) of complex data that passes the outbound
 * policy's precheck (the one of submission, checked again).
 */
function forwardable(ref: PendingReference, input: InputDescription, policy: ReferencePolicy): boolean {
  if (input.kind !== 'complex' || !/^https?:/i.test(ref.href)) return false;
  if ((ref.method ?? 'GET') !== 'GET' || ref.headers?.length || ref.body !== undefined) return false;
  if (ref.bodyReference !== undefined) return false;
  try {
    precheckReference(ref.href, policy, input.id);
    return true;
  } catch {
    return false; // fetched instead, where the refusal is reported as for any reference
  }
}

/** Inputs with gaps where references are left (keeps positions: the cache key reads them by index). */
function withoutReferences(inputs: JobInputs): ProcessInputs {
  const values: ProcessInputs = {};
  for (const [id, list] of Object.entries(inputs)) {
    const kept: InputValue[] = [];
    list.forEach((v, i) => {
      if (v.kind !== 'reference') kept[i] = v;
    });
    values[id] = kept;
  }
  return values;
}

/** What /health says about the job system beyond the processors. */
export interface JobSystemHealth {
  /** Why it is degraded; absent when it is not. */
  problems: string[];
}

/** Inline data of this many bytes (about) or more is freed at once when its job is admitted. */
const RELEASE_AFTER_BYTES = 8 * 1024 * 1024;

/** The size of the inline complex data of some inputs (text counted by its length). */
function dataSize(inputs: JobInputs): number {
  let size = 0;
  for (const values of Object.values(inputs)) {
    for (const v of values) {
      if (v.kind === 'complex') size += v.bytes?.byteLength ?? v.text?.length ?? 0;
    }
  }
  return size;
}

/** Whether any input value is a file (placed in the job's work folder). */
const hasFiles = (inputs: Readonly<Record<string, readonly { kind: string; file?: string }[]>>): boolean =>
  Object.values(inputs).some((values) => values.some((v) => v.kind === 'complex' && v.file !== undefined));

/** Jobs removed per store call of a sweep (the event loop gets a turn in between). */
const SWEEP_BATCH = 500;
/** A running job's progress is written to the store at most this often (src/jobs/progress-writer.ts). */
const PROGRESS_WRITE_INTERVAL_MS = 100;
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
  /**
   * Jobs dismissed while they run, until their processor has stopped (job id → process id): the
   * store no longer counts them as running, but they still hold their process's share of its cap.
   */
  readonly #lingering = new Map<string, string>();
  /** Jobs that ended but whose end the store has not taken yet (it is tried again). */
  readonly #unrecorded = new Set<string>();
  #endedSinceSweep = 0;
  #sweeping: Promise<number> | undefined;
  #redispatchTimer: NodeJS.Timeout | undefined;
  /** Submissions being stored (shutdown waits for them before it closes the store). */
  readonly #admitting = new Set<Promise<Job>>();
  /** The dispatcher's claim under way, if any (a job it claims is started as soon as it settles). */
  #claiming: Promise<unknown> | undefined;
  /** Jobs being inserted by this instance, until they are announced as accepted. */
  readonly #announcing = new Map<string, Promise<void>>();
  #dispatching = false;
  #redispatch = false;
  /** Slots of the cap lent to chunks of fanned-out jobs (src/jobs/fan-out.ts). */
  #borrowed = 0;
  /** The last claim found no job waiting, and none was submitted since: free slots may be lent. */
  #queueEmpty = false;
  /**
   * Lends free slots of the cap to the chunks of fanned-out jobs: only while no job waits, and
   * jobs plus lent slots never exceed `parallel` (so the pools, sized to it, never make a job wait).
   */
  readonly #lender: SlotLender = {
    tryBorrow: () => {
      if (this.#closing || this.#dispatching || !this.#queueEmpty || !this.#hasFreeSlot()) return false;
      this.#borrowed++;
      return true;
    },
    giveBack: () => {
      this.#borrowed--;
      this.#dispatch();
    },
    onFree: (listener) => {
      this.#events.on('free', listener);
      return () => this.#events.off('free', listener);
    },
  };
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

  /** Jobs running in the pools (the ones `parallel` bounds; inline synchronous jobs take no slot). */
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

  /**
   * Subscribes to job updates; returns the unsubscribe function. `origin` says whether this
   * instance recorded the change ('here') or another instance of a cluster did ('elsewhere': only
   * announced here, for those waiting here). Whatever must happen once per change (callbacks) acts
   * on 'here' only.
   */
  onUpdate(listener: (job: Job, origin: JobUpdateOrigin) => void): () => void {
    this.#events.on('update', listener);
    return () => this.#events.off('update', listener);
  }

  #emit(job: Job | undefined, origin: JobUpdateOrigin = 'here'): void {
    if (job) this.#events.emit('update', job, origin);
  }

  /**
   * Validates a request and stores it as an accepted job (before anyone is told about it).
   * Throws OwsError: unknown process, bad inputs, disallowed mode, ServerBusy when the queue is full.
   */
  async submit(raw: RawExecuteRequest): Promise<Job> {
    const { description, location } = this.#registry.get(raw.processId);
    const mode = resolveExecutionMode(description, raw.mode);
    const inputs = validateInputs(description, raw.inputs, this.#validation());
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
    const hit = await this.#submitCached(raw, description, inputs, outputs, mode);
    if (hit) return hit;
    const immediate = mode === 'sync' && this.#runsImmediately(raw.processId, location, inputs);
    if (this.#closing) throw new OwsError('ServerBusy', 'The server is shutting down');
    const id = randomUUID();
    const processBound = this.#options.processLimits?.bound(raw.processId);
    const admitted = (async (): Promise<Job> => {
      // A shared store may hand the job to this instance's dispatcher (notified at commit) before
      // the insert returns here: it is started only once it has been announced as accepted.
      let announced: () => void = () => undefined;
      if (!immediate) this.#announcing.set(id, new Promise<void>((resolve) => (announced = resolve)));
      try {
        const placed = await this.#files.prepare(id, inputs, this.#options.inlineLimit);
        const request = {
          processId: raw.processId,
          inputs: placed,
          outputs,
          outputsSelected: raw.outputs !== undefined,
          ...(raw.cache ? { cache: raw.cache } : {}),
        };
        // The global queue bound (the admission) and the process's (processBound) are checked by
        // the store in the transaction that inserts the job: exact whatever else is being admitted
        // or claimed at the same moment, by this instance or (a shared store) any other.
        const job: NewJob = {
          id,
          processId: raw.processId,
          mode,
          created: new Date(),
          request: raw.binding ? { ...request, binding: raw.binding } : request,
          ...(processBound ? { processBound } : {}),
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
      } finally {
        this.#announcing.delete(id);
        announced();
      }
    })();
    this.#admitting.add(admitted);
    const job = await admitted.finally(() => this.#admitting.delete(admitted));
    if (!immediate) {
      this.#queueEmpty = false;
      this.#dispatch();
    }
    // Large inputs are on disk now: their text (and the request it came in) is garbage once the
    // callers have moved on, freed now rather than after the job (see collect-garbage.ts).
    if (dataSize(inputs) >= RELEASE_AFTER_BYTES) collectGarbageSoon();
    return job;
  }

  /**
   * Whether a synchronous job of this process runs at once, in the main thread, without entering
   * the queue (see #runInline): only an inline processor's with no reference to fetch, on an
   * instance that runs jobs, and only when nothing that works through the queue applies to the
   * process: a running cap (max_running_jobs, applied by the store's claim) or a result cache
   * (pending marks are held by queued or running jobs). Such a job otherwise goes through the queue
   * like any other, and still runs in the main thread once claimed.
   */
  #runsImmediately(processId: string, location: ProcessLocation, inputs: JobInputs): boolean {
    return (
      location.kind === 'local' &&
      location.runtime === 'inline' &&
      this.#options.runJobs !== false &&
      !hasPendingReferences(inputs) &&
      this.#options.processLimits?.caps[processId] === undefined &&
      !this.#options.resultCache?.policy(processId)
    );
  }

  /**
   * The global queue bound the store checks when it inserts a job: accepted plus running jobs at
   * most. None when the store bounds its queue for the whole cluster itself (maxPending Infinity).
   */
  #admissionBound(): Admission | undefined {
    const max = this.#options.maxPending ?? this.#options.parallel + this.#options.maxQueued;
    return Number.isFinite(max) ? { maxActive: max } : undefined;
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
   * thread, in microseconds) and then stores it, ended, in one step (JobStore.insertEnded: one
   * transaction on either store, one group commit on SQLite). The job is in the store, in its final
   * state, before its client has an answer; it is never seen waiting or running (a crash before
   * that leaves no job, and the client, whose connection it also cut, no answer). It is admitted
   * like any job (a full queue, or its process's, refuses it with ServerBusy, checked in that
   * transaction) though it takes no place: a refused job was computed for nothing. Its retry policy
   * applies (attempts recorded as for any job). Past the synchronous limit it is aborted and fails
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
      const outcome = await this.#attempts(started, controller);
      let final: Job;
      try {
        final = await this.#store.insertEnded(
          job,
          outcome.to,
          { ...outcome.patch, started: job.created },
          this.#admissionBound(),
        );
      } catch (error) {
        if (outcome.to === 'successful') await this.#files.removeOutputs(job.id).catch(() => undefined);
        throw error;
      }
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

  /**
   * A request whose results are in the cache (its key known without fetching anything) becomes a
   * job that is successful at once, outside the queue; undefined when it is not cached.
   */
  async #submitCached(
    raw: RawExecuteRequest,
    description: ProcessDescription,
    inputs: JobInputs,
    outputs: Record<string, OutputRequest>,
    mode: Job['mode'],
  ): Promise<Job | undefined> {
    const cache = this.#options.resultCache;
    if (!cache?.policy(raw.processId) || this.#closing) return undefined;
    const id = randomUUID();
    const entry = await cache.lookupAtSubmit(id, description, { inputs, outputs }, raw.cache ?? {});
    if (!entry) return undefined;
    try {
      const placed = await this.#files.prepare(id, inputs, this.#options.inlineLimit);
      const request = {
        processId: raw.processId,
        inputs: placed,
        outputs,
        outputsSelected: raw.outputs !== undefined,
      };
      const now = new Date();
      // Outside the queue: a hit takes no place and is not admitted against its bound.
      const job = await this.#store.insertEnded(
        {
          id,
          processId: raw.processId,
          mode,
          created: now,
          request: raw.binding ? { ...request, binding: raw.binding } : request,
        },
        'successful',
        { ...cachedOutcome(entry.jobId, entry.results, now).patch, started: now },
      );
      if (this.#options.cleanTempDir) await this.#files.removeWork(id).catch(() => undefined);
      this.#emit(job);
      return job;
    } catch (error) {
      await Promise.all([this.#files.removeWork(id), this.#files.removeOutputs(id)]).catch(() => undefined);
      throw error;
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
    // Nothing of the request is held here while the job runs (its inputs are on disk by then).
    return this.#settle(await this.submit(raw), options);
  }

  async #settle(job: Job, options: { onSyncTimeout?: SyncTimeoutPolicy; waitMs?: number }): Promise<Job> {
    if (job.mode === 'async') return job;
    if (isTerminal(job.status)) {
      // Ended already (an inline job run at once, a cache hit): its failures are exceptions, as below.
      const reason = job.error?.reason;
      if (job.status === 'failed' && (reason === 'sync-timeout' || reason === 'input-rejected')) {
        throw OwsError.fromJSON(job.error!);
      }
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
        clearInterval(poll);
        unsubscribe();
        fn();
      };
      const unsubscribe = this.onUpdate((job) => {
        if (job.id === id && isTerminal(job.status)) settle(() => resolve(job));
      });
      const timer = setTimeout(() => settle(() => resolve(undefined)), timeoutMs);
      // A shared store: the end may be announced on a connection that was down; look now and then.
      let looking = false;
      const every = this.#options.waitPollMs;
      const poll =
        every === undefined
          ? undefined
          : setInterval(() => {
              if (looking) return;
              looking = true;
              this.#store
                .get(id)
                .then(
                  (job) => {
                    if (job && isTerminal(job.status)) settle(() => resolve(job));
                  },
                  () => undefined, // the store is away: the next look, or the time limit, decides
                )
                .finally(() => (looking = false));
            }, every);
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
      await this.#options.resultCache?.forget([id]);
      await Promise.all([this.#files.removeOutputs(id), this.#files.removeWork(id)]);
      return { ...job, status: 'dismissed', updated: new Date() };
    }
    const dismissed = await this.#store.transition(id, 'dismissed', {
      message: 'Dismissed by the client',
      finished: new Date(),
    });
    if (!dismissed) return this.dismiss(id); // it finished in the meantime
    this.#emit(dismissed);
    if (this.#active.has(id)) this.#lingering.set(id, job.processId);
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
      // A claim of the job by this instance's dispatcher can only be one under way now: once it
      // settles, the job is started here (and #start took the mark) or it runs elsewhere (another
      // node of the cluster, which the store's notification stops) or never runs. Either way the
      // mark has done its work.
      await this.#claiming?.catch(() => undefined);
      this.#active.get(id)?.controller.abort(error);
      this.#cancelled.delete(id);
    }
    this.#emit(failed);
  }

  // What a cluster node (src/jobs/cluster/) needs of the manager: the jobs running here, stopping
  // one that another node dismissed or that lost its lease, announcing a job another node finished
  // (a synchronous client waits here), and claiming when jobs were queued elsewhere.

  /**
   * Ids of the jobs this process runs that are in the store (claimed, leased). Inline synchronous
   * jobs run at once are not: they are stored only once ended, hold no lease, and a heartbeat that
   * did not find them among this node's leases must not take them for jobs ended elsewhere.
   */
  activeJobIds(): string[] {
    return [...this.#active.keys()].filter((id) => !this.#inline.has(id));
  }

  /** Stops a job running here, with `error` as its end (no-op when it does not run here). */
  abortJob(id: string, error: OwsError): void {
    this.#active.get(id)?.controller.abort(error);
  }

  /**
   * Announces a job change to this instance's listeners: one recorded by another instance (for the
   * synchronous clients waiting here), or, with `recordedHere`, one this instance's cluster node
   * recorded itself (a job of a dead node it failed), which fires its callbacks here.
   */
  announce(job: Job, recordedHere = false): void {
    // A job of a dead node that this instance failed: its work folder (inputs placed there) goes, as
    // at a restart of a single server.
    if (recordedHere && isTerminal(job.status) && !this.#active.has(job.id)) {
      void this.#files.removeWork(job.id).catch(() => undefined);
    }
    this.#emit(job, recordedHere ? 'here' : 'elsewhere');
  }

  /** Claims queued jobs now (notified of new ones, or polling). */
  wake(): void {
    this.#dispatch();
  }

  #dispatch(): void {
    if (this.#options.runJobs === false) return;
    if (this.#dispatching) {
      this.#redispatch = true;
      return;
    }
    this.#dispatching = true;
    void (async () => {
      try {
        do {
          this.#redispatch = false;
          while (!this.#closing && this.#hasFreeSlot()) {
            // One claim per free slot, all at once: the store commits them together (SQLite: one
            // group commit) and applies the caps to each in turn.
            const now = new Date();
            const caps = this.#caps();
            const free = this.#options.parallel - this.running - this.#borrowed;
            const claiming = Promise.allSettled(
              Array.from({ length: free }, () =>
                this.#store.claimNext(now, caps).then(async (job) => {
                  if (job) await this.#announcing.get(job.id);
                  return job;
                }),
              ),
            );
            this.#claiming = claiming;
            let empty = false;
            let failure: { reason: unknown } | undefined;
            // Every job claimed is started, even when another claim failed.
            for (const result of await claiming) {
              if (result.status === 'rejected') failure ??= { reason: result.reason };
              else if (!result.value) empty = true;
              else {
                this.#emit(result.value);
                this.#start(result.value);
              }
            }
            if (failure) throw failure.reason;
            // None claimable (none waiting, or only jobs of processes at their cap): slots may be lent.
            this.#queueEmpty = empty;
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
        if (this.#queueEmpty && this.#hasFreeSlot() && !this.#closing) this.#events.emit('free');
      }
    })();
  }

  /** Jobs running plus slots lent to chunks stay within the cap. */
  #hasFreeSlot(): boolean {
    return this.running + this.#borrowed < this.#options.parallel;
  }

  /** How the job of a process fans out, if its processor can (configuration over processor defaults). */
  #fanOut(processId: string, location: ProcessLocation): FanOutSettings | undefined {
    if (location.kind !== 'local' || !location.fanOut) return undefined;
    const global = this.#options.fanOut ?? {};
    const own = global.processes?.[processId] ?? {};
    const parallel = this.#options.parallel;
    return {
      input: location.fanOut.input,
      minBytes: own.minBytes ?? global.minBytes ?? location.fanOut.minBytes,
      maxParallel: Math.min(parallel, own.maxParallel ?? global.maxParallel ?? parallel),
    };
  }

  /** The per-process caps for the store's claim, less the dismissed jobs still stopping here. */
  #caps(): Readonly<Record<string, number>> | undefined {
    const caps = this.#options.processLimits?.caps;
    if (!caps || this.#lingering.size === 0) return caps;
    const adjusted = { ...caps };
    for (const processId of this.#lingering.values()) {
      if (adjusted[processId] !== undefined) adjusted[processId] = Math.max(0, adjusted[processId] - 1);
    }
    return adjusted;
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
        this.#lingering.delete(job.id);
        this.#emit(final);
        this.#jobEnded();
        this.#dispatch();
      })
      .catch((error: unknown) => {
        this.#lingering.delete(job.id);
        this.#log.error({ err: error, job: job.id }, 'job end handling failed');
      });
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
    const outcome = await this.#attempts(job, controller);
    // A cluster node that lost the job records nothing: the node that recovers it decides its end.
    if (outcome.patch.error?.reason === 'lease-lost') return undefined;
    const final = await this.#record(job.id, outcome);
    if (outcome.to === 'successful' && !final) {
      // Dismissed while it ran: its outputs go. Recovered and run again by another node: they are
      // that run's now (the folder is shared).
      const now = await this.#store.get(job.id).catch(() => undefined);
      if (!now || now.status === 'dismissed') await this.#files.removeOutputs(job.id).catch(() => undefined);
    }
    return final;
  }

  /**
   * Runs a claimed job's attempts (src/jobs/retry.ts): a transient failure is tried again after a
   * backoff while attempts remain; the job keeps its slot meanwhile (so caps stay exact), a dismiss
   * ends the pause. Each attempt has its own time limit. How the job ended; never throws.
   */
  async #attempts(job: Job, controller: AbortController): Promise<Outcome> {
    const policy = this.#options.retryPolicy?.(job.processId) ?? NO_RETRY;
    const attempts: JobAttempt[] = [];
    const shown = { progress: job.progress };
    for (let number = 1; ; number++) {
      const attempt: JobAttempt = { number, started: new Date() };
      attempts.push(attempt);
      const own = new AbortController();
      const forward = () => own.abort(controller.signal.reason);
      if (controller.signal.aborted) forward();
      else controller.signal.addEventListener('abort', forward, { once: true });
      let outcome: Outcome;
      try {
        outcome = await this.#execute(job, own, { number, of: policy.maxAttempts, shown });
      } finally {
        controller.signal.removeEventListener('abort', forward);
      }
      attempt.finished = new Date();
      if (outcome.to === 'successful') {
        if (policy.maxAttempts > 1) outcome.patch.execution = { ...outcome.patch.execution, attempts };
        return outcome;
      }
      const error = outcome.patch.error!;
      attempt.error = error;
      if (number >= policy.maxAttempts || !isTransient(error) || controller.signal.aborted) {
        return finalFailure(outcome, error, policy.maxAttempts > 1 ? attempts : undefined);
      }
      const pause = backoffMs(policy, number);
      this.#log.info({ job: job.id, attempt: number, pause }, `attempt failed, retrying: ${error.message}`);
      const message = `Attempt ${number} of ${policy.maxAttempts} failed (${error.message}); attempt ${number + 1} in ${(pause / 1000).toFixed(1)} s`;
      await this.#store.report(job.id, { message, execution: { attempts } }).then(
        (j) => this.#emit(j),
        (e: unknown) => this.#log.warn({ err: e, job: job.id }, 'could not record an attempt'),
      );
      try {
        await delay(pause, undefined, { signal: controller.signal });
      } catch {
        const reason = OwsError.from(controller.signal.reason);
        return {
          to: 'failed',
          patch: {
            message: reason.message,
            error: reason.toJSON(),
            finished: new Date(),
            execution: { attempts },
          },
        };
      }
    }
  }

  /** Runs one attempt of a claimed job: how it ended. Never throws. */
  async #execute(job: Job, controller: AbortController, attempt: AttemptContext): Promise<Outcome> {
    const log = this.#log.child({ job: job.id, process: job.processId });
    const entry = this.#registry.find(job.processId);
    let ticket: CacheTicket | undefined;
    // Progress reports are written one at a time, in order, the newest replacing any still waiting,
    // at most one every PROGRESS_WRITE_INTERVAL_MS, and none after the attempt ends: a late one never
    // overwrites what comes after it (the retry message, the end). Progress is best effort: a store
    // that cannot take it now does not stop the job.
    const progress = new ProgressWriter<JobReport>(async (report) => {
      try {
        this.#emit(await this.#store.report(job.id, report));
      } catch (error) {
        log.warn({ err: error }, 'could not record progress');
      }
    }, PROGRESS_WRITE_INTERVAL_MS);
    let lost = false;
    // An inline processor gets no work folder: its job touches the disk only if its inputs or
    // outputs are files, and only then is the disk quota checked and are its folders cleaned.
    const inline = entry?.location.kind === 'local' && entry.location.runtime === 'inline';
    let onDisk = !inline || hasFiles(job.request.inputs);
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
    try {
      controller.signal.throwIfAborted();
      if (!entry) throw new OwsError('NoApplicableCode', `Process '${job.processId}' is no longer published`);
      log.info('job started');
      const location = entry.location;
      const forward =
        location.kind === 'remote' && (this.#options.references.forward?.(location.provider) ?? false);
      const { inputs, remoteInputs } = await this.#resolveInputs(
        job,
        entry.description,
        controller.signal,
        forward,
      );
      ticket = await this.#options.resultCache?.acquire(
        job.id,
        entry.description,
        job.request,
        inputs,
        controller.signal,
      );
      if (ticket?.hit) return cachedOutcome(ticket.hit.jobId, ticket.hit.results, new Date());
      if (inline) onDisk ||= hasFiles(inputs);
      else await this.#files.ensureWork(job.id);
      const results = await runFannedOut(
        this.#runner,
        {
          jobId: job.id,
          modulePath: location.kind === 'local' ? location.modulePath : '',
          ...(location.kind === 'remote'
            ? {
                remote: {
                  provider: location.provider,
                  remoteId: location.remoteId,
                  ...(remoteInputs ? { inputs: remoteInputs } : {}),
                },
              }
            : {}),
          inputs,
          outputs: job.request.outputs,
          outputDescriptions: entry.description.outputs,
          workDir: this.#files.workDir(job.id),
          outputDir: this.#files.outputDir(job.id),
          limits: this.#options.limits,
        },
        location.kind === 'local' ? location.runtime : 'remote',
        {
          signal: controller.signal,
          onProgress: (reported, text) => {
            // What clients see never goes back: a later attempt shows its progress once it passes.
            const percent = (attempt.shown.progress = Math.max(attempt.shown.progress, reported));
            const message =
              text !== undefined && attempt.number > 1
                ? `Attempt ${attempt.number} of ${attempt.of}: ${text}`
                : text;
            progress.report(message === undefined ? { progress: percent } : { progress: percent, message });
          },
          onLog: (level, message) => log[level](message),
        },
        this.#fanOut(job.processId, location),
        this.#lender,
      );
      onDisk ||= Object.values(results).some((output) => output.kind === 'complex');
      // Within the disk quota: old finished jobs make room, else NotEnoughStorage (files removed below).
      if (onDisk) await this.#options.diskQuota?.admit(job.id);
      if (ticket && !ticket.hit) {
        await ticket.fill(results).catch((e: unknown) => log.warn({ err: e }, 'could not cache the results'));
      }
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
      // A job this node lost is another node's now, with its (shared) folders.
      if (error.reason === 'lease-lost') lost = true;
      else if (onDisk) await this.#files.removeOutputs(job.id).catch(() => undefined);
      return {
        to: 'failed',
        patch: { message: error.message, error: error.toJSON(), finished: new Date() },
      };
    } finally {
      await progress.close();
      if (ticket && !ticket.hit) ticket.release();
      clearTimeout(timer);
      if (this.#options.cleanTempDir && !lost && onDisk) {
        await this.#files.removeWork(job.id).catch(() => undefined);
      }
    }
  }

  /**
   * The inputs a processor gets: references fetched (inside the job, so an asynchronous client had
   * its answer long before), validated like inline data and placed in the work folder. With
   * `forward` (a remote provider's forward_references), http(s) references of complex inputs are
   * left unfetched for the remote: `remoteInputs` holds them, and `inputs` has gaps in their places.
   */
  async #resolveInputs(
    job: Job,
    description: ProcessDescription,
    signal: AbortSignal,
    forward = false,
  ): Promise<{ inputs: ProcessInputs; remoteInputs?: JobInputs }> {
    const inputs = job.request.inputs;
    if (!hasPendingReferences(inputs)) return { inputs: inputs as ProcessInputs };
    const policy = this.#options.references.policy;
    const keep = forward
      ? (ref: PendingReference, input: InputDescription) => forwardable(ref, input, policy)
      : undefined;
    const fetching = Object.entries(inputs).some(([id, values]) =>
      values.some((v) => {
        const input = description.inputs.find((i) => i.id === id);
        return v.kind === 'reference' && !(input && keep?.(v, input));
      }),
    );
    if (fetching) this.#emit(await this.#store.report(job.id, { message: 'Fetching referenced inputs' }));
    let resolved: JobInputs;
    try {
      resolved = await resolveReferences(inputs, description, {
        ...this.#options.references,
        validation: this.#validation(),
        signal,
        ...(keep ? { keep } : {}),
      });
    } catch (thrown) {
      if (signal.aborted) throw signal.reason;
      const error = OwsError.from(thrown);
      if (error.reason === 'transient') throw error; // worth another attempt (see finalFailure)
      throw new OwsError(error.code, error.message, error.locator, 'input-rejected');
    }
    const placed = await this.#files.prepare(job.id, resolved, this.#options.inlineLimit);
    if (!hasPendingReferences(placed)) return { inputs: placed as ProcessInputs };
    return { inputs: withoutReferences(placed), remoteInputs: placed };
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
        await this.#options.resultCache?.forget(ids);
        removed += ids.length;
        if (ids.length < SWEEP_BATCH || this.#closing) break;
      }
      await this.#options.resultCache?.forget([], now);
      if (removed > 0) this.#log.info({ removed }, 'removed expired jobs');
      if (orphans) await this.#removeOrphans(now);
      return removed;
    };
    const sweeping = run().finally(() => {
      this.#sweeping = undefined;
      // Jobs that ended while this sweep ran (their trim was skipped): trim again at once.
      if (this.#endedSinceSweep >= this.#trimEvery() && !this.#closing) void this.#sweepSafely(false);
    });
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
