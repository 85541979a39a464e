import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listen } from '../../src/server.ts';
import { FIXTURES, lit, startTestGateway, testConfigYaml, until } from '../helpers/gateway.ts';

const CLI = path.resolve('src/cli.ts');
const dir = mkdtempSync(path.join(tmpdir(), 'gw-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cli = (...args: string[]) =>
  spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 20_000 });

describe('HTTP server', () => {
  it('answers /health with the state of the pool over real HTTP, and 404 elsewhere', async () => {
    const t = await startTestGateway({ manager: { parallel_processes: 1 } });
    const running = await listen(t.gateway, 0);
    try {
      const job = await t.gateway.jobs.submit({
        processId: 'sleep',
        inputs: { seconds: [lit('5')] },
        mode: 'async',
      });
      await t.gateway.jobs.submit({ processId: 'sleep', inputs: { seconds: [lit('5')] }, mode: 'async' });
      await until(t.gateway, job.id, (j) => j.status === 'running');
      const res = await fetch(`${running.address}/health`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await res.json()).toMatchObject({
        status: 'ok',
        processes: 6,
        jobs: { accepted: 1, running: 1 },
        pool: { parallel: 1, maxQueued: 30 },
      });
      expect((await fetch(`${running.address}/no/such/path`)).status).toBe(404);
    } finally {
      await running.close();
      await t.close();
    }
  });
});

describe('command line', () => {
  it('validate-config accepts both shipped configurations', () => {
    for (const file of ['config/default.yml', 'config/pywps.cfg']) {
      const r = cli('validate-config', file);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toBe(`${file}: OK\n`);
    }
  });

  it('validate-config warns about VERYSTRICT formats whose schema is not installed', () => {
    const file = path.join(dir, 'verystrict.yml');
    writeFileSync(
      file,
      'resources:\n  b:\n    type: process\n    validation_mode: VERYSTRICT\n    processor: {name: buffer}\n',
    );
    const r = cli('validate-config', file);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${file}: OK\n`);
    const warnings = r.stderr.trim().split('\n');
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(
      /^warning: b\/data is VERYSTRICT but the schema .*gml\/3\.1\.1\/base\/feature\.xsd/,
    );
    expect(warnings[1]).toMatch(/gml\/2\.1\.2\/feature\.xsd/);
  });

  it('validate-config names the file, the key and the problem, and exits non-zero', () => {
    const file = path.join(dir, 'bad.cfg');
    writeFileSync(file, '[server]\nmaxprocesses = many\n');
    const r = cli('validate-config', file);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`${file}: [server] maxprocesses: must be integer\n`);
  });

  it('a broken process description stops start-up with a message naming the process and the field', () => {
    const file = path.join(dir, 'broken.yml');
    writeFileSync(
      file,
      `resources:\n  bad:\n    type: process\n    processor: {name: ${path.join(FIXTURES, 'broken', 'bad-description.ts')}}\n`,
    );
    for (const command of ['validate-config', 'list-processes']) {
      const r = cli(command, '--config', file);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(
        /^Process 'bad-description' \(.*bad-description\.ts\): invalid description\n {2}inputs\[0\] \('n'\)\.allowedValues\.ranges\[0\]: minimum is greater than maximum/,
      );
    }
  });

  it('list-processes prints what a configuration publishes', () => {
    const r = cli('list-processes', '--config', 'config/pywps.cfg');
    expect(r.status, r.stderr).toBe(0);
    expect(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => l.split('\t')[0]),
    ).toEqual([
      'hello-world',
      'echo',
      'sleep',
      'buffer',
      'centroids',
      'area',
      'feature-count',
      'convex-hull',
      'reproject',
      'bbox-transform',
      'raster-stats',
      'raster-clip',
    ]);
  });

  it('unknown commands and bad options exit with a usage message', () => {
    expect(cli('frobnicate').status).toBe(2);
    expect(cli('serve', '--port', 'x').stderr).toMatch(/--port: 'x' is not a port number/);
    expect(cli('--help').stdout).toMatch(/gateway serve/);
  });

  it('serve starts on a config, answers, and stops cleanly on SIGTERM', async () => {
    const work = path.join(dir, 'serve');
    const file = path.join(dir, 'serve.yml');
    writeFileSync(file, testConfigYaml(work));
    const child = spawn(process.execPath, [CLI, 'serve', '--config', file, '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    const address = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /Listening on (http:\/\/\S+)/.exec(err);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
    });
    expect(((await (await fetch(`${address}/health`)).json()) as { status: string }).status).toBe('ok');
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
