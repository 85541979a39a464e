import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RawExecuteRequest } from '../../src/core/execute.ts';
import type { Job } from '../../src/core/job.ts';
import type { BoundingBox, RawInputValue } from '../../src/core/values.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { mercator } from '../helpers/mercator.ts';

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway({
    processes: [
      'bbox-transform',
      'raster-stats',
      'raster-clip',
      'area',
      'buffer',
      'centroids',
      'convex-hull',
      'feature-count',
      'reproject',
    ],
    // The CRS list of bbox-transform is a resource option (one gateway per test process: GDAL loads in one thread).
    extraResources: [
      '  bbox-utm:',
      '    type: process',
      '    processor:',
      '      name: bbox-transform',
      '      crs: [EPSG:4326, EPSG:32633]',
      '  bbox-polar:',
      '    type: process',
      '    processor:',
      '      name: bbox-transform',
      '      crs: [EPSG:4326, EPSG:3413]',
      '  stats-verystrict:',
      '    type: process',
      '    validation_mode: VERYSTRICT',
      '    processor: {name: raster-stats}',
    ],
  });
});
afterAll(() => t.close());

const TIFF = 'image/tiff; subtype=geotiff';
const run = (
  processId: string,
  inputs: RawExecuteRequest['inputs'],
  outputs?: RawExecuteRequest['outputs'],
): Promise<Job> =>
  t.gateway.jobs.execute({ processId, inputs, ...(outputs ? { outputs } : {}), mode: 'sync' });
const bbox = (lower: number[], upper: number[], crs?: string): RawInputValue[] => [
  { type: 'bbox', lowerCorner: lower, upperCorner: upper, ...(crs ? { crs } : {}) },
];
const lit = (value: string): RawInputValue[] => [{ type: 'literal', value }];
const outBox = (job: Job): BoundingBox => {
  expect(job.status, job.message).toBe('successful');
  return job.results!.bbox as BoundingBox;
};
const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);
const expectCorners = (box: BoundingBox, lower: number[], upper: number[]) => {
  [...box.lowerCorner, ...box.upperCorner].forEach((v, i) => {
    const want = [...lower, ...upper][i]!;
    if (want === 0) expect(Math.abs(v)).toBeLessThan(1e-6);
    else expect(rel(v, want), `corner value ${i}: ${v} vs ${want}`).toBeLessThan(1e-6);
  });
};

/**
 * Distance from the pole in a north polar stereographic projection of WGS84 with true scale at 70°N
 * (EPSG:3413), from Snyder, Map Projections: A Working Manual (1987), eq. 21-33, 21-34 and 14-15.
 */
function polarStereographicRho(latitude: number): number {
  const a = 6378137;
  const f = 1 / 298.257223563;
  const e = Math.sqrt(f * (2 - f));
  const phi = (latitude * Math.PI) / 180;
  const phiC = (70 * Math.PI) / 180;
  const t = (p: number) =>
    Math.tan(Math.PI / 4 - p / 2) / ((1 - e * Math.sin(p)) / (1 + e * Math.sin(p))) ** (e / 2);
  const mC = Math.cos(phiC) / Math.sqrt(1 - e * e * Math.sin(phiC) ** 2);
  return (a * mC * t(phi)) / t(phiC);
}

