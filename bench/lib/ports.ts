/** Loopback ports and readiness: the benchmark binds and connects to 127.0.0.1 only. */
import { createServer } from 'node:net';

export const HOST = '127.0.0.1';

/** A port free on the loopback interface now (the OS picks it). */
export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, HOST, () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

/** Waits until `url` answers 2xx, at most `seconds`; `alive` says whether the server still runs. */
export async function waitUntilUp(url: string, alive: () => boolean, seconds = 60): Promise<void> {
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    if (!alive()) throw new Error(`the server of ${url} exited before answering`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await r.arrayBuffer();
      if (r.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not answer within ${seconds} s`);
}
