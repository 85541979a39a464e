import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { FIXTURES, finished, startTestGateway, testConfigYaml } from '../helpers/gateway.ts';
import { GATEWAY_STORES, TEST_LEASE_SECONDS, type GatewayStoreKind } from '../helpers/stores.ts';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

const dir = mkdtempSync(path.join(tmpdir(), 'gw-recovery-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the fixture server (on the store `manager` selects) until it reports its jobs, then kills it with SIGKILL. */
async function killServerMidJob(
  dir: string,
  manager: Record<string, string | number>,
): Promise<{ running: string; queued: string[] }> {
  const child = spawn(
    process.execPath,
    [path.join(FIXTURES, 'server-to-kill.ts'), dir, JSON.stringify(manager)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const ids = await new Promise<{ running: string; queued: string[] }>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(JSON.parse(out) as { running: string; queued: string[] });
    });
    child.once('exit', (code) => reject(new Error(`server exited early (${code}): ${err}`)));
  });
  const exited = new Promise((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  child.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');
  return ids;
}

describe.each(GATEWAY_STORES)('restart recovery ($name store)', (kind: GatewayStoreKind) => {
  beforeAll(() => kind.setUp(), 60_000);
  afterAll(() => kind.tearDown());

  it('after an abrupt stop, running jobs are failed as interrupted and waiting jobs run', async () => {
    const home = mkdtempSync(path.join(dir, 'killed-'));
    const manager = await kind.manager();
    const ids = await killServerMidJob(home, manager);
    expect(existsSync(path.join(home, 'work', ids.running))).toBe(true);

    const t0 = Date.now();
    const t = await startTestGateway({
      dir: home,
      manager: { ...(await kind.manager(true)), parallel_processes: 1 },
    });
    try {
      // A store of one server fails them as it starts; a shared store once the dead node's lease
      // runs out (another node may be running them).
      const interrupted = kind.shared
        ? await finished(t.gateway, ids.running, 10_000)
        : await t.gateway.jobs.get(ids.running);
      expect(interrupted.status).toBe('failed');
      expect(interrupted.message).toBe(
        kind.shared
          ? 'The job was interrupted: the node running it stopped answering (its lease expired), and its process is not marked idempotent, so it was not run again'
          : 'The job was interrupted by a server restart',
      );
      expect(interrupted.error).toMatchObject({ code: 'NoApplicableCode', reason: 'interrupted' });
      expect(interrupted.finished).toBeInstanceOf(Date);
      if (kind.shared) expect(Date.now() - t0).toBeLessThan(TEST_LEASE_SECONDS * 1000 + 5000);
      await expect.poll(() => existsSync(path.join(home, 'work', ids.running))).toBe(false);

      const requeued = await Promise.all(ids.queued.map((id) => finished(t.gateway, id)));
      expect(requeued.map((j) => [j.status, j.results])).toEqual([
        ['successful', { echo: { kind: 'literal', value: 'Hello a!' } }],
        ['successful', { echo: { kind: 'literal', value: 'Hello b!' } }],
      ]);
      // First in, first out.
      expect(requeued[0]!.started!.getTime()).toBeLessThanOrEqual(requeued[1]!.started!.getTime());
      expect((await t.gateway.jobs.list({})).total).toBe(3);
    } finally {
      await t.close(true);
    }
  });

  it('a graceful shutdown lets running jobs finish within the grace period, then fails the rest as interrupted', async () => {
    const store = await kind.manager();
    const quick = await startTestGateway({ manager: { ...store, shutdown_grace_seconds: 5 } });
    const short = await quick.gateway.jobs.submit({
      processId: 'sleep',
      inputs: { seconds: [{ type: 'literal', value: 0.5 }] },
      mode: 'async',
    });
    await new Promise((r) => setTimeout(r, 100));
    await quick.close(true);
    const reopened = await startTestGateway({ dir: quick.dir, manager: store });
    expect((await reopened.gateway.jobs.get(short.id)).status).toBe('successful');
    await reopened.close(true);

    const slow = await startTestGateway({
      dir: quick.dir,
      manager: { ...store, shutdown_grace_seconds: 0.3 },
    });
    const long = await slow.gateway.jobs.submit({
      processId: 'sleep',
      inputs: { seconds: [{ type: 'literal', value: 30 }] },
      mode: 'async',
    });
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    await slow.close(true);
    expect(Date.now() - t0).toBeLessThan(3000);
    const again = await startTestGateway({ dir: quick.dir, manager: store });
    const job = await again.gateway.jobs.get(long.id);
    expect(job.status).toBe('failed');
    expect(job.message).toBe('The job was interrupted by a server shutdown');
    await again.close();
  });

  it('SIGTERM to the server process drains within the grace period; waiting jobs run after the restart', async () => {
    const home = mkdtempSync(path.join(dir, 'sigterm-'));
    const config = path.join(home, 'gateway.yml');
    const store = await kind.manager();
    writeFileSync(
      config,
      testConfigYaml(home, { manager: { ...store, parallel_processes: 2, shutdown_grace_seconds: 2 } }),
    );
    const server = spawn(process.execPath, [CLI, 'serve', '--config', config, '--port', '0'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const exited = new Promise<{ code: number | null; at: number }>((resolve) =>
      server.once('exit', (code) => resolve({ code, at: performance.now() })),
    );
    const address = await new Promise<string>((resolve, reject) => {
      let err = '';
      server.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /Listening on (http:\/\/\S+)/.exec(err);
        if (m) resolve(m[1]!);
      });
      void exited.then(() => reject(new Error(`server exited: ${err}`)));
    });
    const submit = async (processId: string, inputs: Record<string, unknown>) => {
      const res = await fetch(`${address}/processes/${processId}/execution`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Prefer: 'respond-async' },
        body: JSON.stringify({ inputs }),
      });
      expect(res.status).toBe(201);
      await res.text();
      return res.headers.get('location')!.split('/').pop()!;
    };
    const short = await submit('sleep', { seconds: 1 });
    const long = await submit('sleep', { seconds: 30 });
    const waiting = await submit('hello-world', { name: 'later' });
    await new Promise((r) => setTimeout(r, 300));
    const t0 = performance.now();
    server.kill('SIGTERM');
    const { code, at } = await exited;
    expect(code).toBe(0);
    // Grace (2 s), then the abort of what still runs (cancel grace 0.5 s) and the pools closing.
    expect(at - t0).toBeGreaterThan(1900);
    expect(at - t0).toBeLessThan(5000);

    const t = await startTestGateway({ dir: home, manager: store });
    try {
      expect(await t.gateway.jobs.get(short)).toMatchObject({ status: 'successful' });
      expect(await t.gateway.jobs.get(long)).toMatchObject({
        status: 'failed',
        message: 'The job was interrupted by a server shutdown',
      });
      expect(await finished(t.gateway, waiting)).toMatchObject({
        status: 'successful',
        results: { echo: { kind: 'literal', value: 'Hello later!' } },
      });
    } finally {
      await t.close(true);
    }
  });
});
