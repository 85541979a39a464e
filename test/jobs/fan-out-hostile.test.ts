/**
 * Fan-out under odd inputs, over HTTP against a real server with two slots: buffer fanned out is
 * byte for byte the single-task output whatever the features (property sets that differ, a chunk
 * of features without geometry, top-level members, fewer features than slots, fields left to
 * GDAL's writer); raster-stats fanned out equals the single task on all-nodata, NaN and short
 * rasters; a dismissed 100,000-feature job stops without its process being killed; hard links
 * (staged GDAL inputs) count once in the disk quota.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, linkSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcessRunner } from '../../src/jobs/child-runner.ts';
import { folderSize } from '../../src/jobs/disk-quota.ts';
import type { RuntimeRunner } from '../../src/jobs/pool.ts';
import { expectGeoJson } from '../helpers/geojson-schema.ts';
import { execute, pollJob, request } from '../helpers/oaproc-http.ts';
import { startWpsServer, type WpsServer } from '../helpers/wps.ts';

const GEOJSON = 'application/geo+json';
const GEOTIFF = 'image/tiff; application=geotiff';
const GRACE_S = 2;

const files = mkdtempSync(path.join(tmpdir(), 'gw-fan-out-hostile-'));
const resource = (id: string, processor: string, fanOut: string) =>
  `  ${id}:\n    type: process\n    processor: {name: ${processor}}\n    fan_out: ${fanOut}`;

let s: WpsServer;
beforeAll(async () => {
  s = await startWpsServer({
    processes: [],
    extraServer: ['  clean_temp_dir: false', '  max_request_size: 64mb', '  max_single_input_size: 64mb'],
    manager: { cancel_grace_seconds: GRACE_S, fan_out_min_bytes: '10' },
    extraResources: [
      resource('buffer', 'buffer', '{max_parallel: 2}'),
      resource('buffer-whole', 'buffer', '{max_parallel: 1}'),
      resource('raster-stats', 'raster-stats', '{min_bytes: 10}'),
      resource('raster-stats-whole', 'raster-stats', '{min_bytes: 1gb}'),
    ],
  });
}, 30_000);
afterAll(async () => {
  await s?.close();
  rmSync(files, { recursive: true, force: true });
});

const partsOf = (jobId: string): string[] => {
  const dir = path.join(s.gateway.files.workDir(jobId), 'fan-out');
  return existsSync(dir) ? readdirSync(dir).filter((f) => /^part-\d+\.json$/.test(f)) : [];
};

/** Runs a job asynchronously to success; returns the bytes of `output` and the job id. */
async function run(processId: string, inputs: object, output: string) {
  const r = await execute(
    s.base,
    processId,
    { inputs, outputs: { [output]: { transmissionMode: 'reference' } }, response: 'document' },
    { Prefer: 'respond-async' },
  );
  expect(r.status, r.text).toBe(201);
  const jobId = r.json.jobID as string;
  const seen = await pollJob(s.base, jobId, (st) => st !== 'accepted' && st !== 'running', 60_000);
  expect(seen.at(-1).status, JSON.stringify(seen.at(-1))).toBe('successful');
  const doc = await request(`${s.base}/jobs/${jobId}/results`);
  const result = await request(doc.json[output].href as string);
  expect(result.status).toBe(200);
  return { jobId, bytes: result.bytes };
}

/** buffer fanned out and as one task on `data` (text): the same bytes; returns the chunk count. */
async function sameBuffer(data: string): Promise<{ chunks: number; text: string }> {
  const inputs = { data: { value: data, mediaType: GEOJSON }, distance: 0.1, quadsegs: 2 };
  const [fanned, whole] = await Promise.all([
    run('buffer', inputs, 'buffered'),
    run('buffer-whole', inputs, 'buffered'),
  ]);
  expect(partsOf(whole.jobId)).toEqual([]);
  expect(fanned.bytes.toString('utf8')).toBe(whole.bytes.toString('utf8'));
  const text = fanned.bytes.toString('utf8');
  expectGeoJson(text);
  return { chunks: partsOf(fanned.jobId).length, text };
}

const point = (i: number, properties: object, geometry: boolean = true) => ({
  type: 'Feature',
  properties,
  geometry: geometry ? { type: 'Point', coordinates: [i, i / 2] } : null,
});

