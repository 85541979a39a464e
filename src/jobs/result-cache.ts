/**
 * The result cache of deterministic processes. The key is a digest of the process id and version,
 * the canonical form of the validated inputs (complex data by the digest of its bytes, references
 * by the digest of what they brought in, unless their URL is declared immutable: then by the URL)
 * and the requested outputs with their formats. Entries live in the job store (ResultCacheStore);
 * the files stay in the output folder of the job that computed them and are hard-linked (copied
 * across file systems) into each job served from the cache, so that every job owns its files.
 * Identical requests under way at once run once, on one instance or several sharing the store:
 * the first job to claim a key holds its pending mark in the store (ResultCacheStore.cacheClaim);
 * the later ones wait for that job (woken at once within this process, else by polling the store)
 * and take its entry, or claim the key themselves when it failed, was dismissed or its node died.
 */
import { createHash } from 'node:crypto';
import { copyFile, link, mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { CacheDirectives, ExecuteRequest } from '../core/execute.ts';
import type { ProcessDescription } from '../core/model.ts';
import type { JobInputs, JobInputValue, ProcessInputs, StoredOutputs } from '../core/values.ts';
import type { Logger } from '../util/logger.ts';
import type { JobFiles } from './files.ts';
import type { CacheEntry, ResultCacheStore } from './store.ts';

export interface CachePolicy {
  ttlMs: number;
  /** URL prefixes whose content never changes: references under them are keyed by URL, not fetched data. */
  immutableUrls: readonly string[];
}

/** What a job about to run gets from the cache: a hit, or the duty to fill the entry. */
export type CacheTicket =
  { hit: CacheEntry } | { hit?: undefined; fill(results: StoredOutputs): Promise<void>; release(): void };

const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

/** JSON with object keys sorted: one text for equal values. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

/**
 * A literal as JSON keeps it apart from every other: JSON writes NaN, INF and -INF all as null and
 * -0 as 0, so those are keyed by their XML Schema spelling instead.
 */
const numberKey = (v: string | number | boolean): string | number | boolean =>
  typeof v !== 'number' || (Number.isFinite(v) && !Object.is(v, -0))
    ? v
    : Number.isNaN(v)
      ? 'NaN'
      : v === Infinity
        ? 'INF'
        : v === -Infinity
          ? '-INF'
          : '-0';

async function canonicalValue(value: JobInputValue): Promise<unknown> {
  switch (value.kind) {
    case 'literal':
      return {
        k: 'l',
        t: value.value instanceof Date ? 'date' : typeof value.value,
        v: value.value instanceof Date ? value.value.toISOString() : numberKey(value.value),
        u: value.uom,
      };
    case 'bbox':
      return { k: 'b', ...value };
    case 'complex': {
      const bytes =
        value.bytes ??
        (value.file !== undefined ? await readFile(value.file) : Buffer.from(value.text ?? ''));
      return { k: 'c', f: value.format, d: sha256(bytes) };
    }
    case 'reference':
      throw new Error('A reference has no canonical value of its own');
  }
}

/**
 * The cache key of a request, or undefined when it cannot be known yet: a reference whose URL is
 * not immutable is keyed by its data, which only `resolved` (the inputs once fetched) has.
 */
export async function cacheKey(
  description: ProcessDescription,
  request: Pick<ExecuteRequest, 'inputs' | 'outputs'>,
  policy: CachePolicy,
  resolved?: ProcessInputs,
): Promise<string | undefined> {
  const inputs: Record<string, unknown[]> = {};
  for (const [id, values] of Object.entries(request.inputs as JobInputs)) {
    const out: unknown[] = [];
    for (const [i, value] of values.entries()) {
      if (value.kind !== 'reference') {
        out.push(await canonicalValue(value));
      } else if (policy.immutableUrls.some((prefix) => value.href.startsWith(prefix))) {
        const { kind: _kind, ...ref } = value;
        out.push({ k: 'r', ...ref });
      } else {
        const fetched = resolved?.[id]?.[i];
        if (fetched === undefined) return undefined;
        out.push(await canonicalValue(fetched));
      }
    }
    inputs[id] = out;
  }
  return sha256(canonicalJson({ p: description.id, v: description.version, i: inputs, o: request.outputs }));
}

export interface ResultCacheDeps {
  store: ResultCacheStore;
  files: JobFiles;
  logger: Logger;
  /** The longest pause between two looks at the store while another job computes a key (default 500 ms). */
  maxPollMs?: number;
}

/** The first pause between two looks at the store while waiting for another job's entry. */
const FIRST_POLL_MS = 50;

export class ResultCache {
  readonly #store: ResultCacheStore;
  readonly #files: JobFiles;
  readonly #log: Logger;
  readonly #policies: ReadonlyMap<string, CachePolicy>;
  readonly #maxPollMs: number;
  /** Keys being computed in this process, with what settles when their job ends. */
  readonly #inflight = new Map<string, Promise<void>>();

  constructor(deps: ResultCacheDeps, policies: ReadonlyMap<string, CachePolicy>) {
    this.#store = deps.store;
    this.#files = deps.files;
    this.#log = deps.logger;
    this.#policies = policies;
    this.#maxPollMs = deps.maxPollMs ?? 500;
  }

  policy(processId: string): CachePolicy | undefined {
    return this.#policies.get(processId);
  }

  /**
   * A cached entry for a request about to be admitted, when its key is known without fetching
   * anything, with its files linked into `jobId`'s output folder; else undefined.
   */
  async lookupAtSubmit(
    jobId: string,
    description: ProcessDescription,
    request: Pick<ExecuteRequest, 'inputs' | 'outputs'>,
    directives: CacheDirectives,
  ): Promise<CacheEntry | undefined> {
    const policy = this.#policies.get(description.id);
    if (!policy || directives.noCache || directives.noStore) return undefined;
    const key = await cacheKey(description, request, policy);
    if (key === undefined) return undefined;
    return this.#take(key, jobId);
  }

  /**
   * For a job about to run (its references fetched): a hit (files linked into its folder), or a
   * ticket to fill the entry; undefined when the cache does not apply. Waits while an identical job
   * is under way (on any instance sharing the store), then takes its entry. The ticket's `release`
   * must be called when the job ends, filled or not.
   */
  async acquire(
    jobId: string,
    description: ProcessDescription,
    request: ExecuteRequest,
    resolved: ProcessInputs,
    signal: AbortSignal,
  ): Promise<CacheTicket | undefined> {
    const policy = this.#policies.get(description.id);
    const directives = request.cache ?? {};
    if (!policy || directives.noStore) return undefined;
    const key = await cacheKey(description, request, policy, resolved);
    if (key === undefined) return undefined;
    for (let pause = FIRST_POLL_MS; ; pause = Math.min(pause * 2, this.#maxPollMs)) {
      signal.throwIfAborted();
      const claim = await this.#store.cacheClaim(key, {
        processId: description.id,
        jobId,
        now: new Date(),
        takeHit: !directives.noCache,
      });
      if ('hit' in claim) {
        if (await this.#link(claim.hit, jobId)) return { hit: claim.hit };
        await this.#store.cacheDelete({ jobIds: [claim.hit.jobId] });
        continue;
      }
      if ('leader' in claim) break;
      // Another job computes it: woken when it ends here, else the store is looked at again.
      const local = this.#inflight.get(key);
      const done = new AbortController();
      try {
        await Promise.race([
          ...(local ? [local] : []),
          delay(pause, undefined, { signal: AbortSignal.any([signal, done.signal]) }),
        ]);
      } catch {
        signal.throwIfAborted();
      } finally {
        done.abort();
      }
    }
    let wake!: () => void;
    const mine = new Promise<void>((resolve) => (wake = resolve));
    this.#inflight.set(key, mine);
    let filled = false;
    const release = () => {
      if (this.#inflight.get(key) === mine) this.#inflight.delete(key);
      wake();
    };
    return {
      fill: async (results) => {
        const now = new Date();
        await this.#store.cachePut({
          key,
          processId: description.id,
          jobId,
          results,
          created: now,
          expires: new Date(now.getTime() + policy.ttlMs),
        });
        filled = true;
      },
      release: () => {
        // Not filled (failed, dismissed): the mark goes, so that a waiter computes the entry itself.
        const given = filled
          ? Promise.resolve()
          : this.#store
              .cacheRelease(key, jobId)
              .catch((e: unknown) => this.#log.warn({ err: e, job: jobId }, 'could not release a cache key'));
        void given.finally(release);
      },
    };
  }

  /** The entry under `key` with its files linked into `jobId`'s folder; a broken entry is dropped. */
  async #take(key: string, jobId: string): Promise<CacheEntry | undefined> {
    const entry = await this.#store.cacheGet(key, new Date());
    if (!entry) return undefined;
    if (await this.#link(entry, jobId)) return entry;
    await this.#store.cacheDelete({ jobIds: [entry.jobId] });
    return undefined;
  }

  async #link(entry: CacheEntry, jobId: string): Promise<boolean> {
    const files = Object.values(entry.results).flatMap((o) => (o.kind === 'complex' ? [o.file] : []));
    if (files.length === 0) return true;
    const target = this.#files.outputDir(jobId);
    try {
      await mkdir(target, { recursive: true });
      for (const file of files) {
        const from = path.join(this.#files.outputDir(entry.jobId), file);
        const to = path.join(target, file);
        await link(from, to).catch((error: NodeJS.ErrnoException) => {
          if (error.code === 'EXDEV' || error.code === 'EPERM') return copyFile(from, to);
          throw error;
        });
      }
      return true;
    } catch (error) {
      this.#log.warn({ err: error, job: entry.jobId }, 'cached results are gone; the entry is dropped');
      await rm(target, { recursive: true, force: true });
      return false;
    }
  }

  /** Removes the entries of removed jobs, and those that expired by `now`. */
  async forget(jobIds: readonly string[], now?: Date): Promise<void> {
    await this.#store.cacheDelete({ jobIds, ...(now ? { expiredBy: now } : {}) });
  }
}
