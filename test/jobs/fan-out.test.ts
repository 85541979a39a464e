/**
 * Parallel fan-out (issue 14) through OGC API - Processes, real HTTP against a real server with two
 * job slots: buffer fanned out gives byte for byte the GeoJSON of the same processor run as one
 * task; raster-stats fanned out gives identical counts, extremes and (integer band) sums and means,
 * and a standard deviation within 1e-12 relative; a failing chunk fails the job naming the chunk;
 * a dismissed job stops every chunk (their processes are gone, no chunk starts after); progress
 * only goes up as chunks finish; a chunk runs on a second slot only while no job waits for it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcessRunner } from '../../src/jobs/child-runner.ts';
import type { RuntimeRunner } from '../../src/jobs/pool.ts';
import { FIXTURES } from '../helpers/gateway.ts';
import { execute, pollJob, request, type HttpReply } from '../helpers/oaproc-http.ts';
import {
  doc,
  execute as wpsExecute,
  expectValid,
  kids,
  literalInput,
  one,
  post,
  startWpsServer,
  text,
  type WpsServer,
} from '../helpers/wps.ts';

const GEOJSON = 'application/geo+json';
const GEOTIFF = 'image/tiff; application=geotiff';
const GRACE_S = 0.5;

const files = mkdtempSync(path.join(tmpdir(), 'gw-fan-out-'));
const resource = (id: string, processor: string, fanOut: string) =>
  `  ${id}:\n    type: process\n    processor: {name: ${processor}}\n    fan_out: ${fanOut}`;

let s: WpsServer;
beforeAll(async () => {
  s = await startWpsServer({
    processes: ['sleep'],
    extraServer: ['  clean_temp_dir: false', '  max_request_size: 64mb', '  max_single_input_size: 64mb'],
    manager: { cancel_grace_seconds: GRACE_S, fan_out_min_bytes: '1kb' },
    extraResources: [
      resource('buffer', 'buffer', '{max_parallel: 2}'),
      resource('buffer-whole', 'buffer', '{max_parallel: 1}'),
      resource('raster-stats', 'raster-stats', '{min_bytes: 1kb}'),
      resource('raster-stats-whole', 'raster-stats', '{min_bytes: 1gb}'),
      resource('fan-out', path.join(FIXTURES, 'processes', 'fan-out.ts'), '{min_bytes: 10}'),
    ],
  });
}, 30_000);
afterAll(async () => {
  await s?.close();
  rmSync(files, { recursive: true, force: true });
});

/** Chunk part files the job left in its work folder (kept: clean_temp_dir is off). */
const partsOf = (jobId: string): string[] => {
  const dir = path.join(s.gateway.files.workDir(jobId), 'fan-out');
  return existsSync(dir) ? readdirSync(dir).filter((f) => /^part-\d+\.json$/.test(f)) : [];
};

/**
 * Runs a job asynchronously to its end, `output` by reference; returns the bytes of that output
 * (from its link in the results document) and every statusInfo seen.
 */
async function run(
  processId: string,
  body: { inputs: object; outputs?: Record<string, object> },
  output: string,
) {
  const outputs = { [output]: { ...body.outputs?.[output], transmissionMode: 'reference' } };
  const r = await execute(
    s.base,
    processId,
    { ...body, outputs, response: 'document' },
    { Prefer: 'respond-async' },
  );
  expect(r.status, r.text).toBe(201);
  const jobId = r.json.jobID as string;
  const seen = await pollJob(s.base, jobId, (st) => st !== 'accepted' && st !== 'running', 120_000);
  expect(seen.at(-1).status, JSON.stringify(seen.at(-1))).toBe('successful');
  const doc = await request(`${s.base}/jobs/${jobId}/results`);
  expect(doc.status, doc.text).toBe(200);
  const result = await request(doc.json[output].href as string);
  expect(result.status, result.text).toBe(200);
  return { jobId, result, seen };
}

const expectMonotonic = (seen: Array<{ progress?: number }>) => {
  const progress = seen.map((j) => j.progress ?? 0);
  for (let i = 1; i < progress.length; i++) expect(progress[i]).toBeGreaterThanOrEqual(progress[i - 1]!);
};

// ---- buffer --------------------------------------------------------------------------------------

/** Polygons (6 to 9 corners) on a grid, with attributes. */
function polygons(n: number): object {
  const features = Array.from({ length: n }, (_, i) => {
    const cx = (i % 60) * 0.01;
    const cy = Math.floor(i / 60) * 0.01;
    const corners = 6 + (i % 4);
    const ring = Array.from({ length: corners }, (_, k) => {
      const a = (2 * Math.PI * k) / corners + (i % 7) * 0.1;
      return [cx + 0.0035 * Math.cos(a), cy + 0.0035 * Math.sin(a)];
    });
    ring.push(ring[0]!);
    return {
      type: 'Feature',
      properties: { id: i, name: `polygon ${i}`, share: i / 7 },
      geometry: { type: 'Polygon', coordinates: [ring] },
    };
  });
  return { type: 'FeatureCollection', features };
}

