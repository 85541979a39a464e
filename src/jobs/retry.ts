/**
 * Retries of transient failures: which failures are worth another attempt, and how long to wait
 * before it (exponential backoff with jitter). The job manager runs the attempts (src/jobs/manager.ts).
 */
import type { OwsErrorJson } from '../core/errors.ts';

export interface RetryPolicy {
  /** Attempts in all; 1 = no retry. */
  maxAttempts: number;
  /** The pause after the first failed attempt; doubled after each further one. */
  backoffMs: number;
  maxBackoffMs: number;
  /** The random share of a pause (0..1): a pause lies in [(1 − jitter)·p, p]. */
  jitter: number;
}

export const NO_RETRY: RetryPolicy = { maxAttempts: 1, backoffMs: 0, maxBackoffMs: 0, jitter: 0 };

/** The seconds of the configuration, the process's own settings over the global ones. */
export function retryPolicy(
  global: { maxAttempts: number; backoffSeconds: number; maxBackoffSeconds: number; jitter: number },
  own: Partial<typeof global> = {},
): RetryPolicy {
  const p = { ...global, ...own };
  return {
    maxAttempts: p.maxAttempts,
    backoffMs: p.backoffSeconds * 1000,
    maxBackoffMs: p.maxBackoffSeconds * 1000,
    jitter: p.jitter,
  };
}

/**
 * Whether a failed attempt may be tried again. Transient: a worker that died, the time limit, a
 * reference or remote provider that timed out or answered 5xx (all tagged `transient`), a store or
 * provider that was busy (ServerBusy), and a processor's unexpected exception (NoApplicableCode
 * without a reason, as Prefect retries any exception). Never: an error a processor marks
 * `permanent`, a validation error (any other code: the data is wrong and stays wrong), and a job
 * that was dismissed, cancelled by the sync timeout or interrupted by a shutdown.
 */
export function isTransient(error: OwsErrorJson): boolean {
  if (error.reason === 'transient' || error.reason === 'job-timeout') return true;
  if (error.reason !== undefined) return false;
  return error.code === 'NoApplicableCode' || error.code === 'ServerBusy';
}

/** The pause before attempt `failed + 1`, after attempt `failed` (1, 2, …) failed. */
export function backoffMs(policy: RetryPolicy, failed: number, random: () => number = Math.random): number {
  const full = Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** (failed - 1));
  return Math.round(full * (1 - policy.jitter * random()));
}