describe('bbox-transform', () => {
  // EPSG:3857 from the spherical Mercator formulas, not from PROJ.
  const [X1, Y1] = mercator(1, 1);
  const [X2] = mercator(2, 0);

  it('(0,0)-(1,1) EPSG:4326 → EPSG:3857 as the Mercator formulas give, and back', async () => {
    const to3857 = outBox(
      await run('bbox-transform', { bbox: bbox([0, 0], [1, 1], 'EPSG:4326'), target_crs: lit('EPSG:3857') }),
    );
    expect(to3857.crs).toBe('EPSG:3857');
    expectCorners(to3857, [0, 0], [X1, Y1]);
    const back = outBox(
      await run('bbox-transform', {
        bbox: bbox([0, 0], [X2, Y1], 'EPSG:3857'),
        target_crs: lit('EPSG:4326'),
      }),
    );
    expectCorners(back, [0, 0], [2, 1]);
  });

  it('the three spellings: short and CRS84 longitude first, URN and URI latitude first', async () => {
    const cases: Array<[number[], number[], string]> = [
      [[0, 0], [2, 1], 'EPSG:4326'],
      [[0, 0], [2, 1], 'http://www.opengis.net/def/crs/OGC/1.3/CRS84'],
      [[0, 0], [1, 2], 'urn:ogc:def:crs:EPSG::4326'],
      [[0, 0], [1, 2], 'http://www.opengis.net/def/crs/EPSG/0/4326'],
    ];
    for (const [lower, upper, crs] of cases) {
      expectCorners(
        outBox(await run('bbox-transform', { bbox: bbox(lower, upper, crs), target_crs: lit('EPSG:3857') })),
        [0, 0],
        [X2, Y1],
      );
    }
    // No CRS: the default (EPSG:4326, longitude first).
    expectCorners(
      outBox(await run('bbox-transform', { bbox: bbox([0, 0], [2, 1]), target_crs: lit('EPSG:3857') })),
      [0, 0],
      [X2, Y1],
    );
  });

  it('densified edges: the envelope of a box whose edges curve in the target CRS includes the bulge', async () => {
    // EPSG:3413 (NSIDC Arctic polar stereographic: WGS84, true scale at 70°N, central meridian 45°W) maps
    // parallels to circles around the pole: the edge at 60°N bulges away from the pole between its
    // corners, furthest on the central meridian (y = -ρ(60°)), while its corners sit at y = -ρ(60°)·cos Δλ.
    const box = outBox(
      await run('bbox-polar', {
        bbox: bbox([-80, 60], [0, 70], 'EPSG:4326'),
        target_crs: lit('EPSG:3413'),
      }),
    );
    expect(box.crs).toBe('EPSG:3413');
    const rho60 = polarStereographicRho(60);
    const rho70 = polarStereographicRho(70);
    const deg = Math.PI / 180;
    // Corners: the x extremes at 60°N on the outer meridians (Δλ = -35°, +45°), the y maximum at 70°N, Δλ = 45°.
    expect(rel(box.lowerCorner[0]!, -rho60 * Math.sin(35 * deg))).toBeLessThan(1e-9);
    expect(rel(box.upperCorner[0]!, rho60 * Math.sin(45 * deg))).toBeLessThan(1e-9);
    expect(rel(box.upperCorner[1]!, -rho70 * Math.cos(45 * deg))).toBeLessThan(1e-9);
    // The bulge: the corners alone give -ρ(60°)·cos 45° (29 % short); the envelope reaches -ρ(60°) to
    // within 0.1 % (the sampling of the edge), and never beyond the true extent.
    expect(box.lowerCorner[1]!).toBeGreaterThanOrEqual(-rho60 * (1 + 1e-9));
    expect(box.lowerCorner[1]!).toBeLessThan(-rho60 * (1 - 1e-3));
  });

  it('the CRS list is extensible in the configuration', async () => {
    const job = await run('bbox-utm', { bbox: bbox([14, 0], [16, 1]), target_crs: lit('EPSG:32633') });
    const box = outBox(job);
    // Longitude 15° is the central meridian of UTM zone 33: x = 500000 m, the box symmetric around it.
    expect(Math.abs((box.lowerCorner[0]! + box.upperCorner[0]!) / 2 - 500000)).toBeLessThan(1e-3);
    expect(box.lowerCorner[1]).toBeCloseTo(0, 3);
    await expect(
      run('bbox-transform', { bbox: bbox([14, 0], [16, 1]), target_crs: lit('EPSG:32633') }),
    ).rejects.toMatchObject({
      locator: 'target_crs',
    });
  });

  it('CRSs and targets outside the list are refused before the job exists', async () => {
    await expect(
      run('bbox-transform', { bbox: bbox([0, 0], [1, 1], 'EPSG:32633'), target_crs: lit('EPSG:3857') }),
    ).rejects.toMatchObject({
      code: 'InvalidParameterValue',
      locator: 'bbox',
    });
    await expect(
      run('bbox-transform', { bbox: bbox([0, 0], [1, 1]), target_crs: lit('EPSG:32633') }),
    ).rejects.toMatchObject({
      code: 'InvalidParameterValue',
      locator: 'target_crs',
    });
  });
});

