import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWpsServer, type WpsServer } from '../helpers/wps.ts';

/** Debian's python3 is the one that sees python3-owslib (another python3 may come first on PATH). */
const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./owslib_client.py', import.meta.url));

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON printed by the Python script; the assertions check its shape
type ScriptResult = Record<string, any>;

function runOwslib(url: string, workdir: string): Promise<ScriptResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [SCRIPT, url, workdir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => {
      // OWSLib logs some lines to stdout; the script's JSON is the last one.
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
let workdir: string;
let r: ScriptResult;
beforeAll(async () => {
  expect(existsSync(PYTHON), 'Debian python3 with python3-owslib (bash .ci/setup.sh installs it)').toBe(true);
  s = await startWpsServer();
  workdir = mkdtempSync(path.join(tmpdir(), 'gw-owslib-'));
  r = await runOwslib(s.wps, workdir);
}, 60_000);
afterAll(async () => {
  await s.close();
  rmSync(workdir, { recursive: true, force: true });
});

describe('OWSLib against a running server', () => {
  it('reads the capabilities', () => {
    expect(r.capabilities.title).toBe('WPS / OGC API - Processes gateway');
    expect(r.capabilities.processes).toContainEqual(['hello-world', 'Hello World', '1.0.0']);
    expect(r.capabilities.processes.map((p: string[]) => p[0])).toEqual([
      'hello-world',
      'echo',
      'sleep',
      'fail',
      'crash',
      'stubborn',
    ]);
    expect(r.capabilities.operations).toEqual(['DescribeProcess', 'Execute', 'GetCapabilities']);
    expect(r.capabilities.languages).toEqual(['en-US', 'fr-CA']);
  });

  it('reads a process description', () => {
    expect(r.describe.statusSupported).toBe(true);
    expect(r.describe.storeSupported).toBe(true);
    expect(r.describe.inputs).toContainEqual(['stringInput', 'string', 1, 1]);
    expect(r.describe.inputs).toContainEqual(['bboxInput', 'BoundingBoxData', 0, 1]);
    expect(r.describe.inputs).toContainEqual(['complexInput', 'ComplexData', 0, 1]);
    expect(r.describe.outputs).toContainEqual(['stringInput', 'string']);
    expect(r.describe.inputs).toContainEqual(['arrayInput', 'string', 0, 1000]);
    expect(r.describe.complexFormats).toEqual([
      'application/json',
      'text/xml',
      'application/gml+xml',
      'text/plain',
    ]);
  });

  it('executes synchronously', () => {
    expect(r.sync).toEqual({
      status: 'ProcessSucceeded',
      succeeded: true,
      outputs: { echo: ['Hello OWSLib! Bonjour'] },
    });
  });

  it('sends non-ASCII and XML-special text intact (character references decoded)', () => {
    expect(r.unicode).toEqual({ echo: ['Hello Jörg; a=b & c <☺>!'] });
  });

  it('executes asynchronously and monitors the status document to the end', () => {
    expect(r.async.statusLocation).toMatch(new RegExp(`^${s.wps}/status/[0-9a-f-]{36}\\.xml$`));
    expect(r.async.statuses[0]).toBe('ProcessAccepted');
    expect(r.async.statuses).toContain('ProcessStarted');
    expect(r.async.statuses.at(-1)).toBe('ProcessSucceeded');
    expect(r.async.percents.some((p: number) => p > 0 && p < 100)).toBe(true);
    expect(r.async.succeeded).toBe(true);
    expect(r.async.outputs).toEqual({ slept: ['1.5'] });
  });

  it('downloads reference outputs with getOutput and reads bounding boxes', () => {
    expect(r.reference.succeeded).toBe(true);
    expect(r.reference.href).toMatch(
      new RegExp(`^${s.base}/wps/outputs/[0-9a-f-]{36}/complexOutput\\.json$`),
    );
    expect(r.reference.mimeType).toBe('application/json');
    expect(r.reference.downloaded).toBe('{"type":"Point","coordinates":[1,2]}');
    // Sent as 5 45 / 6 46 and echoed unchanged; OWSLib reads EPSG:4326 corners as latitude/longitude.
    expect(r.reference.bbox).toEqual(['45', '5', '46', '6', 'EPSG:4326']);
  });

  it('receives failures as execution errors, bad requests as service exceptions', () => {
    // OWSLib reports a ProcessFailed that carries an ExceptionReport as status "Exception".
    expect(r.failed).toEqual({
      status: 'Exception',
      errors: [['InvalidParameterValue', 'data', 'the data has no features']],
    });
    expect(r.invalid).toMatch(/exceptionCode="InvalidParameterValue" locator="seconds"/);
  });
});
