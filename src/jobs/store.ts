import type { OwsErrorJson } from '../core/errors.ts';
import type { ExecuteRequest, ExecutionMode } from '../core/execute.ts';
import type { Job, JobExecution, JobStatus } from '../core/job.ts';
import type { StoredOutputs } from '../core/values.ts';
import type { ProcessBound } from './process-limits.ts';

export interface NewJob {
  id: string;
  processId: string;
  mode: ExecutionMode;
  request: ExecuteRequest;
  created: Date;
  /**
   * The process's queue bound (src/jobs/process-limits.ts): the insert counts the process's jobs
   * and refuses with ServerBusy beyond it, atomically with the insert (for the whole cluster on a
   * shared store), as it checks the global bound (see {@link Admission}).
   */
  processBound?: ProcessBound;
}

/** What changes with a status change (the status itself is the transition's target). */
export interface JobPatch {
  progress?: number;
  message?: string;
  started?: Date;
  finished?: Date;
  results?: StoredOutputs;
  error?: OwsErrorJson;
  execution?: JobExecution;
}

/** What a running job may record without changing status: progress, message, its attempts. */
export type JobReport = Pick<JobPatch, 'progress' | 'message' | 'execution'>;

/** The kind of every job in a store: each runs a process (OGC API - Processes job-list `type`). */
export const JOB_TYPE = 'process';

/** Which jobs a list shows. Every given criterion must hold; lists match any of their values. */
export interface JobFilter {
  /** Job kinds: a list without {@link JOB_TYPE} matches no job. */
  types?: string[];
  processIds?: string[];
  statuses?: JobStatus[];
  /** Inclusive bounds on `created`; both equal for one instant. */
  createdFrom?: Date;
  createdTo?: Date;
  /**
   * Inclusive bounds on the duration: now − started for a running job, finished − started for a
   * finished one. With either bound, jobs without a duration (never started) are left out, and
   * without `statuses` only running and finished jobs count.
   */
  minDurationMs?: number;
  maxDurationMs?: number;
  /** Default 10. */
  limit?: number;
  offset?: number;
}

/** The bound an insertion is checked against, in the same transaction as the insertion. */
export interface Admission {
  /** Accepted plus running jobs the store may hold after the insertion. */
  maxActive: number;
}

/** An insertion refused by its admission check: the queue is full. Carries the counts of that moment. */
export class QueueFullError extends Error {
  readonly running: number;
  readonly waiting: number;

  constructor(running: number, waiting: number) {
    super(`The job queue is full: ${running} running, ${waiting} waiting`);
    this.name = 'QueueFullError';
    this.running = running;
    this.waiting = waiting;
  }
}

/** When a finished job is removed: by age (shorter for synchronous jobs) and by count. */
export interface ExpiryRule {
  /** Finished jobs that ended before this go. */
  finishedBefore: Date;
  /** Finished synchronous jobs that ended before this go. */
  syncFinishedBefore: Date;
  /** Beyond this many jobs in the store, the oldest finished ones go. */
  maxJobs: number;
}

/**
 * Where jobs live: the single source of truth for both protocols. Asynchronous so that a shared
 * PostgreSQL store can sit behind the same interface. The queue is the store: jobs waiting to run
 * are the `accepted` ones, oldest first.
 */
