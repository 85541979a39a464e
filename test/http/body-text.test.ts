import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BodyTextError, readBodyBytes, releaseBytes } from '../../src/http/body-text.ts';

const LIMIT = 1024 * 1024;
let server: Server;
let port: number;
/** What the last request's reading came to. */
let outcome: Promise<Uint8Array | BodyTextError> | undefined;

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res) => {
    outcome = readBodyBytes(
      req,
      { contentLength: req.headers['content-length'], contentEncoding: req.headers['content-encoding'] },
      LIMIT,
    ).catch((e: BodyTextError) => e);
    void outcome.then((r) => {
      // The answer goes out even when the body was refused half-read.
      res.end(r instanceof Uint8Array ? `read ${r.byteLength}` : `refused ${r.kind}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** Sends the body in pieces (chunked when `chunked`), resolves with the answer. */
function send(pieces: Buffer[], chunked: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const total = pieces.reduce((s, p) => s + p.length, 0);
    const req = request(
      { port, agent: false, method: 'POST', headers: chunked ? {} : { 'content-length': String(total) } },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve(text));
      },
    );
    req.on('error', reject);
    for (const p of pieces) req.write(p);
    req.end();
  });
}

const pieces = (count: number, size: number) =>
  Array.from({ length: count }, (_, i) => Buffer.alloc(size, i % 251));

describe('readBodyBytes', () => {
  it('reads a body of a declared length and a chunked one (grown as it comes) byte for byte', async () => {
    for (const chunked of [false, true]) {
      const body = pieces(40, 20_000);
      expect(await send(body, chunked)).toBe('read 800000');
      const bytes = (await outcome!) as Uint8Array;
      expect(Buffer.compare(Buffer.from(bytes), Buffer.concat(body))).toBe(0);
    }
  });

  it('refuses a body over the limit, declared or counted while it streams, and still answers', async () => {
    expect(await send(pieces(1, LIMIT + 1), false)).toBe('refused too-large');
    expect(await send(pieces(60, 20_000), true)).toBe('refused too-large');
  });

  it('a body shorter than its Content-Length is unreadable', async () => {
    outcome = undefined;
    const socket = connect(port, '127.0.0.1');
    socket.end('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly 18 bytes here');
    while (!outcome) await new Promise((resolve) => setTimeout(resolve, 10));
    const result = await outcome;
    socket.destroy();
    expect(result).toBeInstanceOf(BodyTextError);
    expect((result as BodyTextError).kind).toBe('unreadable');
  });

  it('refuses a content coding before reading', async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const req = request(
        {
          port,
          agent: false,
          method: 'POST',
          headers: { 'content-encoding': 'gzip', 'content-length': '2' },
        },
        (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve(text));
        },
      );
      req.on('error', reject);
      req.end('xx');
    });
    expect(answer).toBe('refused content-coding');
  });
});

describe('releaseBytes', () => {
  it('frees a buffer owned whole at once, and leaves views of shared memory alone', () => {
    const owned = Buffer.allocUnsafeSlow(1 << 20);
    releaseBytes(owned);
    expect(owned.byteLength).toBe(0);
    const pooled = Buffer.from('small');
    releaseBytes(pooled);
    expect(pooled.toString()).toBe('small');
  });
});