describe('buffer fanned out', () => {
  it('is byte for byte the single-task GeoJSON, from 2 chunks; progress only goes up', async () => {
    const body = {
      inputs: { data: { value: polygons(3001), mediaType: GEOJSON }, distance: 0.001, quadsegs: 4 },
      outputs: { buffered: { format: { mediaType: GEOJSON } } },
    };
    const [fanned, whole] = await Promise.all([
      run('buffer', body, 'buffered'),
      run('buffer-whole', body, 'buffered'),
    ]);
    expect(partsOf(whole.jobId)).toEqual([]);
    // One chunk per slot (each chunk opens the whole input).
    expect(partsOf(fanned.jobId).sort()).toEqual(['part-1.json', 'part-2.json']);
    expect(fanned.result.bytes.length).toBeGreaterThan(1_000_000);
    expect(fanned.result.bytes.equals(whole.result.bytes), 'the same bytes').toBe(true);
    const doc = JSON.parse(fanned.result.text) as { features: Array<{ properties: { id: number } }> };
    expect(doc.features.map((f) => f.properties.id)).toEqual(Array.from({ length: 3001 }, (_, i) => i));
    expectMonotonic(fanned.seen);
  });

  it('another output format than GeoJSON runs as one task (the merge joins GeoJSON only)', async () => {
    const body = {
      inputs: { data: { value: polygons(50), mediaType: GEOJSON }, distance: 0.001, quadsegs: 2 },
      outputs: { buffered: { format: { mediaType: 'application/vnd.google-earth.kml+xml' } } },
    };
    const { jobId, result } = await run('buffer', body, 'buffered');
    expect(result.text).toContain('<kml');
    expect(partsOf(jobId)).toEqual([]);
  });
});

// ---- raster-stats --------------------------------------------------------------------------------

const COLS = 517;
const ROWS = 433;
const NODATA = -9999;

/** A GeoTIFF of the grid written by gdal_translate (strips of a few rows: many row blocks). */
function geotiff(type: 'Int16' | 'Float32', value: (r: number, c: number) => number): Buffer {
  const asc = path.join(files, `${type}.asc`);
  const rows = Array.from({ length: ROWS }, (_, r) =>
    Array.from({ length: COLS }, (_, c) => ((r * 31 + c * 17) % 97 === 0 ? NODATA : value(r, c))).join(' '),
  );
  writeFileSync(
    asc,
    `ncols ${COLS}\nnrows ${ROWS}\nxllcorner 10\nyllcorner 10\ncellsize 0.01\nNODATA_value ${NODATA}\n${rows.join('\n')}\n`,
  );
  const tif = path.join(files, `${type}.tif`);
  const r = spawnSync(
    'gdal_translate',
    ['-q', '-of', 'GTiff', '-ot', type, '-a_srs', 'EPSG:4326', asc, tif],
    {
      encoding: 'utf8',
    },
  );
  expect(r.status, r.stderr).toBe(0);
  return readFileSync(tif);
}

interface Stats {
  band: number;
  min: number;
  max: number;
  sum: number;
  mean: number;
  stddev: number;
  count: number;
  nodata: number;
}

const relative = (a: number, b: number) =>
  Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b), Number.MIN_VALUE);

