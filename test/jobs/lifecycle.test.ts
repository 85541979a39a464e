import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OwsError } from '../../src/core/errors.ts';
import type { Job } from '../../src/core/job.ts';
import {
  finished,
  lit,
  startTestGateway,
  submit,
  until,
  type TestGateway,
  type TestGatewayOptions,
} from '../helpers/gateway.ts';
import { GATEWAY_STORES, type GatewayStoreKind } from '../helpers/stores.ts';

let t: TestGateway | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function rejection(promise: Promise<unknown>): Promise<OwsError> {
  try {
    await promise;
  } catch (e) {
    expect(e).toBeInstanceOf(OwsError);
    return e as OwsError;
  }
  throw new Error('resolved');
}

describe.each(GATEWAY_STORES)(
  'job lifecycle through the worker pool ($name store)',
  (kind: GatewayStoreKind) => {
    beforeAll(() => kind.setUp(), 60_000);
    afterAll(() => kind.tearDown());
    /** A gateway on a new, empty store of this kind. */
    const start = async (options: TestGatewayOptions = {}) =>
      startTestGateway({ ...options, manager: { ...(await kind.manager()), ...options.manager } });

    it('runs a job to success, with progress flowing from the worker to the store', async () => {
      t = await start();
      const updates: Job[] = [];
      t.gateway.jobs.onUpdate((j) => updates.push(j));
      const accepted = await submit(t.gateway, 'sleep', { seconds: [lit('1')] });
      expect(accepted.status).toBe('accepted');
      expect(await t.gateway.jobs.find(accepted.id)).toMatchObject({ id: accepted.id }); // stored before it is announced
      const done = await finished(t.gateway, accepted.id);
      expect(done.status).toBe('successful');
      expect(done.progress).toBe(100);
      expect(done.results).toEqual({ slept: { kind: 'literal', value: 1, uom: 's' } });
      expect(done.started!.getTime()).toBeGreaterThanOrEqual(done.created.getTime());
      expect(done.finished!.getTime() - done.started!.getTime()).toBeGreaterThanOrEqual(950);

      const mine = updates.filter((u) => u.id === accepted.id);
      expect(mine.map((u) => u.status).filter((s, i, a) => a[i - 1] !== s)).toEqual([
        'accepted',
        'running',
        'successful',
      ]);
      const running = mine.filter((u) => u.status === 'running' && u.progress > 0 && u.progress < 100);
      expect(running.length).toBeGreaterThanOrEqual(3); // at least every 10 % / 0.25 s over 1 s
      const progress = running.map((u) => u.progress);
      expect(progress).toEqual([...progress].sort((a, b) => a - b));
      expect(running.at(-1)!.message).toMatch(/slept .* of 1 s/);
      expect((await t.gateway.jobs.get(accepted.id)).status).toBe('successful');
    });

    it('a processor that throws fails its job with that message', async () => {
      t = await start();
      const job = await finished(t.gateway, (await submit(t.gateway, 'fail', { how: [lit('error')] })).id);
      expect(job.status).toBe('failed');
      expect(job.message).toBe('boom: the processor broke');
      expect(job.error).toEqual({ code: 'NoApplicableCode', message: 'boom: the processor broke' });
      expect(job.results).toBeUndefined();
    });

    it('an OwsError thrown by a processor keeps its code and locator', async () => {
      t = await start();
      const job = await finished(t.gateway, (await submit(t.gateway, 'fail', { how: [lit('ows')] })).id);
      expect(job.error).toEqual({
        code: 'InvalidParameterValue',
        message: 'the data has no features',
        locator: 'data',
      });
    });

    it('a job over its time limit fails with a clear message and frees its slot', async () => {
      t = await start({ manager: { job_timeout_seconds: 0.5, parallel_processes: 1 } });
      const slow = await submit(t.gateway, 'sleep', { seconds: [lit('20')] });
      const next = await submit(t.gateway, 'hello-world', { name: [lit('next')] });
      const failed = await finished(t.gateway, slow.id);
      expect(failed.status).toBe('failed');
      expect(failed.message).toBe('The job exceeded its time limit of 0.5 s');
      expect(failed.error?.reason).toBe('job-timeout');
      expect(failed.finished!.getTime() - failed.started!.getTime()).toBeLessThan(3000);
      expect((await finished(t.gateway, next.id)).status).toBe('successful');
    });

    it('dismissing a running job aborts it, keeps it dismissed and frees its slot at once', async () => {
      t = await start({ manager: { parallel_processes: 1 } });
      const long = await submit(t.gateway, 'sleep', { seconds: [lit('30')] });
      const queued = await submit(t.gateway, 'hello-world', { name: [lit('after')] });
      await until(t.gateway, long.id, (j) => j.status === 'running' && j.progress > 0);
      const t0 = Date.now();
      const dismissed = await t.gateway.jobs.dismiss(long.id);
      expect(dismissed.status).toBe('dismissed');
      const after = await finished(t.gateway, queued.id);
      expect(after.status).toBe('successful');
      expect(Date.now() - t0).toBeLessThan(2000);
      expect(t.gateway.jobs.running).toBe(0);
      const final = await t.gateway.jobs.get(long.id);
      expect(final.status).toBe('dismissed');
      expect(final.message).toBe('Dismissed by the client');
    });

    it('a dismissed job that was still waiting never runs', async () => {
      t = await start({ manager: { parallel_processes: 1 } });
      const first = await submit(t.gateway, 'sleep', { seconds: [lit('0.5')] });
      const waiting = await submit(t.gateway, 'sleep', { seconds: [lit('0.1')] });
      expect((await t.gateway.jobs.dismiss(waiting.id)).status).toBe('dismissed');
      await finished(t.gateway, first.id);
      await new Promise((r) => setTimeout(r, 200));
      const job = await t.gateway.jobs.get(waiting.id);
      expect(job.status).toBe('dismissed');
      expect(job.started).toBeUndefined();
    });

    it('dismissing a finished job removes it and its files', async () => {
      t = await start();
      const job = await finished(
        t.gateway,
        (await submit(t.gateway, 'echo', { stringInput: [lit('x')], arrayInput: [lit('a')] })).id,
      );
      expect(existsSync(t.gateway.files.outputDir(job.id))).toBe(true);
      expect((await t.gateway.jobs.dismiss(job.id)).status).toBe('dismissed');
      expect(await t.gateway.jobs.find(job.id)).toBeUndefined();
      expect(existsSync(t.gateway.files.outputDir(job.id))).toBe(false);
      const e = await rejection(t.gateway.jobs.get(job.id));
      expect(e.reason).toBe('no-such-job');
    });

    it('a processor that ignores its abort signal is stopped by terminating its thread after the grace period', async () => {
      t = await start({ manager: { parallel_processes: 1, cancel_grace_seconds: 0.3 } });
      const stubborn = await submit(t.gateway, 'stubborn', { seconds: [lit('30')] });
      await until(t.gateway, stubborn.id, (j) => j.status === 'running' && j.progress > 0);
      await t.gateway.jobs.dismiss(stubborn.id);
      const next = await submit(t.gateway, 'hello-world', { name: [lit('pool')] });
      const done = await finished(t.gateway, next.id, 5000);
      expect(done.results).toEqual({ echo: { kind: 'literal', value: 'Hello pool!' } });
      expect((await t.gateway.jobs.get(stubborn.id)).status).toBe('dismissed');
    });

    it('a full queue answers ServerBusy at once; capacity comes back when jobs end', async () => {
      t = await start({ manager: { parallel_processes: 1, max_queued_jobs: 1 } });
      const running = await submit(t.gateway, 'sleep', { seconds: [lit('10')] });
      // Claimed before the next is submitted: until then it waits, and the queue (1) is full.
      await until(t.gateway, running.id, (j) => j.status === 'running');
      const waiting = await submit(t.gateway, 'sleep', { seconds: [lit('0.1')] });
      const t0 = Date.now();
      const busy = await rejection(submit(t.gateway, 'hello-world', { name: [lit('x')] }));
      expect(busy.code).toBe('ServerBusy');
      // (A shared store bounds the queue of the whole cluster, and says so.)
      expect(busy.message).toMatch(/busy: 1 jobs running and 1 waiting( in the cluster)? \(at most 1\)/);
      expect(Date.now() - t0).toBeLessThan(500);
      await t.gateway.jobs.dismiss(running.id);
      await finished(t.gateway, waiting.id);
      expect(
        (await finished(t.gateway, (await submit(t.gateway, 'hello-world', { name: [lit('y')] })).id)).status,
      ).toBe('successful');
    });

    it('never runs more jobs at once than parallelprocesses', async () => {
      t = await start({ manager: { parallel_processes: 2, max_queued_jobs: 10 } });
      let peak = 0;
      t.gateway.jobs.onUpdate(() => (peak = Math.max(peak, t!.gateway.jobs.running)));
      const jobs = await Promise.all(
        Array.from({ length: 6 }, () => submit(t!.gateway, 'sleep', { seconds: [lit('0.2')] })),
      );
      for (const job of jobs) expect((await finished(t.gateway, job.id)).status).toBe('successful');
      expect(peak).toBe(2);
    });

    it.each(['exit', 'uncaught'])(
      'a worker thread that dies (%s) fails only its job; the pool keeps serving',
      async (how) => {
        t = await start({ manager: { parallel_processes: 2 } });
        const bystander = await submit(t.gateway, 'sleep', { seconds: [lit('1')] });
        await until(t.gateway, bystander.id, (j) => j.status === 'running');
        const crash = await submit(t.gateway, 'crash', { how: [lit(how)] });
        const crashed = await finished(t.gateway, crash.id);
        expect(crashed.status).toBe('failed');
        expect(crashed.message).toMatch(/worker thread running this job stopped unexpectedly/);
        expect((await finished(t.gateway, bystander.id)).status).toBe('successful');
        const after = await finished(
          t.gateway,
          (await submit(t.gateway, 'hello-world', { name: [lit('again')] })).id,
        );
        expect(after.status).toBe('successful');
      },
    );

    it('synchronous execution waits for the result', async () => {
      t = await start();
      const job = await t.gateway.jobs.execute({
        processId: 'hello-world',
        inputs: { name: [lit('Sync')], message: [lit('Hi.')] },
        mode: 'sync',
      });
      expect(job.status).toBe('successful');
      expect(job.results).toEqual({ echo: { kind: 'literal', value: 'Hello Sync! Hi.' } });
    });

    it('a synchronous job past the sync limit is cancelled and reported, not left running', async () => {
      t = await start({ manager: { sync_job_execution_timeout_seconds: 0.3 } });
      const e = await rejection(
        t.gateway.jobs.execute({ processId: 'sleep', inputs: { seconds: [lit('10')] }, mode: 'sync' }),
      );
      expect(e.reason).toBe('sync-timeout');
      expect(e.message).toMatch(/synchronous execution limit of 0.3 s/);
      const { jobs } = await t.gateway.jobs.list({ processIds: ['sleep'] });
      const job = await finished(t.gateway, jobs[0]!.id, 3000);
      expect(job.status).toBe('failed');
      expect(job.error?.reason).toBe('sync-timeout');
    });

    it('invalid requests are refused before a job exists', async () => {
      t = await start();
      expect((await rejection(submit(t.gateway, 'nope', {}))).reason).toBe('no-such-process');
      const missing = await rejection(submit(t.gateway, 'sleep', {}));
      expect([missing.code, missing.locator]).toEqual(['MissingParameterValue', 'seconds']);
      const range = await rejection(submit(t.gateway, 'sleep', { seconds: [lit('61')] }));
      expect([range.code, range.locator]).toEqual(['InvalidParameterValue', 'seconds']);
      expect((await t.gateway.jobs.list({})).total).toBe(0);
    });

    it('binary and large inputs travel as files; complex outputs are stored under the output path', async () => {
      t = await start();
      const bytes = new Uint8Array(200_000).map((_, i) => (i * 7) % 256);
      const json = JSON.stringify({ list: Array.from({ length: 20_000 }, (_, i) => i) });
      const accepted = await submit(t.gateway, 'echo', {
        stringInput: [lit('s')],
        binaryInput: [
          { type: 'complex', data: bytes, mimeType: 'application/octet-stream', encoding: 'base64' },
        ],
        complexInput: [{ type: 'complex', data: json, mimeType: 'application/json' }],
        bboxInput: [{ type: 'bbox', lowerCorner: '1 2', upperCorner: '3 4', crs: 'EPSG:3857' }],
      });
      const stored = await t.gateway.jobs.get(accepted.id);
      const binaryIn = stored.request.inputs.binaryInput![0]!;
      expect(binaryIn).toMatchObject({
        kind: 'complex',
        file: expect.stringContaining(path.join('work', accepted.id)),
      });
      expect(stored.request.inputs.complexInput![0]).toMatchObject({ file: expect.any(String) });

      const job = await finished(t.gateway, accepted.id);
      expect(job.status).toBe('successful');
      expect(job.results).toMatchObject({
        stringInput: { kind: 'literal', value: 's' },
        binaryOutput: {
          kind: 'complex',
          file: 'binaryOutput.bin',
          size: 200_000,
          format: { mimeType: 'application/octet-stream' },
        },
        complexOutput: {
          kind: 'complex',
          file: 'complexOutput.json',
          format: { mimeType: 'application/json' },
        },
        bboxOutput: {
          kind: 'bbox',
          lowerCorner: [1, 2],
          upperCorner: [3, 4],
          crs: 'EPSG:3857',
          dimensions: 2,
        },
      });
      const outDir = t.gateway.files.outputDir(job.id);
      expect(new Uint8Array(readFileSync(path.join(outDir, 'binaryOutput.bin')))).toEqual(bytes);
      expect(readFileSync(path.join(outDir, 'complexOutput.json'), 'utf8')).toBe(json);
      expect(readdirSync(outDir).sort()).toEqual(['binaryOutput.bin', 'complexOutput.json']);
      expect(existsSync(t.gateway.files.workDir(job.id))).toBe(false); // cleantempdir
    });

    it('only the requested outputs are kept, in the requested format', async () => {
      t = await start();
      const job = await t.gateway.jobs.execute({
        processId: 'echo',
        inputs: { stringInput: [lit('s')], arrayInput: [lit('a'), lit('b')] },
        outputs: { arrayOutput: { mimeType: 'application/json' } },
        mode: 'sync',
      });
      expect(Object.keys(job.results!)).toEqual(['arrayOutput']);
      expect(readFileSync(path.join(t.gateway.files.outputDir(job.id), 'arrayOutput.json'), 'utf8')).toBe(
        '["a","b"]',
      );
      expect(job.request.outputsSelected).toBe(true);
    });

    it('the sweep removes finished jobs older than the retention age, with their files', async () => {
      t = await start({ manager: { retention_seconds: 60 } });
      const old = await finished(
        t.gateway,
        (await submit(t.gateway, 'echo', { stringInput: [lit('x')], arrayInput: [lit('a')] })).id,
      );
      const running = await submit(t.gateway, 'sleep', { seconds: [lit('5')] });
      await until(t.gateway, running.id, (j) => j.status === 'running');
      expect(await t.gateway.jobs.sweep(new Date(Date.now() + 30_000))).toBe(0);
      expect(await t.gateway.jobs.sweep(new Date(Date.now() + 61_000))).toBe(1);
      expect(await t.gateway.jobs.find(old.id)).toBeUndefined();
      expect(existsSync(t.gateway.files.outputDir(old.id))).toBe(false);
      expect((await t.gateway.jobs.get(running.id)).status).toBe('running');
      await t.gateway.jobs.dismiss(running.id);
    });
  },
);
