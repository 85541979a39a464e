/**
 * An OGC API - Processes 1.0 client: list, describe, execute, status, results, dismiss. Every
 * request goes out under the outbound policy, with a timeout and the caller's abort signal; every
 * answer is read bounded and parsed with the hardened JSON parser. Failures are OwsErrors whose
 * message says what the remote did (or did not do).
 */
import type { IncomingMessage } from 'node:http';
import { OwsError } from '../../core/errors.ts';
import type { JobStatus } from '../../core/job.ts';
import { BodyTextError, jsonBodyText, readBodyBytes } from '../../http/body-text.ts';
import { OutboundRefused, outboundRequest, type OutboundPolicy } from '../../references/outbound.ts';
import { BoundedJsonError, parseBoundedJson } from '../../util/bounded-json.ts';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface OgcApiClientOptions {
  /** The API's landing page URL (…/ogcapi or the server root); `/processes` and `/jobs` hang off it. */
  url: string;
  policy: OutboundPolicy;
  /** Per request: connecting, sending and reading the whole answer. */
  timeoutMs: number;
  /** The largest answer read (documents and fetched references). */
  maxBytes: number;
  headers?: Record<string, string>;
  /** Pages of `/processes` followed at most (rel=next). */
  maxPages?: number;
}

/** statusInfo.yaml, as far as the gateway uses it. */
export interface RemoteStatus {
  jobId: string;
  status: JobStatus;
  progress?: number;
  message?: string;
}

export type ExecuteOutcome =
  | { kind: 'job'; jobId: string; status?: RemoteStatus }
  | { kind: 'document'; document: unknown }
  | { kind: 'raw'; bytes: Uint8Array; contentType: string };

interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  bytes: Buffer;
}

const STATUSES: ReadonlySet<string> = new Set(['accepted', 'running', 'successful', 'failed', 'dismissed']);

export class RemoteError extends OwsError {
  constructor(message: string) {
    super('NoApplicableCode', message);
  }
}

