/**
 * A request body, bounded while it streams, and its text in the character encoding it declares,
 * strictly: bytes that are not valid in that encoding, an encoding this server does not read, or a
 * content coding (gzip, …) are refused, never replaced by U+FFFD.
 */
import type { IncomingMessage } from 'node:http';
import { TextDecoder } from 'node:util';

/** Why a body could not be read as text; each binding maps it to its own error. */
export class BodyTextError extends Error {
  readonly kind: 'too-large' | 'unreadable' | 'content-coding' | 'unsupported-charset' | 'invalid-bytes';
  constructor(kind: BodyTextError['kind'], message: string) {
    super(message);
    this.name = 'BodyTextError';
    this.kind = kind;
  }
}

/** Encodings read (WHATWG labels TextDecoder knows); anything else is refused rather than guessed. */
const READABLE = new Set(['utf-8', 'utf-16le', 'utf-16be', 'windows-1252', 'iso-8859-2', 'iso-8859-15']);

function decoderFor(label: string): TextDecoder {
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(label.trim(), { fatal: true, ignoreBOM: false });
  } catch {
    throw new BodyTextError('unsupported-charset', `The character encoding '${label}' is not supported`);
  }
  // ISO-8859-1 and US-ASCII are read as windows-1252, their superset (as browsers and the WHATWG do).
  if (!READABLE.has(decoder.encoding)) {
    throw new BodyTextError('unsupported-charset', `The character encoding '${label}' is not supported`);
  }
  return decoder;
}

function decode(bytes: Uint8Array, label: string): string {
  try {
    return decoderFor(label).decode(bytes);
  } catch (error) {
    if (error instanceof BodyTextError) throw error;
    throw new BodyTextError('invalid-bytes', `The request body is not valid ${label} text`);
  }
}

/** Refuses bodies with a content coding: they would otherwise be read as garbage. */
export function assertIdentityCoding(contentEncoding: string | undefined): void {
  const coding = (contentEncoding ?? '').trim().toLowerCase();
  if (coding !== '' && coding !== 'identity') {
    throw new BodyTextError(
      'content-coding',
      `Request bodies with Content-Encoding '${contentEncoding}' are not accepted; send it uncompressed`,
    );
  }
}

/**
 * Frees the memory of bytes no longer needed, now rather than at the next garbage collection: its
 * ArrayBuffer is detached (`transfer(0)`). Only for buffers their holder owns whole (a view of part
 * of an ArrayBuffer, such as Node's shared pool, is left alone); the bytes read as empty afterwards.
 */
export function releaseBytes(bytes: Uint8Array): void {
  const buffer = bytes.buffer;
  if (!(buffer instanceof ArrayBuffer) || buffer.byteLength < 4096) return;
  try {
    buffer.transfer(0);
  } catch {
    // not detachable: the collector frees it
  }
}

const unreadable = (message: string) =>
  new BodyTextError('unreadable', `The request body could not be read (${message})`);

/**
 * The bytes of a request body: at most `limit` of them (counted while they stream), and only
 * without a content coding. Throws BodyTextError ('too-large', 'unreadable', 'content-coding').
 * They are copied into one buffer as they come (of the declared length, else grown by doubling)
 * and each chunk is released once copied: a 30 MB body costs about 30 MB, not chunks plus their
 * concatenation (as raw-body's Buffer.concat did). Call releaseBytes on the result when done.
 */
export async function readBodyBytes(
  req: IncomingMessage,
  headers: { contentLength?: string; contentEncoding?: string },
  limit: number,
): Promise<Buffer> {
  assertIdentityCoding(headers.contentEncoding);
  const declared = headers.contentLength ? Number(headers.contentLength) : undefined;
  if (declared !== undefined && !(Number.isSafeInteger(declared) && declared >= 0)) {
    throw unreadable('invalid Content-Length');
  }
  const tooLarge = () =>
    new BodyTextError('too-large', `The request is larger than the allowed ${limit} bytes`);
  if (declared !== undefined && declared > limit) throw tooLarge();
  if (!req.readable) throw unreadable('stream is not readable');
  return await new Promise<Buffer>((resolve, reject) => {
    let target = Buffer.allocUnsafeSlow(declared ?? Math.min(limit, 16 * 1024));
    let received = 0;
    const finish = (error?: BodyTextError) => {
      req.off('aborted', onAborted);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      if (!error) return resolve(target.subarray(0, received));
      // Halted as raw-body does: the rest of the body is not read, the answer can still be sent.
      req.pause();
      releaseBytes(target);
      reject(error);
    };
    const onAborted = () => finish(unreadable('request aborted'));
    const onError = (error: Error) => finish(unreadable(error.message));
    const onData = (chunk: Buffer) => {
      if (received + chunk.length > limit) return finish(tooLarge());
      if (received + chunk.length > target.length) {
        if (declared !== undefined) return finish(unreadable('request size did not match content length'));
        const grown = Buffer.allocUnsafeSlow(
          Math.min(limit, Math.max(2 * target.length, received + chunk.length)),
        );
        target.copy(grown, 0, 0, received);
        releaseBytes(target);
        target = grown;
      }
      chunk.copy(target, received);
      received += chunk.length;
      // Node's HTTP parser hands each body chunk over in a buffer of its own: freed now.
      if (chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength) releaseBytes(chunk);
    };
    const onEnd = () => {
      if (declared !== undefined && received !== declared)
        return finish(unreadable('request size did not match content length'));
      finish();
    };
    req.on('aborted', onAborted);
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

/** An XML body: a byte order mark, else the XML declaration's encoding, else the charset parameter, else UTF-8. */
export function xmlBodyText(bytes: Uint8Array, charset: string | undefined): string {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return decode(bytes.subarray(3), 'utf-8');
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return decode(bytes.subarray(2), 'utf-16le');
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return decode(bytes.subarray(2), 'utf-16be');
  const head = new TextDecoder('latin1').decode(bytes.subarray(0, 200));
  const declared = /^\s*<\?xml[^>]*\bencoding\s*=\s*["']([A-Za-z][\w.:-]*)["']/.exec(head)?.[1];
  return decode(bytes, declared ?? charset ?? 'utf-8');
}

/** A JSON body: UTF-8 (RFC 8259), with or without a byte order mark; another charset is refused. */
export function jsonBodyText(bytes: Uint8Array, charset: string | undefined): string {
  if (charset && !/^utf-?8$/i.test(charset.trim())) {
    throw new BodyTextError('unsupported-charset', `JSON is UTF-8; the charset '${charset}' is not accepted`);
  }
  const start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  return decode(bytes.subarray(start), 'utf-8');
}
