/**
 * src/jobs/progress-writer.ts: a job's progress reports reach the store in order, the newest
 * replacing those still waiting, at most one per interval, one write at a time, none after close.
 */
import { describe, expect, it } from 'vitest';
import { ProgressWriter } from '../../src/jobs/progress-writer.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A store whose writes take `ms` each: what was started (at once, synchronously) and written when. */
function slowStore(ms: number) {
  const started: number[] = [];
  const written: Array<{ report: number; at: number }> = [];
  let running = 0;
  let most = 0;
  return {
    started,
    written,
    most: () => most,
    write: async (report: number) => {
      started.push(report);
      most = Math.max(most, ++running);
      await sleep(ms);
      written.push({ report, at: performance.now() });
      running--;
    },
  };
}

async function until(condition: () => boolean, ms = 5000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error('timed out');
    await sleep(5);
  }
}

describe('ProgressWriter', () => {
  it('writes the first report at once, then the newest once the interval has passed', async () => {
    const store = slowStore(5);
    const writer = new ProgressWriter<number>(store.write, 200);
    const t0 = performance.now();
    writer.report(1);
    expect(store.started).toEqual([1]);
    for (let p = 2; p <= 20; p++) writer.report(p);
    expect(store.started).toEqual([1]);
    await until(() => store.written.length === 2);
    // 2…19 were replaced while they waited; 20 was written once the interval had passed.
    expect(store.written.map((w) => w.report)).toEqual([1, 20]);
    expect(store.written[1]!.at - t0).toBeGreaterThanOrEqual(195);
    expect(store.most()).toBe(1);
    await writer.close();
  });

  it('a report made after the interval is written at once', async () => {
    const store = slowStore(1);
    const writer = new ProgressWriter<number>(store.write, 50);
    writer.report(1);
    await until(() => store.written.length === 1);
    await sleep(80);
    writer.report(2);
    expect(store.started).toEqual([1, 2]);
    await writer.close();
    expect(store.written.map((w) => w.report)).toEqual([1, 2]);
  });

  it('one write at a time: a report made during a long write waits for it', async () => {
    const store = slowStore(100);
    const writer = new ProgressWriter<number>(store.write, 10);
    writer.report(1);
    await sleep(30);
    writer.report(2);
    expect(store.started).toEqual([1]);
    await until(() => store.written.length === 2);
    expect(store.written.map((w) => w.report)).toEqual([1, 2]);
    expect(store.most()).toBe(1);
    await writer.close();
  });

  it('close drops the waiting report, waits for the write under way and ignores later reports', async () => {
    const store = slowStore(30);
    // An interval far beyond the test's time limit: close must not wait for it.
    const writer = new ProgressWriter<number>(store.write, 60_000);
    writer.report(1); // being written for 30 ms
    writer.report(2); // waits for the interval
    await writer.close();
    // Returned once write 1 was done.
    expect(store.written.map((w) => w.report)).toEqual([1]);
    writer.report(3);
    await sleep(50);
    expect(store.started).toEqual([1]);
  });
});
