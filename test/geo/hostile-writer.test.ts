/**
 * Hostile inputs through the GeoJSON output of the vector processes (processes/_gdal/geojson-writer.ts
 * and GDAL's writer for the field types it leaves to GDAL), over HTTP against a real server: every
 * output parses and is RFC 7946 GeoJSON (test/helpers/geojson-schema.ts), and its features are
 * what `ogr2ogr -f GeoJSON` writes for the same data (semantically: parsed, coordinates to 15
 * significant digits as GDAL writes them, null attributes left out as the processes leave them),
 * except where GDAL's output is not GeoJSON (empty members).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectGeoJson } from '../helpers/geojson-schema.ts';
import { execute } from '../helpers/oaproc-http.ts';
import { startWpsServer, type WpsServer } from '../helpers/wps.ts';

const GEOJSON = 'application/geo+json';
const files = mkdtempSync(path.join(tmpdir(), 'gw-hostile-writer-'));
let s: WpsServer;
beforeAll(async () => {
  s = await startWpsServer({ processes: ['buffer', 'centroids', 'reproject', 'convex-hull', 'area'] });
}, 30_000);
afterAll(async () => {
  await s?.close();
  rmSync(files, { recursive: true, force: true });
});

const feature = (properties: object, geometry: object | null) => ({ type: 'Feature', properties, geometry });
const collection = (features: object[]) => JSON.stringify({ type: 'FeatureCollection', features });

/** Field types the fast writer renders itself: strings of every kind, reals at the edges, lists. */
const FAST = collection([
  feature(
    {
      s: 'q"uote \\back\\slash \u0001\u001f\t ctrl \u2028\u2029 separators \u{1F600} emoji',
      lone: '\ud800x',
      object: { a: [1, { b: null }], c: 'x"y' },
      jsonString: '{"x": [1, 2]}',
      arrayString: '[1,"two"]',
      notJson: '[1,2',
      bracketed: '[not json]',
      r: 0, // -0.0 below (JSON.stringify writes 0)
      huge: 1e308,
      tiny: 5e-324,
      sum: 0.1 + 0.2,
      i: 2147483647,
      b: true,
      rl: [1.5, 0.25],
      sl: ['a"b', '\n', ''],
      'we"ird\\name\n': 1,
    },
    { type: 'Point', coordinates: [0.5, 2, 3] },
  ),
  feature(
    { i: -5 },
    {
      type: 'MultiPolygon',
      coordinates: [
        [
          [
            [0, 0],
            [10, 0],
            [10, 10],
            [0, 10],
            [0, 0],
          ],
          [
            [2, 2],
            [3, 2],
            [3, 3],
            [2, 2],
          ],
        ],
        [
          [
            [20, 20],
            [21, 20],
            [21, 21],
            [20, 20],
          ],
        ],
      ],
    },
  ),
  feature(
    { s: '' },
    {
      type: 'GeometryCollection',
      geometries: [
        { type: 'Point', coordinates: [1, 2] },
        {
          type: 'LineString',
          coordinates: [
            [0, 0, 1],
            [1, 1, 2],
          ],
        },
        { type: 'GeometryCollection', geometries: [{ type: 'Point', coordinates: [3, 4] }] },
      ],
    },
  ),
  feature(
    { b: false, r: 1.7976931348623157e308 },
    {
      type: 'LineString',
      coordinates: [
        [0.1, -179.99999999999997],
        [1e-7, 1],
      ],
    },
  ),
])
  .replace('"r":0,', '"r":-0.0,')
  .replace('[1.5,0.25]', '[1.5,-0.0]')
  .replace('[0.5,2,3]', '[-0.0,2,3]');

