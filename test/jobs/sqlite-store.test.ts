import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JOB_STATUSES, type JobStatus } from '../../src/core/job.ts';
import { decode, encode } from '../../src/jobs/codec.ts';
import { SqliteJobStore } from '../../src/jobs/sqlite-store.ts';
import type { NewJob } from '../../src/jobs/store.ts';

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

/** The job life cycle as DESIGN.md states it, written out here independently of src/core/job.ts. */
const ALLOWED = new Set([
  'accepted>running',
  'accepted>failed',
  'accepted>dismissed',
  'running>successful',
  'running>failed',
  'running>dismissed',
]);

describe('the job state machine, as the store enforces it', () => {
  /** Puts a new job directly into `status`, behind the store's back. */
  async function jobIn(status: JobStatus): Promise<string> {
    const job = await store.insert(newJob());
    const db = new Database(path.join(dir, 'jobs.sqlite'));
    db.prepare('UPDATE jobs SET status = ? WHERE id = ?').run(status, job.id);
    db.close();
    return job.id;
  }

  for (const from of JOB_STATUSES) {
    for (const to of JOB_STATUSES) {
      const allowed = ALLOWED.has(`${from}>${to}`);
      it(`${from} → ${to} is ${allowed ? 'allowed' : 'refused'}`, async () => {
        const id = await jobIn(from);
        const moved = await store.transition(id, to, { message: 'moved' });
        expect(moved?.status, `${from} → ${to}`).toBe(allowed ? to : undefined);
        expect((await store.get(id))?.status).toBe(allowed ? to : from);
      });
    }
  }

  it('progress is recorded only while a job runs', async () => {
    for (const status of JOB_STATUSES) {
      const id = await jobIn(status);
      const reported = await store.report(id, { progress: 40, message: 'half' });
      expect(reported?.progress, status).toBe(status === 'running' ? 40 : undefined);
    }
    expect(await store.report('missing', { progress: 5 })).toBeUndefined();
  });
});

describe('SQLite job store', () => {
  it('stores a job as accepted and reads it back with its request', async () => {
    const when = new Date('2024-01-02T03:04:05.678Z');
    const job = newJob({
      request: {
        processId: 'p',
        inputs: { d: [{ kind: 'literal', value: when }], n: [{ kind: 'literal', value: 1.5, uom: 'm' }] },
        outputs: { o: { format: { mimeType: 'application/json' } } },
        outputsSelected: true,
        binding: { protocol: 'wps', lineage: true },
      },
    });
    const inserted = await store.insert(job);
    expect(inserted).toMatchObject({
      id: job.id,
      status: 'accepted',
      progress: 0,
      created: job.created,
      updated: job.created,
    });
    const read = await store.get(job.id);
    expect(read?.request).toEqual(job.request);
    expect(read?.request.inputs.d![0]).toEqual({ kind: 'literal', value: when });
    expect(await store.get('nope')).toBeUndefined();
  });

  it('claims the oldest accepted job first, each once', async () => {
    const a = await store.insert(newJob());
    const b = await store.insert(newJob());
    const now = new Date();
    expect((await store.claimNext(now))?.id).toBe(a.id);
    const second = await store.claimNext(now);
    expect(second).toMatchObject({ id: b.id, status: 'running', started: now });
    expect(await store.claimNext(now)).toBeUndefined();
  });

  it('clamps progress to 0..100 and keeps results and errors', async () => {
    const job = await store.insert(newJob());
    await store.claimNext(new Date());
    expect((await store.report(job.id, { progress: 140.2 }))?.progress).toBe(100);
    expect((await store.report(job.id, { progress: -3 }))?.progress).toBe(0);
    const results = {
      o: { kind: 'complex' as const, format: { mimeType: 'text/plain' }, file: 'o.txt', size: 3 },
    };
    expect((await store.transition(job.id, 'successful', { results }))?.results).toEqual(results);
    const other = await store.insert(newJob());
    const error = { code: 'NoApplicableCode' as const, message: 'x', locator: 'y' };
    expect((await store.transition(other.id, 'failed', { error }))?.error).toEqual(error);
  });

  it('lists newest first, filtered by process, status and creation time, with a total', async () => {
    const a = await store.insert(newJob({ processId: 'x' }));
    const b = await store.insert(newJob({ processId: 'y' }));
    const c = await store.insert(newJob({ processId: 'x' }));
    await store.transition(c.id, 'failed');
    expect((await store.list({})).jobs.map((j) => j.id)).toEqual([c.id, b.id, a.id]);
    expect(await store.list({ processIds: ['x'] })).toMatchObject({
      total: 2,
      jobs: [{ id: c.id }, { id: a.id }],
    });
    expect((await store.list({ statuses: ['accepted'] })).jobs.map((j) => j.id)).toEqual([b.id, a.id]);
    expect((await store.list({ createdFrom: b.created })).total).toBe(2);
    expect((await store.list({ createdTo: b.created })).total).toBe(2);
    expect(await store.list({ limit: 1, offset: 1 })).toMatchObject({ total: 3, jobs: [{ id: b.id }] });
  });

  it('fails the jobs left running, and deletes finished jobs past a cutoff', async () => {
    const running = await store.insert(newJob());
    await store.claimNext(new Date());
    const waiting = await store.insert(newJob());
    const error = { code: 'NoApplicableCode' as const, message: 'interrupted' };
    expect(await store.failRunning(error, new Date())).toEqual([running.id]);
    expect(await store.get(running.id)).toMatchObject({ status: 'failed', message: 'interrupted', error });
    expect((await store.get(waiting.id))?.status).toBe('accepted');
    expect(await store.countByStatus('accepted')).toBe(1);
    expect(await store.deleteFinishedBefore(new Date(Date.now() + 1000))).toEqual([running.id]);
    expect(await store.get(waiting.id)).toBeDefined();
    expect(await store.delete(waiting.id)).toBe(true);
    expect(await store.delete(waiting.id)).toBe(false);
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
