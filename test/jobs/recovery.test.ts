import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURES, finished, startTestGateway } from '../helpers/gateway.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'gw-recovery-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the fixture server until it reports its jobs, then kills it with SIGKILL. */
async function killServerMidJob(): Promise<{ running: string; queued: string[] }> {
  const child = spawn(process.execPath, [path.join(FIXTURES, 'server-to-kill.ts'), dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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

describe('restart recovery', () => {
  it('after an abrupt stop, running jobs are failed as interrupted and waiting jobs run', async () => {
    const ids = await killServerMidJob();
    expect(existsSync(path.join(dir, 'work', ids.running))).toBe(true);

    const t = await startTestGateway({ dir, manager: { parallel_processes: 1 } });
    try {
      const interrupted = await t.gateway.jobs.get(ids.running);
      expect(interrupted.status).toBe('failed');
      expect(interrupted.message).toBe('The job was interrupted by a server restart');
      expect(interrupted.error).toMatchObject({ code: 'NoApplicableCode', reason: 'interrupted' });
      expect(interrupted.finished).toBeInstanceOf(Date);
      expect(existsSync(path.join(dir, 'work', ids.running))).toBe(false);

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
    const quick = await startTestGateway({ manager: { shutdown_grace_seconds: 5 } });
    const short = await quick.gateway.jobs.submit({
      processId: 'sleep',
      inputs: { seconds: [{ type: 'literal', value: 0.5 }] },
      mode: 'async',
    });
    await new Promise((r) => setTimeout(r, 100));
    await quick.close(true);
    const reopened = await startTestGateway({ dir: quick.dir });
    expect((await reopened.gateway.jobs.get(short.id)).status).toBe('successful');
    await reopened.close(true);

    const slow = await startTestGateway({ dir: quick.dir, manager: { shutdown_grace_seconds: 0.3 } });
    const long = await slow.gateway.jobs.submit({
      processId: 'sleep',
      inputs: { seconds: [{ type: 'literal', value: 30 }] },
      mode: 'async',
    });
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    await slow.close(true);
    expect(Date.now() - t0).toBeLessThan(3000);
    const again = await startTestGateway({ dir: quick.dir });
    const job = await again.gateway.jobs.get(long.id);
    expect(job.status).toBe('failed');
    expect(job.message).toBe('The job was interrupted by a server shutdown');
    await again.close();
  });
});
