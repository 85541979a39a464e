import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Job, JobStatus } from '../../src/core/job.ts';
import { OwsError } from '../../src/core/errors.ts';
import { createGateway } from '../../src/gateway.ts';
import { ResilientStore } from '../../src/jobs/resilient-store.ts';
import { SqliteJobStore, sqliteFault } from '../../src/jobs/sqlite-store.ts';
import type { JobPatch } from '../../src/jobs/store.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { setTimeout as delay } from 'node:timers/promises';
import { finished, lit, testConfig } from '../helpers/gateway.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'gw-resilient-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sqliteError = (code: string) => Object.assign(new Error(`${code} from the test`), { code });

describe('the resilient store', () => {
  const newJob = () => ({
    id: '00000000-0000-4000-8000-000000000001',
    processId: 'p',
    mode: 'async' as const,
    created: new Date(),
    request: { processId: 'p', inputs: {}, outputs: {}, outputsSelected: false },
  });

  it('retries a busy store, then gives up with ServerBusy; a full disk is NotEnoughStorage', async () => {
    let busyFor = 3;
    class Flaky extends SqliteJobStore {
      override async insert(job: ReturnType<typeof newJob>): Promise<Job> {
        if (busyFor-- > 0) throw sqliteError('SQLITE_BUSY');
        return super.insert(job);
      }
      override async countByStatus(): Promise<number> {
        throw sqliteError('SQLITE_FULL');
      }
    }
    const flaky = new Flaky(':memory:');
    const store = new ResilientStore(flaky, { fault: sqliteFault, retryForMs: 300 });
    expect((await store.insert(newJob())).status).toBe('accepted'); // after three busy answers
    expect(store.health()).toEqual({ ok: true });
    // A refusal by the store's rules (here a process's queue bound) is passed on; the store is fine.
    const refused = await store
      .insert({
        ...newJob(),
        id: '00000000-0000-4000-8000-000000000003',
        processBound: { maxQueued: 1 },
      })
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({
      code: 'ServerBusy',
      message: expect.stringMatching(/Process 'p' is busy/),
    });
    expect(store.health()).toEqual({ ok: true });

    busyFor = Infinity;
    const t0 = Date.now();
    const busy = await store
      .insert({ ...newJob(), id: '00000000-0000-4000-8000-000000000002' })
      .catch((e: unknown) => e);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    expect(busy).toBeInstanceOf(OwsError);
    expect(busy).toMatchObject({ code: 'ServerBusy' });
    expect(store.health()).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/locked by another process/),
    });

    await expect(store.countByStatus('accepted')).rejects.toMatchObject({ code: 'NotEnoughStorage' });
    busyFor = 0;
    await store.insert({ ...newJob(), id: '00000000-0000-4000-8000-000000000003' });
    // The write path works again; the failed read is still reported until a read succeeds.
    expect(store.health()).toMatchObject({ ok: false, reason: 'The disk of the job store is full' });
    await store.get(newJob().id);
    expect(store.health()).toEqual({ ok: true });
    await store.close();
  });
});

describe('a job whose end the store refuses for a while', () => {
  it('keeps running the server, reports it on health, and records the end once the store takes it', async () => {
    /** A store that refuses the first two attempts to record a job's success, and every progress report. */
    class Refusing extends SqliteJobStore {
      refusals = 2;
      override async transition(id: string, to: JobStatus, patch?: JobPatch): Promise<Job | undefined> {
        if (to === 'successful' && this.refusals-- > 0) throw sqliteError('SQLITE_IOERR');
        return super.transition(id, to, patch);
      }
      override async report(): Promise<Job | undefined> {
        throw sqliteError('SQLITE_IOERR');
      }
    }
    const config = testConfig(path.join(dir, 'ends'));
    const store = new Refusing(config.jobs.store.path);
    const gateway = await createGateway(config, silentLogger(), { store });
    try {
      const job = await gateway.jobs.submit({
        processId: 'sleep',
        inputs: { seconds: [lit(0.3)] },
        mode: 'async',
      });
      const problems = async () => {
        const unrecorded = () =>
          gateway.jobs.health().problems.some((p) => p.includes('could not be recorded'));
        for (let i = 0; i < 100 && !unrecorded(); i++) await delay(20);
        return gateway.jobs.health().problems;
      };
      expect(await problems()).toEqual([
        expect.stringMatching(/^job store: The job store failed: SQLITE_IOERR from the test \(since /),
        '1 finished jobs could not be recorded yet; retrying',
      ]);
      expect((await gateway.jobs.get(job.id)).status).toBe('running');
      const ended = await finished(gateway, job.id, 10_000);
      expect(ended).toMatchObject({ status: 'successful', progress: 100 });
      expect(gateway.jobs.health().problems).toEqual([]);
      expect(gateway.jobs.running).toBe(0);
    } finally {
      await gateway.close();
    }
  });
});
