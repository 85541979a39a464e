/**
 * GDAL processors run in supervised child processes, one job per child (issue 15, finding 5): a job
 * stuck in GDAL (here: a thread blocked so that it cannot see its abort, as in a native call) frees
 * its slot within the cancel grace period once dismissed or past its time limit, because its child
 * is killed; a child that crashes fails only its own job; no child outlives the server.
 */
import { DEFAULT_LIMITS } from '../../src/core/limits.ts';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Job } from '../../src/core/job.ts';
import { ChildProcessRunner } from '../../src/jobs/child-runner.ts';
import type { TaskSpec } from '../../src/jobs/task.ts';
import type { RuntimeRunner } from '../../src/jobs/pool.ts';
import { listen } from '../../src/server.ts';
import {
  FIXTURES,
  finished,
  lit,
  startTestGateway,
  submit,
  until,
  type TestGateway,
} from '../helpers/gateway.ts';

const GRACE_S = 0.5;
/** Killing a child, and starting a fresh one for the queued job, on a loaded 2-core machine. */
const MARGIN_MS = 4000;

const GDAL_CRASH = `  gdal-crash:\n    type: process\n    processor: {name: ${path.join(FIXTURES, 'processes', 'gdal-crash.ts')}}`;

const opened: TestGateway[] = [];
afterAll(async () => {
  await Promise.all(opened.map((t) => t.close()));
});

async function start(manager: Record<string, string | number> = {}): Promise<TestGateway> {
  const t = await startTestGateway({
    manager: { cancel_grace_seconds: GRACE_S, ...manager },
    extraResources: [GDAL_CRASH],
  });
  opened.push(t);
  return t;
}

const gdalJob = (t: TestGateway, how: string, wait?: number) =>
  submit(t.gateway, 'gdal-crash', { how: [lit(how)], ...(wait ? { wait: [lit(String(wait))] } : {}) });