describe('raster-stats fanned out', () => {
  it.for([
    // Integer band: sums of integers below 2^53 are exact, so sum and mean are identical.
    {
      type: 'Int16' as const,
      value: (r: number, c: number) => ((r * 7919 + c * 104729) % 20001) - 10000,
      exact: true,
    },
    // Float band far from zero (a hard case for the variance): within 1e-12 relative.
    {
      type: 'Float32' as const,
      value: (r: number, c: number) => 1e6 + Math.sin(r * 0.37 + c * 0.11) * 3.25,
      exact: false,
    },
  ])(
    '$type: the single-task statistics, exactly where exact, else within 1e-12',
    async ({ type, value, exact }) => {
      const body = {
        inputs: {
          raster: { value: geotiff(type, value).toString('base64'), mediaType: GEOTIFF, encoding: 'base64' },
        },
      };
      const [fanned, whole] = await Promise.all([
        run('raster-stats', body, 'stats'),
        run('raster-stats-whole', body, 'stats'),
      ]);
      expect(partsOf(whole.jobId)).toEqual([]);
      expect(partsOf(fanned.jobId).length).toBe(4);
      const [f] = (JSON.parse(fanned.result.text) as { bands: Stats[] }).bands;
      const [w] = (JSON.parse(whole.result.text) as { bands: Stats[] }).bands;
      // Identical by construction.
      for (const key of ['band', 'min', 'max', 'count', 'nodata'] as const)
        expect(f![key], key).toBe(w![key]);
      if (exact) {
        expect(f!.sum).toBe(w!.sum);
        expect(f!.mean).toBe(w!.mean);
      } else {
        expect(relative(f!.sum, w!.sum)).toBeLessThanOrEqual(1e-12);
        expect(relative(f!.mean, w!.mean)).toBeLessThanOrEqual(1e-12);
      }
      expect(relative(f!.stddev, w!.stddev)).toBeLessThanOrEqual(1e-12);
      // Both right, computed here from the definitions (two passes, on the values as stored).
      const stored = (v: number) => (type === 'Float32' ? Math.fround(v) : v);
      const valid: number[] = [];
      for (let r = 0; r < ROWS; r++)
        for (let c = 0; c < COLS; c++) {
          const v = stored(value(r, c));
          // The marked pixels, and any whose value happens to be the nodata value, are nodata.
          if ((r * 31 + c * 17) % 97 !== 0 && v !== NODATA) valid.push(v);
        }
      const mean = valid.reduce((a, b) => a + b, 0) / valid.length;
      const stddev = Math.sqrt(valid.reduce((a, v) => a + (v - mean) ** 2, 0) / valid.length);
      expect(f!.count).toBe(valid.length);
      expect(f!.nodata).toBe(ROWS * COLS - valid.length);
      expect(f!.min).toBe(valid.reduce((a, b) => Math.min(a, b)));
      expect(f!.max).toBe(valid.reduce((a, b) => Math.max(a, b)));
      expect(relative(f!.mean, mean)).toBeLessThanOrEqual(1e-12);
      expect(relative(f!.stddev, stddev)).toBeLessThanOrEqual(1e-9);
    },
  );
});

// ---- failures, dismissal, slots ------------------------------------------------------------------

const numbers = (n: number) => ({
  value: Array.from({ length: n }, (_, i) => i + 1).join(' '),
  mediaType: 'text/plain',
});

const gdalPids = () => ((s.gateway.runner as RuntimeRunner).runner('gdal') as ChildProcessRunner).pids;
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
/** Markers the fixture's chunks leave when they start: [chunk, pid]. */
const markersIn = (dir: string) => readdirSync(dir).map((m) => m.split('-').map(Number) as [number, number]);

