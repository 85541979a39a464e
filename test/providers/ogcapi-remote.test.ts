/**
 * A second instance of this gateway, started as a separate process, is the remote OGC API -
 * Processes provider of a first one: its processes are served through the first one's OGC API
 * and WPS 1.0.0 (driven by OWSLib), and the answers are compared with the remote's own.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execute, pollJob, request } from '../helpers/oaproc-http.ts';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { startWpsServer, type WpsServer } from '../helpers/wps.ts';

const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./owslib_remote.py', import.meta.url));
const CRS84 = 'http://www.opengis.net/def/crs/OGC/1.3/CRS84';
/** More than one page of /processes (10 a page): discovery follows the `next` links. */
const REMOTE_PROCESSES = [
  'hello-world',
  'echo',
  'sleep',
  'bbox-transform',
  'buffer',
  'area',
  'centroids',
  'convex-hull',
  'feature-count',
];
const REMOTE_IDS = [...REMOTE_PROCESSES, 'fail', 'crash', 'stubborn'];

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON printed by the Python script; the assertions check its shape
type ScriptResult = Record<string, any>;

function runOwslib(url: string, prefix: string): Promise<ScriptResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [SCRIPT, url, prefix], { stdio: ['ignore', 'pipe', 'pipe'] });
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

/** `providers:` YAML for a gateway (appended after `resources:`, at the top level). */
export const providerYaml = (url: string, extra: string[] = []): string[] => [
  'providers:',
  '  - id: remote',
  '    type: ogcapi-processes',
  `    url: ${url}`,
  '    allowed_hosts: [127.0.0.1]',
  '    timeout_seconds: 10',
  '    poll_interval_seconds: 0.2',
  ...extra.map((l) => `    ${l}`),
];

let remote: ServerProcess;
let local: WpsServer;
beforeAll(async () => {
  remote = await startServerProcess({ processes: REMOTE_PROCESSES, prefix: 'gw-remote-' });
  local = await startWpsServer({ processes: ['hello-world'], extraResources: providerYaml(remote.address) });
}, 60_000);
afterAll(async () => {
  await local?.close();
  await remote?.stop();
});

describe('discovery', () => {
  it("lists every remote process under the provider's prefix, across pages", async () => {
    const r = await request(`${local.base}/processes?limit=100`);
    const ids: string[] = r.json.processes.map((p: { id: string }) => p.id);
    expect(ids.filter((id) => id.startsWith('remote.')).sort()).toEqual(
      REMOTE_IDS.map((id) => `remote.${id}`).sort(),
    );
    expect(ids).toContain('hello-world');
  });

  it('reports the provider on /health', async () => {
    const r = await request(`${local.base}/health`);
    expect(r.json.providers).toEqual([
      expect.objectContaining({
        id: 'remote',
        type: 'ogcapi-processes',
        state: 'up',
        processes: 12,
        skipped: [],
      }),
    ]);
  });

  it.each(['bbox-transform', 'buffer', 'sleep', 'echo'])(
    'describes remote.%s with the inputs and outputs the remote describes',
    async (id) => {
      const mine = (await request(`${local.base}/processes/remote.${id}`)).json;
      const theirs = (await request(`${remote.address}/processes/${id}`)).json;
      expect(mine.id).toBe(`remote.${id}`);
      expect(mine.title).toBe(theirs.title);
      expect(mine.inputs).toEqual(theirs.inputs);
      expect(mine.outputs).toEqual(theirs.outputs);
    },
  );
});

/** The same execute request to the gateway (remote.<id>) and to the remote (<id>). */
async function both(id: string, body: unknown) {
  const [mine, theirs] = await Promise.all([
    execute(local.base, `remote.${id}`, body),
    execute(remote.address, id, body),
  ]);
  expect(mine.status, mine.text).toBe(theirs.status);
  return { mine, theirs };
}

