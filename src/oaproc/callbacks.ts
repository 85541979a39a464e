import { invalidParameter, missingParameter, type OwsError } from '../core/errors.ts';
import type { Job } from '../core/job.ts';
import type { JobManager } from '../jobs/manager.ts';
import {
  checkOutbound,
  checkOutboundResolved,
  OutboundRefused,
  postJson,
  type OutboundPolicy,
} from '../references/outbound.ts';
import type { Logger } from '../util/logger.ts';

/** The `subscriber` of an OGC API - Processes execute request (subscriber.yaml): where callbacks go. */
export interface Subscriber {
  successUri?: string;
  inProgressUri?: string;
  failedUri?: string;
}

const URI_KEYS = ['successUri', 'inProgressUri', 'failedUri'] as const;

/**
 * Checks a subscriber at submit time: an object with an absolute http(s) `successUri` (required by
 * the specification's prose; its schema's `successUrl` is a typo) and, optionally, `inProgressUri`
 * and `failedUri`. An address literal the outbound policy refuses is refused here already; a host
 * name is checked on the address it resolves to when connecting, as for reference inputs. Returns
 * the error to answer 400 with, or undefined when the subscriber is acceptable.
 */
export function checkSubscriber(subscriber: unknown, policy: OutboundPolicy): OwsError | undefined {
  if (typeof subscriber !== 'object' || subscriber === null || Array.isArray(subscriber)) {
    return invalidParameter(
      'subscriber',
      'subscriber must be an object with successUri, inProgressUri, failedUri',
    );
  }
  const s = subscriber as Record<string, unknown>;
  if (s.successUri === undefined) {
    return missingParameter('subscriber.successUri', 'subscriber needs a successUri');
  }
  for (const key of URI_KEYS) {
    const value = s[key];
    if (value === undefined) continue;
    const locator = `subscriber.${key}`;
    if (typeof value !== 'string') return invalidParameter(locator, `${locator} must be a URI string`);
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return invalidParameter(locator, `${locator} '${value}' is not an absolute URI`);
    }
    const refused = checkOutbound(url, policy);
    if (refused)
      return invalidParameter(
        locator,
        `${locator}: ${refused.message} (callbacks go to http or https URLs the server may reach)`,
      );
  }
  return undefined;
}

/**
 * After {@link checkSubscriber}: refuses a subscriber whose host name resolves only to addresses the
 * outbound policy refuses, so the client hears it now rather than never getting a callback.
 */
export async function checkSubscriberHosts(
  subscriber: Subscriber,
  policy: OutboundPolicy,
): Promise<OwsError | undefined> {
  for (const key of URI_KEYS) {
    const value = subscriber[key];
    if (value === undefined) continue;
    const refused = await checkOutboundResolved(new URL(value), policy);
    if (refused) {
      const locator = `subscriber.${key}`;
      return invalidParameter(locator, `${locator}: ${refused.message}`);
    }
  }
  return undefined;
}

/** The subscriber a job was submitted with through OGC API - Processes, if any. */
export function subscriberOf(job: Job): Subscriber | undefined {
  const binding = job.request.binding;
  if (binding?.protocol !== 'oaproc') return undefined;
  const s = binding.subscriber;
  if (typeof s !== 'object' || s === null) return undefined;
  const subscriber: Subscriber = {};
  for (const key of URI_KEYS) {
    const value = (s as Record<string, unknown>)[key];
    if (typeof value === 'string') subscriber[key] = value;
  }
  return subscriber;
}

/** The documents callbacks carry; the OGC renderers of the binding (statusInfo, results, exception). */
export interface CallbackRender {
  /** statusInfo of a running job. */
  inProgress(job: Job): unknown;
  /** The results document of a successful job. */
  success(job: Job): Promise<unknown> | unknown;
  /** The exception of a failed or dismissed job. */
  failed(job: Job): unknown;
}

export interface CallbackOptions {
  /** Whom callbacks may reach: the outbound policy of reference inputs. */
  policy: OutboundPolicy;
  render: CallbackRender;
  /** `attempts` in all (the first included); the n-th retry waits about baseDelayMs·2ⁿ⁻¹ (with jitter), at most maxDelayMs. */
  retries: { attempts: number; baseDelayMs: number; maxDelayMs: number };
  /** How long one POST may take, answer included. */
  timeoutMs: number;
  logger: Logger;
  /** At most one in-progress callback per job within this many ms (default 1000). */
  progressIntervalMs?: number;
  /** Deliveries waiting or under way at once (default 1000); beyond that, new ones are dropped and logged. */
  maxPending?: number;
  /** POSTs under way at once (default 8). */
  concurrency?: number;
}

