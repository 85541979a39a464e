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

export interface JobFilter {
  processIds?: string[];
  statuses?: JobStatus[];
  createdFrom?: Date;
  createdTo?: Date;
  /** Default 10. */
  limit?: number;
  offset?: number;
}

/**
 * Where jobs live: the single source of truth for both protocols. Asynchronous so that a shared
 * PostgreSQL store can sit behind the same interface. The queue is the store: jobs waiting to run
 * are the `accepted` ones, oldest first.
 */
export interface JobStore {
  insert(job: NewJob): Promise<Job>;
  get(id: string): Promise<Job | undefined>;
  list(filter: JobFilter): Promise<{ jobs: Job[]; total: number }>;
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
  /** Deletes finished jobs (successful, failed, dismissed) last updated before `cutoff`; returns their ids. */
  deleteFinishedBefore(cutoff: Date): Promise<string[]>;
  delete(id: string): Promise<boolean>;
  close(): Promise<void>;
}
