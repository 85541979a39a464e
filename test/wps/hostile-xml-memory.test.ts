/**
 * Memory and time of hostile XML bodies the parser must not amplify: a request of 16 MB (under the
 * default 20 MiB `max_request_size`) made of what saxes builds a piece at a time (a long comment of
 * `-x`, a processing instruction of `?x`, character data of carriage returns or of references, an
 * attribute value of line feeds, a large DTD) makes a
 * fresh server's process grow by at most 6× the body at its peak (measured 1.3-5.3×), and is answered within seconds. Each
 * body went to 500-800 MB (30-50×) and blocked the event loop for 1.3-3 s before these were lifted
 * out of the parser or refused before it (src/wps/xml.ts): a few at once exhaust the heap.
 */
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { processMemory, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { execute, expectException, literalInput, one, text } from '../helpers/wps.ts';

const SIZE = 16 * 1024 * 1024;
const BOUND = 6;

/** A fresh server (its memory not grown by an earlier case), warmed up: the parser, the process and the writer loaded. */
async function start(): Promise<ServerProcess> {
  const server = await startServerProcess({ processes: ['hello-world'], prefix: 'hostile-xml-memory-' });
  const r = await fetch(`${server.address}/wps`, {
    method: 'POST',
    headers: { 'Content-Type': 'text/xml' },
    body: execute('hello-world', literalInput('name', 'warm')),
  });
  expect(r.status).toBe(200);
  return server;
}

/** Posts `body` with the peak resident size reset first: the answer and the peak growth over idle. */
async function measure(server: ServerProcess, body: string) {
  const pid = server.child.pid!;
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
  const idle = processMemory(pid).rss;
  const t0 = performance.now();
  const res = await fetch(`${server.address}/wps`, {
    method: 'POST',
    headers: { 'Content-Type': 'text/xml' },
    body,
  });
  const reply = {
    status: res.status,
    contentType: res.headers.get('content-type'),
    body: await res.text(),
    headers: res.headers,
  };
  return { reply, ms: performance.now() - t0, growth: processMemory(pid).peak - idle };
}

const hello = execute('hello-world', literalInput('name', 'Ada'));
/** A valid Execute with `filler` where white space may go (between the inputs). */
const withFiller = (filler: string) => hello.replace('<wps:DataInputs>', `<wps:DataInputs>${filler}`);

describe('bodies saxes builds a piece at a time are bounded in memory and time', () => {
  const cases: Array<[string, () => string, (reply: Awaited<ReturnType<typeof measure>>['reply']) => void]> =
    [
      [
        'a comment of "-x"',
        () => withFiller(`<!--${'-x'.repeat(SIZE / 2)}-->`),
        (reply) => {
          expect(reply.status, reply.body.slice(0, 300)).toBe(200);
          expect(reply.body).toContain('Hello Ada!');
        },
      ],
      [
        'a processing instruction of "?x"',
        () => withFiller(`<?data ${'?x'.repeat(SIZE / 2)}?>`),
        (reply) => {
          expect(reply.status, reply.body.slice(0, 300)).toBe(200);
          expect(reply.body).toContain('Hello Ada!');
        },
      ],
      [
        'white space of carriage returns',
        () => withFiller('\r'.repeat(SIZE)),
        (reply) => {
          expect(reply.status, reply.body.slice(0, 300)).toBe(200);
          expect(reply.body).toContain('Hello Ada!');
        },
      ],
      [
        'white space written as character references',
        () => withFiller('&#32;'.repeat(SIZE / 5)),
        (reply) => {
          expect(reply.status, reply.body.slice(0, 300)).toBe(200);
          expect(reply.body).toContain('Hello Ada!');
        },
      ],
      [
        'an attribute value of "\\n x" (refused before it is parsed)',
        () => hello.replace('<wps:DataInputs>', `<wps:DataInputs a="${'\nx'.repeat(SIZE / 2)}">`),
        (reply) => {
          const exception = expectException(reply, 400, 'NoApplicableCode');
          expect(text(one(exception, 'ExceptionText'))).toMatch(/maxAttributeValueLength/);
        },
      ],
      [
        'a DTD with a large internal subset',
        () =>
          `<!DOCTYPE wps:Execute [${'<!ENTITY e "x">'.repeat(SIZE / 15)}]>${hello.replace(/^<\?xml[^>]*\?>/, '')}`,
        (reply) => {
          const exception = expectException(reply, 400, 'NoApplicableCode');
          expect(text(one(exception, 'ExceptionText'))).toMatch(/DTD/);
        },
      ],
      [
        'a comment holding "--" (malformed, refused as saxes refuses it)',
        () => withFiller(`<!--${'x'.repeat(SIZE / 2)}--${'x'.repeat(100)}-->`),
        (reply) => {
          const exception = expectException(reply, 400, 'NoApplicableCode');
          expect(text(one(exception, 'ExceptionText'))).toMatch(/malformed comment/);
        },
      ],
      [
        'a processing instruction holding a control character',
        () => withFiller(`<?data ${'x'.repeat(SIZE / 2)}\u0001?>`),
        (reply) => {
          const exception = expectException(reply, 400, 'NoApplicableCode');
          expect(text(one(exception, 'ExceptionText'))).toMatch(/disallowed character/);
        },
      ],
    ];
  for (const [name, make, check] of cases) {
    it(`${name}: at most ${BOUND}× the body at the peak`, async () => {
      const body = make();
      const server = await start();
      const { reply, ms, growth } = await measure(server, body).finally(() => server.stop());
      check(reply);
      const bytes = Buffer.byteLength(body);
      expect(
        growth,
        `${(growth / 2 ** 20).toFixed(0)} MiB for ${(bytes / 2 ** 20).toFixed(0)} MiB`,
      ).toBeLessThan(BOUND * bytes);
      expect(ms).toBeLessThan(10_000);
    }, 60_000);
  }
});