describe('buffer fanned out: the single-task bytes under odd inputs', () => {
  it('property sets that differ across chunks, 3 features in 2 chunks', async () => {
    const data = JSON.stringify({
      type: 'FeatureCollection',
      features: [point(0, { a: 1 }), point(1, { b: 'x"y' }), point(2, { c: 2.5, a: null })],
    });
    const { chunks, text } = await sameBuffer(data);
    expect(chunks).toBe(2);
    expect((JSON.parse(text) as { features: unknown[] }).features).toHaveLength(3);
  });

  it('a chunk whose features have no geometry (an empty part), then one with features', async () => {
    const data = JSON.stringify({
      type: 'FeatureCollection',
      features: [
        point(0, { n: 0 }, false),
        point(1, { n: 1 }, false),
        point(2, { n: 2 }),
        point(3, { n: 3 }),
      ],
    });
    const { chunks, text } = await sameBuffer(data);
    expect(chunks).toBe(2);
    expect(
      (JSON.parse(text) as { features: Array<{ properties: { n: number } }> }).features.map(
        (f) => f.properties.n,
      ),
    ).toEqual([2, 3]);
    // And the other way round: the last chunk empty.
    const reversed = JSON.stringify({
      type: 'FeatureCollection',
      features: [
        point(2, { n: 2 }),
        point(3, { n: 3 }),
        point(0, { n: 0 }, false),
        point(1, { n: 1 }, false),
      ],
    });
    expect((await sameBuffer(reversed)).chunks).toBe(2);
  });

  it('every chunk empty: a valid empty FeatureCollection', async () => {
    const data = JSON.stringify({
      type: 'FeatureCollection',
      features: [point(0, {}, false), point(1, {}, false)],
    });
    const { text } = await sameBuffer(data);
    expect((JSON.parse(text) as { features: unknown[] }).features).toEqual([]);
  });

  it('top-level name, crs and bbox members, a projected CRS', async () => {
    const data = JSON.stringify({
      type: 'FeatureCollection',
      name: 'evil "name"\n',
      bbox: [0, 0, 10, 10],
      crs: { type: 'name', properties: { name: 'urn:ogc:def:crs:EPSG::3857' } },
      features: [point(0, { v: 1 }), point(1, { v: 2 }), point(2, { v: 3 })],
    });
    const { text } = await sameBuffer(data);
    expect(JSON.parse(text)).toMatchObject({
      name: 'buffered',
      crs: { properties: { name: 'urn:ogc:def:crs:EPSG::3857' } },
    });
  });

  it('fields left to GDAL’s writer (a date, a 64-bit integer): joined the same', async () => {
    const data = JSON.stringify({
      type: 'FeatureCollection',
      features: [
        point(0, { d: '2024-01-02', big: 'BIG' }),
        point(1, { d: '2024-01-03', big: 1 }),
        point(2, { d: null, big: 2 }),
      ],
    }).replace('"BIG"', '9007199254740993');
    const { text } = await sameBuffer(data);
    expect(text).toMatch(/"big": 9007199254740993\b/);
  });

  it('2 features, the fewest that fan out', async () => {
    const data = JSON.stringify({ type: 'FeatureCollection', features: [point(0, {}), point(1, {})] });
    expect((await sameBuffer(data)).chunks).toBe(2);
  });
});

// ---- raster-stats --------------------------------------------------------------------------------

/** A GeoTIFF of `rows` lines of values (strips of one row: one block per row). */
function geotiff(name: string, type: string, rows: string[], nodata: string): string {
  const asc = path.join(files, `${name}.asc`);
  const cols = rows[0]!.split(' ').length;
  writeFileSync(
    asc,
    `ncols ${cols}\nnrows ${rows.length}\nxllcorner 0\nyllcorner 0\ncellsize 1\nNODATA_value ${nodata}\n${rows.join('\n')}\n`,
  );
  const tif = path.join(files, `${name}.tif`);
  const r = spawnSync('gdal_translate', ['-q', '-ot', type, '-co', 'BLOCKYSIZE=1', asc, tif], {
    encoding: 'utf8',
  });
  expect(r.status, r.stderr).toBe(0);
  return readFileSync(tif).toString('base64');
}

