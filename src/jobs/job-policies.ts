/**
 * The job system's per-process policies, from the configuration and the process descriptions:
 * limits (src/jobs/process-limits.ts), retries (src/jobs/retry.ts) and which processes cache their
 * results, for how long (src/jobs/result-cache.ts).
 */
import type { JobsConfig } from '../config/types.ts';
import type { ProcessRegistry } from '../registry/registry.ts';
import { ProcessLimits } from './process-limits.ts';
import type { CachePolicy } from './result-cache.ts';
import { retryPolicy, type RetryPolicy } from './retry.ts';

export interface JobPolicies {
  limits: ProcessLimits;
  retry: (processId: string) => RetryPolicy;
  cache: Map<string, CachePolicy>;
}

export interface JobPolicyOptions {
  /**
   * The id prefixes of the configured remote providers: a policy for an id under one of them may
   * name a process that is not published yet (its provider is down at start-up, or has not been
   * read yet); it applies once the process appears, and only a warning is given now.
   */
  remotePrefixes?: readonly string[];
  /** Where that warning goes. */
  warn?: (message: string) => void;
}

/**
 * Throws when the configuration sets a policy for a process that is not published (a typo), unless
 * its id lies under a remote provider's prefix: then it is kept for when the process appears.
 */
export function jobPolicies(
  jobs: JobsConfig,
  registry: ProcessRegistry,
  options: JobPolicyOptions = {},
): JobPolicies {
  const prefixes = options.remotePrefixes ?? [];
  const pending: string[] = [];
  for (const id of Object.keys(jobs.processes)) {
    if (registry.find(id)) continue;
    if (!prefixes.some((p) => id.startsWith(p) && id.length > p.length))
      throw new Error(`Job policy for process '${id}', which is not published`);
    pending.push(id);
  }
  if (pending.length > 0) {
    options.warn?.(
      `Job policies for ${pending.map((id) => `'${id}'`).join(', ')}: not published now (remote provider down or not read yet); they apply once the process appears`,
    );
  }
  // Policies are looked up by process id when a job runs: those of remote processes that appear
  // later apply to them then.
  const ids = new Set([...registry.list().map((e) => e.description.id), ...Object.keys(jobs.processes)]);
  const retries = new Map(
    [...ids].map((id) => [id, retryPolicy(jobs.retry, jobs.processes[id]?.retry)] as const),
  );
  const fallback = retryPolicy(jobs.retry);
  const cache = new Map<string, CachePolicy>();
  for (const id of ids) {
    const description = registry.find(id)?.description;
    const own = jobs.processes[id]?.cache;
    const enabled = own?.enabled ?? (description?.deterministic === true || own?.ttlSeconds !== undefined);
    if (!enabled) continue;
    const ttlSeconds = own?.ttlSeconds ?? description?.cacheTtlSeconds ?? jobs.cacheTtlSeconds;
    cache.set(id, { ttlMs: ttlSeconds * 1000, immutableUrls: own?.immutableUrls ?? [] });
  }
  return {
    limits: new ProcessLimits(jobs.processes),
    retry: (processId) => retries.get(processId) ?? fallback,
    cache,
  };
}
