import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RawExecuteRequest } from '../../src/core/execute.ts';
import type { Job } from '../../src/core/job.ts';
import type { RawInputValue } from '../../src/core/values.ts';
import { finished, startTestGateway, until, type TestGateway } from '../helpers/gateway.ts';
import { mercator } from '../helpers/mercator.ts';

const GEO = ['area', 'buffer', 'centroids', 'convex-hull', 'feature-count', 'reproject'];
let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway({
    processes: GEO,
    manager: { parallel_processes: 2 },
    server: '  max_single_input_size: 20mb',
    // feature-count again with each other validation mode for its data input.
    extraResources: ['NONE', 'VERYSTRICT'].map(
      (mode) =>
        `  count-${mode.toLowerCase()}:\n    type: process\n    validation_mode: ${mode}\n    processor: {name: feature-count}`,
    ),
  });
});
afterAll(() => t.close());

const GEOJSON = 'application/geo+json';
const complex = (data: string | Uint8Array, mimeType: string): RawInputValue[] => [
  { type: 'complex', data, mimeType },
];
const lit = (value: string | number): RawInputValue[] => [{ type: 'literal', value }];
const fc = (features: Array<{ geometry: object; properties?: object }>, crs?: string) =>
  JSON.stringify({
    type: 'FeatureCollection',
    ...(crs ? { crs: { type: 'name', properties: { name: crs } } } : {}),
    features: features.map((f) => ({
      type: 'Feature',
      properties: f.properties ?? {},
      geometry: f.geometry,
    })),
  });
const point = (x: number, y: number, properties?: object) => ({
  geometry: { type: 'Point', coordinates: [x, y] },
  properties,
});

async function run(
  processId: string,
  inputs: RawExecuteRequest['inputs'],
  outputs?: RawExecuteRequest['outputs'],
): Promise<Job> {
  const job = await t.gateway.jobs.execute({
    processId,
    inputs,
    ...(outputs ? { outputs } : {}),
    mode: 'sync',
  });
  return job;
}

function file(job: Job, id: string): Buffer {
  const out = job.results?.[id];
  if (!out || out.kind !== 'complex')
    throw new Error(`no complex output ${id}: ${job.status} ${job.message ?? ''}`);
  return readFileSync(t.gateway.files.outputFile(job.id, out.file)!);
}

const value = (job: Job, id: string) => {
  const out = job.results?.[id];
  if (!out || out.kind !== 'literal')
    throw new Error(`no literal output ${id}: ${job.status} ${job.message ?? ''}`);
  return out.value;
};

/** Planar area of a GeoJSON polygon ring (shoelace), computed here, independently of GDAL. */
const shoelace = (ring: number[][]) =>
  Math.abs(
    ring.slice(0, -1).reduce((s, [x1, y1], i) => s + x1! * ring[i + 1]![1]! - ring[i + 1]![0]! * y1!, 0),
  ) / 2;

