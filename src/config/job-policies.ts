/**
 * Per-process job policies (limits, retries, result cache) in both dialects, into `jobs.processes`:
 *
 * YAML (pygeoapi), on a process resource:
 *   resources.<id>.max_running_jobs, max_queued_jobs,
 *   resources.<id>.retry.{max_attempts, backoff_seconds, max_backoff_seconds, jitter},
 *   resources.<id>.cache.{enabled, ttl_seconds, immutable_urls}   (`cache: true|false` for short)
 *   A resource with these keys and no `processor` sets the policy of a remote provider's process.
 *
 * INI (PyWPS), one section per process: `[process:<id>]` with max_running, max_queued,
 *   retry_max_attempts, retry_backoff, retry_max_backoff, retry_jitter, cache, cache_ttl,
 *   cache_immutable_urls.
 */
import { type Draft, parseBoolean, parseList } from './draft.ts';

type Node = Record<string, unknown>;
const isNode = (v: unknown): v is Node => typeof v === 'object' && v !== null && !Array.isArray(v);

/** YAML/INI spelling of a retry key → its Config name. */
const RETRY_KEYS = {
  max_attempts: 'maxAttempts',
  backoff_seconds: 'backoffSeconds',
  max_backoff_seconds: 'maxBackoffSeconds',
  jitter: 'jitter',
} as const;

/** The policy keys of a YAML process resource. */
const POLICY_KEYS = ['max_running_jobs', 'max_queued_jobs', 'retry', 'cache'];

/**
 * Whether a resource sets a policy: one without `processor` that does is a policy for a process of
 * a remote provider (`resources.<provider>.<remote id>`), published when the provider is read.
 */
export const hasPolicyKeys = (resource: Node): boolean =>
  POLICY_KEYS.some((k) => resource[k] !== undefined && resource[k] !== null);

/** Reads the policy keys of one YAML process resource (other keys are the caller's). */
export function readResourcePolicy(id: string, resource: Node, draft: Draft): void {
  const at = `/jobs/processes/${id}`;
  const key = (k: string) => `resources.${id}.${k}`;
  if (resource.max_running_jobs !== undefined && resource.max_running_jobs !== null)
    draft.set(`${at}/maxRunning`, resource.max_running_jobs, key('max_running_jobs'));
  if (resource.max_queued_jobs !== undefined && resource.max_queued_jobs !== null)
    draft.set(`${at}/maxQueued`, resource.max_queued_jobs, key('max_queued_jobs'));
  const retry = resource.retry;
  if (retry !== undefined && retry !== null) {
    if (!isNode(retry))
      throw draft.error(key('retry'), 'must be a mapping (max_attempts, backoff_seconds, …)');
    draft.name(`${at}/retry`, key('retry'));
    for (const [k, v] of Object.entries(retry)) {
      const name = RETRY_KEYS[k as keyof typeof RETRY_KEYS];
      if (name === undefined) draft.warnings.push(`${key(`retry.${k}`)}: unknown key, ignored`);
      else draft.set(`${at}/retry/${name}`, v, key(`retry.${k}`));
    }
  }
  const cache = resource.cache;
  if (cache === undefined || cache === null) return;
  if (!isNode(cache)) {
    draft.set(`${at}/cache/enabled`, parseBoolean(cache, draft, key('cache')), key('cache'));
    return;
  }
  draft.name(`${at}/cache`, key('cache'));
  for (const [k, v] of Object.entries(cache)) {
    if (k === 'enabled')
      draft.set(`${at}/cache/enabled`, parseBoolean(v, draft, key('cache.enabled')), key(k));
    else if (k === 'ttl_seconds') draft.set(`${at}/cache/ttlSeconds`, v, key('cache.ttl_seconds'));
    else if (k === 'immutable_urls')
      draft.set(`${at}/cache/immutableUrls`, parseList(v), key('cache.immutable_urls'));
    else draft.warnings.push(`${key(`cache.${k}`)}: unknown key, ignored`);
  }
}

/** `[process:<id>]` keys → where they go under `/jobs/processes/<id>`, and how the text converts. */
const INI_KEYS: Record<string, [pointer: string, convert?: (v: string, d: Draft, k: string) => unknown]> = {
  max_running: ['/maxRunning'],
  max_queued: ['/maxQueued'],
  retry_max_attempts: ['/retry/maxAttempts'],
  retry_backoff: ['/retry/backoffSeconds'],
  retry_max_backoff: ['/retry/maxBackoffSeconds'],
  retry_jitter: ['/retry/jitter'],
  cache: ['/cache/enabled', parseBoolean],
  cache_ttl: ['/cache/ttlSeconds'],
  cache_immutable_urls: ['/cache/immutableUrls', (v) => parseList(v, /[\s,]+/)],
};

/** The process id of a `[process:<id>]` section, or undefined for any other section. */
export const iniPolicySection = (section: string): string | undefined =>
  /^process:(.+)$/i.exec(section)?.[1]?.trim();

/** Sets one `[process:<id>]` key; false when the key is unknown. */
export function setIniPolicy(
  id: string,
  key: string,
  value: string,
  draft: Draft,
  sourceKey: string,
): boolean {
  const rule = INI_KEYS[key];
  if (!rule) return false;
  const [pointer, convert] = rule;
  draft.set(`/jobs/processes/${id}${pointer}`, convert ? convert(value, draft, sourceKey) : value, sourceKey);
  return true;
}
