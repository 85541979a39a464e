/**
 * An OGC API - Processes 1.0 client: list, describe, execute, status, results, dismiss. Every
 * request goes out under the outbound policy, with a timeout and the caller's abort signal; every
 * answer is read bounded and parsed with the hardened JSON parser. Failures are OwsErrors whose
 * message says what the remote did (or did not do).
 */
import { OWS_EXCEPTION_CODES, OwsError, type OwsExceptionCode } from '../../core/errors.ts';
import type { JobStatus } from '../../core/job.ts';
import { BodyTextError, jsonBodyText } from '../../http/body-text.ts';
import { BoundedJsonError, parseBoundedJson } from '../../util/bounded-json.ts';
import { codeReason, statusReason, where, type RemoteAnswer, type RemoteHttp } from '../http.ts';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

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

const STATUSES: ReadonlySet<string> = new Set(['accepted', 'running', 'successful', 'failed', 'dismissed']);

const isJsonType = (type: string | undefined) =>
  type !== undefined && (type === 'application/json' || /\+json$/.test(type));

/**
 * An OGC API - Processes 1.0 client over one provider's {@link RemoteHttp} (outbound policy,
 * headers, timeouts and bounded reads are its job). Answers are parsed with the bounded JSON parser;
 * every problem is an OwsError NoApplicableCode naming the provider and what the remote did.
 */
export class OgcApiClient {
  readonly #http: RemoteHttp;
  readonly #base: string;
  readonly #provider: string;
  readonly #maxPages: number;

  constructor(http: RemoteHttp, options: { providerId: string; url: string; maxPages?: number }) {
    this.#http = http;
    this.#base = options.url.replace(/\/+$/, '');
    this.#provider = options.providerId;
    this.#maxPages = options.maxPages ?? 50;
  }

  /** The URL of `path` under the API (`/processes/x`). */
  url(path: string): URL {
    return new URL(`${this.#base}${path}`);
  }

