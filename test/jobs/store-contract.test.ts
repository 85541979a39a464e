import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { JOB_STATUSES, type JobStatus } from '../../src/core/job.ts';
import type { JobFilter, JobStore, NewJob } from '../../src/jobs/store.ts';
import { STORE_KINDS, type StoreKind } from '../helpers/stores.ts';

/**
 * The JobStore contract, run against every store: the embedded SQLite one and the shared
 * PostgreSQL one (a real server started for this file, a fresh database per test).
 */

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

describe.each(STORE_KINDS)('$name job store', (kind: StoreKind) => {
  let store: JobStore;
  beforeAll(() => kind.setUp(), 60_000);
  afterAll(() => kind.tearDown());
  beforeEach(async () => {
    store = await kind.open();
  });
  afterEach(() => kind.close());

  describe('the job state machine, as the store enforces it', () => {
    /** Puts a new job directly into `status`, behind the store's back. */
    async function jobIn(status: JobStatus): Promise<string> {
      const job = await store.insert(newJob());
      await kind.force(job.id, status);
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

  describe('storing jobs', () => {
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
      // What the insertion returns is what is read back (a store may build it without reading it).
      expect(inserted).toEqual(read);
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

    it('per-process caps: a capped process is passed over while that many of its jobs run', async () => {
      const a1 = await store.insert(newJob({ processId: 'a' }));
      const a2 = await store.insert(newJob({ processId: 'a' }));
      const b1 = await store.insert(newJob({ processId: 'b' }));
      const caps = { a: 1 };
      const now = new Date();
      expect((await store.claimNext(now, caps))?.id).toBe(a1.id);
      // a2 is older than b1, but 'a' has its one job running.
      expect((await store.claimNext(now, caps))?.id).toBe(b1.id);
      expect(await store.claimNext(now, caps)).toBeUndefined();
      expect(await store.countByStatus('running', 'a')).toBe(1);
      expect(await store.countByStatus('accepted', 'a')).toBe(1);
      await store.transition(a1.id, 'successful', { finished: now });
      expect((await store.claimNext(now, caps))?.id).toBe(a2.id);
    });

    it('keeps attempts (execution) with a job, as patched', async () => {
      const job = await store.insert(newJob());
      await store.claimNext(new Date());
      const execution = { attempts: [{ number: 1, started: new Date(1_700_000_000_000) }] };
      const reported = await store.report(job.id, { execution });
      expect(reported?.execution).toEqual(execution);
      expect((await store.get(job.id))?.execution).toEqual(execution);
    });

    it('result cache: put, get until it expires, delete by expiry and by job', async () => {
      const results = {
        o: { kind: 'complex' as const, format: { mimeType: 'text/plain' }, file: 'o.txt', size: 3 },
      };
      const created = new Date(1_700_000_000_000);
      const entry = (key: string, jobId: string, expires: number) => ({
        key,
        processId: 'p',
        jobId,
        results,
        created,
        expires: new Date(expires),
      });
      await store.cachePut(entry('k1', 'j1', 1_700_000_010_000));
      await store.cachePut(entry('k2', 'j2', 1_700_000_100_000));
      expect(await store.cacheGet('k1', new Date(1_700_000_005_000))).toEqual(
        entry('k1', 'j1', 1_700_000_010_000),
      );
      expect(await store.cacheGet('k1', new Date(1_700_000_010_000))).toBeUndefined();
      expect(await store.cacheGet('nope', created)).toBeUndefined();
      // Replacing an entry keeps one row under the key.
      await store.cachePut(entry('k2', 'j3', 1_700_000_200_000));
      expect((await store.cacheGet('k2', created))?.jobId).toBe('j3');
      expect(await store.cacheDelete({ expiredBy: new Date(1_700_000_050_000) })).toBe(1);
      expect(await store.cacheDelete({ jobIds: ['j3'] })).toBe(1);
      expect(await store.cacheGet('k2', created)).toBeUndefined();
    });

    it('result cache: the first running claim of a key leads, later ones wait for it, take its entry or take over when it ended', async () => {
      const results = { n: { kind: 'literal' as const, value: 1 } };
      const now = new Date(1_700_000_000_000);
      const [a, b, c] = [
        await store.insert(newJob()),
        await store.insert(newJob()),
        await store.insert(newJob()),
      ];
      const claim = (jobId: string, takeHit = true, key = 'k') =>
        store.cacheClaim(key, { processId: 'p', jobId, now, takeHit });
      // A job back in the queue (its node died) holds no key: a running one takes it over.
      expect(await claim(a.id)).toEqual({ leader: true });
      expect(await claim(b.id)).toEqual({ leader: true });
      for (let i = 0; i < 3; i++) await store.claimNext(new Date());
      expect(await claim(a.id)).toEqual({ waitFor: b.id });
      expect(await claim(c.id)).toEqual({ waitFor: b.id });
      // A job run again gets its own mark back.
      expect(await claim(b.id)).toEqual({ leader: true });
      // The leader fills the entry (and gives up its mark): the waiters take the entry.
      const expires = new Date(now.getTime() + 60_000);
      const entry = { key: 'k', processId: 'p', jobId: b.id, results, created: now, expires };
      await store.cachePut(entry);
      expect(await claim(a.id)).toEqual({ hit: entry });
      // Without taking hits (no-cache), the key is computed again: one job at a time.
      expect(await claim(a.id, false)).toEqual({ leader: true });
      expect(await claim(c.id, false)).toEqual({ waitFor: a.id });
      // A leader that gives up (failed, dismissed) lets the next one lead.
      await store.cacheRelease('k', a.id);
      expect(await claim(c.id, false)).toEqual({ leader: true });
      // A leader that ended without giving up its mark (its node died) is taken over; so is one that is gone.
      expect(await claim(a.id, true, 'k2')).toEqual({ leader: true });
      expect(await claim(b.id, true, 'k2')).toEqual({ waitFor: a.id });
      await store.transition(a.id, 'failed', { finished: new Date() });
      expect(await claim(b.id, true, 'k2')).toEqual({ leader: true });
      await store.transition(b.id, 'successful', { finished: new Date() });
      await store.delete(b.id);
      expect(await claim(c.id, true, 'k2')).toEqual({ leader: true });
      // Marks go with their jobs.
      await store.cacheDelete({ jobIds: [c.id] });
      expect(await claim(a.id, true, 'k2')).toEqual({ leader: true });
    });

    it('result cache: of many concurrent claims of a key, exactly one leads', async () => {
      const jobs = await Promise.all(Array.from({ length: 12 }, () => store.insert(newJob())));
      for (let i = 0; i < jobs.length; i++) await store.claimNext(new Date());
      const claims = await Promise.all(
        jobs.map((j) =>
          store.cacheClaim('c', { processId: 'p', jobId: j.id, now: new Date(), takeHit: true }),
        ),
      );
      const leaders = claims.filter((c) => 'leader' in c);
      expect(leaders).toHaveLength(1);
      const leader = jobs[claims.indexOf(leaders[0]!)]!.id;
      for (const c of claims) if (!('leader' in c)) expect(c).toEqual({ waitFor: leader });
    });

    it('a cache hit is inserted successful at once, never seen queued', async () => {
      const results = {
        o: { kind: 'complex' as const, format: { mimeType: 'text/plain' }, file: 'o.txt', size: 3 },
      };
      const job = newJob();
      const t = job.created;
      const stored = await store.insertEnded(job, 'successful', {
        started: t,
        finished: t,
        results,
        message: 'served from the cache',
      });
      expect(stored).toMatchObject({ id: job.id, status: 'successful', progress: 100, results });
      expect(stored).toEqual(await store.get(job.id));
      expect(await store.claimNext(new Date())).toBeUndefined();
      expect(await store.countByStatus('successful')).toBe(1);
    });

    it('a job stored ended (inline) keeps its times, error and attempts, and is never claimed', async () => {
      const job = newJob({ mode: 'sync' });
      const error = { code: 'NoApplicableCode' as const, message: 'broke', reason: 'sync-timeout' as const };
      const finished = new Date(job.created.getTime() + 5);
      const execution = { attempts: [{ number: 1, started: job.created, finished, error }] };
      const stored = await store.insertEnded(job, 'failed', {
        started: job.created,
        finished,
        message: 'broke',
        error,
        execution,
      });
      expect(stored).toMatchObject({ status: 'failed', progress: 0, error, execution, finished });
      expect(await store.get(job.id)).toMatchObject({ status: 'failed', started: job.created, finished });
      expect(stored).toEqual(await store.get(job.id));
      expect(await store.claimNext(new Date())).toBeUndefined();
      expect(await store.countByStatus('running')).toBe(0);
    });

    it('admission: the global bound and the process bound are checked with the insertion', async () => {
      // Accepted plus running at most 3: one running, two waiting.
      await store.insert(newJob(), { maxActive: 3 });
      await store.claimNext(new Date());
      await store.insert(newJob({ processId: 'q' }), { maxActive: 3 });
      await store.insert(newJob({ processId: 'q' }), { maxActive: 3 });
      const refused = newJob();
      await expect(store.insert(refused, { maxActive: 3 })).rejects.toMatchObject({
        name: 'QueueFullError',
        running: 1,
        waiting: 2,
      });
      expect(await store.get(refused.id)).toBeUndefined();
      // A job stored ended is admitted the same way (refused while the queue is full)…
      const ended = newJob({ mode: 'sync' });
      const patch = { started: ended.created, finished: ended.created, results: {} };
      await expect(store.insertEnded(ended, 'successful', patch, { maxActive: 3 })).rejects.toMatchObject({
        name: 'QueueFullError',
      });
      expect(await store.get(ended.id)).toBeUndefined();
      // …but takes no place: with room for one, any number of them go in, and the room stays.
      for (let i = 0; i < 3; i++) {
        const again = newJob({ mode: 'sync' });
        await store.insertEnded(again, 'successful', patch, { maxActive: 4 });
      }
      await expect(store.insert(newJob(), { maxActive: 4 })).resolves.toMatchObject({ status: 'accepted' });
      // The process bound: q has two waiting, at most two.
      const processBound = { maxQueued: 2 };
      await expect(store.insert(newJob({ processId: 'q', processBound }))).rejects.toMatchObject({
        code: 'ServerBusy',
      });
      await expect(
        store.insertEnded(newJob({ processId: 'q', processBound, mode: 'sync' }), 'successful', patch),
      ).rejects.toMatchObject({ code: 'ServerBusy' });
      await expect(store.insert(newJob({ processId: 'r', processBound }))).resolves.toMatchObject({
        status: 'accepted',
      });
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

    it('at start-up: fails the jobs left running (one instance) or leaves them to lease recovery (shared)', async () => {
      const running = await store.insert(newJob());
      await store.claimNext(new Date());
      const waiting = await store.insert(newJob());
      const error = { code: 'NoApplicableCode' as const, message: 'interrupted' };
      if (kind.shared) {
        // Other nodes' jobs are not this node's to fail: their leases say when they are lost.
        expect(await store.failRunning(error, new Date())).toEqual([]);
        expect((await store.get(running.id))?.status).toBe('running');
        await store.transition(running.id, 'failed', { message: 'interrupted', error, finished: new Date() });
      } else {
        expect(await store.failRunning(error, new Date())).toEqual([running.id]);
      }
      expect(await store.get(running.id)).toMatchObject({ status: 'failed', message: 'interrupted', error });
      expect((await store.get(waiting.id))?.status).toBe('accepted');
      expect(await store.countByStatus('accepted')).toBe(1);
      const later = new Date(Date.now() + 1000);
      const rule = { finishedBefore: later, syncFinishedBefore: later, maxJobs: 100 };
      expect(await store.deleteExpired(rule, 10)).toEqual([running.id]);
      expect(await store.get(waiting.id)).toBeDefined();
      expect(await store.delete(waiting.id)).toBe(true);
      expect(await store.delete(waiting.id)).toBe(false);
    });

    it('expires finished jobs by age (synchronous ones sooner) and by count, oldest first, in batches', async () => {
      const t0 = Date.now();
      const ended = async (mode: 'sync' | 'async', finishedAt: number) => {
        const job = await store.insert(newJob({ mode }));
        await store.transition(job.id, 'failed', { finished: new Date(finishedAt) });
        return job.id;
      };
      const oldAsync = await ended('async', t0 - 10_000);
      const oldSync = await ended('sync', t0 - 10_000);
      const recentSync = await ended('sync', t0 - 1_000);
      const recentAsync = await ended('async', t0 - 1_000);
      const waiting = (await store.insert(newJob())).id;
      const expired = (ids: string[]) => [...ids].sort();
      // Age: async jobs after 5 s, sync ones after 2 s; the cap is not reached.
      const byAge = {
        finishedBefore: new Date(t0 - 5000),
        syncFinishedBefore: new Date(t0 - 2000),
        maxJobs: 10,
      };
      expect(expired(await store.deleteExpired(byAge, 10))).toEqual(expired([oldAsync, oldSync]));
      // Count: 3 jobs left, cap 1: the two oldest finished ones go, never the waiting one.
      const byCount = { finishedBefore: new Date(0), syncFinishedBefore: new Date(0), maxJobs: 1 };
      expect(await store.deleteExpired(byCount, 1)).toEqual([recentSync]);
      expect(await store.deleteExpired(byCount, 10)).toEqual([recentAsync]);
      expect(await store.deleteExpired(byCount, 10)).toEqual([]);
      expect([...(await store.existing([waiting, oldAsync, recentAsync]))]).toEqual([waiting]);
    });
  });

  describe('the job-list filters (OGC API - Processes job-list class)', () => {
    const T = Date.parse('2024-05-01T12:00:00Z');
    const at = (seconds: number) => new Date(T + seconds * 1000);
    const NOW = at(100);

    /** Puts a job in a status with the given start and end (seconds after T), behind the store's back. */
    async function place(
      name: string,
      status: JobStatus,
      times: { created: number; started?: number; finished?: number },
      processId = 'p',
    ): Promise<[string, string]> {
      const job = await store.insert(newJob({ processId, created: at(times.created) }));
      await kind.force(job.id, status, {
        ...(times.started === undefined ? {} : { started: at(times.started) }),
        ...(times.finished === undefined ? {} : { finished: at(times.finished) }),
      });
      return [job.id, name];
    }

    let names: Map<string, string>;
    beforeEach(async () => {
      names = new Map([
        await place('waiting', 'accepted', { created: 90 }, 'q'),
        await place('running5', 'running', { created: 80, started: 95 }),
        await place('running30', 'running', { created: 60, started: 70 }, 'q'),
        await place('ok2', 'successful', { created: 10, started: 20, finished: 22 }, 'r'),
        await place('failed20', 'failed', { created: 20, started: 21, finished: 41 }),
        await place('dismissedWaiting', 'dismissed', { created: 30, finished: 35 }),
        await place('dismissed10', 'dismissed', { created: 40, started: 40, finished: 50 }),
      ]);
    });
    /** The names of the jobs a filter lists, newest first. */
    const listed = async (filter: JobFilter, now = NOW) => {
      const { jobs, total } = await store.list({ limit: 100, ...filter }, now);
      expect(total).toBe(jobs.length);
      return jobs.map((j) => names.get(j.id));
    };
    const ALL = ['waiting', 'running5', 'running30', 'dismissed10', 'dismissedWaiting', 'failed20', 'ok2'];

    it('type: every job is a process job, and no job is of another type', async () => {
      expect(await listed({ types: ['process'] })).toEqual(ALL);
      expect(await listed({ types: ['other', 'process'] })).toEqual(ALL);
      expect(await listed({ types: ['other'] })).toEqual([]);
      expect(await store.list({ types: ['other'] })).toEqual({ jobs: [], total: 0 });
    });

    it('processID and status: any of the values given', async () => {
      expect(await listed({ processIds: ['q'] })).toEqual(['waiting', 'running30']);
      expect(await listed({ processIds: ['q', 'r'] })).toEqual(['waiting', 'running30', 'ok2']);
      expect(await listed({ processIds: ['nothing'] })).toEqual([]);
      expect(await listed({ statuses: ['running', 'failed'] })).toEqual([
        'running5',
        'running30',
        'failed20',
      ]);
      expect(await listed({ statuses: ['dismissed'], processIds: ['p'] })).toEqual([
        'dismissed10',
        'dismissedWaiting',
      ]);
    });

    it('datetime on created: an instant, a closed interval (ends included) and open ones', async () => {
      expect(await listed({ createdFrom: at(60), createdTo: at(60) })).toEqual(['running30']);
      expect(await listed({ createdFrom: at(60.001), createdTo: at(60.001) })).toEqual([]);
      expect(await listed({ createdFrom: at(20), createdTo: at(40) })).toEqual([
        'dismissed10',
        'dismissedWaiting',
        'failed20',
      ]);
      expect(await listed({ createdFrom: at(80) })).toEqual(['waiting', 'running5']);
      expect(await listed({ createdTo: at(20) })).toEqual(['failed20', 'ok2']);
    });

    it('durations: now − started while running, finished − started once finished, never-started jobs left out', async () => {
      // running5: 5 s, running30: 30 s (at NOW); ok2: 2 s, failed20: 20 s, dismissed10: 10 s.
      expect(await listed({ minDurationMs: 0 })).toEqual([
        'running5',
        'running30',
        'dismissed10',
        'failed20',
        'ok2',
      ]);
      expect(await listed({ minDurationMs: 10_000 })).toEqual(['running30', 'dismissed10', 'failed20']);
      expect(await listed({ maxDurationMs: 5_000 })).toEqual(['running5', 'ok2']);
      expect(await listed({ minDurationMs: 3_000, maxDurationMs: 10_000 })).toEqual([
        'running5',
        'dismissed10',
      ]);
      // Bounds are inclusive.
      expect(await listed({ minDurationMs: 20_000, maxDurationMs: 20_000 })).toEqual(['failed20']);
    });

    it('the duration of a running job is measured at the `now` given', async () => {
      expect(await listed({ minDurationMs: 10_000, statuses: ['running'] })).toEqual(['running30']);
      expect(await listed({ minDurationMs: 10_000, statuses: ['running'] }, at(105))).toEqual([
        'running5',
        'running30',
      ]);
      expect(await listed({ maxDurationMs: 4_000, statuses: ['running'] }, at(99))).toEqual(['running5']);
      expect(await listed({ maxDurationMs: 4_000, statuses: ['running'] }, at(99.5))).toEqual([]);
    });

    it('a status filter narrows the jobs a duration filter considers', async () => {
      expect(await listed({ minDurationMs: 0, statuses: ['successful', 'dismissed'] })).toEqual([
        'dismissed10',
        'ok2',
      ]);
      expect(await listed({ minDurationMs: 0, statuses: ['accepted'] })).toEqual([]);
      expect(await listed({ maxDurationMs: 60_000, statuses: ['accepted', 'failed'] })).toEqual(['failed20']);
    });

    it('all filters together', async () => {
      expect(
        await listed({
          types: ['process'],
          processIds: ['p', 'q'],
          statuses: ['running', 'failed', 'successful'],
          createdFrom: at(15),
          createdTo: at(70),
          minDurationMs: 15_000,
        }),
      ).toEqual(['running30', 'failed20']);
    });

    it('pages with limit and offset, the total counting every match', async () => {
      expect((await store.list({}, NOW)).jobs).toHaveLength(7);
      const page = (limit: number, offset: number) =>
        store
          .list({ limit, offset }, NOW)
          .then(({ jobs, total }) => ({ names: jobs.map((j) => names.get(j.id)), total }));
      expect(await page(3, 0)).toEqual({ names: ALL.slice(0, 3), total: 7 });
      expect(await page(3, 3)).toEqual({ names: ALL.slice(3, 6), total: 7 });
      expect(await page(3, 6)).toEqual({ names: ALL.slice(6), total: 7 });
      expect(await page(3, 9)).toEqual({ names: [], total: 7 });
      const filtered = await store.list({ statuses: ['running', 'dismissed'], limit: 2, offset: 1 }, NOW);
      expect(filtered.total).toBe(4);
      expect(filtered.jobs.map((j) => names.get(j.id))).toEqual(['running30', 'dismissed10']);
    });
  });
});