describe('through the OGC API', () => {
  it('executes synchronously: the same answer as the remote', async () => {
    const { mine, theirs } = await both('hello-world', { inputs: { name: 'Remote', message: 'hi' } });
    expect(mine.status).toBe(200);
    expect(mine.text).toBe(theirs.text);
    expect(mine.text).toContain('Hello Remote!');
  });

  it('transforms bounding boxes as the remote does, in either axis order', async () => {
    const lonLat = {
      inputs: { bbox: { bbox: [5, 45, 6, 46], crs: CRS84 }, target_crs: 'EPSG:3857' },
      response: 'document',
    };
    const { mine, theirs } = await both('bbox-transform', lonLat);
    expect(mine.json).toEqual(theirs.json);
    const [x0, y0, x1, y1] = mine.json.bbox.bbox as number[];
    // 5°E..6°E, 45°N..46°N in Web Mercator metres.
    expect(x0).toBeCloseTo(556597.45, 1);
    expect(x1).toBeCloseTo(667916.94, 1);
    expect(y0).toBeCloseTo(5621521.49, 1);
    expect(y1).toBeCloseTo(5780349.22, 1);
    // The EPSG URI is latitude first: the same box, the same answer.
    const latLon = {
      inputs: {
        bbox: { bbox: [45, 5, 46, 6], crs: 'http://www.opengis.net/def/crs/EPSG/0/4326' },
        target_crs: 'EPSG:3857',
      },
      response: 'document',
    };
    expect((await execute(local.base, 'remote.bbox-transform', latLon)).json).toEqual(mine.json);
    // And back into WGS 84: a CRS84 box (longitude first).
    const back = await both('bbox-transform', {
      inputs: { bbox: mine.json.bbox, target_crs: 'EPSG:4326' },
      response: 'document',
    });
    expect(back.mine.json).toEqual(back.theirs.json);
    expect(back.mine.json.bbox.crs).toBe(CRS84);
    expect(back.mine.json.bbox.bbox[0]).toBeCloseTo(5, 6);
    expect(back.mine.json.bbox.bbox[1]).toBeCloseTo(45, 6);
  });

  it('buffers GeoJSON as the remote does', async () => {
    const data = {
      type: 'FeatureCollection',
      features: [
        { type: 'Feature', properties: { name: 'a' }, geometry: { type: 'Point', coordinates: [1, 2] } },
      ],
    };
    const body = {
      inputs: { data: { value: data, mediaType: 'application/geo+json' }, distance: 1, quadsegs: 2 },
      outputs: { buffered: { format: { mediaType: 'application/geo+json' } } },
      response: 'document',
    };
    const { mine, theirs } = await both('buffer', body);
    expect(mine.json).toEqual(theirs.json);
    expect(mine.json.buffered.value.features[0].geometry.type).toBe('Polygon');
    expect(mine.json.buffered.value.features[0].properties).toEqual({ name: 'a' });
  });

  it('runs asynchronously with the remote progress mirrored, then serves the results', async () => {
    const r = await execute(
      local.base,
      'remote.sleep',
      { inputs: { seconds: 2 } },
      { Prefer: 'respond-async' },
    );
    expect(r.status, r.text).toBe(201);
    const seen = await pollJob(local.base, r.json.jobID, (s) => s === 'successful' || s === 'failed', 30_000);
    expect(seen.at(-1).status).toBe('successful');
    const progress = seen.map((s) => s.progress as number);
    expect(progress.some((p) => p > 0 && p < 100)).toBe(true);
    expect(seen.some((s) => s.status === 'running' && typeof s.message === 'string')).toBe(true);
    const results = await request(`${local.base}/jobs/${r.json.jobID}/results`);
    expect(results.status).toBe(200);
    expect(Number(results.text)).toBe(2);
  });

  it('dismisses the remote job when the local one is dismissed', async () => {
    const r = await execute(
      local.base,
      'remote.sleep',
      { inputs: { seconds: 30 } },
      { Prefer: 'respond-async' },
    );
    expect(r.status, r.text).toBe(201);
    const local0 = Date.now();
    await pollJob(local.base, r.json.jobID, (s) => s === 'running', 15_000);
    // The remote job exists once the local one runs.
    let remoteJob: { jobID: string; status: string } | undefined;
    while (!remoteJob && Date.now() - local0 < 15_000) {
      const jobs = (await request(`${remote.address}/jobs?processID=sleep&status=running&limit=100`)).json
        .jobs;
      remoteJob = jobs.find(() => true);
      if (!remoteJob) await new Promise((res) => setTimeout(res, 100));
    }
    expect(remoteJob).toBeDefined();
    const d = await request(`${local.base}/jobs/${r.json.jobID}`, { method: 'DELETE' });
    expect(d.status, d.text).toBe(200);
    expect(d.json.status).toBe('dismissed');
    await pollJob(remote.address, remoteJob!.jobID, (s) => s === 'dismissed', 10_000);
  });

  it("fails with the remote's exception text and code", async () => {
    const r = await execute(
      local.base,
      'remote.fail',
      { inputs: { how: 'ows' } },
      { Prefer: 'respond-async' },
    );
    expect(r.status, r.text).toBe(201);
    const seen = await pollJob(local.base, r.json.jobID, (s) => s === 'failed' || s === 'successful', 15_000);
    expect(seen.at(-1).status).toBe('failed');
    const results = await request(`${local.base}/jobs/${r.json.jobID}/results`);
    expect(results.json.code).toBe('InvalidParameterValue');
    expect(results.json.detail).toMatch(/Provider 'remote'.*the data has no features/);
  });

  it('refuses invalid input locally, before the remote is asked', async () => {
    const r = await execute(local.base, 'remote.sleep', { inputs: { seconds: 99 } });
    expect(r.status).toBe(400);
    expect(r.json.locator).toBe('seconds');
  });
});

