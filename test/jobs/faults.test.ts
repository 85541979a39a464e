/**
 * Faults of the job system, against real servers: a store locked by another process, a sync
 * timeout racing the dispatch, a second server on the same store, folders of no job, a full disk.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OwsError } from '../../src/core/errors.ts';
import { createGateway } from '../../src/gateway.ts';
import { PgJobStore } from '../../src/jobs/pg-store.ts';
import { SqliteJobStore } from '../../src/jobs/sqlite-store.ts';
import type { JobStore } from '../../src/jobs/store.ts';
import { silentLogger } from '../../src/util/logger.ts';
import {
  FIXTURES,
  finished,
  lit,
  startTestGateway,
  testConfig,
  testConfigYaml,
  until,
} from '../helpers/gateway.ts';
import { GATEWAY_STORES, type GatewayStoreKind } from '../helpers/stores.ts';
import { doc, expectValid, get, one, startWpsServer, text, type Reply } from '../helpers/wps.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = path.join(ROOT, 'src/cli.ts');
const FILL_DISK = [
  `  fill-disk:\n    type: process\n    processor: {name: ${path.join(FIXTURES, 'processes', 'fill-disk.ts')}}`,
];

const scratch = mkdtempSync(path.join(tmpdir(), 'gw-faults-'));
const disk = path.join(scratch, 'small-disk');
const unmount = smallDisk(disk);
// One PostgreSQL server for the file, for the tests that run on every store.
beforeAll(() => Promise.all(GATEWAY_STORES.map((k) => k.setUp())), 60_000);
afterAll(async () => {
  unmount?.();
  rmSync(scratch, { recursive: true, force: true });
  await Promise.all(GATEWAY_STORES.map((k) => k.tearDown()));
});

/** A new store of `kind` (SQLite in `dir`), opened by the test itself. */
async function openStore(kind: GatewayStoreKind, dir: string): Promise<JobStore> {
  if (!kind.shared) return new SqliteJobStore(path.join(dir, 'jobs.sqlite'));
  return PgJobStore.open({ connection: String((await kind.manager()).connection) });
}

