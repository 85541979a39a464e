import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { isPrivateAddress } from './address-policy.ts';

/** Whom the server may connect to on a client's behalf (reference inputs, callbacks). */
export interface OutboundPolicy {
  /** Hosts that may resolve to private or loopback addresses; `*` allows every host. Public hosts are always allowed. */
  allowedPrivateHosts: string[];
}

/** Why a connection the server would make for a client is not allowed. */
export class OutboundRefused extends Error {
  readonly url: string;
  readonly why: 'scheme' | 'private-address';
  /** The host (scheme refusals: the scheme) that was refused. */
  readonly target: string;

  constructor(url: string, why: OutboundRefused['why'], target: string) {
    super(
      why === 'scheme'
        ? `the scheme ${target} is not allowed`
        : isIP(target)
          ? `the address ${target} is a private address, which the server may not reach`
          : `the host ${target} resolves to a private address, which the server may not reach`,
    );
    this.name = 'OutboundRefused';
    this.url = url;
    this.why = why;
    this.target = target;
  }
}

const hostOf = (url: URL) => url.hostname.replace(/^\[|\]$/g, '');

export const isTrustedHost = (host: string, policy: OutboundPolicy): boolean =>
  policy.allowedPrivateHosts.includes('*') || policy.allowedPrivateHosts.includes(host.toLowerCase());

/**
 * "May I connect to this URL?" as far as it can be told before connecting: http or https, and an
 * address literal that is public or explicitly allowed. A host name is checked on the address it
 * resolves to, when connecting ({@link guardedLookup}).
 */
export function checkOutbound(url: URL, policy: OutboundPolicy): OutboundRefused | undefined {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return new OutboundRefused(url.href, 'scheme', url.protocol);
  }
  const host = hostOf(url);
  // An address literal is connected to without a lookup: check it here.
  if (isIP(host) && !isTrustedHost(host, policy) && isPrivateAddress(host)) {
    return new OutboundRefused(url.href, 'private-address', host);
  }
  return undefined;
}

/**
 * The check of {@link checkOutbound} plus the host name's current addresses, for refusing early (at
 * submission) a URL whose host resolves only to addresses the server may not reach. Connections are
 * still checked on the address actually connected to; a name that does not resolve now is left to
 * that check.
 */
export async function checkOutboundResolved(
  url: URL,
  policy: OutboundPolicy,
): Promise<OutboundRefused | undefined> {
  const early = checkOutbound(url, policy);
  if (early) return early;
  const host = hostOf(url);
  if (isIP(host) || isTrustedHost(host, policy)) return undefined;
  const addresses = await new Promise<LookupAddress[]>((resolve) =>
    dnsLookup(host, { all: true }, (err, found) => resolve(err ? [] : found)),
  );
  if (addresses.length > 0 && addresses.every((a) => isPrivateAddress(a.address))) {
    return new OutboundRefused(url.href, 'private-address', host);
  }
  return undefined;
}

/**
 * A DNS lookup that refuses private addresses for hosts not explicitly allowed: the check is on the
 * address actually connected to (no window between a check and the connection for DNS rebinding).
 */
export function guardedLookup(url: URL, policy: OutboundPolicy): LookupFunction {
  const host = hostOf(url);
  const trusted = isTrustedHost(host, policy);
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 0);
      const allowed = trusted ? addresses : addresses.filter((a) => !isPrivateAddress(a.address));
      if (allowed.length === 0) {
        return callback(
          new OutboundRefused(url.href, 'private-address', host) as unknown as NodeJS.ErrnoException,
          '',
          0,
        );
      }
      if ((options as { all?: boolean }).all)
        return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, allowed);
      callback(null, allowed[0]!.address, allowed[0]!.family);
    });
  };
}

export interface OutboundRequest {
  method: 'GET' | 'POST' | 'DELETE';
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  signal: AbortSignal;
}

/**
 * Sends one request under the policy (no redirect is followed) and resolves with the response,
 * whose body is the caller's to read or discard. Rejects with OutboundRefused when the URL or the
 * address it resolves to is not allowed, with the socket's error otherwise.
 */
export function outboundRequest(
  url: URL,
  request: OutboundRequest,
  policy: OutboundPolicy,
): Promise<http.IncomingMessage> {
  const refused = checkOutbound(url, policy);
  if (refused) return Promise.reject(refused);
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(
      url,
      {
        method: request.method,
        headers: request.headers ?? {},
        lookup: guardedLookup(url, policy),
        signal: request.signal,
      },
      resolve,
    );
    req.on('error', reject);
    if (request.body !== undefined) req.write(request.body);
    req.end();
  });
}

/** How much of the body of an answer to a POST is read (and discarded) before the connection is closed. */
const ANSWER_BYTES = 64 * 1024;

/**
 * POSTs a JSON document under the policy and waits for the answer (its body is discarded, and the
 * connection closed after {@link ANSWER_BYTES} of it) at most `timeoutMs`. Resolves with the HTTP
 * status; rejects with OutboundRefused, a timeout or the connection's error. No redirect is followed.
 */
export async function postJson(
  url: URL,
  document: unknown,
  policy: OutboundPolicy,
  options: { timeoutMs: number; signal?: AbortSignal; headers?: Record<string, string> },
): Promise<number> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  const body = JSON.stringify(document);
  try {
    const res = await outboundRequest(
      url,
      {
        method: 'POST',
        headers: {
          ...options.headers,
          'Content-Type': 'application/json',
          'Content-Length': String(Buffer.byteLength(body)),
        },
        body,
        signal,
      },
      policy,
    );
    await new Promise<void>((resolve, reject) => {
      let read = 0;
      res.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read <= ANSWER_BYTES) return;
        // An answer that goes on and on: its status is all that counts.
        res.destroy();
        resolve();
      });
      res.on('error', reject);
      res.on('end', resolve);
      res.on('close', () => {
        if (!res.complete) reject(new Error('the connection closed before the answer ended'));
      });
    });
    return res.statusCode ?? 0;
  } catch (error) {
    if (timeout.aborted && !options.signal?.aborted && !(error instanceof OutboundRefused)) {
      throw new Error(`no complete answer within ${options.timeoutMs} ms`, { cause: error });
    }
    throw error;
  }
}
