/**
 * What the reference policy costs: fetching a reference input through src/references/fetch.ts
 * (scheme and address checks on the address connected to, redirects re-checked, size counted while
 * streaming, timeout) against a plain fetch() of the same URL, in one process, against a local
 * node:http server on loopback (allowed for the occasion). Sequential fetches of a 64 KiB document,
 * ROUNDS each, interleaved. Prints one JSON line (scenario 7 of bench/run.ts reads it).
 *
 *   node bench/scenarios/robustness/reference-policy.ts   [ROUNDS=500]
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fetchReference, type ReferencePolicy } from '../../../src/references/fetch.ts';

const ROUNDS = Number(process.env.ROUNDS ?? 500);
const SIZE = 64 * 1024;
const body = Buffer.alloc(SIZE, 'x');
const server = createServer((_req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length });
  res.end(body);
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/data.txt`;
const policy: ReferencePolicy = {
  allowedPrivateHosts: ['127.0.0.1'],
  allowedInputPaths: [],
  maxBytes: 1024 * 1024,
  timeoutMs: 10_000,
  maxRedirects: 5,
};

const time = async (f: () => Promise<number>) => {
  const t = performance.now();
  const n = await f();
  if (n !== SIZE) throw new Error(`got ${n} bytes`);
  return performance.now() - t;
};
const plain = async () => (await (await fetch(url)).arrayBuffer()).byteLength;
const guarded = async () =>
  (await fetchReference({ href: url, method: 'GET' }, policy, 'data')).data.byteLength;

try {
  for (let i = 0; i < 20; i++) await Promise.all([time(plain), time(guarded)]); // warm-up
  const before: number[] = [];
  const after: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    before.push(await time(plain));
    after.push(await time(guarded));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  process.stdout.write(
    `${JSON.stringify({ rounds: ROUNDS, bytes: SIZE, plainMs: median(before), policyMs: median(after) })}\n`,
  );
} finally {
  server.close();
}
