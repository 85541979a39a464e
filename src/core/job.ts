import type { OwsErrorJson } from './errors.ts';
import type { ExecuteRequest, ExecutionMode } from './execute.ts';
import type { StoredOutputs } from './values.ts';

export const JOB_STATUSES = ['accepted', 'running', 'successful', 'failed', 'dismissed'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** The job state machine as data: the states each state may move to. */
export const JOB_TRANSITIONS: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
  accepted: ['running', 'failed', 'dismissed'],
  running: ['successful', 'failed', 'dismissed'],
  successful: [],
  failed: [],
  dismissed: [],
};

export const TERMINAL_STATUSES: readonly JobStatus[] = JOB_STATUSES.filter(
  (s) => JOB_TRANSITIONS[s].length === 0,
);

export const isTerminal = (status: JobStatus): boolean => TERMINAL_STATUSES.includes(status);

export const canTransition = (from: JobStatus, to: JobStatus): boolean => JOB_TRANSITIONS[from].includes(to);

/** The states from which a job may reach `to`: the guard of every status change in a store. */
export const statusesLeadingTo = (to: JobStatus): JobStatus[] =>
  JOB_STATUSES.filter((s) => JOB_TRANSITIONS[s].includes(to));

/** The states in which a job reports progress: those it can leave only by finishing (running). */
export const REPORTING_STATUSES: readonly JobStatus[] = JOB_STATUSES.filter(
  (s) => !isTerminal(s) && JOB_TRANSITIONS[s].every(isTerminal),
);

/** The state a job waiting for a slot is in, and the one it moves to when it gets one. */
export const QUEUED_STATUS: JobStatus = 'accepted';

/** One run of a job's process (a job retried after transient failures has several). */
export interface JobAttempt {
  /** 1, 2, … */
  number: number;
  started: Date;
  finished?: Date;
  /** Why it failed; absent for the attempt that succeeded (or the one under way). */
  error?: OwsErrorJson;
}

/** How a job ran beyond its status: its attempts, or the cached job whose results it took. */
export interface JobExecution {
  attempts: JobAttempt[];
  /** Set when the results were served from the result cache: the job that computed them. */
  cachedFrom?: string;
}

export interface Job {
  id: string;
  processId: string;
  status: JobStatus;
  mode: ExecutionMode;
  /** 0..100 */
  progress: number;
  message?: string;
  created: Date;
  started?: Date;
  finished?: Date;
  updated: Date;
  request: ExecuteRequest;
  results?: StoredOutputs;
  error?: OwsErrorJson;
  /** Attempts and cache origin (src/jobs/retry.ts, src/jobs/result-cache.ts); absent for plain runs. */
  execution?: JobExecution;
}
