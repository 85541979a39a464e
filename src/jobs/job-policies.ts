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

/** Throws when the configuration sets a policy for a process that is not published. */
export function jobPolicies(jobs: JobsConfig, registry: ProcessRegistry): JobPolicies {
  for (const id of Object.keys(jobs.processes)) {
    if (!registry.find(id)) throw new Error(`Job policy for process '${id}', which is not published`);
  }
  const retries = new Map(
    registry.list().map((e) => {
      const id = e.description.id;
      return [id, retryPolicy(jobs.retry, jobs.processes[id]?.retry)] as const;
    }),
  );
  const fallback = retryPolicy(jobs.retry);
  const cache = new Map<string, CachePolicy>();
  for (const { description } of registry.list()) {
    const own = jobs.processes[description.id]?.cache;
    const enabled = own?.enabled ?? (description.deterministic === true || own?.ttlSeconds !== undefined);
    if (!enabled) continue;
    const ttlSeconds = own?.ttlSeconds ?? description.cacheTtlSeconds ?? jobs.cacheTtlSeconds;
    cache.set(description.id, { ttlMs: ttlSeconds * 1000, immutableUrls: own?.immutableUrls ?? [] });
  }
  return {
    limits: new ProcessLimits(jobs.processes),
    retry: (processId) => retries.get(processId) ?? fallback,
    cache,
  };
}