/** Field types left to GDAL's writer: dates, times, 64-bit integers, integer and boolean lists. */
const GDAL_TYPES = collection([
  feature(
    {
      d: '2024-01-02',
      dt: '2024-01-02T03:04:05.678+02:00',
      t: '12:34:56',
      big: 'BIG',
      low: 'LOW',
      il: [1, 2, 3],
      bl: [true, false],
      s: '{"n": 12345678901234567890}',
      gone: null,
    },
    { type: 'Point', coordinates: [1, 2] },
  ),
  feature({ d: '1900-12-31', big: 1 }, { type: 'Point', coordinates: [3, 4] }),
])
  // Beyond JavaScript numbers: written into the text.
  .replace('"BIG"', '9007199254740993')
  .replace('"LOW"', '-9223372036854775807');

/** Runs `process` on `data` (sent as text: the bytes reach GDAL as written) and returns the GeoJSON text. */
async function run(process: string, data: string, mediaType = GEOJSON, extra: object = {}): Promise<string> {
  const r = await execute(s.base, process, { inputs: { data: { value: data, mediaType }, ...extra } });
  expect(r.status, r.text).toBe(200);
  return r.text;
}

/** Coordinates and reals to 15 significant digits (what GDAL writes), -0 kept; null attributes out. */
const rounded = (v: unknown): unknown =>
  typeof v === 'number'
    ? Object.is(v, -0) || !Number.isFinite(v)
      ? v
      : Number(v.toPrecision(15))
    : Array.isArray(v)
      ? v.map(rounded)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.entries(v)
              .filter(([, x]) => x !== null)
              .map(([k, x]) => [k, rounded(x)]),
          )
        : v;
const features = (doc: { features: Array<Record<string, unknown>> }) =>
  doc.features.map((f) => rounded({ properties: f.properties, geometry: f.geometry }));