/** A 4×3 single-band grid with one nodata pixel, 1° cells from (10, 20), as GeoTIFF (via gdal_translate). */
const GRID = [
  [1, 2, 3, 4],
  [5, -9999, 7, 8],
  [9, 10, 11, 12],
];
function geotiff(options: string[] = []): Buffer {
  const asc = path.join(t.dir, `grid-${Math.random().toString(36).slice(2)}.asc`);
  writeFileSync(
    asc,
    `ncols 4\nnrows 3\nxllcorner 10\nyllcorner 20\ncellsize 1\nNODATA_value -9999\n${GRID.map((r) => r.join(' ')).join('\n')}\n`,
  );
  const tif = asc.replace(/\.asc$/, '.tif');
  const r = spawnSync(
    'gdal_translate',
    ['-q', '-of', 'GTiff', '-a_srs', 'EPSG:4326', '-ot', 'Float32', ...options, asc, tif],
    { encoding: 'utf8' },
  );
  expect(r.status, r.stderr).toBe(0);
  return readFileSync(tif);
}
const raster = (bytes: Buffer): RawInputValue[] => [
  { type: 'complex', data: new Uint8Array(bytes), mimeType: TIFF, encoding: 'base64' },
];

describe('raster-stats', () => {
  it('exact per-band statistics and nodata counts, against values computed here', async () => {
    const valid = GRID.flat().filter((v) => v !== -9999);
    const mean = valid.reduce((a, b) => a + b, 0) / valid.length;
    const stddev = Math.sqrt(valid.reduce((a, v) => a + (v - mean) ** 2, 0) / valid.length);
    const job = await run('raster-stats', { raster: raster(geotiff(['-b', '1', '-b', '1'])) });
    expect(job.status, job.message).toBe('successful');
    const out = job.results!.stats!;
    expect(out.kind).toBe('complex');
    const stats = JSON.parse(
      readFileSync(t.gateway.files.outputFile(job.id, (out as { file: string }).file)!, 'utf8'),
    ) as {
      bands: Array<Record<string, number>>;
    };
    expect(stats.bands).toHaveLength(2);
    for (const [i, band] of stats.bands.entries()) {
      expect(band).toMatchObject({ band: i + 1, min: 1, max: 12, count: 11, nodata: 1 });
      expect(band.mean).toBeCloseTo(mean, 12);
      expect(band.stddev).toBeCloseTo(stddev, 12);
    }
  });

  it.each(['raster-stats', 'stats-verystrict'])(
    'STRICT and VERYSTRICT (%s): a truncated GeoTIFF and other data declared as GeoTIFF fail, naming the input',
    async (process) => {
      const whole = geotiff(['-co', 'TILED=NO']);
      expect((await run(process, { raster: raster(whole) })).status).toBe('successful');
      for (const bytes of [
        whole.subarray(0, Math.floor(whole.length * 0.6)),
        Buffer.from('{"not":"tiff"}'),
        Buffer.alloc(0),
      ]) {
        const job = await run(process, { raster: raster(bytes) });
        expect(job.status).toBe('failed');
        expect(job.error).toMatchObject({ code: 'InvalidParameterValue', locator: 'raster' });
      }
    },
  );
});