const mediaType = (headers: IncomingMessage['headers']) =>
  String(headers['content-type'] ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();

const isJsonType = (type: string) => type === 'application/json' || /\+json$/.test(type);

export class OgcApiClient {
  readonly #options: OgcApiClientOptions;
  readonly #base: string;

  constructor(options: OgcApiClientOptions) {
    this.#options = options;
    this.#base = options.url.replace(/\/+$/, '');
  }

  /** The URL of `path` under the API (`/processes/x`), or `href` resolved against it. */
  url(path: string): URL {
    return /^https?:\/\//i.test(path) ? new URL(path) : new URL(`${this.#base}${path}`);
  }

  async #send(
    method: 'GET' | 'POST' | 'DELETE',
    url: URL,
    signal: AbortSignal | undefined,
    body?: { json: unknown; headers?: Record<string, string> },
  ): Promise<Answer> {
    const { timeoutMs, maxBytes, policy } = this.#options;
    const timeout = AbortSignal.timeout(timeoutMs);
    const combined = signal ? AbortSignal.any([timeout, signal]) : timeout;
    const text = body ? JSON.stringify(body.json) : undefined;
    try {
      const res = await outboundRequest(
        url,
        {
          method,
          headers: {
            Accept: 'application/json',
            ...this.#options.headers,
            ...(text !== undefined
              ? { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(text)) }
              : {}),
            ...body?.headers,
          },
          ...(text !== undefined ? { body: text } : {}),
          signal: combined,
        },
        policy,
      );
      const bytes = await readBodyBytes(
        res,
        {
          ...(res.headers['content-length'] ? { contentLength: res.headers['content-length'] } : {}),
          ...(res.headers['content-encoding'] ? { contentEncoding: res.headers['content-encoding'] } : {}),
        },
        maxBytes,
      );
      return { status: res.statusCode ?? 0, headers: res.headers, bytes };
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      const where = `${method} ${url.href}`;
      if (error instanceof OutboundRefused)
        throw new RemoteError(`The remote server may not be reached (${where}): ${error.message}`);
      if (timeout.aborted)
        throw new RemoteError(`The remote server did not answer within ${timeoutMs} ms (${where})`);
      if (error instanceof BodyTextError)
        throw new RemoteError(
          error.kind === 'too-large'
            ? `The remote server's answer is larger than ${maxBytes} bytes (${where})`
            : `The remote server's answer could not be read (${where}): ${error.message}`,
        );
      const code = (error as NodeJS.ErrnoException).code;
      throw new RemoteError(
        `The remote server could not be reached (${where}): ${code ?? (error as Error).message}`,
      );
    }
  }

  /** The answer as JSON, or a RemoteError saying why it is not (with the remote's exception text). */
  #json(answer: Answer, url: URL, expect: number[] = [200]): unknown {
    if (!expect.includes(answer.status)) throw this.#failure(answer, url);
    const type = mediaType(answer.headers);
    if (!isJsonType(type))
      throw new RemoteError(
        `The remote server answered ${url.href} with ${type || 'no media type'}, not JSON`,
      );
    return this.#parse(answer, url);
  }

  #parse(answer: Answer, url: URL): unknown {
    try {
      const charset = /charset=([^;]+)/i.exec(String(answer.headers['content-type'] ?? ''))?.[1];
      return parseBoundedJson(jsonBodyText(answer.bytes, charset));
    } catch (error) {
      if (error instanceof BoundedJsonError || error instanceof BodyTextError)
        throw new RemoteError(
          `The remote server's answer to ${url.href} is not usable JSON: ${error.message}`,
        );
      throw error;
    }
  }

  /** An HTTP error as a RemoteError carrying the remote's exception (exception.yaml) text. */
  #failure(answer: Answer, url: URL): RemoteError {
    let detail = '';
    if (isJsonType(mediaType(answer.headers))) {
      try {
        const doc = parseBoundedJson(answer.bytes.toString('utf8'));
        if (isObject(doc)) {
          const parts = [doc.title, doc.detail].filter((p): p is string => typeof p === 'string' && p !== '');
          const type = typeof doc.type === 'string' ? doc.type.replace(/^.*\//, '') : undefined;
          detail = [type, parts.join(': ')].filter(Boolean).join(' — ');
        }
      } catch {
        // Not JSON after all: only the status is told.
      }
    }
    return new RemoteError(
      `The remote server answered ${url.pathname} with HTTP ${answer.status}${detail ? `: ${detail}` : ''}`,
    );
  }

  /** Every process summary, following `next` links (at most `maxPages` pages). */
  async listProcesses(signal?: AbortSignal): Promise<Json[]> {
    const summaries: Json[] = [];
    let url: URL | undefined = this.url('/processes');
    const seen = new Set<string>();
    for (let page = 0; url && page < (this.#options.maxPages ?? 50); page++) {
      seen.add(url.href);
      const doc = this.#json(await this.#send('GET', url, signal), url);
      if (!isObject(doc) || !Array.isArray(doc.processes))
        throw new RemoteError(`The remote server's process list (${url.href}) has no "processes" array`);
      for (const p of doc.processes) if (isObject(p) && typeof p.id === 'string') summaries.push(p);
      const next: unknown = Array.isArray(doc.links)
        ? doc.links.find((l) => isObject(l) && l.rel === 'next' && typeof l.href === 'string')
        : undefined;
      const href: string | undefined = isObject(next) ? new URL(next.href as string, url).href : undefined;
      url = href && !seen.has(href) ? new URL(href) : undefined;
    }
    return summaries;
  }

  async describe(id: string, signal?: AbortSignal): Promise<unknown> {
    const url = this.url(`/processes/${encodeURIComponent(id)}`);
    return this.#json(await this.#send('GET', url, signal), url);
  }

  /** Sends an execute request; asks for an asynchronous job when `async`. */
  async execute(id: string, body: unknown, async: boolean, signal?: AbortSignal): Promise<ExecuteOutcome> {
    const url = this.url(`/processes/${encodeURIComponent(id)}/execution`);
    const answer = await this.#send('POST', url, signal, {
      json: body,
      ...(async ? { headers: { Prefer: 'respond-async' } } : {}),
    });
    if (answer.status === 201) {
      const doc = answer.bytes.length > 0 ? this.#parse(answer, url) : undefined;
      const status = isObject(doc) ? readStatus(doc, url) : undefined;
      const location = answer.headers.location;
      const fromLocation = location ? /\/jobs\/([^/?#]+)\/?(?:[?#].*)?$/.exec(location)?.[1] : undefined;
      const jobId = status?.jobId ?? (fromLocation ? decodeURIComponent(fromLocation) : undefined);
      if (!jobId) throw new RemoteError(`The remote server created a job at ${url.href} but named no job id`);
      return { kind: 'job', jobId, ...(status ? { status } : {}) };
    }
    if (answer.status !== 200) throw this.#failure(answer, url);
    const type = mediaType(answer.headers);
    if (isJsonType(type)) return { kind: 'document', document: this.#parse(answer, url) };
    return { kind: 'raw', bytes: new Uint8Array(answer.bytes), contentType: type };
  }

  async status(jobId: string, signal?: AbortSignal): Promise<RemoteStatus> {
    const url = this.url(`/jobs/${encodeURIComponent(jobId)}`);
    return readStatus(this.#json(await this.#send('GET', url, signal), url), url);
  }

  /** The results document of a successful job. */
  async results(jobId: string, signal?: AbortSignal): Promise<unknown> {
    const url = this.url(`/jobs/${encodeURIComponent(jobId)}/results`);
    return this.#json(await this.#send('GET', url, signal), url);
  }

  /** Dismisses a remote job; a job the remote no longer has counts as dismissed. */
  async dismiss(jobId: string, signal?: AbortSignal): Promise<void> {
    const url = this.url(`/jobs/${encodeURIComponent(jobId)}`);
    const answer = await this.#send('DELETE', url, signal);
    if (answer.status !== 200 && answer.status !== 204 && answer.status !== 404 && answer.status !== 410)
      throw this.#failure(answer, url);
  }

  /** The data behind a result link (bounded), with its media type. */
  async fetch(href: string, signal?: AbortSignal): Promise<{ bytes: Uint8Array; contentType?: string }> {
    const url = this.url(href);
    const answer = await this.#send('GET', url, signal);
    if (answer.status !== 200) throw this.#failure(answer, url);
    const type = mediaType(answer.headers);
    return { bytes: new Uint8Array(answer.bytes), ...(type ? { contentType: type } : {}) };
  }
}

/** statusInfo.yaml → RemoteStatus; a document that is not one is a RemoteError. */
export function readStatus(doc: unknown, url: URL): RemoteStatus {
  if (!isObject(doc) || typeof doc.jobID !== 'string' || typeof doc.status !== 'string')
    throw new RemoteError(`The remote server's job status (${url.href}) is not a statusInfo document`);
  if (!STATUSES.has(doc.status))
    throw new RemoteError(
      `The remote server's job status '${doc.status}' (${url.href}) is not an OGC API status`,
    );
  const progress =
    typeof doc.progress === 'number' && doc.progress >= 0 && doc.progress <= 100 ? doc.progress : undefined;
  return {
    jobId: doc.jobID,
    status: doc.status as JobStatus,
    ...(progress !== undefined ? { progress } : {}),
    ...(typeof doc.message === 'string' ? { message: doc.message } : {}),
  };
}