/** What ogr2ogr writes for `data` (GeoJSON) with GDAL's GeoJSON driver. */
function ogr2ogr(data: string): { features: Array<Record<string, unknown>> } {
  const input = path.join(files, `in-${Math.random().toString(36).slice(2)}.geojson`);
  writeFileSync(input, data);
  const r = spawnSync('ogr2ogr', ['-f', 'GeoJSON', '/vsistdout/', input], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { features: Array<Record<string, unknown>> };
}

describe('GeoJSON output against GDAL’s own writer', () => {
  it.for([
    ['fast writer', FAST],
    ['GDAL’s writer', GDAL_TYPES],
  ])('%s: reproject (identity) writes what ogr2ogr writes, as valid GeoJSON', async ([, data]) => {
    const text = await run('reproject', data!, GEOJSON, { target_crs: 'EPSG:4326' });
    const ours = expectGeoJson(text);
    expect(ours.name).toBe('reprojected');
    expect(features(ours)).toEqual(features(ogr2ogr(data!)));
  });

  it('strings that read as JSON are written as JSON, as GDAL does; others stay strings', async () => {
    const props = expectGeoJson(await run('centroids', FAST)).features[0]!.properties as Record<
      string,
      unknown
    >;
    expect(props.object).toEqual({ a: [1, { b: null }], c: 'x"y' });
    expect(props.jsonString).toEqual({ x: [1, 2] });
    expect(props.arrayString).toEqual([1, 'two']);
    expect(props.notJson).toBe('[1,2');
    expect(props.bracketed).toBe('[not json]');
    expect(Object.is(props.r, -0)).toBe(true);
    expect(Object.is((props.rl as number[])[1], -0)).toBe(true);
    expect(props['we"ird\\name\n']).toBe(1);
  });

  it('dates, times and 64-bit integers keep every digit (job used to fail on a date field)', async () => {
    for (const process of ['centroids', 'buffer']) {
      const text = await run(
        process,
        GDAL_TYPES,
        GEOJSON,
        process === 'buffer' ? { distance: 0.1, quadsegs: 2 } : {},
      );
      const doc = expectGeoJson(text);
      expect(text).toMatch(/"big": 9007199254740993\b/);
      expect(text).toMatch(/"low": -9223372036854775807\b/);
      expect(text).toMatch(/"s": \{ "n": 12345678901234567890 \}/);
      const props = doc.features[0]!.properties as Record<string, unknown>;
      expect(props).toMatchObject({
        d: '2024-01-02',
        dt: '2024-01-02T03:04:05.678+02:00',
        t: '12:34:56',
        il: [1, 2, 3],
        bl: [true, false],
      });
      expect('gone' in props, 'null attributes left out').toBe(false);
    }
  });
});

describe('empty members and odd geometries stay GeoJSON', () => {
  it('an empty line in a MultiLineString is left out (GDAL writes [], fewer than 2 positions)', async () => {
    const data = collection([
      feature(
        {},
        {
          type: 'MultiLineString',
          coordinates: [
            [],
            [
              [0, 0],
              [1, 1],
            ],
          ],
        },
      ),
    ]);
    const doc = expectGeoJson(await run('reproject', data, GEOJSON, { target_crs: 'EPSG:4326' }));
    expect(doc.features[0]!.geometry).toEqual({
      type: 'MultiLineString',
      coordinates: [
        [
          [0, 0],
          [1, 1],
        ],
      ],
    });
  });

  it.for([
    // GDAL writes "geometries": null for the first two (not GeoJSON) and null for the third.
    [
      'GEOMETRYCOLLECTION (POINT EMPTY,POINT (1 1))',
      { type: 'GeometryCollection', geometries: [{ type: 'Point', coordinates: [1, 1] }] },
    ],
    ['GEOMETRYCOLLECTION (POINT EMPTY)', { type: 'GeometryCollection', geometries: [] }],
    ['MULTIPOINT (EMPTY,(1 1))', { type: 'MultiPoint', coordinates: [[1, 1]] }],
    [
      'MULTIPOLYGON (EMPTY,((0 0,1 0,0 1,0 0)))',
      {
        type: 'MultiPolygon',
        coordinates: [
          [
            [
              [0, 0],
              [1, 0],
              [0, 1],
              [0, 0],
            ],
          ],
        ],
      },
    ],
    ['POINT EMPTY', null],
    ['POLYGON EMPTY', { type: 'Polygon', coordinates: [] }],
    ['POINT ZM (1 2 3 4)', { type: 'Point', coordinates: [1, 2, 3] }],
    ['POINT M (1 2 4)', { type: 'Point', coordinates: [1, 2] }],
    ['CIRCULARSTRING (0 0,1 1,2 0)', 'LineString'],
  ] as const)('WKT %s', async ([wkt, expected]) => {
    const doc = expectGeoJson(await run('reproject', wkt, 'application/wkt', { target_crs: 'EPSG:4326' }));
    const geometry = doc.features[0]!.geometry as { type: string } | null;
    if (typeof expected === 'string') expect(geometry?.type).toBe(expected);
    else expect(geometry).toEqual(expected);
  });

  it('infinite coordinates (GML 1e999) give a null geometry, not Infinity', async () => {
    const gml = `<ogr:FeatureCollection xmlns:ogr="http://ogr.maptools.org/" xmlns:gml="http://www.opengis.net/gml"><gml:featureMember><ogr:a fid="a.0"><ogr:geometryProperty><gml:Point><gml:coordinates>1e999,1</gml:coordinates></gml:Point></ogr:geometryProperty><ogr:v>1e999</ogr:v></ogr:a></gml:featureMember><gml:featureMember><ogr:a fid="a.1"><ogr:geometryProperty><gml:Point><gml:coordinates>1,2</gml:coordinates></gml:Point></ogr:geometryProperty><ogr:v>2.5</ogr:v></ogr:a></gml:featureMember></ogr:FeatureCollection>`;
    const doc = expectGeoJson(await run('centroids', gml, 'application/gml+xml'));
    expect(doc.features.map((f) => f.geometry)).toEqual([null, { type: 'Point', coordinates: [1, 2] }]);
    // Reprojected: a refusal naming the input and the feature (it was a 500 "Unknown error").
    const r = await execute(s.base, 'reproject', {
      inputs: { data: { value: gml, mediaType: 'application/gml+xml' }, target_crs: 'EPSG:3857' },
    });
    expect(r.status, r.text).toBe(400);
    expect(r.json.detail).toBe("Input 'data': feature 0 cannot be transformed to EPSG:3857");
  });

  it('every vector process writes valid GeoJSON for every corpus; an empty layer too', async () => {
    const empty = collection([]);
    for (const data of [FAST, GDAL_TYPES, empty]) {
      expectGeoJson(await run('centroids', data));
      expectGeoJson(await run('buffer', data, GEOJSON, { distance: 0.5, quadsegs: 2 }));
      expectGeoJson(await run('convex-hull', data));
    }
    expect(expectGeoJson(await run('centroids', empty)).features).toEqual([]);
  });
});

describe('Shapefile attributes in other encodings', () => {
  /** A zipped Shapefile of one point whose DBF holds `name` in `encoding`, bytes patched by `patch`. */
  function shapefile(encoding: string, patch?: (dbf: Buffer) => void, prj = true): string {
    const dir = mkdtempSync(path.join(files, 'shp-'));
    const src = path.join(dir, 'src.geojson');
    writeFileSync(
      src,
      collection([feature({ name: 'Zürich "Ost"' }, { type: 'Point', coordinates: [8.5, 47.4] })]),
    );
    const r = spawnSync(
      'ogr2ogr',
      ['-f', 'ESRI Shapefile', '-lco', `ENCODING=${encoding}`, path.join(dir, 'p.shp'), src],
      {
        encoding: 'utf8',
      },
    );
    expect(r.status, r.stderr).toBe(0);
    if (patch) {
      const dbf = readFileSync(path.join(dir, 'p.dbf'));
      patch(dbf);
      writeFileSync(path.join(dir, 'p.dbf'), dbf);
    }
    const z = spawnSync(
      'zip',
      [
        '-q',
        '-j',
        path.join(dir, 'p.zip'),
        ...['shp', 'shx', 'dbf', ...(prj ? ['prj'] : []), 'cpg'].map((e) => path.join(dir, `p.${e}`)),
      ],
      {
        encoding: 'utf8',
      },
    );
    expect(z.status, z.stderr).toBe(0);
    return readFileSync(path.join(dir, 'p.zip')).toString('base64');
  }
  const runZip = async (zip: string) => {
    const r = await execute(s.base, 'centroids', {
      inputs: { data: { value: zip, mediaType: 'application/x-zipped-shp', encoding: 'base64' } },
    });
    expect(r.status, r.text).toBe(200);
    return expectGeoJson(r.text).features[0]!.properties as { name: string };
  };

  it('without a .prj, read as CRS84 (longitude first) like WKT: reproject used to swap x and y', async () => {
    const zip = shapefile('UTF-8', undefined, false);
    const r = await execute(s.base, 'reproject', {
      inputs: {
        data: { value: zip, mediaType: 'application/x-zipped-shp', encoding: 'base64' },
        target_crs: 'EPSG:3857',
      },
    });
    expect(r.status, r.text).toBe(200);
    const wkt = await run('reproject', 'POINT (8.5 47.4)', 'application/wkt', { target_crs: 'EPSG:3857' });
    const [x, y] = (expectGeoJson(r.text).features[0]!.geometry as { coordinates: number[] }).coordinates;
    const [wx, wy] = (expectGeoJson(wkt).features[0]!.geometry as { coordinates: number[] }).coordinates;
    expect(x).toBeCloseTo(wx!, 3);
    expect(y).toBeCloseTo(wy!, 3);
    expect(x).toBeCloseTo(946215.67, 1);
  });

  it('ISO-8859-1 is recoded to UTF-8', async () => {
    expect((await runZip(shapefile('ISO-8859-1'))).name).toBe('Zürich "Ost"');
  });

  it('bytes that are not UTF-8 in a UTF-8 DBF still give valid JSON', async () => {
    const zip = shapefile('UTF-8', (dbf) => {
      const at = dbf.indexOf(Buffer.from('Zürich', 'utf8'));
      expect(at).toBeGreaterThan(0);
      dbf[at + 1] = 0xff; // the first byte of ü: an invalid sequence
    });
    const { name } = await runZip(zip);
    expect(name).toMatch(/^Z.+rich "Ost"$/);
  });
});