describe('raster-clip', () => {
  function describeRaster(bytes: Buffer): { size: number[]; geoTransform: number[]; values: number[][] } {
    const file = path.join(t.dir, `clip-${Math.random().toString(36).slice(2)}.tif`);
    writeFileSync(file, bytes);
    const info = JSON.parse(spawnSync('gdalinfo', ['-json', file], { encoding: 'utf8' }).stdout) as {
      size: number[];
      geoTransform: number[];
    };
    const asc = spawnSync('gdal_translate', ['-q', '-of', 'AAIGrid', file, '/vsistdout/'], {
      encoding: 'utf8',
    }).stdout;
    const values = asc
      .trim()
      .split('\n')
      .filter((l) => /^\s*-?\d/.test(l))
      .map((l) => l.trim().split(/\s+/).map(Number));
    return { size: info.size, geoTransform: info.geoTransform, values };
  }
  const clippedBytes = (job: Job) => {
    expect(job.status, job.message).toBe('successful');
    return readFileSync(t.gateway.files.outputFile(job.id, (job.results!.clipped as { file: string }).file)!);
  };

  it('cuts whole pixels with their values unchanged', async () => {
    const job = await run('raster-clip', {
      raster: raster(geotiff()),
      bbox: bbox([11, 20], [13, 22], 'EPSG:4326'),
    });
    const clipped = describeRaster(clippedBytes(job));
    expect(clipped.size).toEqual([2, 2]);
    expect(clipped.geoTransform).toEqual([11, 1, 0, 22, 0, -1]);
    expect(clipped.values).toEqual([
      [-9999, 7],
      [10, 11],
    ]);
  });

  it('a box in another CRS is transformed into the raster CRS first', async () => {
    const b = outBox(
      await run('bbox-transform', {
        bbox: bbox([11.001, 20.001], [12.999, 21.999], 'EPSG:4326'),
        target_crs: lit('EPSG:3857'),
      }),
    );
    const job = await run('raster-clip', {
      raster: raster(geotiff()),
      bbox: bbox(b.lowerCorner, b.upperCorner, 'EPSG:3857'),
    });
    expect(describeRaster(clippedBytes(job)).geoTransform).toEqual([11, 1, 0, 22, 0, -1]);
  });

  it('a box that misses the raster is InvalidParameterValue', async () => {
    const job = await run('raster-clip', {
      raster: raster(geotiff()),
      bbox: bbox([50, 50], [51, 51], 'EPSG:4326'),
    });
    expect(job.error).toMatchObject({ code: 'InvalidParameterValue', locator: 'bbox' });
  });
});

describe('every geospatial process through the GDAL pool', () => {
  it('reports progress before it ends', async () => {
    const wkt = (w: string): RawInputValue[] => [{ type: 'complex', data: w, mimeType: 'application/wkt' }];
    const cases: Array<[string, RawExecuteRequest['inputs']]> = [
      ['area', { data: wkt('POLYGON((0 0,1 0,1 1,0 0))') }],
      ['buffer', { data: wkt('POINT(0 0)'), distance: lit('1') }],
      ['centroids', { data: wkt('POINT(0 0)') }],
      ['convex-hull', { data: wkt('MULTIPOINT(0 0,1 1,0 1)') }],
      ['feature-count', { data: wkt('POINT(0 0)') }],
      ['reproject', { data: wkt('POINT(0 0)'), target_crs: lit('EPSG:3857') }],
      ['bbox-transform', { bbox: bbox([0, 0], [1, 1]), target_crs: lit('EPSG:3857') }],
      ['raster-stats', { raster: raster(geotiff()) }],
      ['raster-clip', { raster: raster(geotiff()), bbox: bbox([11, 20], [13, 22]) }],
    ];
    for (const [processId, inputs] of cases) {
      const progress: number[] = [];
      const off = t.gateway.jobs.onUpdate((j) => {
        if (j.processId === processId && j.status === 'running' && j.progress > 0) progress.push(j.progress);
      });
      const job = await run(processId, inputs);
      off();
      expect(job.status, `${processId}: ${job.message ?? ''}`).toBe('successful');
      expect(progress.length, processId).toBeGreaterThan(0);
      expect(Math.max(...progress), processId).toBeLessThanOrEqual(100);
    }
  });
});
