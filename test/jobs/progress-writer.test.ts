/**
 * src/jobs/progress-writer.ts: a job's progress reports reach the store in order, the newest
 * replacing those still waiting, at most one per interval, one write at a time, none after close.
 */
import { describe, expect, it } from 'vitest';
import { ProgressWriter } from '../../src/jobs/progress-writer.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A store whose writes take `ms` each, recording what was written when, and how many at once. */
function slowStore(ms: number) {
  const written: Array<{ report: number; at: number }> = [];
  let running = 0;
  let most = 0;
  const t0 = performance.now();
  return {
    written,
    most: () => most,
    write: async (report: number) => {
      most = Math.max(most, ++running);
      await sleep(ms);
      written.push({ report, at: performance.now() - t0 });
      running--;
    },
  };
}

describe('ProgressWriter', () => {
  it('writes the first report at once, then the newest at most once per interval, in order', async () => {
    const store = slowStore(5);
    const writer = new ProgressWriter<number>(store.write, 100);
    writer.report(1);
    for (let p = 2; p <= 20; p++) {
      await sleep(2);
      writer.report(p);
    }
    await sleep(20);
    expect(store.written.map((w) => w.report)).toEqual([1]);
    await sleep(150);
    // 2…19 were replaced while they waited; 20 was written once the interval had passed.
    expect(store.written.map((w) => w.report)).toEqual([1, 20]);
    expect(store.written[1]!.at - store.written[0]!.at).toBeGreaterThanOrEqual(95);
    expect(store.most()).toBe(1);
    await writer.close();
  });

  it('a report made long after the last write is written at once', async () => {
    const store = slowStore(1);
    const writer = new ProgressWriter<number>(store.write, 50);
    writer.report(1);
    await sleep(80);
    const before = store.written.length;
    writer.report(2);
    await sleep(15);
    expect(store.written.slice(before).map((w) => w.report)).toEqual([2]);
    await writer.close();
  });

  it('close drops the waiting report, waits for the write under way and ignores later reports', async () => {
    const store = slowStore(30);
    // An interval far beyond the test's time limit: close must not wait for it.
    const writer = new ProgressWriter<number>(store.write, 60_000);
    writer.report(1); // being written for 30 ms
    await sleep(5);
    writer.report(2); // waits for the interval
    await writer.close();
    // Returned once write 1 was done.
    expect(store.written.map((w) => w.report)).toEqual([1]);
    writer.report(3);
    await sleep(50);
    expect(store.written.map((w) => w.report)).toEqual([1]);
  });
});
