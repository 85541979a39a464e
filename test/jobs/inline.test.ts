/**
 * Inline processors (runtime 'inline': the main thread, no hop): a synchronous job is run at once,
 * takes no pool slot, and is recorded ended in the store before its client has the answer, visible
 * through both protocols; a broken one is cut off by the synchronous limit. Asynchronous jobs go
 * through the queue as any other, durable before their answer, even across a crash (SIGKILL).
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, lit, testConfigYaml } from '../helpers/gateway.ts';
import { expectException, get, startWpsServer, type WpsServer } from '../helpers/wps.ts';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const hang = `  inline-hang:\n    type: process\n    processor: {name: ${path.join(FIXTURES, 'processes', 'inline-hang.ts')}}`;
/** Inline processes with policies that work through the queue (a running cap, a result cache) or not (retries). */
const policies = [
  '  inline-capped:',
  '    type: process',
  '    processor: {name: hello-world}',
  '    max_running_jobs: 1',
  '  inline-cached:',
  '    type: process',
  '    processor: {name: hello-world}',
  '    cache: {ttl_seconds: 600}',
  '  inline-flaky:',
  '    type: process',
  `    processor: {name: ${path.join(FIXTURES, 'processes', 'inline-flaky.ts')}}`,
  '    retry: {max_attempts: 2, backoff_seconds: 0.05, jitter: 0}',
].join('\n');

let s: WpsServer;
beforeAll(async () => {
  s = await startWpsServer({
    manager: { parallel_processes: 1, sync_job_execution_timeout_seconds: 0.5 },
    extraResources: [hang, policies],
  });
});
afterAll(() => s.close());

const helloKvp = (name: string) =>
  `${s.wps}?service=WPS&version=1.0.0&request=Execute&identifier=hello-world&DataInputs=name=${name}&RawDataOutput=echo`;

describe('a synchronous job of an inline processor', () => {
  it('is recorded, ended, before the answer, and seen through both protocols', async () => {
    const r = await get(helloKvp('Inline'));
    expect([r.status, r.body]).toEqual([200, 'Hello Inline!']);
    const execute = await fetch(`${s.base}/processes/hello-world/execution`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ inputs: { name: 'Json' } }),
    });
    expect(execute.status).toBe(200);
    const { jobs } = await s.gateway.jobs.list({ processIds: ['hello-world'], limit: 10 });
    expect(jobs.map((j) => [j.status, j.mode, j.results?.echo])).toEqual([
      ['successful', 'sync', { kind: 'literal', value: 'Hello Json!' }],
      ['successful', 'sync', { kind: 'literal', value: 'Hello Inline!' }],
    ]);
    for (const job of jobs) {
      expect(job.started).toEqual(job.created);
      expect(job.finished!.getTime()).toBeGreaterThanOrEqual(job.started!.getTime());
      const status = (await (await fetch(`${s.base}/jobs/${job.id}`)).json()) as { status: string };
      expect(status.status).toBe('successful');
      const wps = await get(`${s.wps}/status/${job.id}.xml`);
      expect(wps.status).toBe(200);
      expect(wps.body).toContain('ProcessSucceeded');
    }
  });

  it('takes no pool slot: it answers while the only slot is busy', async () => {
    const sleeping = await s.gateway.jobs.submit({
      processId: 'sleep',
      inputs: { seconds: [lit('3')] },
      mode: 'async',
    });
    for (let i = 0; i < 50 && (await s.gateway.jobs.get(sleeping.id)).status !== 'running'; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const t0 = Date.now();
    const r = await get(helloKvp('Busy'));
    expect([r.status, r.body]).toEqual([200, 'Hello Busy!']);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect((await s.gateway.jobs.get(sleeping.id)).status).toBe('running');
    await s.gateway.jobs.dismiss(sleeping.id);
  });

  it('that never returns is cut off at the synchronous limit, recorded failed, and the server goes on', async () => {
    const r = await get(`${s.wps}?service=WPS&version=1.0.0&request=Execute&identifier=inline-hang`);
    expectException(r, 500, 'NoApplicableCode');
    expect(r.body).toMatch(/did not finish within the synchronous execution limit of 0.5 s/);
    const { jobs } = await s.gateway.jobs.list({ processIds: ['inline-hang'] });
    expect(jobs.map((j) => [j.status, j.error?.reason])).toEqual([['failed', 'sync-timeout']]);
    expect((await get(helloKvp('After'))).body).toBe('Hello After!');
  });
});