  #error(url: URL, what: string): OwsError {
    return new OwsError('NoApplicableCode', `Provider '${this.#provider}': ${where(url)} ${what}`);
  }

  /** The answer as JSON, or an error saying why it is not (with the remote's exception text). */
  #json(answer: RemoteAnswer, expect: number[] = [200]): unknown {
    const url = new URL(answer.url);
    if (!expect.includes(answer.status)) throw this.#failure(answer);
    if (!isJsonType(answer.contentType))
      throw this.#error(url, `answered ${answer.contentType ?? 'without a media type'}, not JSON`);
    return this.#parse(answer);
  }

  #parse(answer: RemoteAnswer): unknown {
    try {
      return parseBoundedJson(jsonBodyText(answer.body, undefined));
    } catch (error) {
      if (error instanceof BoundedJsonError || error instanceof BodyTextError)
        throw this.#error(new URL(answer.url), `answered with unusable JSON: ${error.message}`);
      throw error;
    }
  }

  /**
   * An HTTP error status, with the remote's exception (exception.yaml) title and detail; its code
   * when the exception type names an OWS exception code (this gateway's, WPS-born servers'), else
   * NoApplicableCode.
   */
  #failure(answer: RemoteAnswer): OwsError {
    let detail = '';
    let code: OwsExceptionCode = 'NoApplicableCode';
    if (isJsonType(answer.contentType)) {
      try {
        const doc = parseBoundedJson(Buffer.from(answer.body).toString('utf8'));
        if (isObject(doc)) {
          const parts = [doc.title, doc.detail].filter((p): p is string => typeof p === 'string' && p !== '');
          const type =
            typeof doc.type === 'string' && doc.type !== 'about:blank'
              ? doc.type.replace(/^.*[/#]/, '')
              : undefined;
          const named = typeof doc.code === 'string' ? doc.code : type;
          if (named && (OWS_EXCEPTION_CODES as readonly string[]).includes(named))
            code = named as OwsExceptionCode;
          detail = [type, [...new Set(parts)].join(': ')].filter(Boolean).join(' — ');
        }
      } catch {
        // Not JSON after all: only the status is told.
      }
    }
    return new OwsError(
      code,
      `Provider '${this.#provider}': ${where(new URL(answer.url))} answered HTTP ${answer.status}${detail ? `: ${detail}` : ''}`,
      undefined,
      code === 'NoApplicableCode' ? statusReason(answer.status) : codeReason(code, answer.status),
    );
  }

  /**
   * An id as one path segment. `.` and `..` would be resolved as dot segments (the URL of another
   * resource of the remote, its landing page), whatever the escaping: refused.
   */
  #segment(id: string, what: string): string {
    if (id === '.' || id === '..' || id === '')
      throw new OwsError(
        'NoApplicableCode',
        `Provider '${this.#provider}': the ${what} '${id}' is not usable in a URL`,
      );
    return encodeURIComponent(id);
  }

  #get(url: URL, signal?: AbortSignal): Promise<RemoteAnswer> {
    return this.#http.request(url, { accept: 'application/json', ...(signal ? { signal } : {}) });
  }

  /** Every process summary, following `next` links (at most `maxPages` pages, no page twice). */
  async listProcesses(signal?: AbortSignal): Promise<Json[]> {
    const summaries: Json[] = [];
    let url: URL | undefined = this.url('/processes');
    const seen = new Set<string>();
    for (let page = 0; url && page < this.#maxPages; page++) {
      seen.add(url.href);
      const doc = this.#json(await this.#get(url, signal));
      if (!isObject(doc) || !Array.isArray(doc.processes))
        throw this.#error(url, 'answered a process list without a "processes" array');
      for (const p of doc.processes) if (isObject(p) && typeof p.id === 'string') summaries.push(p);
      const next: unknown = Array.isArray(doc.links)
        ? doc.links.find((l) => isObject(l) && l.rel === 'next' && typeof l.href === 'string')
        : undefined;
      const href: string | undefined =
        isObject(next) && URL.canParse(next.href as string, url.href)
          ? new URL(next.href as string, url).href
          : undefined;
      url = href && !seen.has(href) ? new URL(href) : undefined;
    }
    return summaries;
  }

  async describe(id: string, signal?: AbortSignal): Promise<unknown> {
    return this.#json(await this.#get(this.url(`/processes/${this.#segment(id, 'process id')}`), signal));
  }

  /** Sends an execute request; asks for an asynchronous job when `async`. */
  async execute(id: string, body: unknown, async: boolean, signal?: AbortSignal): Promise<ExecuteOutcome> {
    const url = this.url(`/processes/${this.#segment(id, 'process id')}/execution`);
    const answer = await this.#http.request(url, {
      method: 'POST',
      body: JSON.stringify(body),
      contentType: 'application/json',
      accept: 'application/json',
      ...(async ? { headers: { Prefer: 'respond-async' } } : {}),
      ...(signal ? { signal } : {}),
    });
    if (answer.status === 201) {
      const doc = answer.body.length > 0 && isJsonType(answer.contentType) ? this.#parse(answer) : undefined;
      const status = isObject(doc) && 'jobID' in doc ? readStatus(doc, url, this.#provider) : undefined;
      const fromLocation = answer.location
        ? /\/jobs\/([^/?#]+)\/?(?:[?#].*)?$/.exec(answer.location)?.[1]
        : undefined;
      const jobId = status?.jobId ?? (fromLocation ? decodeURIComponent(fromLocation) : undefined);
      if (!jobId) throw this.#error(url, 'created a job but named no job id');
      this.#segment(jobId, 'job id');
      return { kind: 'job', jobId, ...(status ? { status } : {}) };
    }
    if (answer.status !== 200) throw this.#failure(answer);
    if (isJsonType(answer.contentType)) return { kind: 'document', document: this.#parse(answer) };
    return { kind: 'raw', bytes: answer.body, contentType: answer.contentType ?? 'application/octet-stream' };
  }

  async status(jobId: string, signal?: AbortSignal): Promise<RemoteStatus> {
    const url = this.url(`/jobs/${this.#segment(jobId, 'job id')}`);
    return readStatus(this.#json(await this.#get(url, signal)), url, this.#provider);
  }

  /** The results document of a successful job. */
  async results(jobId: string, signal?: AbortSignal): Promise<unknown> {
    return this.#json(await this.#get(this.url(`/jobs/${this.#segment(jobId, 'job id')}/results`), signal));
  }

  /** Dismisses a remote job; one the remote no longer has counts as dismissed. */
  async dismiss(jobId: string, signal?: AbortSignal): Promise<void> {
    const url = this.url(`/jobs/${this.#segment(jobId, 'job id')}`);
    const answer = await this.#http.request(url, {
      method: 'DELETE',
      accept: 'application/json',
      ...(signal ? { signal } : {}),
    });
    if (![200, 202, 204, 404, 410].includes(answer.status)) throw this.#failure(answer);
  }
}

/** statusInfo.yaml → RemoteStatus; a document that is not one is an error naming the provider. */
export function readStatus(doc: unknown, url: URL, provider: string): RemoteStatus {
  const fail = (what: string) =>
    new OwsError('NoApplicableCode', `Provider '${provider}': ${where(url)} ${what}`);
  if (!isObject(doc) || typeof doc.jobID !== 'string' || typeof doc.status !== 'string')
    throw fail('answered a job status that is not a statusInfo document');
  if (!STATUSES.has(doc.status)) throw fail(`answered the job status '${doc.status}', not an OGC API status`);
  const progress =
    typeof doc.progress === 'number' && doc.progress >= 0 && doc.progress <= 100 ? doc.progress : undefined;
  return {
    jobId: doc.jobID,
    status: doc.status as JobStatus,
    ...(progress !== undefined ? { progress } : {}),
    ...(typeof doc.message === 'string' ? { message: doc.message } : {}),
  };
}
