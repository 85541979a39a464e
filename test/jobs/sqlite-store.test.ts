import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decode, encode } from '../../src/jobs/codec.ts';
import { SqliteJobStore, whereClause } from '../../src/jobs/sqlite-store.ts';
import type { JobFilter, NewJob } from '../../src/jobs/store.ts';

let dir: string;
let store: SqliteJobStore;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'gw-store-'));
  store = new SqliteJobStore(path.join(dir, 'jobs.sqlite'));
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

let n = 0;
const newJob = (over: Partial<NewJob> = {}): NewJob => ({
  id: `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`,
  processId: 'p',
  mode: 'async',
  created: new Date(1_700_000_000_000 + n * 1000),
  request: { processId: 'p', inputs: {}, outputs: {}, outputsSelected: false },
  ...over,
});

describe('SQLite job store', () => {
  it('refuses a second server on the same store with a clear message, until the first one closes', async () => {
    const file = path.join(dir, 'jobs.sqlite');
    expect(() => new SqliteJobStore(file)).toThrow(
      new RegExp(`Another server is already using the job store ${file} \\(pid ${process.pid} on `),
    );
    await store.close();
    store = new SqliteJobStore(file);
    expect(await store.countByStatus('accepted')).toBe(0);
  });

  it('survives reopening, and refuses a store written by a newer schema', async () => {
    const file = path.join(dir, 'jobs.sqlite');
    const job = await store.insert(newJob());
    await store.close();
    store = new SqliteJobStore(file);
    expect((await store.get(job.id))?.id).toBe(job.id);
    await store.close();
    const db = new Database(file);
    db.pragma('user_version = 99');
    db.close();
    expect(() => new SqliteJobStore(file)).toThrow(/schema version 99 is newer/);
    store = new SqliteJobStore(':memory:');
  });

  it('the codec keeps dates and nothing else special', () => {
    const value = { a: new Date(0), b: [1, 'x', { $date: 'not alone', c: 1 }], d: null };
    expect(decode(encode(value))).toEqual(value);
  });
});

describe('the job-list filters on SQLite', () => {
  const T = Date.parse('2024-05-01T12:00:00Z');
  const at = (seconds: number) => new Date(T + seconds * 1000);
  const NOW = at(100);
  it('every filter is answered through an index (EXPLAIN QUERY PLAN)', async () => {
    const filters: Record<string, JobFilter> = {
      processID: { processIds: ['p', 'q'] },
      status: { statuses: ['running', 'failed'] },
      'datetime from': { createdFrom: at(0) },
      'datetime interval': { createdFrom: at(0), createdTo: at(50) },
      minDuration: { minDurationMs: 1000 },
      maxDuration: { maxDurationMs: 1000 },
      'both durations': { minDurationMs: 1000, maxDurationMs: 5000 },
      'finished durations': { statuses: ['successful', 'failed'], minDurationMs: 1000 },
      'running durations': { statuses: ['running'], maxDurationMs: 1000 },
    };
    const db = new Database(path.join(dir, 'jobs.sqlite'), { readonly: true });
    try {
      for (const [name, filter] of Object.entries(filters)) {
        const { clause, params } = whereClause(filter, NOW)!;
        for (const sql of [
          `SELECT count(*) FROM jobs ${clause}`,
          `SELECT * FROM jobs ${clause} ORDER BY created DESC, rowid DESC LIMIT 10`,
        ]) {
          const plan = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>)
            .map((row) => row.detail)
            .filter((d) => /^(SCAN|SEARCH) jobs/.test(d));
          expect(plan.length, name).toBeGreaterThan(0);
          for (const step of plan)
            expect(step, `${name}: ${sql}`).toMatch(/^SEARCH jobs USING (COVERING )?INDEX/);
        }
      }
    } finally {
      db.close();
    }
    expect(whereClause({ types: ['other'] }, NOW)).toBeUndefined();
  });
});