export interface JobStore extends ResultCacheStore {
  /**
   * Stores a new accepted job. Atomically with the insertion, the queue bounds are checked: with
   * `admission`, when accepted and running jobs already number `maxActive` or more, nothing is
   * stored and QueueFullError is thrown; with the job's `processBound`, the process's (OwsError
   * ServerBusy). A store with a bound of its own (PostgreSQL: the cluster's) checks it too.
   */
  insert(job: NewJob, admission?: Admission): Promise<Job>;
  /**
   * Stores a job that is already over (a synchronous job of an inline processor, run before it was
   * stored; a result-cache hit): inserted in its final state `to` with `patch` (its results or
   * error, started and finished times) in one step, so that nobody ever sees it waiting or running
   * and no dispatcher claims it. With `admission` and the job's `processBound`, the bounds are
   * checked as `insert` checks them, atomically, but the job itself takes no place.
   */
  insertEnded(job: NewJob, to: 'successful' | 'failed', patch: JobPatch, admission?: Admission): Promise<Job>;
  get(id: string): Promise<Job | undefined>;
  /** Newest first, with the number of all matching jobs; `now` is the moment durations of running jobs are measured at. */
  list(filter: JobFilter, now?: Date): Promise<{ jobs: Job[]; total: number }>;
  /**
   * Moves a job to `to` with the patch (and sets `updated`), atomically and only when the job table
   * of src/core/job.ts allows that move from the job's current status. Returns the updated job, or
   * undefined when the job is missing or the move is not allowed from where it is.
   */
  transition(id: string, to: JobStatus, patch?: JobPatch): Promise<Job | undefined>;
  /** Records progress and message while the job is in a reporting status (running); else undefined. */
  report(id: string, progress: JobReport): Promise<Job | undefined>;
  /**
   * Moves the oldest accepted job to running (atomically) and returns it. With `caps` (process id →
   * jobs of it running at most), a job whose process has that many running is passed over; the count
   * and the claim are one atomic step (src/jobs/process-limits.ts).
   */
  claimNext(now: Date, caps?: Readonly<Record<string, number>>): Promise<Job | undefined>;
  /** Jobs in `status`; with `processId`, only that process's. */
  countByStatus(status: JobStatus, processId?: string): Promise<number>;
  /** At start-up: marks jobs left running as failed with `error`; returns their ids. */
  failRunning(error: OwsErrorJson, now: Date): Promise<string[]>;
  /**
   * Deletes at most `limit` finished jobs (successful, failed, dismissed) that `rule` expires,
   * oldest first; returns their ids. Call again until it returns fewer than `limit`.
   */
  deleteExpired(rule: ExpiryRule, limit: number): Promise<string[]>;
  /** Which of `ids` are jobs of this store. */
  existing(ids: readonly string[]): Promise<Set<string>>;
  delete(id: string): Promise<boolean>;
  close(): Promise<void>;
}

/** A cached result of a deterministic process (src/jobs/result-cache.ts). */
export interface CacheEntry {
  /** Digest of process id, version, canonical inputs and requested outputs. */
  key: string;
  processId: string;
  /** The job whose outputs these are (its output folder holds the files). */
  jobId: string;
  results: StoredOutputs;
  created: Date;
  expires: Date;
}

/**
 * What a job about to compute the entry under a key gets from {@link ResultCacheStore.cacheClaim}:
 * the entry (a hit); the duty to compute it (the key's pending mark is now this job's); or the job
 * that computes it now, to wait for.
 */
export type CacheClaim = { hit: CacheEntry } | { leader: true } | { waitFor: string };

/**
 * The result cache's part of a store: kept apart so that every back end (SQLite, PostgreSQL)
 * implements the same few calls.
 */
export interface ResultCacheStore {
  /** The entry under `key` unless it expired by `now`. */
  cacheGet(key: string, now: Date): Promise<CacheEntry | undefined>;
  /**
   * Atomically: the entry under `key` (when `takeHit` and it has not expired by `now`); else, when
   * no job holds the key's pending mark, or the job holding it is not running (it ended without
   * filling the entry, is gone, or was queued again when its node died), the mark becomes `jobId`'s
   * (leader); else the running job holding it (wait for it, then claim again). A job that already holds the mark (run again after its node died) gets it
   * again. Concurrent identical requests of any instance sharing the store thus run once.
   */
  cacheClaim(
    key: string,
    claim: { processId: string; jobId: string; now: Date; takeHit: boolean },
  ): Promise<CacheClaim>;
  /** Gives up `jobId`'s pending mark of `key` (its job failed or was dismissed: a waiter runs instead). */
  cacheRelease(key: string, jobId: string): Promise<void>;
  /** Stores (or replaces) the entry under its key, and removes the pending mark its job held, atomically. */
  cachePut(entry: CacheEntry): Promise<void>;
  /**
   * Removes the entries that expired by `now` or whose job is one of `jobIds` (and the pending
   * marks of those jobs); returns how many entries.
   */
  cacheDelete(rule: { expiredBy?: Date; jobIds?: readonly string[] }): Promise<number>;
}
