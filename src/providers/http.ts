import { createWriteStream } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { OwsError, type ErrorReason, type OwsExceptionCode } from '../core/errors.ts';
import { OutboundRefused, outboundRequest, type OutboundPolicy } from '../references/outbound.ts';

/** An answer of a remote, read in full (at most the byte limit). Any HTTP status: the caller judges it. */
export interface RemoteAnswer {
  status: number;
  /** The media type, without parameters, lower case. */
  contentType?: string;
  body: Uint8Array;
  /** The URL that answered (after redirects). */
  url: string;
  /** The Location header (OGC API: where a created job is), resolved against `url`. */
  location?: string;
}

export interface RemoteRequest {
  method?: 'GET' | 'POST' | 'DELETE';
  /** More headers for this request (e.g. OGC API `Prefer: respond-async`). */
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  contentType?: string;
  accept?: string;
  /** The job's (or the discovery's) signal; its reason is rethrown as is when it aborts. */
  signal?: AbortSignal;
  /** Overrides the provider's timeout for this request. */
  timeoutMs?: number;
  /** Overrides the byte limit of this answer. */
  maxBytes?: number;
}

export interface RemoteHttpOptions {
  providerId: string;
  /** Whom the provider may reach (the server's allowed hosts plus the provider's own). */
  policy: OutboundPolicy;
  headers: Record<string, string>;
  /** Per request, the whole answer read included. */
  timeoutMs: number;
  /** The largest answer read (documents; result downloads pass their own). */
  maxBytes: number;
  maxRedirects?: number;
}

/**
 * Whether a remote failure is worth another attempt of the job (src/jobs/retry.ts), by the HTTP
 * status the remote answered: a server error, 429 and 408 may pass ('transient'); any other client
 * error will not ('permanent').
 */
export function statusReason(status: number): ErrorReason | undefined {
  if (status >= 500 || status === 429 || status === 408) return 'transient';
  if (status >= 400) return 'permanent';
  return undefined;
}

/**
 * The same, by the exception code a remote gave: its own failure (NoApplicableCode) is judged like
 * a local processor's (by `status` when given, else left to the default), busy is transient, and
 * every other code says the request is wrong (InvalidParameterValue, MissingParameterValue, …) and
 * stays wrong: permanent.
 */
export function codeReason(code: OwsExceptionCode, status?: number): ErrorReason | undefined {
  if (code === 'ServerBusy') return 'transient';
  if (code !== 'NoApplicableCode') return 'permanent';
  return status !== undefined && status >= 500 ? 'transient' : undefined;
}

/** Where a request went, for messages and logs: no query or fragment (they may carry a token). */
export const where = (url: URL): string => `${url.origin}${url.pathname}`;

/**
 * The HTTP client of one provider: every request to the remote goes through it. The outbound
 * address policy is checked on the address connected to (and again on each redirect; GET only),
 * the provider's headers are sent to its own origin only, each request has a time limit for the
 * whole answer, and answers are read up to a byte limit. Failures are OwsError NoApplicableCode
 * naming the provider and the URL (without its query); an aborted `signal` rethrows its reason.
 */
export class RemoteHttp {
  readonly #o: RemoteHttpOptions;
  readonly #origin: string | undefined;

  constructor(options: RemoteHttpOptions, baseUrl?: string) {
    this.#o = options;
    this.#origin = baseUrl ? new URL(baseUrl).origin : undefined;
  }

  get timeoutMs(): number {
    return this.#o.timeoutMs;
  }