describe('schema migrations', () => {
  it('version 2 adds the job-list indexes to a version 1 store and keeps its jobs', async () => {
    const file = path.join(dir, 'jobs.sqlite');
    const job = await store.insert(newJob());
    await store.close();
    const indexes = () => {
      const db = new Database(file, { readonly: true });
      const names = (
        db
          .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'jobs'")
          .all() as Array<{
          name: string;
        }>
      ).map((r) => r.name);
      const version = db.pragma('user_version', { simple: true });
      db.close();
      return { names, version };
    };
    const v2 = ['jobs_process_created', 'jobs_status_started', 'jobs_status_duration'];
    expect(indexes().names).toEqual(expect.arrayContaining(v2));
    // Back to what version 1 left.
    const db = new Database(file);
    for (const name of v2) db.exec(`DROP INDEX ${name}`);
    // …and before version 3 (attempts, per-process caps, the result cache).
    db.exec(
      'DROP INDEX jobs_status_process; DROP TABLE result_cache; DROP TABLE result_cache_pending; ALTER TABLE jobs DROP COLUMN execution',
    );
    db.pragma('user_version = 1');
    db.close();
    expect(indexes()).toMatchObject({ version: 1 });
    expect(indexes().names).not.toContain('jobs_process_created');
    store = new SqliteJobStore(file);
    expect(indexes().version).toBe(4);
    expect(indexes().names).toEqual(expect.arrayContaining([...v2, 'jobs_created', 'jobs_status_created']));
    expect((await store.get(job.id))?.id).toBe(job.id);
  });
});

describe('SQLite job store: checkpoints in a thread of their own', () => {
  const payload = 'x'.repeat(3000);
  const patch = { started: new Date(), finished: new Date(), results: {} };
  /** One commit of 50 jobs stored ended (about 400 KiB of log), as one turn of concurrent requests makes. */
  const commitRound = async () => {
    const jobs = Array.from({ length: 50 }, () =>
      newJob({
        mode: 'sync',
        request: {
          processId: 'p',
          inputs: { text: [{ kind: 'literal', value: payload }] },
          outputs: {},
          outputsSelected: false,
        },
      }),
    );
    await Promise.all(jobs.map((job) => store.insertEnded(job, 'successful', patch, { maxActive: 10 })));
    return jobs.length;
  };

  it('under a stream of commits, moves checkpoints to a thread, keeps the log bounded and loses nothing', async () => {
    const file = path.join(dir, 'jobs.sqlite');
    // Another connection, as a client of the file would have (it takes no snapshot between reads).
    const reader = new Database(file, { readonly: true });
    const count = () => (reader.prepare('SELECT count(*) AS n FROM jobs').get() as { n: number }).n;
    expect(store.checkpointing()).toBe('inline'); // a store written little starts no thread
    let walMax = 0;
    let written = 0;
    // About 80 MiB of log in all: several times what the log file may hold.
    for (let round = 0; round < 200; round++) {
      written += await commitRound();
      walMax = Math.max(walMax, store.walBytes());
      // Every job is visible to the other connection once its promise has settled.
      expect(count()).toBe(written);
    }
    expect(store.checkpointing()).toBe('thread');
    // Started over again and again: the file never held more than its bound (16 MiB once cut back, 20
    // at most before commits are held for the thread), though far more was written through it.
    expect(walMax).toBeLessThanOrEqual(24 * 1024 * 1024);
    reader.close();
    await store.close();
    // Closed: everything is in the database file itself.
    const again = new Database(file, { readonly: true });
    expect((again.prepare('SELECT count(*) AS n FROM jobs').get() as { n: number }).n).toBe(written);
    again.close();
    store = new SqliteJobStore(':memory:'); // for afterEach
  }, 60_000);

  it('a reader that keeps the log from starting over: the commits go on; once it is gone, the log is cut back', async () => {
    const file = path.join(dir, 'jobs.sqlite');
    for (let round = 0; round < 10; round++) await commitRound(); // the thread starts
    expect(store.checkpointing()).toBe('thread');
    // Another connection in a read transaction: its snapshot keeps every frame after it in the log.
    const reader = new Database(file, { readonly: true });
    reader.prepare('BEGIN').run();
    reader.prepare('SELECT count(*) AS n FROM jobs').get();
    let written = 0;
    for (let round = 0; round < 120; round++) written += await commitRound();
    // About 50 MiB written while the reader held it: the log could not start over.
    expect(store.walBytes()).toBeGreaterThan(32 * 1024 * 1024);
    reader.prepare('COMMIT').run();
    reader.close();
    // The reader gone, the thread copies the log and has the commits start it over: cut back to
    // 16 MiB (journal_size_limit) at most.
    for (let round = 0; round < 200 && store.walBytes() > 16 * 1024 * 1024; round++) {
      written += await commitRound();
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(store.walBytes()).toBeLessThanOrEqual(16 * 1024 * 1024);
    expect(await store.countByStatus('successful')).toBe(written + 500);
  }, 60_000);
});
