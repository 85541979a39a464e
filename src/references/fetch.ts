import { realpath, open } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { invalidParameter, OwsError } from '../core/errors.ts';
import { checkOutbound, OutboundRefused, outboundRequest, type OutboundPolicy } from './outbound.ts';

/** The outbound policy of reference inputs: whom they may reach (see OutboundPolicy), and how much. */
export interface ReferencePolicy extends OutboundPolicy {
  /** Folders under which `file://` references may point (real paths, compared on path boundaries). */
  allowedInputPaths: string[];
  maxBytes: number;
  timeoutMs: number;
  maxRedirects: number;
}

export interface ReferenceRequest {
  href: string;
  method: 'GET' | 'POST';
  headers?: Array<[string, string]>;
  body?: string;
}

/** Bytes that all references of one request may still bring in; shared by concurrent fetches. */
export interface FetchBudget {
  remaining: number;
  total: number;
}

export interface FetchedReference {
  data: Uint8Array;
  /** The media type the server declared, without parameters. */
  contentType?: string;
}

const tooBig = (locator: string, limit: number) =>
  new OwsError(
    'FileSizeExceeded',
    `Input '${locator}': the referenced data is larger than ${limit} bytes`,
    locator,
  );

const overBudget = (locator: string, budget: FetchBudget) =>
  new OwsError(
    'FileSizeExceeded',
    `Input '${locator}': the referenced data of this request exceeds ${budget.total} bytes in all`,
    locator,
  );

/** Takes `bytes` from the budget, or throws when it would go below zero. */
function spend(budget: FetchBudget | undefined, bytes: number, locator: string): void {
  if (!budget) return;
  budget.remaining -= bytes;
  if (budget.remaining < 0) throw overBudget(locator, budget);
}

/** True when `candidate` is `root` or lies inside it (not merely sharing a prefix: /data/pub ∌ /data/public). */
export function isInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

async function readFileReference(
  url: URL,
  policy: ReferencePolicy,
  locator: string,
  budget: FetchBudget | undefined,
): Promise<FetchedReference> {
  let real: string;
  try {
    real = await realpath(fileURLToPath(url));
  } catch {
    throw invalidParameter(locator, `Input '${locator}': the file ${url.href} cannot be read`);
  }
  const roots = await Promise.all(policy.allowedInputPaths.map((p) => realpath(p).catch(() => undefined)));
  if (!roots.some((root) => root !== undefined && isInside(root, real))) {
    throw invalidParameter(
      locator,
      `Input '${locator}': file references are only allowed under the configured input paths`,
    );
  }
  const handle = await open(real, 'r');
  try {
    const { size, isFile } = await handle.stat().then((s) => ({ size: s.size, isFile: s.isFile() }));
    if (!isFile) throw invalidParameter(locator, `Input '${locator}': ${url.href} is not a file`);
    if (size > policy.maxBytes) throw tooBig(locator, policy.maxBytes);
    spend(budget, size, locator);
    return { data: new Uint8Array(await handle.readFile()) };
  } finally {
    await handle.close();
  }
}

/** The input's error for a URL the outbound policy refuses. */
const refusedReference = (refused: OutboundRefused, locator: string) =>
  invalidParameter(
    locator,
    refused.why === 'scheme'
      ? `Input '${locator}': the scheme ${refused.target} is not allowed for references`
      : `Input '${locator}': the host ${refused.target} resolves to a private address, which references may not reach`,
  );

async function httpOnce(
  url: URL,
  request: ReferenceRequest,
  policy: ReferencePolicy,
  locator: string,
  signal: AbortSignal,
  budget: FetchBudget | undefined,
): Promise<{ status: number; location?: string; contentType?: string; data?: Uint8Array }> {
  const res = await outboundRequest(
    url,
    {
      method: request.method,
      headers: Object.fromEntries(request.headers ?? []),
      ...(request.method === 'POST' && request.body !== undefined ? { body: request.body } : {}),
      signal,
    },
    policy,
  );
  const status = res.statusCode ?? 0;
  if (status >= 300 && status < 400 && res.headers.location) {
    res.resume();
    return { status, location: res.headers.location };
  }
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > policy.maxBytes) {
    res.destroy();
    throw tooBig(locator, policy.maxBytes);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      try {
        if (size > policy.maxBytes) throw tooBig(locator, policy.maxBytes);
        spend(budget, chunk.length, locator);
        chunks.push(chunk);
      } catch (error) {
        res.destroy();
        reject(error);
      }
    });
    res.on('end', () =>
      resolve({
        status,
        ...(res.headers['content-type']
          ? { contentType: res.headers['content-type'].split(';')[0]!.trim() }
          : {}),
        data: new Uint8Array(Buffer.concat(chunks)),
      }),
    );
    res.on('error', reject);
  });
}

/**
 * Fetches the data of a reference input under the policy: http, https and file schemes only;
 * file paths inside the allowed input paths; no private addresses unless the host is allowed;
 * redirects re-checked; a size cap and an overall timeout. Failures are InvalidParameterValue
 * (FileSizeExceeded for the size cap) with the input as locator.
 */
export async function fetchReference(
  request: ReferenceRequest,
  policy: ReferencePolicy,
  locator: string,
  budget?: FetchBudget,
  cancel?: AbortSignal,
): Promise<FetchedReference> {
  let url: URL;
  try {
    url = new URL(request.href);
  } catch {
    throw invalidParameter(locator, `Input '${locator}': '${request.href}' is not an absolute URL`);
  }
  if (url.protocol === 'file:') return readFileReference(url, policy, locator, budget);
  const timeout = AbortSignal.timeout(policy.timeoutMs);
  const signal = cancel ? AbortSignal.any([timeout, cancel]) : timeout;
  let current = request;
  for (let hop = 0; ; hop++) {
    const refused = checkOutbound(url, policy);
    if (refused) throw refusedReference(refused, locator);
    let response;
    try {
      response = await httpOnce(url, current, policy, locator, signal, budget);
    } catch (error) {
      if (error instanceof OwsError) throw error;
      if (error instanceof OutboundRefused) throw refusedReference(error, locator);
      if (cancel?.aborted) throw OwsError.from(cancel.reason);
      if (timeout.aborted) {
        throw invalidParameter(
          locator,
          `Input '${locator}': fetching ${url.href} timed out after ${policy.timeoutMs / 1000} s`,
        );
      }
      throw invalidParameter(
        locator,
        `Input '${locator}': ${url.href} could not be fetched (${(error as Error).message})`,
      );
    }
    if (response.location !== undefined) {
      if (hop >= policy.maxRedirects)
        throw invalidParameter(locator, `Input '${locator}': too many redirects from ${request.href}`);
      url = new URL(response.location, url);
      current = { href: url.href, method: 'GET' };
      continue;
    }
    if (response.status < 200 || response.status >= 300) {
      throw invalidParameter(locator, `Input '${locator}': ${url.href} answered HTTP ${response.status}`);
    }
    return { data: response.data!, ...(response.contentType ? { contentType: response.contentType } : {}) };
  }
}
