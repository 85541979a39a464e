import { setTimeout as delay } from 'node:timers/promises';
import type { OwsErrorJson } from '../core/errors.ts';
import { OwsError } from '../core/errors.ts';
import type { Job, JobStatus } from '../core/job.ts';
import {
  QueueFullError,
  type Admission,
  type CacheClaim,
  type CacheEntry,
  type ExpiryRule,
  type JobFilter,
  type JobPatch,
  type JobReport,
  type JobStore,
  type NewJob,
} from './store.ts';

/** What a store error is: a lock held elsewhere (worth waiting for), a full disk, or anything else. */
export type StoreFault = 'busy' | 'full' | 'other';

export interface ResilientStoreOptions {
  /** How a back end's errors are told apart. */
  fault(error: unknown): StoreFault;
  /** How long a call keeps retrying while the store is busy, before it gives up with ServerBusy. */
  retryForMs: number;
  /** First pause between retries (doubled up to `maxPauseMs`, with jitter). */
  firstPauseMs?: number;
  maxPauseMs?: number;
  /** What a busy store is, in words: 'locked by another process' (the default, SQLite). */
  busy?: string;
}

/** The state of the store as /health reports it. */
export type StoreHealth = { ok: true } | { ok: false; reason: string; since: Date };

/**
 * A JobStore that waits out locks without blocking the event loop and turns back-end errors into
 * OwsErrors: a busy store is retried with backoff (asynchronously: the back end's own busy wait is
 * kept short) for `retryForMs`, then ServerBusy; a full disk is NotEnoughStorage; anything else is
 * NoApplicableCode with the back end's message. It keeps track of failures for /health: degraded
 * while a call is waiting for the store or since a call failed, until the same kind of call (read or
 * write) succeeds again.
 */
export class ResilientStore implements JobStore {
  readonly #inner: JobStore;
  readonly #options: Required<ResilientStoreOptions>;
  #waiting = 0;
  #failed: { read?: { reason: string; since: Date }; write?: { reason: string; since: Date } } = {};
  #waitingSince: Date | undefined;

  constructor(inner: JobStore, options: ResilientStoreOptions) {
    this.#inner = inner;
    this.#options = { firstPauseMs: 10, maxPauseMs: 250, busy: 'locked by another process', ...options };
  }

  health(): StoreHealth {
    if (this.#waiting > 0) {
      return {
        ok: false,
        reason: `the job store is ${this.#options.busy}; waiting for it`,
        since: this.#waitingSince ?? new Date(),
      };
    }
    const failure = this.#failed.write ?? this.#failed.read;
    return failure ? { ok: false, ...failure } : { ok: true };
  }

  async #call<T>(kind: 'read' | 'write', run: () => Promise<T>): Promise<T> {
    const t0 = Date.now();
    let pause = this.#options.firstPauseMs;
    let waiting = false;
    try {
      for (;;) {
        try {
          const result = await run();
          delete this.#failed[kind];
          return result;
        } catch (error) {
          // A refusal by the store's own rules (a full queue, a bound of a process): the store works.
          if (error instanceof QueueFullError || error instanceof OwsError) throw error;
          const fault = this.#options.fault(error);
          if (fault === 'busy' && Date.now() - t0 < this.#options.retryForMs) {
            if (!waiting) {
              waiting = true;
              if (this.#waiting++ === 0) this.#waitingSince = new Date();
            }
            await delay(pause * (0.5 + Math.random()));
            pause = Math.min(pause * 2, this.#options.maxPauseMs);
            continue;
          }
          const failure = this.#toOwsError(fault, error);
          this.#failed[kind] = { reason: failure.message, since: new Date() };
          throw failure;
        }
      }
    } finally {
      if (waiting) this.#waiting--;
    }
  }

  #toOwsError(fault: StoreFault, error: unknown): OwsError {
    if (error instanceof OwsError) return error;
    switch (fault) {
      case 'busy':
        return new OwsError(
          'ServerBusy',
          `The job store stayed ${this.#options.busy} for ${Math.round(this.#options.retryForMs / 1000)} s; try again later`,
        );
      case 'full':
        return new OwsError('NotEnoughStorage', 'The disk of the job store is full');
      default:
        return new OwsError(
          'NoApplicableCode',
          `The job store failed: ${error instanceof Error ? error.message : String(error)}`,
        );
    }
  }

  insert(job: NewJob, admission?: Admission): Promise<Job> {
    return this.#call('write', () => this.#inner.insert(job, admission));
  }
  get(id: string): Promise<Job | undefined> {
    return this.#call('read', () => this.#inner.get(id));
  }
  list(filter: JobFilter, now?: Date): Promise<{ jobs: Job[]; total: number }> {
    return this.#call('read', () => this.#inner.list(filter, now));
  }
  transition(id: string, to: JobStatus, patch?: JobPatch): Promise<Job | undefined> {
    return this.#call('write', () => this.#inner.transition(id, to, patch));
  }
  report(id: string, progress: JobReport): Promise<Job | undefined> {
    return this.#call('write', () => this.#inner.report(id, progress));
  }
  claimNext(now: Date, caps?: Readonly<Record<string, number>>): Promise<Job | undefined> {
    return this.#call('write', () => this.#inner.claimNext(now, caps));
  }
  countByStatus(status: JobStatus, processId?: string): Promise<number> {
    return this.#call('read', () => this.#inner.countByStatus(status, processId));
  }
  cacheGet(key: string, now: Date): Promise<CacheEntry | undefined> {
    return this.#call('read', () => this.#inner.cacheGet(key, now));
  }
  cacheClaim(
    key: string,
    claim: { processId: string; jobId: string; now: Date; takeHit: boolean },
  ): Promise<CacheClaim> {
    return this.#call('write', () => this.#inner.cacheClaim(key, claim));
  }
  cacheRelease(key: string, jobId: string): Promise<void> {
    return this.#call('write', () => this.#inner.cacheRelease(key, jobId));
  }
  cachePut(entry: CacheEntry): Promise<void> {
    return this.#call('write', () => this.#inner.cachePut(entry));
  }
  cacheDelete(rule: { expiredBy?: Date; jobIds?: readonly string[] }): Promise<number> {
    return this.#call('write', () => this.#inner.cacheDelete(rule));
  }
  insertEnded(
    job: NewJob,
    to: 'successful' | 'failed',
    patch: JobPatch,
    admission?: Admission,
  ): Promise<Job> {
    return this.#call('write', () => this.#inner.insertEnded(job, to, patch, admission));
  }
  failRunning(error: OwsErrorJson, now: Date): Promise<string[]> {
    return this.#call('write', () => this.#inner.failRunning(error, now));
  }
  deleteExpired(rule: ExpiryRule, limit: number): Promise<string[]> {
    return this.#call('write', () => this.#inner.deleteExpired(rule, limit));
  }
  existing(ids: readonly string[]): Promise<Set<string>> {
    return this.#call('read', () => this.#inner.existing(ids));
  }
  delete(id: string): Promise<boolean> {
    return this.#call('write', () => this.#inner.delete(id));
  }
  close(): Promise<void> {
    return this.#inner.close();
  }
}