async function sameStats(
  tif: string,
): Promise<{ chunks: number; bands: Array<Record<string, number | null>> }> {
  const inputs = { raster: { value: tif, mediaType: GEOTIFF, encoding: 'base64' } };
  const [fanned, whole] = await Promise.all([
    run('raster-stats', inputs, 'stats'),
    run('raster-stats-whole', inputs, 'stats'),
  ]);
  expect(fanned.bytes.toString('utf8')).toBe(whole.bytes.toString('utf8'));
  return {
    chunks: partsOf(fanned.jobId).length,
    bands: (JSON.parse(fanned.bytes.toString('utf8')) as { bands: Array<Record<string, number | null>> })
      .bands,
  };
}

describe('raster-stats fanned out: the single-task statistics', () => {
  it('all nodata: no valid pixel, every pixel counted as nodata', async () => {
    const { chunks, bands } = await sameStats(
      geotiff('nodata', 'Int16', ['-1 -1 -1', '-1 -1 -1', '-1 -1 -1', '-1 -1 -1'], '-1'),
    );
    expect(chunks).toBeGreaterThanOrEqual(2);
    expect(bands[0]).toMatchObject({ count: 0, nodata: 12, min: null, max: null, mean: null });
  });

  it('NaN pixels and a NaN nodata value (Float32), fewer rows than chunks wanted', async () => {
    const { chunks, bands } = await sameStats(geotiff('nan', 'Float32', ['1.5 nan 2', 'nan nan 4'], 'nan'));
    expect(chunks).toBe(2); // 2 rows: 2 chunks, not the 4 that 2 slots ask for
    expect(bands[0]).toMatchObject({ count: 3, nodata: 3, min: 1.5, max: 4, sum: 7.5 });
  });

  it('a 1×1 raster runs as one task', async () => {
    const { chunks, bands } = await sameStats(geotiff('one', 'Byte', ['7'], '0'));
    expect(chunks).toBe(0);
    expect(bands[0]).toMatchObject({ count: 1, min: 7, max: 7, sum: 7, stddev: 0 });
  });
});

// ---- dismissal, disk quota -----------------------------------------------------------------------

const gdalPids = () => ((s.gateway.runner as RuntimeRunner).runner('gdal') as ChildProcessRunner).pids;

describe('stopping and counting', () => {
  it('a dismissed 100,000-feature buffer stops at its next turn: no process killed', async () => {
    const features = Array.from({ length: 100_000 }, (_, i) => point(i % 360, { i }));
    const data = JSON.stringify({ type: 'FeatureCollection', features });
    for (const id of ['buffer', 'buffer-whole']) {
      const r = await execute(
        s.base,
        id,
        { inputs: { data: { value: data, mediaType: GEOJSON }, distance: 0.1, quadsegs: 8 } },
        { Prefer: 'respond-async' },
      );
      expect(r.status, r.text).toBe(201);
      // Running, past the split and well into the features.
      await pollJob(s.base, r.json.jobID, () => true);
      const t0 = Date.now();
      for (;;) {
        const st = await request(`${s.base}/jobs/${r.json.jobID}`);
        if ((st.json.progress ?? 0) >= 10) break;
        expect(st.json.status).not.toBe('successful');
        expect(Date.now() - t0).toBeLessThan(30_000);
        await new Promise((res) => setTimeout(res, 20));
      }
      const before = [...gdalPids()];
      expect(before.length).toBeGreaterThan(0);
      const d = await request(`${s.base}/jobs/${r.json.jobID}`, { method: 'DELETE' });
      expect(d.status, d.text).toBe(200);
      // A task still running after the grace period has its process killed (and replaced): past
      // it, every process that ran the job is still there, so each stopped by itself.
      await new Promise((res) => setTimeout(res, GRACE_S * 1000 + 1000));
      expect(
        gdalPids().filter((p) => before.includes(p)),
        `${id}: no process killed`,
      ).toEqual(before);
    }
  }, 60_000);

  it('a file hard-linked twice counts once', async () => {
    const dir = mkdtempSync(path.join(files, 'links-'));
    writeFileSync(path.join(dir, 'a'), Buffer.alloc(1000));
    linkSync(path.join(dir, 'a'), path.join(dir, 'b'));
    writeFileSync(path.join(dir, 'c'), Buffer.alloc(10));
    expect(await folderSize(dir)).toBe(1010);
  });
});