type Kind = 'inProgress' | 'success' | 'failed';

interface Delivery {
  jobId: string;
  kind: Kind;
  url: URL;
  /** Renders the document; called once, before the first attempt. */
  render: () => Promise<unknown> | unknown;
  document?: { value: unknown };
  attempts: number;
  timer?: NodeJS.Timeout;
  controller?: AbortController;
  cancelled?: boolean;
}

/** The last in-progress callback of a job, and the one held back until the throttle allows it. */
interface ProgressState {
  lastSent: number;
  held?: Job;
  timer?: NodeJS.Timeout;
}

/** How many finished jobs are remembered, so that a late progress update sends nothing after the final callback. */
const FINISHED_MEMORY = 1024;

/**
 * Delivers the callbacks of OGC API - Processes jobs (conformance class callback): statusInfo to
 * `inProgressUri` when a job starts running and as it progresses (throttled per job, never after the
 * final callback), the results document to `successUri`, the exception to `failedUri` when it fails
 * and also when it is dismissed (the specification is silent; a subscriber waiting for the end is
 * told that no results will come). POSTs obey the outbound policy of reference inputs; failed ones
 * (connection error, non-2xx, timeout) are retried with exponential backoff and jitter, and logged.
 * Nothing here blocks or throws into the job manager, and pending deliveries are bounded.
 * Returns the function that stops it: timers, retries and POSTs under way are cancelled.
 */
