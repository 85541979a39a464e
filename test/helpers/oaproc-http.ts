/**
 * HTTP helpers for the OGC API - Processes execution tests: requests, a multipart/related reader
 * (RFC 2046/2387, binary safe), the Link header (RFC 8288) and job polling.
 */
import { MIMEType } from 'node:util';
import { expect } from 'vitest';

export interface HttpReply {
  status: number;
  headers: Headers;
  contentType: string | null;
  bytes: Buffer;
  text: string;
  /** The body parsed as JSON when its media type says JSON (undefined otherwise or when empty). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response JSON; tests check its shape and validate it against the official schemas
  json: any;
}

export async function request(url: string, init: RequestInit = {}): Promise<HttpReply> {
  const res = await fetch(url, init);
  const bytes = Buffer.from(await res.arrayBuffer());
  const contentType = res.headers.get('content-type');
  const text = bytes.toString('utf8');
  const isJson = contentType !== null && /^application\/(.+\+)?json\b/.test(contentType);
  return {
    status: res.status,
    headers: res.headers,
    contentType,
    bytes,
    text,
    json: isJson && bytes.length > 0 ? JSON.parse(text) : undefined,
  };
}

/** POST an execute request (JSON) to /processes/{id}/execution. */
export function execute(
  base: string,
  processId: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<HttpReply> {
  return request(`${base}/processes/${processId}/execution`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

export interface Part {
  headers: Map<string, string>;
  body: Buffer;
}

/** Reads a multipart body: the boundary comes from the Content-Type; every part must be well formed. */
export function parseMultipart(contentType: string, body: Buffer): { type: MIMEType; parts: Part[] } {
  const type = new MIMEType(contentType);
  const boundary = type.params.get('boundary');
  expect(boundary, `no boundary in ${contentType}`).toBeTruthy();
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Part[] = [];
  // The first delimiter opens the body (no preamble here); every later one is preceded by CRLF.
  expect(body.subarray(0, delimiter.length).equals(delimiter), 'the body starts with the boundary').toBe(
    true,
  );
  let at = delimiter.length;
  for (;;) {
    if (body.subarray(at, at + 2).toString() === '--') {
      expect(body.subarray(at + 2).toString(), 'only CRLF after the close delimiter').toMatch(/^(\r\n)?$/);
      return { type, parts };
    }
    expect(body.subarray(at, at + 2).toString(), 'CRLF after a boundary').toBe('\r\n');
    at += 2;
    const headerEnd = body.indexOf('\r\n\r\n', at);
    expect(headerEnd, 'part headers end with an empty line').toBeGreaterThanOrEqual(at);
    const headers = new Map<string, string>();
    for (const line of body.subarray(at, headerEnd).toString('utf8').split('\r\n')) {
      if (line === '') continue;
      const colon = line.indexOf(':');
      expect(colon, `header line '${line}'`).toBeGreaterThan(0);
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    const start = headerEnd + 4;
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), start - 2);
    expect(next, 'every part is closed by a boundary').toBeGreaterThanOrEqual(start - 2);
    parts.push({ headers, body: next < start ? Buffer.alloc(0) : body.subarray(start, next) });
    at = next + 2 + delimiter.length;
  }
}

export interface LinkValue {
  href: string;
  params: Record<string, string>;
}

/** Splits Link header values (RFC 8288); fetch joins repeated headers with ', '. */
export function parseLinkHeader(header: string | null): LinkValue[] {
  if (!header) return [];
  const links: LinkValue[] = [];
  let consumed = 0;
  for (const m of header.matchAll(/\s*<([^>]*)>((?:[^,"]|"[^"]*")*)(?:,|$)/g)) {
    expect(m.index, `Link header: unparsable text before ${m[0]}`).toBe(consumed);
    consumed = m.index + m[0].length;
    const params: Record<string, string> = {};
    for (const p of m[2]!.matchAll(/;\s*([^;=\s]+)\s*=\s*(?:"([^"]*)"|([^;\s]*))/g)) {
      params[p[1]!.toLowerCase()] = p[2] ?? p[3] ?? '';
    }
    links.push({ href: m[1]!, params });
    if (consumed >= header.length) break;
  }
  expect(consumed, `the whole Link header parses: ${header}`).toBe(header.length);
  return links;
}

/** Polls GET /jobs/{id} until `until` holds for its status; returns every statusInfo seen. */
export async function pollJob(
  base: string,
  jobId: string,
  until: (status: string) => boolean,
  timeoutMs = 15_000,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- statusInfo JSON, validated by the callers
): Promise<any[]> {
  const seen: unknown[] = [];
  const t0 = Date.now();
  for (;;) {
    const r = await request(`${base}/jobs/${jobId}`);
    expect(r.status, r.text).toBe(200);
    seen.push(r.json);
    if (until(r.json.status)) return seen;
    if (Date.now() - t0 > timeoutMs) throw new Error(`job ${jobId} stayed ${r.json.status}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

export const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
export const EXC = 'http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/';
export const REL_RESULTS = 'http://www.opengis.net/def/rel/ogc/1.0/results';