describe('through WPS 1.0.0, with OWSLib', () => {
  let mine: ScriptResult;
  let theirs: ScriptResult;
  beforeAll(async () => {
    expect(existsSync(PYTHON), 'Debian python3 with python3-owslib (bash .ci/setup.sh installs it)').toBe(
      true,
    );
    [mine, theirs] = await Promise.all([
      runOwslib(local.wps, 'remote.'),
      runOwslib(`${remote.address}/wps`, ''),
    ]);
  }, 120_000);

  it('lists and describes the remote processes as the remote does', () => {
    expect(mine.processes).toEqual(REMOTE_IDS.map((id) => `remote.${id}`).sort());
    expect(mine.describe).toEqual(theirs.describe);
    expect(mine.describe.statusSupported).toBe(true);
    expect(mine.describe.storeSupported).toBe(true);
    expect(mine.describe.inputs).toContainEqual(['bbox', 'BoundingBoxData', 1, 1]);
  });

  it('executes synchronously', () => {
    expect(mine.sync).toEqual(theirs.sync);
    expect(mine.sync.status).toBe('ProcessSucceeded');
  });

  it('transforms bounding boxes in both EPSG:4326 spellings as the remote does', () => {
    expect(mine.bbox).toEqual(theirs.bbox);
    expect(mine.bbox.short.status).toBe('ProcessSucceeded');
    // The short and the URN spelling (latitude first) name the same box.
    expect(mine.bbox.urn.outputs).toEqual(mine.bbox.short.outputs);
    expect(Number(mine.bbox.short.outputs.bbox[0])).toBeCloseTo(556597.45, 1);
  });

  it('buffers GeoJSON as the remote does', () => {
    expect(mine.buffer.status).toBe('ProcessSucceeded');
    // The same GeoJSON (it crossed OGC API as a JSON value: its layout is not kept).
    const parse = (r: ScriptResult) => JSON.parse(r.buffer.data[0] as string) as unknown;
    expect(parse(mine)).toEqual(parse(theirs));
    expect(parse(mine)).toMatchObject({
      features: [{ geometry: { type: 'Polygon' }, properties: { name: 'a' } }],
    });
  });

  it('runs asynchronously, polled through status documents', () => {
    expect(mine.async.statusLocation).toMatch(new RegExp(`^${local.wps}/status/[0-9a-f-]{36}\\.xml$`));
    expect(mine.async.statuses.at(-1)).toBe('ProcessSucceeded');
    expect(mine.async.statuses).toContain('ProcessStarted');
    expect(mine.async.percents.some((p: number) => p > 0 && p < 100)).toBe(true);
    expect(mine.async.outputs).toEqual(theirs.async.outputs);
  });

  it("reports the remote's failure with its code", () => {
    expect(mine.failed.status).toBe('Exception');
    expect(mine.failed.errors).toHaveLength(1);
    const [code, , text] = mine.failed.errors[0];
    expect(code).toBe('InvalidParameterValue');
    expect(text).toMatch(/the data has no features/);
  });
});