/** ogr2ogr from GeoJSON text to another format, to make test data (the GDAL command-line tools). */
function convert(geojson: string, driver: string, extension: string, options: string[] = []): Buffer {
  const src = path.join(t.dir, `src-${Math.random().toString(36).slice(2)}.geojson`);
  const dst = src.replace(/\.geojson$/, `.${extension}`);
  writeFileSync(src, geojson);
  const r = spawnSync('ogr2ogr', ['-f', driver, ...options, dst, src], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return readFileSync(dst);
}

describe('vector processors: numbers', () => {
  it('buffer: a point buffered by r is the regular 4·quadsegs-gon of radius r (area → πr²)', async () => {
    for (const quadsegs of [2, 8, 30]) {
      const job = await run('buffer', {
        data: complex(fc([point(100, 200, { name: 'p' })]), GEOJSON),
        distance: lit(10),
        quadsegs: lit(quadsegs),
      });
      expect(job.status, job.message).toBe('successful');
      const out = JSON.parse(file(job, 'buffered').toString()) as {
        features: Array<{ properties: { name: string }; geometry: { coordinates: number[][][] } }>;
      };
      expect(out.features).toHaveLength(1);
      expect(out.features[0]!.properties.name).toBe('p');
      const ring = out.features[0]!.geometry.coordinates[0]!;
      const n = 4 * quadsegs;
      expect(ring).toHaveLength(n + 1);
      const area = shoelace(ring);
      expect(area).toBeCloseTo(0.5 * n * 100 * Math.sin((2 * Math.PI) / n), 6);
      expect(Math.abs(area - Math.PI * 100) / (Math.PI * 100)).toBeLessThan(
        1 - Math.sin((2 * Math.PI) / n) / ((2 * Math.PI) / n) + 1e-9,
      );
      for (const [x, y] of ring) expect(Math.hypot(x! - 100, y! - 200)).toBeCloseTo(10, 9);
    }
  });

  it('area: planar in a projected CRS (holes subtracted), geodesic m² on WGS84 in a geographic CRS', async () => {
    const square = (x: number, y: number, size: number) => [
      [x, y],
      [x + size, y],
      [x + size, y + size],
      [x, y + size],
      [x, y],
    ];
    const projected = fc(
      [
        {
          geometry: {
            type: 'Polygon',
            coordinates: [square(500000, 5000000, 1000), square(500100, 5000100, 100)],
          },
        },
        {
          geometry: {
            type: 'MultiPolygon',
            coordinates: [[square(600000, 5000000, 10)], [square(700000, 5000000, 20)]],
          },
        },
        point(1, 1),
      ],
      'urn:ogc:def:crs:EPSG::32633',
    );
    expect(value(await run('area', { data: complex(projected, GEOJSON) }), 'area')).toBeCloseTo(
      1000 * 1000 - 100 * 100 + 100 + 400,
      6,
    );

    const geographic = await run('area', {
      data: complex('POLYGON((0 0,1 0,1 1,0 1,0 0))', 'application/wkt'),
    });
    const area = Number(value(geographic, 'area'));
    // A sphere of the authalic radius gives R²·Δλ·(sin φ2 − sin φ1); the ellipsoid differs by < 1 %.
    const R = 6371007.2;
    const sphere = R * R * (Math.PI / 180) * Math.sin(Math.PI / 180);
    expect(Math.abs(area - sphere) / sphere).toBeLessThan(0.01);
    expect(area).toBeCloseTo(12308778361.469, 0); // Karney's algorithm on WGS84 (geographiclib)
  });

  it('centroids of known shapes, attributes kept', async () => {
    const shapes = fc([
      {
        geometry: {
          type: 'Polygon',
          coordinates: [
            [
              [0, 0],
              [2, 0],
              [2, 2],
              [0, 2],
              [0, 0],
            ],
          ],
        },
        properties: { id: 1 },
      },
      // An L of three unit squares: centroid (5/6, 5/6).
      {
        geometry: {
          type: 'Polygon',
          coordinates: [
            [
              [10, 0],
              [12, 0],
              [12, 1],
              [11, 1],
              [11, 2],
              [10, 2],
              [10, 0],
            ],
          ],
        },
        properties: { id: 2 },
      },
      {
        geometry: {
          type: 'LineString',
          coordinates: [
            [0, 0],
            [4, 0],
          ],
        },
        properties: { id: 3 },
      },
    ]);
    const job = await run('centroids', { data: complex(shapes, GEOJSON) });
    const out = JSON.parse(file(job, 'centroids').toString()) as {
      features: Array<{ properties: { id: number }; geometry: { type: string; coordinates: number[] } }>;
    };
    expect(out.features.map((f) => f.properties.id)).toEqual([1, 2, 3]);
    expect(out.features.every((f) => f.geometry.type === 'Point')).toBe(true);
    const [a, b, c] = out.features.map((f) => f.geometry.coordinates);
    expect(a![0]).toBeCloseTo(1, 12);
    expect(a![1]).toBeCloseTo(1, 12);
    expect(b![0]).toBeCloseTo(10 + 5 / 6, 12);
    expect(b![1]).toBeCloseTo(5 / 6, 12);
    expect(c).toEqual([2, 0]);
  });

  it('convex hull of all features: one polygon', async () => {
    const pts = fc([point(0, 0), point(4, 0), point(4, 3), point(0, 3), point(2, 1), point(1, 2)]);
    const job = await run(
      'convex-hull',
      { data: complex(pts, GEOJSON) },
      { hull: { mimeType: 'application/wkt' } },
    );
    const wkt = file(job, 'hull').toString();
    expect(wkt).toMatch(/^POLYGON \(\(/);
    const ring = wkt
      .replace(/^POLYGON \(\(|\)\)$/g, '')
      .split(',')
      .map((p) => p.trim().split(' ').map(Number));
    expect(shoelace(ring)).toBeCloseTo(12, 12);
    expect(ring).toHaveLength(5);
  });

  it('feature count', async () => {
    const many = fc(Array.from({ length: 250 }, (_, i) => point(i, i)));
    expect(value(await run('feature-count', { data: complex(many, GEOJSON) }), 'count')).toBe(250);
  });

  it('reproject keeps longitude first whatever the source format, and swaps nothing by mistake', async () => {
    const expected = mercator(2, 1); // lon 2, lat 1 in EPSG:3857
    const sources: Array<[string | Uint8Array, string]> = [
      [fc([point(2, 1)]), GEOJSON],
      [convert(fc([point(2, 1)]), 'GML', 'gml', ['-dsco', 'FORMAT=GML3']).toString(), 'application/gml+xml'],
      ['POINT (2 1)', 'application/wkt'],
    ];
    for (const [data, mimeType] of sources) {
      const job = await run(
        'reproject',
        { data: complex(data, mimeType), target_crs: lit('EPSG:3857') },
        { reprojected: { mimeType: 'application/wkt' } },
      );
      const [x, y] = file(job, 'reprojected')
        .toString()
        .replace(/^POINT \(|\)$/g, '')
        .split(' ')
        .map(Number);
      expect(Math.abs(x! - expected[0]!) / expected[0]!, mimeType).toBeLessThan(1e-6);
      expect(Math.abs(y! - expected[1]!) / expected[1]!, mimeType).toBeLessThan(1e-6);
    }
    const back = await run('reproject', {
      data: complex(fc([point(...expected)], 'urn:ogc:def:crs:EPSG::3857'), GEOJSON),
      target_crs: lit('EPSG:4326'),
    });
    const geo = JSON.parse(file(back, 'reprojected').toString()) as {
      features: Array<{ geometry: { coordinates: number[] } }>;
    };
    expect(geo.features[0]!.geometry.coordinates[0]).toBeCloseTo(2, 9);
    expect(geo.features[0]!.geometry.coordinates[1]).toBeCloseTo(1, 9);
    const gml = await run(
      'reproject',
      {
        data: complex(fc([point(...expected)], 'urn:ogc:def:crs:EPSG::3857'), GEOJSON),
        target_crs: lit('EPSG:4326'),
      },
      { reprojected: { mimeType: 'application/gml+xml' } },
    );
    // GML 3 in urn:ogc:def:crs:EPSG::4326 is latitude first.
    expect(file(gml, 'reprojected').toString()).toMatch(
      /srsName="urn:ogc:def:crs:EPSG::4326"[^]*<gml:pos>1(\.0+)? 2(\.0+)?<\/gml:pos>/,
    );
  });

  it('reproject EPSG:4326 → EPSG:3857 → EPSG:4326 within 1e-6 relative', async () => {
    const job = await run('reproject', {
      data: complex(fc([point(1, 1)]), GEOJSON),
      target_crs: lit('EPSG:3857'),
    });
    const out = JSON.parse(file(job, 'reprojected').toString()) as {
      features: Array<{ geometry: { coordinates: number[] } }>;
    };
    const [x, y] = out.features[0]!.geometry.coordinates;
    const [x1, y1] = mercator(1, 1);
    expect(Math.abs(x! - x1) / x1).toBeLessThan(1e-6);
    expect(Math.abs(y! - y1) / y1).toBeLessThan(1e-6);
    const back = await run('reproject', {
      data: complex(file(job, 'reprojected'), GEOJSON),
      target_crs: lit('EPSG:4326'),
    });
    const again = JSON.parse(file(back, 'reprojected').toString()) as {
      features: Array<{ geometry: { coordinates: number[] } }>;
    };
    expect(again.features[0]!.geometry.coordinates[0]).toBeCloseTo(1, 9);
    expect(again.features[0]!.geometry.coordinates[1]).toBeCloseTo(1, 9);
    const bad = await run('reproject', {
      data: complex(fc([point(1, 1)]), GEOJSON),
      target_crs: lit('EPSG:999999'),
    });
    expect([bad.status, bad.error?.code, bad.error?.locator]).toEqual([
      'failed',
      'InvalidParameterValue',
      'target_crs',
    ]);
  });
});

describe('vector formats', () => {
  const sample = fc([
    {
      geometry: {
        type: 'Polygon',
        coordinates: [
          [
            [0, 0],
            [2, 0],
            [2, 2],
            [0, 2],
            [0, 0],
          ],
        ],
      },
      properties: { name: 'a' },
    },
    {
      geometry: {
        type: 'Polygon',
        coordinates: [
          [
            [4, 0],
            [6, 0],
            [6, 2],
            [4, 2],
            [4, 0],
          ],
        ],
      },
      properties: { name: 'b' },
    },
  ]);
  const inputs: Array<[string, () => string | Uint8Array]> = [
    ['application/geo+json', () => sample],
    ['application/json', () => sample],
    ['application/gml+xml', () => convert(sample, 'GML', 'gml', ['-dsco', 'FORMAT=GML3']).toString()],
    ['text/xml; subtype=gml/3.1.1', () => convert(sample, 'GML', 'gml', ['-dsco', 'FORMAT=GML3']).toString()],
    ['text/xml; subtype=gml/2.1.2', () => convert(sample, 'GML', 'gml', ['-dsco', 'FORMAT=GML2']).toString()],
    ['application/vnd.google-earth.kml+xml', () => convert(sample, 'KML', 'kml').toString()],
    ['application/x-zipped-shp', () => new Uint8Array(convert(sample, 'ESRI Shapefile', 'shp.zip'))],
  ];

  it.each(inputs)('reads %s', async (mimeType, make) => {
    const job = await run('feature-count', { data: complex(make(), mimeType) });
    expect(job.status, job.message).toBe('successful');
    expect(value(job, 'count')).toBe(2);
  });

  it('writes WKT as one geometry: a collection when there are several', async () => {
    const job = await run(
      'centroids',
      { data: complex(sample, GEOJSON) },
      { centroids: { mimeType: 'application/wkt' } },
    );
    expect(file(job, 'centroids').toString()).toBe('GEOMETRYCOLLECTION (POINT (1 1),POINT (5 1))');
  });

  it.each(inputs.map(([m]) => m))('writes %s, which reads back the same', async (mimeType) => {
    const job = await run('centroids', { data: complex(sample, GEOJSON) }, { centroids: { mimeType } });
    expect(job.status, job.message).toBe('successful');
    const written = file(job, 'centroids');
    const back = await run(
      'centroids',
      { data: complex(new Uint8Array(written), mimeType) },
      { centroids: { mimeType: 'application/wkt' } },
    );
    expect(back.status, back.message).toBe('successful');
    const wkt = file(back, 'centroids').toString();
    expect(wkt).toMatch(/POINT \(1 1\)/);
    expect(wkt).toMatch(/POINT \(5 1\)/);
  });

  it('WKT in: one geometry, read as EPSG:4326', async () => {
    const job = await run(
      'buffer',
      { data: complex('POINT (3 4)', 'application/wkt'), distance: lit(1), quadsegs: lit(1) },
      { buffered: { mimeType: 'application/wkt' } },
    );
    expect(file(job, 'buffered').toString()).toBe('POLYGON ((4 4,3 3,2 4,3 5,4 4))');
  });
});

describe('validation of vector data (STRICT)', () => {
  it('content that is not of its declared format fails, naming the input', async () => {
    const cases: Array<[string | Uint8Array, string]> = [
      [fc([point(0, 0)]), 'application/gml+xml'], // GeoJSON declared as GML
      ['<gml:FeatureCollection xmlns:gml="http://www.opengis.net/gml"/>', GEOJSON],
      ['POINT (1', 'application/wkt'],
      [new Uint8Array([1, 2, 3, 4]), 'application/x-zipped-shp'],
      ['<kml><broken', 'application/vnd.google-earth.kml+xml'],
    ];
    for (const [data, mimeType] of cases) {
      let error;
      try {
        const job = await run('feature-count', { data: complex(data, mimeType) });
        error = job.error;
      } catch (e) {
        error = (e as { toJSON(): object }).toJSON();
      }
      expect(error, mimeType).toMatchObject({ code: 'InvalidParameterValue', locator: 'data' });
    }
  });

  it('an unsupported format is refused before the job exists (SIMPLE)', async () => {
    await expect(run('feature-count', { data: complex('x', 'image/png') })).rejects.toMatchObject({
      code: 'InvalidParameterValue',
      locator: 'data',
    });
  });
});

describe('validation of vector data (VERYSTRICT and NONE)', () => {
  const sample = fc([point(1, 2, { name: 'a' }), point(3, 4, { name: 'b' })]);
  const kml = (extra = '') =>
    `<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark>${extra}<Point><coordinates>1,2</coordinates></Point></Placemark></Document></kml>`;
  /** Outcome of one submission: the count, or the code of the refusal (before the job exists) or failure. */
  async function outcome(process: string, data: string | Uint8Array, mimeType: string): Promise<string> {
    try {
      const job = await run(process, { data: complex(data, mimeType) });
      return job.status === 'successful'
        ? `count ${String(value(job, 'count'))}`
        : `failed ${job.error?.code}`;
    } catch (e) {
      return `refused ${(e as { code: string }).code}`;
    }
  }

  it.each<[string, () => string | Uint8Array, string, string]>([
    ['GeoJSON', () => sample, GEOJSON, 'count 2'],
    ['GeoJSON as application/json', () => sample, 'application/json', 'count 2'],
    [
      'application/json, not GeoJSON',
      () => '{"features":[]}',
      'application/json',
      'refused InvalidParameterValue',
    ],
    [
      'GeoJSON, not RFC 7946',
      () => '{"type":"FeatureCollection","features":{}}',
      GEOJSON,
      'refused InvalidParameterValue',
    ],
    [
      'KML',
      () => convert(sample, 'KML', 'kml').toString(),
      'application/vnd.google-earth.kml+xml',
      'count 2',
    ],
    [
      'KML, not the KML 2.2 schema',
      () => kml('<title>x</title>'),
      'application/vnd.google-earth.kml+xml',
      'refused InvalidParameterValue',
    ],
    [
      'GML, format without schema',
      () => convert(sample, 'GML', 'gml', ['-dsco', 'FORMAT=GML3']).toString(),
      'application/gml+xml',
      'count 2',
    ],
    ['GML, GeoJSON content', () => sample, 'application/gml+xml', 'refused InvalidParameterValue'],
    [
      'GML 3.1.1, schema not installed',
      () => convert(sample, 'GML', 'gml', ['-dsco', 'FORMAT=GML3']).toString(),
      'text/xml; subtype=gml/3.1.1',
      'refused InvalidParameterValue',
    ],
    [
      'Shapefile',
      () => new Uint8Array(convert(sample, 'ESRI Shapefile', 'shp.zip')),
      'application/x-zipped-shp',
      'count 2',
    ],
    [
      'Shapefile, not a zip',
      () => new Uint8Array([1, 2, 3, 4]),
      'application/x-zipped-shp',
      'failed InvalidParameterValue',
    ],
    ['WKT', () => 'POINT (1 2)', 'application/wkt', 'count 1'],
    ['WKT, broken', () => 'POINT (1', 'application/wkt', 'failed InvalidParameterValue'],
  ])('VERYSTRICT, %s', async (_name, make, mimeType, expected) => {
    expect(await outcome('count-verystrict', make(), mimeType)).toBe(expected);
  });

  it('VERYSTRICT refusals say why', async () => {
    await expect(
      run('count-verystrict', {
        data: complex(kml('<title>x</title>'), 'application/vnd.google-earth.kml+xml'),
      }),
    ).rejects.toThrow(
      /does not validate against http:\/\/schemas\.opengis\.net\/kml\/2\.2\.0\/ogckml22\.xsd/,
    );
    await expect(run('count-verystrict', { data: complex('{"type":"Feature"}', GEOJSON) })).rejects.toThrow(
      /not valid GeoJSON/,
    );
  });

  it('NONE: an unsupported format is not refused at submission (the processor fails on it instead)', async () => {
    expect(await outcome('feature-count', sample, 'text/csv')).toBe('refused InvalidParameterValue');
    expect(await outcome('count-none', sample, 'text/csv')).toMatch(/^failed /);
    expect(await outcome('count-none', sample, GEOJSON)).toBe('count 2');
  });
});

describe('through the pool', () => {
  it('reports progress per feature batch and stops promptly when dismissed', async () => {
    const many = fc(Array.from({ length: 20000 }, (_, i) => point(i % 1000, Math.floor(i / 1000))));
    const job = await t.gateway.jobs.submit({
      processId: 'buffer',
      inputs: { data: complex(many, GEOJSON), distance: lit(0.4), quadsegs: lit(64) },
      mode: 'async',
    });
    const progressing = await until(
      t.gateway,
      job.id,
      (j) => j.status === 'running' && j.progress > 0 && j.progress < 90,
      30_000,
    );
    expect(progressing.message).toMatch(/\d+ of 20000 features/);
    const t0 = Date.now();
    await t.gateway.jobs.dismiss(job.id);
    await expect.poll(() => t.gateway.jobs.running, { timeout: 5000, interval: 20 }).toBe(0);
    const stoppedAfter = Date.now() - t0;
    const next = await t.gateway.jobs.submit({
      processId: 'feature-count',
      inputs: { data: complex(fc([point(0, 0)]), GEOJSON) },
      mode: 'async',
    });
    expect((await finished(t.gateway, next.id)).status).toBe('successful');
    expect(stoppedAfter).toBeLessThan(2000);
    expect((await t.gateway.jobs.get(job.id)).status).toBe('dismissed');
  });
});