describe('fan-out failures and dismissal', () => {
  it('a failing chunk fails the job, naming the chunk and the error', async () => {
    const r = await execute(
      s.base,
      'fan-out',
      { inputs: { data: numbers(1000), chunks: 4, chunk_ms: 300, fail_chunk: 3 } },
      { Prefer: 'respond-async' },
    );
    expect(r.status, r.text).toBe(201);
    const seen = await pollJob(s.base, r.json.jobID, (st) => st === 'failed' || st === 'successful', 30_000);
    const last = seen.at(-1);
    expect(last.status).toBe('failed');
    expect(last.message).toBe('Chunk 3 of 4 failed: injected failure in chunk 3');
    expect(partsOf(r.json.jobID).length).toBeLessThan(4);
    const results: HttpReply = await request(`${s.base}/jobs/${r.json.jobID}/results`);
    expect(results.status).toBeGreaterThanOrEqual(400);
    expect(results.text).toContain('Chunk 3 of 4 failed');
  });

  it('sums in chunks like in one task; progress goes up as chunks finish', async () => {
    const { seen, result } = await run(
      'fan-out',
      { inputs: { data: numbers(1000), chunks: 6, chunk_ms: 400 } },
      'result',
    );
    expectMonotonic(seen);
    const between = new Set(seen.map((j) => j.progress as number).filter((p) => p > 5 && p < 95));
    expect(between.size, `progress seen: ${seen.map((j) => j.progress).join(' ')}`).toBeGreaterThanOrEqual(3);
    expect(JSON.parse(result.text)).toEqual({ total: 500500, chunks: 6 });
  });

  it('dismissing a job stops every chunk: their processes are gone, no chunk starts after', async () => {
    const markers = mkdtempSync(path.join(files, 'markers-'));
    const r = await execute(
      s.base,
      'fan-out',
      { inputs: { data: numbers(1000), chunks: 4, chunk_ms: 60_000, stubborn: true, markers } },
      { Prefer: 'respond-async' },
    );
    expect(r.status, r.text).toBe(201);
    const t0 = Date.now();
    while (markersIn(markers).length < 2) {
      expect(Date.now() - t0, 'two chunks started').toBeLessThan(20_000);
      await new Promise((res) => setTimeout(res, 50));
    }
    const started = markersIn(markers);
    expect(started.map(([chunk]) => chunk).sort()).toEqual([1, 2]);
    const dismissed = await request(`${s.base}/jobs/${r.json.jobID}`, { method: 'DELETE' });
    expect(dismissed.status, dismissed.text).toBe(200);
    expect(dismissed.json.status).toBe('dismissed');
    // The stubborn chunks ignore their abort: their processes are killed after the grace period.
    const t1 = Date.now();
    while (started.some(([, pid]) => alive(pid))) {
      expect(Date.now() - t1, 'chunk processes killed').toBeLessThan(GRACE_S * 1000 + 5000);
      await new Promise((res) => setTimeout(res, 50));
    }
    await new Promise((res) => setTimeout(res, 1000));
    expect(markersIn(markers)).toHaveLength(2);
    for (const pid of gdalPids()) expect(started.map(([, p]) => p)).not.toContain(pid);
    // Both slots are free again: two jobs run at once.
    const a = await execute(s.base, 'sleep', { inputs: { seconds: 0.3 } }, { Prefer: 'respond-async' });
    const b = await execute(s.base, 'sleep', { inputs: { seconds: 0.3 } }, { Prefer: 'respond-async' });
    for (const job of [a, b]) {
      const seen = await pollJob(
        s.base,
        job.json.jobID,
        (st) => st === 'successful' || st === 'failed',
        10_000,
      );
      expect(seen.at(-1).status).toBe('successful');
    }
  });

  it('a chunk takes a second slot only while no job waits: a new job waits at most one chunk', async () => {
    const markers = mkdtempSync(path.join(files, 'markers-'));
    const fanned = await execute(
      s.base,
      'fan-out',
      { inputs: { data: numbers(1000), chunks: 6, chunk_ms: 1500, markers } },
      { Prefer: 'respond-async' },
    );
    const t0 = Date.now();
    while (markersIn(markers).length < 2) {
      expect(Date.now() - t0, 'two chunks started').toBeLessThan(20_000);
      await new Promise((res) => setTimeout(res, 50));
    }
    // Both slots busy (the job's, and one lent to its second chunk): the sleep job waits for one.
    const sleeper = await execute(s.base, 'sleep', { inputs: { seconds: 4 } }, { Prefer: 'respond-async' });
    expect((await request(`${s.base}/jobs/${sleeper.json.jobID}`)).json.status).toBe('accepted');
    const seen = await pollJob(s.base, sleeper.json.jobID, (st) => st !== 'accepted', 10_000);
    expect(seen.at(-1).status).toBe('running');
    const waitedMs = Date.now() - t0;
    expect(waitedMs, 'waited at most about one chunk').toBeLessThan(1500 + 2500);
    // While the sleep job runs, the fanned-out job runs one chunk at a time on its own slot.
    const during = markersIn(markers).length;
    await new Promise((res) => setTimeout(res, 2500));
    expect(markersIn(markers).length - during).toBeLessThanOrEqual(2);
    const done = await pollJob(
      s.base,
      fanned.json.jobID,
      (st) => st === 'successful' || st === 'failed',
      30_000,
    );
    expect(done.at(-1).status).toBe('successful');
  });
});

describe('fan-out through WPS', () => {
  const complexInput = (id: string, value: string) =>
    `<wps:Input><ows:Identifier>${id}</ows:Identifier><wps:Data><wps:ComplexData mimeType="text/plain">${value}</wps:ComplexData></wps:Data></wps:Input>`;
  const fanOutExecute = (extra: string) =>
    wpsExecute(
      'fan-out',
      complexInput('data', numbers(1000).value) + literalInput('chunks', '4') + extra,
      '<wps:ResponseForm><wps:RawDataOutput mimeType="application/json"><ows:Identifier>result</ows:Identifier></wps:RawDataOutput></wps:ResponseForm>',
    );

  it('a synchronous fanned-out Execute returns the merged result', async () => {
    const r = await post(s.wps, fanOutExecute(''));
    expect(r.status, r.body).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ total: 500500, chunks: 4 });
  });

  it('a failing chunk is a ProcessFailed naming the chunk', async () => {
    const r = await post(
      s.wps,
      wpsExecute(
        'fan-out',
        complexInput('data', numbers(1000).value) +
          literalInput('chunks', '4') +
          literalInput('chunk_ms', '200') +
          literalInput('fail_chunk', '2'),
      ),
    );
    expect(r.status).toBe(200);
    expectValid(r.body, 'execute');
    const failed = kids(one(doc(r.body), 'Status'))[0]!;
    expect(failed.local).toBe('ProcessFailed');
    expect(text(one(one(failed, 'Exception'), 'ExceptionText'))).toBe(
      'Chunk 2 of 4 failed: injected failure in chunk 2',
    );
  });
});
