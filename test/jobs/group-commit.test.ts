/**
 * Group commit in the SQLite store: writes of one event-loop turn share one transaction, each is
 * committed before its promise settles (another connection sees it then), in the order they were
 * made; a refused write leaves the others in.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteJobStore } from '../../src/jobs/sqlite-store.ts';
import { QueueFullError, type NewJob } from '../../src/jobs/store.ts';

let dir: string;
let file: string;
let store: SqliteJobStore;
let reader: Database.Database;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'gw-group-'));
  file = path.join(dir, 'jobs.sqlite');
  store = new SqliteJobStore(file);
  // Another connection sees only what is committed.
  reader = new Database(file, { readonly: true });
});
afterEach(async () => {
  reader.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const created = new Date(1_700_000_000_000);
const newJob = (over: Partial<NewJob> = {}): NewJob => ({
  id: randomUUID(),
  processId: 'p',
  mode: 'async',
  created, // all equal: only the insertion order tells them apart
  request: { processId: 'p', inputs: {}, outputs: {}, outputsSelected: false },
  ...over,
});
const committed = (id: string) =>
  (reader.prepare('SELECT count(*) AS n FROM jobs WHERE id = ?').get(id) as { n: number }).n === 1;

describe('group commit', () => {
  it('commits each write before its promise settles, many writes of one turn at once, in order', async () => {
    const jobs = Array.from({ length: 200 }, (_, i) => newJob({ mode: i % 2 === 0 ? 'async' : 'sync' }));
    const seenAtAnswer: boolean[] = [];
    // All submitted in the same turn; each answer checks, at once, that another connection sees it.
    await Promise.all(
      jobs.map((job, i) =>
        store.insert(job, { maxActive: 1000 }).then((stored) => {
          expect(stored.id).toBe(job.id);
          seenAtAnswer[i] = committed(job.id);
        }),
      ),
    );
    expect(seenAtAnswer).toEqual(jobs.map(() => true));
    // The queue's order is the submission order, though every job has the same creation time.
    const claimed: string[] = [];
    for (;;) {
      const job = await store.claimNext(new Date());
      if (!job) break;
      claimed.push(job.id);
    }
    expect(claimed).toEqual(jobs.map((j) => j.id));
  });

  it('a state change, too, is visible to others when its promise settles', async () => {
    const job = await store.insert(newJob());
    const ended = store.transition(job.id, 'failed', { message: 'no' });
    const status = () =>
      (reader.prepare('SELECT status FROM jobs WHERE id = ?').get(job.id) as { status: string }).status;
    expect(status()).toBe('accepted'); // queued, not committed yet
    expect((await ended)?.status).toBe('failed');
    expect(status()).toBe('failed');
  });

  it('the queue bound holds within one commit: the first ones in are kept, the rest refused with the counts', async () => {
    const running = await store.insert(newJob());
    await store.claimNext(new Date());
    const jobs = Array.from({ length: 10 }, () => newJob());
    const results = await Promise.allSettled(jobs.map((j) => store.insert(j, { maxActive: 5 })));
    expect(results.map((r) => r.status)).toEqual([
      ...Array(4).fill('fulfilled'),
      ...Array(6).fill('rejected'),
    ]);
    for (const r of results.slice(4)) {
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(QueueFullError);
      expect((r as PromiseRejectedResult).reason).toMatchObject({ running: 1, waiting: 4 });
    }
    expect(jobs.map((j) => committed(j.id))).toEqual([...Array(4).fill(true), ...Array(6).fill(false)]);
    expect(committed(running.id)).toBe(true);
    // A job that ends makes room for the next one.
    await store.transition(running.id, 'successful', {});
    await expect(store.insert(newJob(), { maxActive: 5 })).resolves.toMatchObject({ status: 'accepted' });
  });

  it('one write refused by the database (a duplicate id) leaves the others of its commit in', async () => {
    const first = await store.insert(newJob());
    const batch = [newJob(), newJob({ id: first.id }), newJob()];
    const results = await Promise.allSettled(batch.map((j) => store.insert(j)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/UNIQUE/);
    expect([batch[0]!, batch[2]!].map((j) => committed(j.id))).toEqual([true, true]);
  });

  it('jobs stored ended (inline) share the commit, are admitted without taking a place, never wait', async () => {
    const ended = Array.from({ length: 10 }, () => newJob({ mode: 'sync' }));
    const patch = { started: created, finished: created, results: {} };
    const queued = Array.from({ length: 6 }, () => newJob());
    // All of one turn: the queue's bound counts only the queued ones, whatever their order.
    const results = await Promise.allSettled([
      ...ended.slice(0, 5).map((j) => store.insertEnded(j, 'successful', patch, { maxActive: 5 })),
      ...queued.map((j) => store.insert(j, { maxActive: 5 })),
      ...ended.slice(5).map((j) => store.insertEnded(j, 'successful', patch, { maxActive: 5 })),
    ]);
    expect(results.map((r) => r.status)).toEqual([
      ...Array(5).fill('fulfilled'),
      ...Array(5).fill('fulfilled'),
      'rejected', // the sixth queued job
      // the queue is full now: a job stored ended is refused as well (admitted like any job)
      ...Array(5).fill('rejected'),
    ]);
    expect(await store.countByStatus('successful')).toBe(5);
    expect(ended.slice(0, 5).map((j) => committed(j.id))).toEqual(Array(5).fill(true));
    const claimed = await store.claimNext(new Date());
    expect(claimed?.id).toBe(queued[0]!.id);
  });

  it('what is queued when the store closes is committed first', async () => {
    const job = newJob();
    const inserted = store.insert(job);
    await store.close();
    await expect(inserted).resolves.toMatchObject({ id: job.id });
    expect(committed(job.id)).toBe(true);
    store = new SqliteJobStore(file); // for afterEach
  });
});
