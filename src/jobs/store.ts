import type { OwsErrorJson } from '../core/errors.ts';
import type { ExecuteRequest, ExecutionMode } from '../core/execute.ts';
import type { Job, JobStatus } from '../core/job.ts';
import type { StoredOutputs } from '../core/values.ts';

export interface NewJob {
  id: string;
  processId: string;
  mode: ExecutionMode;
  request: ExecuteRequest;
  created: Date;
  /**
   * Set for a job that needs no slot of the pools and starts at once (a synchronous job of an
   * inline processor): it is stored as running from this moment, never as waiting.
   */
  started?: Date;
}

/** What changes with a status change (the status itself is the transition's target). */
export interface JobPatch {
  progress?: number;
  message?: string;
  started?: Date;
  finished?: Date;
  results?: StoredOutputs;
  error?: OwsErrorJson;
}

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
export interface JobStore {
  /**
   * Stores a new accepted job. With `admission`, atomically with the check: when accepted and
   * running jobs already number `maxActive` or more, nothing is stored and QueueFullError is thrown.
   */
  insert(job: NewJob, admission?: Admission): Promise<Job>;
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
  report(id: string, progress: { progress?: number; message?: string }): Promise<Job | undefined>;
  /** Moves the oldest accepted job to running (atomically) and returns it. */
  claimNext(now: Date): Promise<Job | undefined>;
  countByStatus(status: JobStatus): Promise<number>;
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
