/**
 * A PyWPS provider through our WPS 1.0.0, driven by OWSLib: the same script runs against the
 * gateway and against PyWPS itself, and the answers are compared.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { providerYaml, PYTHON, startPywps, type PywpsServer } from '../helpers/pywps.ts';
import { startWpsServer, type WpsServer } from '../helpers/wps.ts';

const SCRIPT = fileURLToPath(new URL('./owslib_provider_client.py', import.meta.url));

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON printed by the Python script; the assertions check its shape
type Result = Record<string, any>;

function runOwslib(gateway: string, pywps: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [SCRIPT, gateway, pywps], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => {
      try {
        if (code !== 0) throw new Error(`exit code ${code}`);
        resolve(JSON.parse(out.trim().split('\n').at(-1)!) as Result);
      } catch (e) {
        reject(new Error(`OWSLib script failed (${(e as Error).message}):\n${out}\n${err}`));
      }
    });
  });
}

let pywps: PywpsServer;
let gw: WpsServer;
let r: Result;
beforeAll(async () => {
  pywps = await startPywps();
  gw = await startWpsServer({ extraResources: providerYaml(pywps.url) });
  r = await runOwslib(gw.wps, pywps.url);
}, 90_000);
afterAll(async () => {
  await gw?.close();
  await pywps?.close();
});

describe('a PyWPS provider through our WPS, with OWSLib', () => {
  it('lists and describes the remote processes as PyWPS does', () => {
    expect(r.gateway.ids).toEqual(expect.arrayContaining(r.pywps.ids.map((id: string) => `pywps.${id}`)));
    expect(r.gateway.describe.statusSupported).toBe(true);
    expect(r.gateway.describe.inputs).toEqual(r.pywps.describe.inputs);
  });

  it('executes synchronously and asynchronously with the answers PyWPS gives', () => {
    expect(r.gateway.sync).toEqual(r.pywps.sync);
    expect(r.gateway.sync.message).toEqual(['Hello Owl! Hello Owl!']);
    expect(r.gateway.async.status).toBe('ProcessSucceeded');
    expect(r.gateway.async.done).toEqual(r.pywps.async.done);
    expect(r.gateway.async.sawProgress).toBe(true);
  });

  it('passes bounding boxes and reports remote failures with their text', () => {
    expect(Number(r.gateway.bbox.size[0])).toBe(Number(r.pywps.bbox.size[0]));
    expect(Number(r.gateway.bbox.size[0])).toBe(6);
    expect(r.gateway.fail.status).toBe(r.pywps.fail.status);
    expect(r.gateway.fail.errors[0][0]).toBe(r.pywps.fail.errors[0][0]);
    expect(JSON.stringify(r.gateway.fail.errors)).toContain('the remote process failed on purpose');
  });
});