/** `inner` whose claims take effect at once but are handed over late (after `ms`). */
function slowClaims(inner: JobStore, ms: number): JobStore {
  return new Proxy(inner, {
    get(target, property) {
      if (property === 'claimNext') {
        return async (...args: Parameters<JobStore['claimNext']>) => {
          const job = await target.claimNext(...args);
          if (job) await delay(ms);
          return job;
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** Another process that holds the store's write lock (BEGIN EXCLUSIVE) for `ms`. */
async function lockStore(file: string, ms: number): Promise<Promise<void>> {
  const script = `
    import Database from 'better-sqlite3';
    const db = new Database(${JSON.stringify(file)});
    db.pragma('busy_timeout = 5000');
    db.exec('BEGIN EXCLUSIVE');
    process.stdout.write('locked\\n');
    setTimeout(() => { db.exec('COMMIT'); db.close(); }, ${ms});`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('locked') && resolve());
    child.once('exit', (code) => reject(new Error(`locker exited (${code})`)));
  });
  return exited;
}

const timed = async <T>(run: () => Promise<T>): Promise<{ value: T; ms: number }> => {
  const t0 = performance.now();
  const value = await run();
  return { value, ms: performance.now() - t0 };
};

describe('a store locked by another process', () => {
  it('keeps the server up and responsive, says so on /health, and ends every job correctly', async () => {
    const s = await startWpsServer({ manager: { parallel_processes: 2 } });
    try {
      const jobs = s.gateway.jobs;
      const sleepers = await Promise.all(
        [0, 1].map(() => jobs.submit({ processId: 'sleep', inputs: { seconds: [lit(2)] }, mode: 'async' })),
      );
      await Promise.all(sleepers.map((j) => until(s.gateway, j.id, (x) => x.progress > 0)));

      const loop = monitorEventLoopDelay({ resolution: 10 });
      loop.enable();
      const unlocked = await lockStore(path.join(s.dir, 'jobs.sqlite'), 3000);
      const lockedAt = performance.now();
      // A synchronous execution submitted now waits for the store (asynchronously) and then runs.
      const duringLock = get(
        `${s.wps}?service=WPS&version=1.0.0&request=Execute&identifier=hello-world&DataInputs=name=locked`,
      );

      // Progress writes of the running jobs are waiting: /health says degraded, and answers at once.
      let health: { status: string; problems?: string[] } = { status: '' };
      for (let i = 0; i < 40 && health.status !== 'degraded'; i++) {
        const reply = await timed(() => fetch(`${s.base}/health`));
        expect(reply.value.status).toBe(200);
        expect(reply.ms).toBeLessThan(500);
        health = (await reply.value.json()) as typeof health;
        if (health.status !== 'degraded') await delay(50);
      }
      expect(health.status).toBe('degraded');
      expect(health.problems?.join()).toMatch(/job store: the job store is locked by another process/);
      // Reading requests are answered promptly while the lock lasts.
      const capabilities = await timed(() => get(`${s.wps}?service=WPS&request=GetCapabilities`));
      expect(capabilities.value.status).toBe(200);
      expect(capabilities.ms).toBeLessThan(500);
      expect(performance.now() - lockedAt).toBeLessThan(2500); // all of this happened under the lock

      await unlocked;
      const sync = await duringLock;
      expect(sync.status).toBe(200);
      expect(text(one(doc(sync.body), 'LiteralData'))).toBe('Hello locked!');
      const ended = await Promise.all(sleepers.map((j) => finished(s.gateway, j.id)));
      expect(ended.map((j) => [j.status, j.progress])).toEqual([
        ['successful', 100],
        ['successful', 100],
      ]);
      loop.disable();
      // The event loop was never blocked waiting for the lock (a synchronous busy wait blocks it for seconds).
      expect(loop.max / 1e6).toBeLessThan(400);
      // Once the lock is gone, /health is ok again as soon as the calls still backing off have retried.
      let after = { status: '' };
      for (const t0 = Date.now(); after.status !== 'ok' && Date.now() - t0 < 2000;) {
        after = (await (await fetch(`${s.base}/health`)).json()) as { status: string };
        if (after.status !== 'ok') await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(after.status).toBe('ok');
    } finally {
      await s.close();
    }
  });
});

describe.each(GATEWAY_STORES)(
  'a synchronous job timing out while it is being claimed ($name store)',
  (kind) => {
    it('never starts', async () => {
      const dir = path.join(scratch, `race-${kind.name}`);
      mkdirSync(dir, { recursive: true });
      const config = testConfig(dir, { manager: { sync_job_execution_timeout_seconds: 0.1 } });
      // The claim is handed over after the sync timeout.
      const gateway = await createGateway(config, silentLogger(), {
        store: slowClaims(await openStore(kind, dir), 400),
      });
      try {
        const started: string[] = [];
        gateway.jobs.onUpdate((job) => job.progress > 0 && started.push(job.id));
        const error = await gateway.jobs
          .execute({ processId: 'sleep', inputs: { seconds: [lit(1)] }, mode: 'sync' })
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        expect(error).toBeInstanceOf(OwsError);
        expect((error as OwsError).reason).toBe('sync-timeout');
        await delay(700); // the claim has been handed over
        expect(gateway.jobs.running).toBe(0);
        expect(started).toEqual([]);
        const { jobs } = await gateway.jobs.list({});
        expect(jobs.map((j) => [j.status, j.error?.reason, j.progress])).toEqual([
          ['failed', 'sync-timeout', 0],
        ]);
      } finally {
        await gateway.close();
      }
    });
  },
);

describe('a second server on the same store', () => {
  it('is refused with a clear message, and the first one’s running job is left alone', async () => {
    const t = await startTestGateway();
    try {
      const job = await t.gateway.jobs.submit({
        processId: 'sleep',
        inputs: { seconds: [lit(1)] },
        mode: 'async',
      });
      await until(t.gateway, job.id, (j) => j.status === 'running');
      const config = path.join(t.dir, 'gateway.yml');
      writeFileSync(config, testConfigYaml(t.dir));
      const second = spawnSync(process.execPath, [CLI, 'serve', '--config', config], {
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect(second.status).toBe(1);
      expect(second.stderr).toContain(
        `Another server is already using the job store ${path.join(t.dir, 'jobs.sqlite')} (pid ${process.pid} on `,
      );
      expect(second.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
      expect((await t.gateway.jobs.get(job.id)).status).toBe('running');
      expect((await finished(t.gateway, job.id)).status).toBe('successful');
    } finally {
      await t.close();
    }
  });
});

describe.each(GATEWAY_STORES)('the retention sweep ($name store)', (kind) => {
  it('removes work and output folders that belong to no job, once they are old enough', async () => {
    const t = await startTestGateway({ manager: await kind.manager() });
    try {
      const kept = await t.gateway.jobs.submit({
        processId: 'hello-world',
        inputs: { name: [lit('kept')] },
        mode: 'async',
      });
      expect((await finished(t.gateway, kept.id)).status).toBe('successful');
      const outputs = path.join(t.dir, 'outputs');
      const work = path.join(t.dir, 'work');
      const old = new Date(Date.now() - 5 * 60_000);
      const folder = (root: string, id: string, stale: boolean) => {
        const dir = path.join(root, id);
        mkdirSync(dir, { recursive: true });
        writeFileSync(path.join(dir, 'x'), 'x');
        if (stale) utimesSync(dir, old, old);
        return dir;
      };
      const keptOut = folder(outputs, kept.id, true);
      const orphanOut = folder(outputs, '11111111-1111-4111-8111-111111111111', true);
      const orphanWork = folder(work, '22222222-2222-4222-8222-222222222222', true);
      const fresh = folder(work, '33333333-3333-4333-8333-333333333333', false);
      const notAJob = folder(outputs, 'keep-me', true);
      await t.gateway.jobs.sweep();
      expect([orphanOut, orphanWork].filter((d) => existsSync(d))).toEqual([]);
      expect([fresh, notAJob, keptOut].every((d) => existsSync(d))).toBe(true);
    } finally {
      await t.close();
    }
  });
});

/** A 2 MB tmpfs at `dir`, when this process may mount one (root); else undefined (the test is skipped). */
function smallDisk(dir: string): (() => void) | undefined {
  mkdirSync(dir, { recursive: true });
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir], { encoding: 'utf8' });
  if (mounted.status !== 0) return undefined;
  return () => void spawnSync('umount', [dir]);
}

/** A synchronous WPS execution that failed: an ExecuteResponse (200, valid) with ProcessFailed and this code. */
function expectProcessFailed(reply: Reply, code: string, message: RegExp): void {
  expect(reply.status, reply.body).toBe(200);
  expectValid(reply.body, 'execute');
  const exception = one(one(doc(reply.body), 'ProcessFailed'), 'Exception');
  expect(exception.attrs.get('exceptionCode')).toBe(code);
  expect(text(one(exception, 'ExceptionText'))).toMatch(message);
}

describe('a full disk', () => {
  it('fails a job whose processor cannot write with NotEnoughStorage, over WPS and OGC API', async () => {
    const s = await startWpsServer({ extraResources: FILL_DISK });
    try {
      const wps = await get(
        `${s.wps}?service=WPS&version=1.0.0&request=Execute&identifier=fill-disk&DataInputs=where=work`,
      );
      expectProcessFailed(wps, 'NotEnoughStorage', /Not enough storage on the server for the job/);
      const api = await fetch(`${s.base}/processes/fill-disk/execution`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ inputs: { where: 'work' } }),
      });
      expect(api.status).toBe(507);
      expect(api.headers.get('content-type')).toMatch(/^application\/(problem\+)?json/);
      expect(await api.json()).toMatchObject({
        status: 507,
        detail: expect.stringMatching(/Not enough storage/),
      });
      const hello = await get(
        `${s.wps}?service=WPS&version=1.0.0&request=Execute&identifier=hello-world&DataInputs=name=still`,
      );
      expect(text(one(doc(hello.body), 'LiteralData'))).toBe('Hello still!');
    } finally {
      await s.close();
    }
  });

  it.runIf(unmount)(
    'fails a job whose output does not fit on the output disk, and cleans up after it',
    async () => {
      const s = await startWpsServer({ extraResources: FILL_DISK, manager: { output_dir: disk } });
      try {
        const wps = await get(
          `${s.wps}?service=WPS&version=1.0.0&request=Execute&identifier=fill-disk&DataInputs=where=output`,
        );
        expectProcessFailed(wps, 'NotEnoughStorage', /Not enough storage on the server for output 'blob'/);
        const api = await fetch(`${s.base}/processes/fill-disk/execution`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ inputs: { where: 'output' } }),
        });
        expect(api.status).toBe(507);
        expect(await api.json()).toMatchObject({ detail: expect.stringMatching(/Not enough storage/) });
        // The partial files are gone, so the disk has room again, and the server still works.
        expect(spawnSync('find', [disk, '-type', 'f'], { encoding: 'utf8' }).stdout).toBe('');
        const hello = await get(
          `${s.wps}?service=WPS&version=1.0.0&request=Execute&identifier=hello-world&DataInputs=name=still`,
        );
        expect(text(one(doc(hello.body), 'LiteralData'))).toBe('Hello still!');
      } finally {
        await s.close();
      }
    },
  );
});
