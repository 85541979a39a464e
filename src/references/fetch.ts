import { constants as fsConstants, type Stats } from 'node:fs';
import { open, realpath, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { invalidParameter, OwsError } from '../core/errors.ts';
import type { Logger } from '../util/logger.ts';
import { checkOutbound, OutboundRefused, outboundRequest, type OutboundPolicy } from './outbound.ts';

/** The outbound policy of reference inputs: whom they may reach (see OutboundPolicy), and how much. */
export interface ReferencePolicy extends OutboundPolicy {
  /** Folders under which `file://` references may point (real paths, compared on path boundaries). */
  allowedInputPaths: string[];
  maxBytes: number;
  timeoutMs: number;
  maxRedirects: number;
  /** Where the cause of a failed fetch goes; the client only gets a message that does not tell it. */
  logger?: Logger;
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

/** Opens without blocking on a FIFO and without following a symbolic link in the last component. */
const OPEN_FLAGS = fsConstants.O_RDONLY | fsConstants.O_NONBLOCK | fsConstants.O_NOFOLLOW;

/** The allowed input folders as configured (resolved) and as real paths; missing ones are left out of the latter. */
async function inputRoots(policy: ReferencePolicy): Promise<{ lexical: string[]; real: string[] }> {
  const lexical = policy.allowedInputPaths.map((p) => path.resolve(p));
  const real = (await Promise.all(lexical.map((p) => realpath(p).catch(() => undefined)))).filter(
    (p): p is string => p !== undefined,
  );
  return { lexical: [...lexical, ...real], real };
}

/**
 * What can be told of a reference without reaching anything, for refusing it when the request is
 * validated rather than when its job runs: an absolute URL, a scheme references may use, a host
 * that is not a refused address literal, and for `file:` a path inside an allowed input folder (as
 * written; its real path and type are checked when it is read). Throws InvalidParameterValue.
 */
export function precheckReference(href: string, policy: ReferencePolicy, locator: string): void {
  let url: URL;
  try {
    url = new URL(href);
  } catch {
    throw invalidParameter(locator, `Input '${locator}': '${href}' is not an absolute URL`);
  }
  if (url.protocol === 'file:') {
    let lexical: string | undefined;
    try {
      lexical = path.resolve(fileURLToPath(url));
    } catch {
      lexical = undefined;
    }
    const roots = policy.allowedInputPaths.map((p) => path.resolve(p));
    if (lexical === undefined || !roots.some((root) => isInside(root, lexical))) {
      throw invalidParameter(
        locator,
        `Input '${locator}': ${url.href} is refused: file references are only allowed under the configured input paths, and only to readable regular files`,
      );
    }
    return;
  }
  const refused = checkOutbound(url, policy);
  if (refused) throw refusedReference(refused, locator);
}

/**
 * Reads a `file://` reference: a regular file whose real path lies inside an allowed input folder.
 * A path outside every folder is refused without touching the file system (nothing tells whether
 * it exists); FIFOs, devices, sockets and folders are refused on their type before they are opened,
 * and the opened file is checked again (same file, still regular) so that swapping the path for a
 * FIFO or a device in between blocks nothing and reads nothing. Every refusal has the same message.
 */
async function readFileReference(
  url: URL,
  policy: ReferencePolicy,
  locator: string,
  budget: FetchBudget | undefined,
): Promise<FetchedReference> {
  const refused = () =>
    invalidParameter(
      locator,
      `Input '${locator}': ${url.href} is refused: file references are only allowed under the configured input paths, and only to readable regular files`,
    );
  let lexical: string;
  try {
    lexical = path.resolve(fileURLToPath(url));
  } catch {
    throw refused(); // a host other than localhost, an encoded slash
  }
  const roots = await inputRoots(policy);
  if (!roots.lexical.some((root) => isInside(root, lexical))) throw refused();
  let real: string;
  let before: Stats;
  try {
    real = await realpath(lexical);
    before = await stat(real);
  } catch {
    throw refused();
  }
  if (!roots.real.some((root) => isInside(root, real)) || !before.isFile()) throw refused();
  let handle: FileHandle;
  try {
    handle = await open(real, OPEN_FLAGS);
  } catch {
    throw refused();
  }
  try {
    const opened = await handle.stat();
    if (!opened.isFile() || opened.ino !== before.ino || opened.dev !== before.dev) throw refused();
    if (opened.size > policy.maxBytes) throw tooBig(locator, policy.maxBytes);
    spend(budget, opened.size, locator);
    // At most the size just checked, even if the file grows meanwhile.
    const data = new Uint8Array(opened.size);
    let filled = 0;
    while (filled < data.length) {
      const { bytesRead } = await handle.read(data, filled, data.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return { data: data.subarray(0, filled) };
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
      : `Input '${locator}': ${refused.message}`,
  );

/** The one message of every failure below HTTP: which one it was (refused, reset, timed out…) is for the log only. */
/** Tagged transient: a later attempt of the job may get through (src/jobs/retry.ts). */
const unreachable = (locator: string, url: URL, policy: ReferencePolicy) =>
  new OwsError(
    'InvalidParameterValue',
    `Input '${locator}': ${url.href} could not be fetched: no complete HTTP response within the ${policy.timeoutMs / 1000} s limit`,
    locator,
    'transient',
  );

/** Where a fetch went, for the log: no query or fragment (they may carry a token). */
const where = (url: URL) => (url.protocol === 'file:' ? url.href : `${url.origin}${url.pathname}`);

type HopResult =
  { status: number; location?: string } | { status: number; data: Uint8Array; contentType?: string };

async function httpOnce(
  url: URL,
  request: ReferenceRequest,
  policy: ReferencePolicy,
  locator: string,
  signal: AbortSignal,
  budget: FetchBudget | undefined,
): Promise<HopResult> {
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
  if (status < 200 || status >= 300) {
    // A redirect or an error status: its body is not wanted.
    res.destroy();
    return {
      status,
      ...(status >= 300 && status < 400 && res.headers.location ? { location: res.headers.location } : {}),
    };
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
        // Checked as the bytes arrive: a body without Content-Length, or longer than it said, is cut here.
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
    res.on('close', () => {
      if (!res.complete) reject(new Error('the connection closed before the response ended'));
    });
  });
}

/**
 * Fetches the data of a reference input under the policy: http, https and file schemes only;
 * file paths inside the allowed input paths; no private addresses unless the host is allowed,
 * checked on the address connected to and again on every redirect; a size cap while streaming
 * and an overall timeout. Failures are InvalidParameterValue (FileSizeExceeded for the size caps)
 * with the input as locator. An HTTP error status is reported; a failure below HTTP (refused,
 * reset, timed out, DNS, TLS, not HTTP) gets one message whatever it was, so that references
 * cannot scan the ports of an allowed host, and its cause goes to the policy's logger.
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
    let response: HopResult;
    try {
      response = await httpOnce(url, current, policy, locator, signal, budget);
    } catch (error) {
      if (error instanceof OwsError) throw error;
      if (error instanceof OutboundRefused) throw refusedReference(error, locator);
      if (cancel?.aborted) throw OwsError.from(cancel.reason);
      policy.logger?.warn(
        { input: locator, url: where(url), timedOut: timeout.aborted, err: error },
        'reference could not be fetched',
      );
      throw unreachable(locator, url, policy);
    }
    if ('location' in response && response.location !== undefined) {
      if (hop >= policy.maxRedirects)
        throw invalidParameter(locator, `Input '${locator}': too many redirects from ${request.href}`);
      try {
        url = new URL(response.location, url);
      } catch {
        throw invalidParameter(locator, `Input '${locator}': ${url.href} redirects to an invalid URL`);
      }
      // The redirected request carries neither the body nor the headers the client gave.
      current = { href: url.href, method: 'GET' };
      continue;
    }
    if (!('data' in response)) {
      // A server error may pass (transient, worth another attempt); a client error will not.
      throw new OwsError(
        'InvalidParameterValue',
        `Input '${locator}': ${url.href} answered HTTP ${response.status}`,
        locator,
        response.status >= 500 ? 'transient' : undefined,
      );
    }
    return { data: response.data, ...(response.contentType ? { contentType: response.contentType } : {}) };
  }
}