/** The pid of the child running a job: the fixture reports it as its first progress message. */
async function childOf(t: TestGateway, job: Job): Promise<number> {
  const running = await until(t.gateway, job.id, (j) => j.status === 'running' && j.progress > 0, 20_000);
  return Number(/^pid (\d+)$/.exec(running.message ?? '')?.[1]);
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function gone(pid: number, withinMs: number): Promise<boolean> {
  const end = Date.now() + withinMs;
  while (Date.now() < end) {
    if (!alive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return !alive(pid);
}

const gdalPids = (t: TestGateway) =>
  ((t.gateway.runner as RuntimeRunner).runner('gdal') as ChildProcessRunner).pids;

describe('GDAL jobs in child processes', () => {
  it('frees the slot of a dismissed job stuck in GDAL within the grace period: a queued job starts', async () => {
    const t = await start({ parallel_processes: 2 });
    const [a, b] = [await gdalJob(t, 'block'), await gdalJob(t, 'block')];
    const [pidA, pidB] = [await childOf(t, a), await childOf(t, b)];
    expect(pidA).not.toBe(pidB);
    expect(pidA).not.toBe(process.pid);
    const queued = await gdalJob(t, 'version');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await t.gateway.jobs.get(queued.id)).status).toBe('accepted');
    const dismissedAt = Date.now();
    await t.gateway.jobs.dismiss(a.id);
    const started = await until(t.gateway, queued.id, (j) => j.status !== 'accepted', 20_000);
    expect(Date.now() - dismissedAt).toBeLessThan(GRACE_S * 1000 + MARGIN_MS);
    expect(started.status).not.toBe('failed');
    expect((await finished(t.gateway, queued.id)).status).toBe('successful');
    expect(await gone(pidA, 2000), 'the stuck child is killed').toBe(true);
    expect(alive(pidB), 'the other stuck job keeps its child').toBe(true);
    expect((await t.gateway.jobs.get(a.id)).status).toBe('dismissed');
    await t.gateway.jobs.dismiss(b.id);
    expect(await gone(pidB, GRACE_S * 1000 + 2000)).toBe(true);
  });

  it('frees the slot of a job stuck in GDAL past its time limit: it fails with the limit, a queued job starts', async () => {
    const t = await start({ parallel_processes: 1, job_timeout_seconds: 2 });
    const stuck = await gdalJob(t, 'block');
    const pid = await childOf(t, stuck);
    const queued = await gdalJob(t, 'version');
    const failed = await finished(t.gateway, stuck.id, 20_000);
    const failedAt = Date.now();
    expect(failed.status).toBe('failed');
    expect(failed.error?.reason).toBe('job-timeout');
    // Started at most 2 s + grace after the stuck job (not the 60 s it blocks for).
    expect(failed.finished!.getTime() - failed.started!.getTime()).toBeLessThan(
      2000 + GRACE_S * 1000 + MARGIN_MS,
    );
    expect((await finished(t.gateway, queued.id, 20_000)).status).toBe('successful');
    expect(Date.now() - failedAt).toBeLessThan(MARGIN_MS);
    expect(alive(pid)).toBe(false);
  });

  for (const how of ['segfault', 'abort', 'exit']) {
    it(`a child that dies (${how}) fails only its own job; a concurrent GDAL job and the next one succeed; /health stays ok`, async () => {
      const t = await start({ parallel_processes: 2 });
      const concurrent = await gdalJob(t, 'version', 2);
      const concurrentPid = await childOf(t, concurrent);
      const dying = await gdalJob(t, how);
      const died = await finished(t.gateway, dying.id, 20_000);
      expect(died.status).toBe('failed');
      expect(died.message).toMatch(
        /^The GDAL process running this job stopped unexpectedly \((signal SIG(SEGV|ABRT)|exit code 5)\)$/,
      );
      const ok = await finished(t.gateway, concurrent.id, 20_000);
      expect(ok.status).toBe('successful');
      expect(alive(concurrentPid), 'the other child lives on, warm').toBe(true);
      const next = await gdalJob(t, 'version');
      expect((await finished(t.gateway, next.id, 20_000)).status).toBe('successful');
      const js = await submit(t.gateway, 'hello-world', { name: [lit('x')] });
      expect((await finished(t.gateway, js.id)).status).toBe('successful');
      const server = await listen(t.gateway, 0);
      try {
        const health = await fetch(`${server.address}/health`);
        expect(health.status).toBe(200);
        expect(await health.json()).toMatchObject({ status: 'ok' });
      } finally {
        await server.close();
      }
    });
  }

  it('reuses a warm child, and starts children without proxy settings and with a small thread pool', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, {
      NO_PROXY: '127.0.0.1',
      no_proxy: '127.0.0.1',
      HTTP_PROXY: 'http://127.0.0.1:9',
      https_proxy: 'http://127.0.0.1:9',
      ALL_PROXY: 'http://127.0.0.1:9',
      GW_TEST_MARKER: 'inherited',
    });
    try {
      const t = await start({ parallel_processes: 1 });
      const env = async () => {
        const job = await finished(t.gateway, (await gdalJob(t, 'env')).id, 20_000);
        expect(job.status).toBe('successful');
        const value = job.results?.version;
        return JSON.parse(value?.kind === 'literal' ? String(value.value) : '{}') as {
          pid: number;
          threadPool: string;
          proxies: string[];
          marker: string;
        };
      };
      const first = await env();
      expect(first).toMatchObject({ threadPool: '2', proxies: [], marker: 'inherited' });
      expect(first.pid).not.toBe(process.pid);
      expect((await env()).pid, 'the second job runs in the same, warm child').toBe(first.pid);
    } finally {
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
    }
  });

  it('leaves no child process after shutdown, even one stuck in GDAL', async () => {
    const t = await start({ parallel_processes: 2, shutdown_grace_seconds: 0.5 });
    const stuck = await gdalJob(t, 'block');
    const stuckPid = await childOf(t, stuck);
    // A second child, idle once its job is done.
    const idle = await finished(t.gateway, (await gdalJob(t, 'version')).id, 20_000);
    expect(idle.status).toBe('successful');
    const pids = gdalPids(t);
    expect(pids).toContain(stuckPid);
    expect(pids).toHaveLength(2);
    const closing = Date.now();
    await t.close();
    expect(Date.now() - closing).toBeLessThan(500 + GRACE_S * 1000 + MARGIN_MS);
    for (const pid of pids) expect(alive(pid), `child ${pid} after shutdown`).toBe(false);
  });

  it('reports GDAL unavailable after children fail to start three times in a row, retrying with a back-off', async () => {
    const runner = new ChildProcessRunner({
      runtime: 'gdal',
      label: 'GDAL',
      size: 1,
      cancelGraceMs: 500,
      env: { NODE_OPTIONS: '--require=/nonexistent/gw-test-preload.cjs' },
    });
    const task: TaskSpec = {
      jobId: randomUUID(),
      modulePath: path.join(FIXTURES, 'processes', 'gdal-crash.ts'),
      inputs: {},
      outputs: {},
      outputDescriptions: [],
      workDir: tmpdir(),
      outputDir: tmpdir(),
      limits: DEFAULT_LIMITS,
    };
    const control = { signal: new AbortController().signal, onProgress() {}, onLog() {} };
    try {
      for (let failure = 1; failure <= 3; failure++) {
        expect(runner.unavailable()).toEqual({});
        await expect(runner.run(task, 'gdal', control)).rejects.toThrow(
          /^Could not start a process for GDAL jobs: exited before it was ready \(exit code \d+\)$/,
        );
        // Within the back-off, no new child is tried.
        await expect(runner.run(task, 'gdal', control)).rejects.toThrow(
          /^GDAL processes cannot start at the moment/,
        );
        expect(runner.pids).toEqual([]);
        await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** failure + 100));
      }
      expect(runner.unavailable()).toEqual({
        gdal: expect.stringMatching(/^GDAL processes failed to start 3 times in a row \(exited before/),
      });
    } finally {
      await runner.close();
    }
  });

  it('a child stuck in GDAL dies when the server is killed', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gw-gdal-kill-'));
    const server = spawn(process.execPath, [path.join(FIXTURES, 'gdal-parent-to-kill.ts'), dir], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        server.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          out += chunk;
          if (out.includes('\n')) resolve(out.split('\n')[0]!);
        });
        server.once('exit', (code) => reject(new Error(`the server exited (${code})`)));
      });
      const { child } = JSON.parse(line) as { child: number };
      expect(alive(child)).toBe(true);
      server.kill('SIGKILL');
      // The child's main thread is blocked: its watchdog thread sees the parent gone.
      expect(await gone(child, 3000), `child ${child} after its parent was killed`).toBe(true);
    } finally {
      server.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