describe('an inline processor with job policies', () => {
  const executeJson = (id: string, inputs: Record<string, unknown>) =>
    fetch(`${s.base}/processes/${id}/execution`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ inputs }),
    });

  it('with a running cap goes through the queue: it waits for a slot (hello-world does not)', async () => {
    const sleeping = await s.gateway.jobs.submit({
      processId: 'sleep',
      inputs: { seconds: [lit('3')] },
      mode: 'async',
    });
    for (let i = 0; i < 50 && (await s.gateway.jobs.get(sleeping.id)).status !== 'running'; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    // The only slot is busy: the capped one waits past the synchronous limit (0.5 s) and is cancelled.
    const capped = await get(
      `${s.wps}?service=WPS&version=1.0.0&request=Execute&identifier=inline-capped&DataInputs=name=Capped&RawDataOutput=echo`,
    );
    expectException(capped, 500, 'NoApplicableCode');
    expect(capped.body).toMatch(/synchronous execution limit/);
    expect((await get(helloKvp('Uncapped'))).body).toBe('Hello Uncapped!');
    await s.gateway.jobs.dismiss(sleeping.id);
    // With the slot free, it runs (claimed under its cap).
    const r = await get(
      `${s.wps}?service=WPS&version=1.0.0&request=Execute&identifier=inline-capped&DataInputs=name=Free&RawDataOutput=echo`,
    );
    expect([r.status, r.body]).toEqual([200, 'Hello Free!']);
  });

  it('with a result cache: the second identical request is a hit', async () => {
    const first = await executeJson('inline-cached', { name: 'Cache' });
    const second = await executeJson('inline-cached', { name: 'Cache' });
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(await second.text()).toBe(await first.text());
    const { jobs } = await s.gateway.jobs.list({ processIds: ['inline-cached'] });
    const [hit, ran] = jobs;
    expect(ran).toMatchObject({ status: 'successful', message: 'Process succeeded' });
    expect(hit!.execution?.cachedFrom).toBe(ran!.id);
    expect(hit!.message).toMatch(/served from the result cache/);
  });

  it('with a retry policy: a transient failure is tried again, the attempts recorded', async () => {
    const r = await executeJson('inline-flaky', { key: randomUUID(), failures: 1, how: 'error' });
    expect(r.status).toBe(200);
    expect(await r.text()).toBe('2');
    const { jobs } = await s.gateway.jobs.list({ processIds: ['inline-flaky'] });
    expect(jobs).toHaveLength(1);
    const attempts = jobs[0]!.execution?.attempts ?? [];
    expect(jobs[0]!.status).toBe('successful');
    expect(attempts.map((a) => [a.number, a.error?.message])).toEqual([
      [1, 'run 1 failed'],
      [2, undefined],
    ]);
  });
});

describe('asynchronous jobs, each durable before its answer', () => {
  it('every job a client was answered for is in the store after a SIGKILL', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gw-durable-'));
    const config = path.join(dir, 'gateway.yml');
    writeFileSync(config, testConfigYaml(dir, { manager: { max_queued_jobs: 1000, parallel_processes: 1 } }));
    const serve = () => {
      const child = spawn(process.execPath, [CLI, 'serve', '--config', config, '--port', '0'], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      const address = new Promise<string>((resolve, reject) => {
        let err = '';
        child.stderr.on('data', (d: Buffer) => {
          err += d.toString();
          const m = /Listening on (http:\/\/\S+)/.exec(err);
          if (m) resolve(m[1]!);
        });
        child.once('exit', (code) => reject(new Error(`server exited (${code}): ${err}`)));
      });
      const exited = new Promise<NodeJS.Signals | null>((resolve) =>
        child.once('exit', (_c, signal) => resolve(signal)),
      );
      return { child, address, exited };
    };
    try {
      const first = serve();
      const base = await first.address;
      const answered: string[] = [];
      let killed = false;
      const submit = async (i: number) => {
        try {
          const r = await fetch(`${base}/processes/hello-world/execution`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', Prefer: 'respond-async' },
            body: JSON.stringify({ inputs: { name: `n${i}` } }),
          });
          if (r.status === 201) answered.push(((await r.json()) as { jobID: string }).jobID);
          // Killed once some jobs were answered and more are in flight.
          if (answered.length >= 40 && !killed) {
            killed = true;
            first.child.kill('SIGKILL');
          }
        } catch {
          // cut off by the kill: no answer, no promise made
        }
      };
      await Promise.all(Array.from({ length: 200 }, (_, i) => submit(i)));
      expect(await first.exited).toBe('SIGKILL');
      expect(answered.length).toBeGreaterThanOrEqual(40);

      const second = serve();
      const again = await second.address;
      try {
        for (const id of answered) {
          const r = await fetch(`${again}/jobs/${id}`);
          expect(r.status, id).toBe(200);
        }
      } finally {
        second.child.kill('SIGTERM');
        await second.exited;
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