  #fail(url: URL, what: string, reason?: ErrorReason): OwsError {
    return new OwsError(
      'NoApplicableCode',
      `Provider '${this.#o.providerId}': ${where(url)} ${what}`,
      undefined,
      reason,
    );
  }

  /** Sends a request and reads its answer whole; follows redirects of GET requests. */
  async request(target: string | URL, request: RemoteRequest = {}): Promise<RemoteAnswer> {
    const timeoutMs = request.timeoutMs ?? this.#o.timeoutMs;
    return this.#withResponse(target, request, timeoutMs, async (res, url) => {
      const maxBytes = request.maxBytes ?? this.#o.maxBytes;
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > maxBytes) {
        res.destroy();
        throw this.#fail(url, `answered more than ${maxBytes} bytes`, 'permanent');
      }
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > maxBytes) {
          res.destroy();
          throw this.#fail(url, `answered more than ${maxBytes} bytes`, 'permanent');
        }
        chunks.push(chunk);
      }
      if (!res.complete) throw new Error('the connection closed before the answer ended');
      const type = res.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
      return {
        status: res.statusCode ?? 0,
        ...(type ? { contentType: type } : {}),
        body: new Uint8Array(Buffer.concat(chunks)),
        url: url.href,
        ...(res.headers.location && URL.canParse(res.headers.location, url.href)
          ? { location: new URL(res.headers.location, url).href }
          : {}),
      };
    });
  }

  /**
   * Streams a successful GET answer into `file` (at most `maxBytes`); resolves with its size and
   * media type. An error status is a failure.
   */
  async download(
    target: string | URL,
    file: string,
    options: { maxBytes: number; signal?: AbortSignal; timeoutMs?: number },
  ): Promise<{ size: number; contentType?: string }> {
    const timeoutMs = options.timeoutMs ?? this.#o.timeoutMs;
    return this.#withResponse(
      target,
      options.signal ? { signal: options.signal } : {},
      timeoutMs,
      async (res, url) => {
        const status = res.statusCode ?? 0;
        if (status < 200 || status >= 300) {
          res.destroy();
          throw this.#fail(url, `answered HTTP ${status}`, statusReason(status));
        }
        let size = 0;
        const limit = new Transform({
          transform: (chunk: Buffer, _enc, done) => {
            size += chunk.length;
            if (size > options.maxBytes)
              done(this.#fail(url, `answered more than ${options.maxBytes} bytes`, 'permanent'));
            else done(null, chunk);
          },
        });
        await pipeline(res, limit, createWriteStream(file));
        if (!res.complete) throw new Error('the connection closed before the answer ended');
        const type = res.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
        return { size, ...(type ? { contentType: type } : {}) };
      },
    );
  }

  async #withResponse<T>(
    target: string | URL,
    request: RemoteRequest,
    timeoutMs: number,
    read: (res: IncomingMessage, url: URL) => Promise<T>,
  ): Promise<T> {
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      throw new OwsError(
        'NoApplicableCode',
        `Provider '${this.#o.providerId}': '${String(target)}' is not an absolute URL`,
        undefined,
        'permanent',
      );
    }
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = request.signal ? AbortSignal.any([timeout, request.signal]) : timeout;
    const method = request.method ?? 'GET';
    for (let hop = 0; ; hop++) {
      const headers: Record<string, string> = url.origin === this.#origin ? { ...this.#o.headers } : {};
      Object.assign(headers, request.headers);
      if (request.accept) headers.Accept = request.accept;
      if (method === 'POST' && request.body !== undefined) {
        headers['Content-Type'] = request.contentType ?? 'application/octet-stream';
        headers['Content-Length'] = String(
          typeof request.body === 'string' ? Buffer.byteLength(request.body) : request.body.byteLength,
        );
      }
      try {
        const res = await outboundRequest(
          url,
          {
            method,
            headers,
            ...(method === 'POST' && request.body !== undefined ? { body: request.body } : {}),
            signal,
          },
          this.#o.policy,
        );
        const status = res.statusCode ?? 0;
        const location = res.headers.location;
        if (method === 'GET' && status >= 300 && status < 400 && location) {
          res.destroy();
          if (hop >= (this.#o.maxRedirects ?? 5))
            throw this.#fail(url, 'redirects too many times', 'permanent');
          url = new URL(location, url);
          continue;
        }
        return await read(res, url);
      } catch (error) {
        if (request.signal?.aborted) throw OwsError.from(request.signal.reason);
        if (error instanceof OwsError) throw error;
        // The outbound policy stays as it is; a slow or unreachable remote may come back.
        if (error instanceof OutboundRefused)
          throw this.#fail(url, `is refused: ${error.message}`, 'permanent');
        if (timeout.aborted)
          throw this.#fail(url, `gave no complete answer within ${timeoutMs / 1000} s`, 'transient');
        throw this.#fail(url, `could not be reached (${(error as Error).message})`, 'transient');
      }
    }
  }
}
