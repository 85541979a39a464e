import { setTimeout as delay } from 'node:timers/promises';
import type { OwsErrorJson } from '../core/errors.ts';
import { OwsError } from '../core/errors.ts';
import type { Job, JobStatus } from '../core/job.ts';
import {
  QueueFullError,
  type Admission,
  type ExpiryRule,
  type JobFilter,
  type JobPatch,
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
    this.#options = { firstPauseMs: 10, maxPauseMs: 250, ...options };
  }

  health(): StoreHealth {
    if (this.#waiting > 0) {
      return {
        ok: false,
        reason: 'the job store is locked by another process; waiting for it',
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
          // A full queue is an answer of a working store, not a fault of it.
          if (error instanceof QueueFullError) throw error;
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
          `The job store stayed locked by another process for ${Math.round(this.#options.retryForMs / 1000)} s; try again later`,
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
  report(id: string, progress: { progress?: number; message?: string }): Promise<Job | undefined> {
    return this.#call('write', () => this.#inner.report(id, progress));
  }
  claimNext(now: Date): Promise<Job | undefined> {
    return this.#call('write', () => this.#inner.claimNext(now));
  }
  countByStatus(status: JobStatus): Promise<number> {
    return this.#call('read', () => this.#inner.countByStatus(status));
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
