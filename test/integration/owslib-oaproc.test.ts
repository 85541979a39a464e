import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFORMANCE_CLASSES } from '../../src/oaproc/conformance.ts';
import { startWpsServer, type WpsServer } from '../helpers/wps.ts';

/** Debian's python3 is the one that sees python3-owslib (another python3 may come first on PATH). */
const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./owslib_oaproc_client.py', import.meta.url));

interface ScriptResult {
  landing: string[];
  conformance: string[];
  processes: Array<[string, string, string]>;
  echo: {
    id: string;
    jobControlOptions: string[];
    inputs: Record<string, [number, number | string]>;
    outputs: string[];
  };
  missing: string;
}

function runOwslib(url: string): Promise<ScriptResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [SCRIPT, url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => {
      const last = out.trim().split('\n').at(-1) ?? '';
      try {
        if (code !== 0) throw new Error(`exit code ${code}`);
        resolve(JSON.parse(last) as ScriptResult);
      } catch (e) {
        reject(new Error(`OWSLib script failed (${(e as Error).message}):\n${out}\n${err}`));
      }
    });
  });
}

let s: WpsServer;
let r: ScriptResult;
beforeAll(async () => {
  expect(existsSync(PYTHON), 'Debian python3 with python3-owslib (bash .ci/setup.sh installs it)').toBe(true);
  s = await startWpsServer();
  r = await runOwslib(`${s.base}/`);
}, 60_000);
afterAll(() => s.close());

describe('OWSLib Processes against a running server', () => {
  it('reads the landing page and the conformance classes', () => {
    expect(r.landing).toContain('http://www.opengis.net/def/rel/ogc/1.0/processes');
    expect(r.conformance).toEqual(CONFORMANCE_CLASSES);
  });

  it('lists the processes', () => {
    expect(r.processes.map((p) => p[0])).toEqual(s.gateway.registry.list().map((e) => e.description.id));
    expect(r.processes).toContainEqual(['hello-world', '1.0.0', 'Hello World']);
  });

  it('describes a process', () => {
    expect(r.echo.id).toBe('echo');
    expect(r.echo.jobControlOptions).toEqual(['sync-execute', 'async-execute', 'dismiss']);
    expect(r.echo.inputs.stringInput).toEqual([1, 1]);
    expect(r.echo.inputs.arrayInput).toEqual([0, 'unbounded']);
    expect(r.echo.outputs).toContain('stringInput');
  });

  it('gets an error for an unknown process', () => {
    expect(r.missing).toMatch(/404|Not Found|no-such-process/i);
  });
});