export function startCallbacks(jobs: JobManager, options: CallbackOptions): () => void {
  const log = options.logger.child({ component: 'callbacks' });
  const interval = options.progressIntervalMs ?? 1000;
  const maxPending = options.maxPending ?? 1000;
  const concurrency = options.concurrency ?? 8;
  const progress = new Map<string, ProgressState>();
  const finished = new Set<string>();
  const queue: Delivery[] = [];
  const inFlight = new Set<Delivery>();
  const waiting = new Set<Delivery>();
  let stopped = false;

  const where = (url: URL) => `${url.origin}${url.pathname}`; // no query: it may carry a token
  const pending = () => queue.length + inFlight.size + waiting.size;

  /** No more attempts of `d`; a POST under way is cut off only when `abort` (its document is sent by then anyway). */
  function cancel(d: Delivery, abort = false): void {
    d.cancelled = true;
    clearTimeout(d.timer);
    if (abort) d.controller?.abort(new Error('callbacks stopped'));
    waiting.delete(d);
    const i = queue.indexOf(d);
    if (i >= 0) queue.splice(i, 1);
  }

  /** Cancels the in-progress deliveries of a job that a newer document (or the final one) supersedes. */
  function supersede(jobId: string): void {
    for (const d of [...queue, ...waiting, ...inFlight]) {
      if (d.jobId === jobId && d.kind === 'inProgress') cancel(d);
    }
  }

  function enqueue(d: Delivery): void {
    if (pending() >= maxPending) {
      // A final callback may take the place of a waiting progress report; otherwise the new one goes.
      const victim = d.kind === 'inProgress' ? undefined : queue.find((q) => q.kind === 'inProgress');
      if (!victim) {
        log.warn(
          { job: d.jobId, kind: d.kind, url: where(d.url), pending: pending() },
          'callback dropped: too many callbacks pending',
        );
        return;
      }
      cancel(victim);
      log.warn({ job: victim.jobId, url: where(victim.url) }, 'progress callback dropped: too many pending');
    }
    queue.push(d);
    pump();
  }

  function pump(): void {
    while (!stopped && inFlight.size < concurrency && queue.length > 0) {
      const d = queue.shift()!;
      inFlight.add(d);
      void attempt(d).finally(() => {
        inFlight.delete(d);
        pump();
      });
    }
  }

  function backoff(attempt: number): number {
    const ceiling = Math.min(options.retries.maxDelayMs, options.retries.baseDelayMs * 2 ** (attempt - 1));
    return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
  }

  async function attempt(d: Delivery): Promise<void> {
    const context = { job: d.jobId, kind: d.kind, url: where(d.url) };
    if (!d.document) {
      try {
        d.document = { value: await d.render() };
      } catch (error) {
        log.error({ ...context, err: error }, 'callback not sent: its document could not be made');
        return;
      }
    }
    if (d.cancelled || stopped) return;
    d.attempts++;
    d.controller = new AbortController();
    let failure: string;
    try {
      const status = await postJson(d.url, d.document.value, options.policy, {
        timeoutMs: options.timeoutMs,
        signal: d.controller.signal,
      });
      if (status >= 200 && status < 300) {
        log.info({ ...context, status, attempts: d.attempts }, 'callback delivered');
        return;
      }
      failure = `HTTP ${status}`;
    } catch (error) {
      if (d.cancelled || stopped) return;
      if (error instanceof OutboundRefused) {
        log.warn({ ...context, why: error.why }, `callback refused by the outbound policy: ${error.message}`);
        return;
      }
      failure = (error as Error).message;
    }
    if (d.cancelled || stopped) return;
    if (d.attempts >= options.retries.attempts) {
      log.error({ ...context, attempts: d.attempts, failure }, 'callback given up');
      return;
    }
    const delayMs = backoff(d.attempts);
    log.warn(
      { ...context, attempts: d.attempts, failure, retryInMs: delayMs },
      'callback failed; will retry',
    );
    waiting.add(d);
    d.timer = setTimeout(() => {
      waiting.delete(d);
      if (d.cancelled || stopped) return;
      queue.push(d);
      pump();
    }, delayMs);
    d.timer.unref();
  }

  const deliver = (job: Job, kind: Kind, uri: string | undefined, render: () => unknown) => {
    if (!uri) return;
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      log.warn({ job: job.id, kind }, 'callback not sent: the subscriber URI is not a URL');
      return;
    }
    enqueue({ jobId: job.id, kind, url, render, attempts: 0 });
  };

  const sendProgress = (job: Job, uri: string | undefined, state: ProgressState) => {
    state.lastSent = Date.now();
    supersede(job.id);
    deliver(job, 'inProgress', uri, () => options.render.inProgress(job));
  };

  function onProgress(job: Job, subscriber: Subscriber): void {
    if (!subscriber.inProgressUri || finished.has(job.id)) return;
    let state = progress.get(job.id);
    if (!state) progress.set(job.id, (state = { lastSent: -Infinity }));
    const wait = state.lastSent + interval - Date.now();
    if (wait <= 0 && !state.timer) {
      sendProgress(job, subscriber.inProgressUri, state);
      return;
    }
    state.held = job; // the newest state is the one sent when the interval is over
    if (state.timer) return;
    const s = state;
    s.timer = setTimeout(() => {
      s.timer = undefined;
      const held = s.held;
      s.held = undefined;
      if (held && !stopped && !finished.has(held.id)) sendProgress(held, subscriber.inProgressUri, s);
    }, wait);
    s.timer.unref();
  }

  function onFinal(job: Job, kind: Kind, uri: string | undefined, render: () => unknown): void {
    if (finished.has(job.id)) return;
    finished.add(job.id);
    if (finished.size > FINISHED_MEMORY) finished.delete(finished.values().next().value!);
    const state = progress.get(job.id);
    if (state) clearTimeout(state.timer);
    progress.delete(job.id);
    supersede(job.id);
    deliver(job, kind, uri, render);
  }

  // Callbacks of a change go out from the instance that recorded it: exactly once in a cluster
  // (another instance only learns of it, for its waiting clients).
  const unsubscribe = jobs.onUpdate((job, origin) => {
    if (origin !== 'here') return;
    try {
      const subscriber = subscriberOf(job);
      if (!subscriber || stopped) return;
      switch (job.status) {
        case 'running':
          onProgress(job, subscriber);
          break;
        case 'successful':
          onFinal(job, 'success', subscriber.successUri, () => options.render.success(job));
          break;
        case 'failed':
        case 'dismissed':
          onFinal(job, 'failed', subscriber.failedUri, () => options.render.failed(job));
          break;
        case 'accepted':
          break;
      }
    } catch (error) {
      log.error({ err: error, job: job.id }, 'callback bookkeeping failed');
    }
  });

  return () => {
    stopped = true;
    unsubscribe();
    for (const state of progress.values()) clearTimeout(state.timer);
    progress.clear();
    for (const d of [...queue, ...waiting, ...inFlight]) cancel(d, true);
    queue.length = 0;
  };
}
