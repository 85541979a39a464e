/**
 * The geospatial processes through OGC API - Processes: real HTTP against a real server, GeoJSON
 * inline as JSON, GeoTIFF by reference (http and file) and inline as base64, bounding boxes in
 * CRS84 and EPSG:4326 axis order, outputs as document, raw and by reference, and one async job.
 * Expected numbers are computed here from their definitions, never by the code under test.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { expectOfficial } from '../helpers/oaproc-schemas.ts';
import { mercator } from '../helpers/mercator.ts';
import { startWpsServer, type WpsServer } from '../helpers/wps.ts';

const CRS84 = 'http://www.opengis.net/def/crs/OGC/1.3/CRS84';
const EPSG4326 = 'http://www.opengis.net/def/crs/EPSG/0/4326';
const EPSG3857 = 'http://www.opengis.net/def/crs/EPSG/0/3857';
const GEOJSON = 'application/geo+json';
const GEOTIFF = 'image/tiff; application=geotiff';
const EXC = 'http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/';

// ---- Test data --------------------------------------------------------------------------------------

/** A 20×20 grid of 1° cells from (10°E, 10°N), value 20·row + col + 1 (row 0 at the top), one nodata pixel. */
const COLS = 20;
const ROWS = 20;
const NODATA = -9999;
const cell = (row: number, col: number) => (row === 1 && col === 1 ? NODATA : row * COLS + col + 1);
const GRID = Array.from({ length: ROWS }, (_, r) => Array.from({ length: COLS }, (_, c) => cell(r, c)));

const files = mkdtempSync(path.join(tmpdir(), 'gw-oaproc-geo-'));
const pub = path.join(files, 'pub');
const outside = path.join(files, 'outside');
let tiff: Buffer;

/** The grid as a GeoTIFF in EPSG:4326, written by gdal_translate from an ASCII grid. */
function makeGeotiff(): Buffer {
  const asc = path.join(files, 'grid.asc');
  writeFileSync(
    asc,
    `ncols ${COLS}\nnrows ${ROWS}\nxllcorner 10\nyllcorner 10\ncellsize 1\nNODATA_value ${NODATA}\n` +
      `${GRID.map((r) => r.join(' ')).join('\n')}\n`,
  );
  const tif = path.join(pub, 'grid.tif');
  const r = spawnSync(
    'gdal_translate',
    ['-q', '-of', 'GTiff', '-a_srs', 'EPSG:4326', '-ot', 'Float32', asc, tif],
    {
      encoding: 'utf8',
    },
  );
  expect(r.status, r.stderr).toBe(0);
  writeFileSync(path.join(outside, 'grid.tif'), readFileSync(tif));
  return readFileSync(tif);
}

interface RasterInfo {
  size: number[];
  geoTransform: number[];
  values: number[][];
}

/** What gdalinfo and gdal_translate (the GDAL command-line tools) read in a GeoTIFF. */
function readRaster(bytes: Buffer): RasterInfo {
  // A TIFF starts with II*\0 (little-endian) or MM\0* (big-endian).
  expect(['49492a00', '4d4d002a']).toContain(bytes.subarray(0, 4).toString('hex'));
  const file = path.join(files, `out-${Math.random().toString(36).slice(2)}.tif`);
  writeFileSync(file, bytes);
  const info = spawnSync('gdalinfo', ['-json', file], { encoding: 'utf8' });
  expect(info.status, info.stderr).toBe(0);
  const { size, geoTransform } = JSON.parse(info.stdout) as { size: number[]; geoTransform: number[] };
  const asc = spawnSync('gdal_translate', ['-q', '-of', 'AAIGrid', file, '/vsistdout/'], {
    encoding: 'utf8',
  });
  const values = asc.stdout
    .trim()
    .split('\n')
    .filter((l) => /^\s*-?\d/.test(l))
    .map((l) => l.trim().split(/\s+/).map(Number));
  return { size, geoTransform, values };
}

/** Statistics of the grid, computed here. */
function gridStats() {
  const valid = GRID.flat().filter((v) => v !== NODATA);
  const mean = valid.reduce((a, b) => a + b, 0) / valid.length;
  const stddev = Math.sqrt(valid.reduce((a, v) => a + (v - mean) ** 2, 0) / valid.length);
  return { min: Math.min(...valid), max: Math.max(...valid), mean, stddev, count: valid.length, nodata: 1 };
}

// ---- Servers ------------------------------------------------------------------------------------------

/** The origin of GeoTIFF references; `/slow/…` answers after a pause, and records when it answered. */
let origin: Server;
let originUrl: string;
const served: Array<{ url: string; at: number }> = [];

let s: WpsServer;
beforeAll(async () => {
  mkdirSync(pub);
  mkdirSync(outside);
  tiff = makeGeotiff();
  origin = createServer((req, res) => {
    const send = () => {
      served.push({ url: req.url ?? '', at: Date.now() });
      res.setHeader('Content-Type', 'image/tiff');
      res.end(tiff);
    };
    if (req.url === '/grid.tif') send();
    else if (req.url === '/slow/grid.tif') setTimeout(send, 1500);
    else {
      res.statusCode = 404;
      res.end('no');
    }
  });
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  originUrl = `http://127.0.0.1:${(origin.address() as { port: number }).port}`;
  s = await startWpsServer({
    processes: ['buffer', 'area', 'reproject', 'raster-stats', 'raster-clip', 'bbox-transform'],
    extraServer: [`  allowed_input_paths: [${pub}]`, '  allowed_reference_hosts: [127.0.0.1]'],
  });
}, 30_000);
afterAll(async () => {
  await s?.close();
  origin?.close();
  rmSync(files, { recursive: true, force: true });
});

// ---- HTTP --------------------------------------------------------------------------------------------

interface Reply {
  status: number;
  headers: Headers;
  contentType: string;
  bytes: Buffer;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response JSON; tests check its shape and validate it against the official schemas
  json: any;
}

async function request(url: string, init: RequestInit = {}): Promise<Reply> {
  const res = await fetch(url, init);
  const bytes = Buffer.from(await res.arrayBuffer());
  const contentType = res.headers.get('content-type') ?? '';
  const text = bytes.toString('utf8');
  const json: unknown = /json/.test(contentType) && text !== '' ? JSON.parse(text) : undefined;
  return { status: res.status, headers: res.headers, contentType, bytes, text, json };
}

const execute = (processId: string, body: unknown, headers: Record<string, string> = {}) =>
  request(`${s.base}/processes/${processId}/execution`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

/** A successful results document, validated. */
function resultsDocument(ctx: TestContext, r: Reply) {
  expect(r.status, r.text).toBe(200);
  expect(r.contentType).toMatch(/^application\/json/);
  expectOfficial(ctx, r.json, 'results');
  return r.json;
}

/** An exception answer, validated, naming the input. */
function expectProblem(ctx: TestContext, r: Reply, status: number, mention: RegExp) {
  expect(r.status, r.text).toBe(status);
  expect(r.contentType).toMatch(/^application\/(problem\+)?json/);
  expectOfficial(ctx, r.json, 'exception');
  expect(r.json.detail).toMatch(mention);
}

// ---- GeoJSON helpers -------------------------------------------------------------------------------

type Position = number[];
const featureCollection = (geometries: object[], crs?: string) => ({
  type: 'FeatureCollection',
  ...(crs ? { crs: { type: 'name', properties: { name: crs } } } : {}),
  features: geometries.map((geometry, i) => ({ type: 'Feature', properties: { n: i }, geometry })),
});

interface Geometry {
  type: string;
  coordinates: unknown;
}
/** The outer ring of a Polygon or of the first polygon of a MultiPolygon. */
const outerRing = (g: Geometry): Position[] =>
  g.type === 'MultiPolygon' ? (g.coordinates as Position[][][])[0]![0]! : (g.coordinates as Position[][])[0]!;

/** Planar area of a closed ring (shoelace). */
const shoelace = (ring: Position[]) =>
  Math.abs(
    ring.slice(0, -1).reduce((sum, [x1, y1], i) => sum + x1! * ring[i + 1]![1]! - ring[i + 1]![0]! * y1!, 0),
  ) / 2;

/**
 * Area on the WGS84 ellipsoid between the equator and latitude φ over a longitude span Δλ (Snyder,
 * Map Projections: A Working Manual, eq. 3-12: the authalic latitude's q times a²/2).
 */
function ellipsoidZoneArea(latitude: number, lonSpan: number): number {
  const a = 6378137;
  const f = 1 / 298.257223563;
  const e2 = f * (2 - f);
  const e = Math.sqrt(e2);
  const sin = Math.sin((latitude * Math.PI) / 180);
  const q = (1 - e2) * (sin / (1 - e2 * sin * sin) - (1 / (2 * e)) * Math.log((1 - e * sin) / (1 + e * sin)));
  return ((a * a) / 2) * q * ((lonSpan * Math.PI) / 180);
}

// ---- Descriptions -----------------------------------------------------------------------------------

describe('descriptions of the geospatial processes', () => {
  it.for(['buffer', 'area', 'reproject', 'raster-stats', 'raster-clip', 'bbox-transform'])(
    '%s validates against process.yaml',
    async (id, ctx) => {
      const r = await request(`${s.base}/processes/${id}`);
      expect(r.status).toBe(200);
      expect(r.json.id).toBe(id);
      expectOfficial(ctx, r.json, 'process');
    },
  );

  it('GeoJSON is an object branch, GeoTIFF a base64 string branch, bbox CRSs as URIs', async () => {
    const buffer = (await request(`${s.base}/processes/buffer`)).json;
    expect(buffer.inputs.data.schema.oneOf[0]).toEqual({ type: 'object', contentMediaType: GEOJSON });
    const stats = (await request(`${s.base}/processes/raster-stats`)).json;
    expect(stats.inputs.raster.schema.oneOf).toContainEqual({
      type: 'string',
      format: 'byte',
      contentMediaType: GEOTIFF,
      contentEncoding: 'base64',
    });
    const clip = (await request(`${s.base}/processes/raster-clip`)).json;
    const [format, bbox] = clip.inputs.bbox.schema.allOf;
    expect(format).toEqual({ format: 'ogc-bbox' });
    expect(bbox.properties.crs.enum).toEqual([CRS84, EPSG4326, EPSG3857]);
    expect(bbox.properties.crs.default).toBe(CRS84);
  });
});

// ---- Vector processes, GeoJSON inline ---------------------------------------------------------------

describe('area and buffer with GeoJSON inline as a JSON object', () => {
  // A 2000 m × 1000 m rectangle in Web Mercator metres with a 100 m × 100 m hole: planar area 1 990 000 m².
  const outer = [
    [1000, 2000],
    [3000, 2000],
    [3000, 3000],
    [1000, 3000],
    [1000, 2000],
  ];
  const hole = [
    [1500, 2500],
    [1600, 2500],
    [1600, 2600],
    [1500, 2600],
    [1500, 2500],
  ];
  const projected = featureCollection(
    [{ type: 'Polygon', coordinates: [outer, hole] }],
    'urn:ogc:def:crs:EPSG::3857',
  );

  it('area of a projected polygon with a hole: qualified {value, mediaType} and a bare object agree with the shoelace formula', async (ctx) => {
    const expected = shoelace(outer) - shoelace(hole);
    expect(expected).toBe(1_990_000);
    for (const data of [{ value: projected, mediaType: GEOJSON }, projected]) {
      const doc = resultsDocument(ctx, await execute('area', { inputs: { data }, response: 'document' }));
      expect(doc.area).toBeCloseTo(expected, 6);
    }
    // Raw: the one literal as text.
    const raw = await execute('area', { inputs: { data: projected } });
    expect(raw.status, raw.text).toBe(200);
    expect(Number(raw.text)).toBeCloseTo(expected, 6);
  });

  it('area of a 1° × 1° lon/lat square is geodesic m² on WGS84', async (ctx) => {
    const square = featureCollection([
      {
        type: 'Polygon',
        coordinates: [
          [
            [0, 0],
            [1, 0],
            [1, 1],
            [0, 1],
            [0, 0],
          ],
        ],
      },
    ]);
    const doc = resultsDocument(
      ctx,
      await execute('area', {
        inputs: { data: { value: square, mediaType: GEOJSON } },
        response: 'document',
      }),
    );
    // The ellipsoidal zone between the equator and the parallel 1°N, plus the sliver between the parallel
    // and the polygon's top edge, a geodesic that bows poleward: a parabolic segment of chord R·Δλ·cos φ
    // and sagitta R·(Δλ/2)²·sin φ·cos φ/2, i.e. Δλ²·cos²φ/12 of the zone (2.5e-5; 4 m high in the middle).
    const zone = ellipsoidZoneArea(1, 1);
    const dLambda = Math.PI / 180;
    const sliver = (dLambda * Math.cos(dLambda)) ** 2 / 12;
    expect(Math.abs((doc.area / zone - 1) / sliver - 1)).toBeLessThan(0.02);
  });

  it('buffer of a point: every vertex at the distance, the 4·quadsegs-gon area, attributes kept', async (ctx) => {
    const centre = [1000, 2000];
    const data = featureCollection([{ type: 'Point', coordinates: centre }], 'EPSG:3857');
    for (const [input, quadsegs] of [
      [{ value: data, mediaType: GEOJSON }, 4],
      [data, 8],
    ] as const) {
      const doc = resultsDocument(
        ctx,
        await execute('buffer', {
          inputs: { data: input, distance: 25, quadsegs },
          outputs: { buffered: { format: { mediaType: GEOJSON } } },
          response: 'document',
        }),
      );
      expect(doc.buffered.mediaType).toBe(GEOJSON);
      const features = doc.buffered.value.features as Array<{
        properties: { n: number };
        geometry: Geometry;
      }>;
      expect(features).toHaveLength(1);
      expect(features[0]!.properties.n).toBe(0);
      const ring = outerRing(features[0]!.geometry);
      const n = 4 * quadsegs;
      expect(ring).toHaveLength(n + 1);
      for (const [x, y] of ring) expect(Math.hypot(x! - centre[0]!, y! - centre[1]!)).toBeCloseTo(25, 6);
      expect(shoelace(ring)).toBeCloseTo(0.5 * n * 25 * 25 * Math.sin((2 * Math.PI) / n), 4);
    }
  });

  it('buffer as a raw GeoJSON body', async () => {
    const r = await execute('buffer', {
      inputs: { data: featureCollection([{ type: 'Point', coordinates: [0, 0] }], 'EPSG:3857'), distance: 3 },
      outputs: { buffered: { format: { mediaType: GEOJSON } } },
      response: 'raw',
    });
    expect(r.status, r.text).toBe(200);
    expect(r.contentType).toMatch(/^application\/geo\+json/);
    const body = JSON.parse(r.text) as { features: Array<{ geometry: Geometry }> };
    const ring = outerRing(body.features[0]!.geometry);
    // quadsegs left out: GDAL's default, 30 segments per quarter circle.
    expect(ring).toHaveLength(4 * 30 + 1);
    for (const [x, y] of ring) expect(Math.hypot(x!, y!)).toBeCloseTo(3, 6);
  });

  it('a GeoJSON value that is not GeoJSON is a 400 naming the input', async (ctx) => {
    const r = await execute('area', { inputs: { data: { value: { type: 'Nothing' }, mediaType: GEOJSON } } });
    expectProblem(ctx, r, 400, /Input 'data'.*application\/geo\+json/);
    expect(r.json.locator).toBe('data');
  });
});

describe('reproject GeoJSON inline into EPSG:3857', () => {
  it('coordinates are R·λ and R·ln tan(π/4 + φ/2)', async (ctx) => {
    const point = [10, 50];
    const line = [
      [-70.5, -33.4],
      [151.2, -33.9],
      [0, 0],
    ];
    const data = featureCollection([
      { type: 'Point', coordinates: point },
      { type: 'LineString', coordinates: line },
    ]);
    const doc = resultsDocument(
      ctx,
      await execute('reproject', {
        inputs: { data: { value: data, mediaType: GEOJSON }, target_crs: 'EPSG:3857' },
        outputs: { reprojected: { format: { mediaType: GEOJSON } } },
        response: 'document',
      }),
    );
    const features = doc.reprojected.value.features as Array<{ geometry: { coordinates: unknown } }>;
    const close = (got: Position, lonLat: Position) => {
      const [x, y] = mercator(lonLat[0]!, lonLat[1]!);
      expect(Math.abs(got[0]! - x), `x of ${lonLat.join(',')}`).toBeLessThan(1e-3);
      expect(Math.abs(got[1]! - y), `y of ${lonLat.join(',')}`).toBeLessThan(1e-3);
    };
    close(features[0]!.geometry.coordinates as Position, point);
    const got = features[1]!.geometry.coordinates as Position[];
    expect(got).toHaveLength(line.length);
    line.forEach((p, i) => close(got[i]!, p));
  });
});

// ---- Raster processes, GeoTIFF ------------------------------------------------------------------------

describe('raster-stats with a GeoTIFF by reference and inline', () => {
  const expectStats = (stats: { bands: Array<Record<string, number>> }) => {
    const want = gridStats();
    expect(stats.bands).toHaveLength(1);
    const [band] = stats.bands;
    expect(band).toMatchObject({
      band: 1,
      min: want.min,
      max: want.max,
      count: want.count,
      nodata: want.nodata,
    });
    expect(band!.mean).toBeCloseTo(want.mean, 9);
    expect(band!.stddev).toBeCloseTo(want.stddev, 9);
  };

  it('by http reference {href, type} from a local server', async (ctx) => {
    const before = served.length;
    const doc = resultsDocument(
      ctx,
      await execute('raster-stats', {
        inputs: { raster: { href: `${originUrl}/grid.tif`, type: GEOTIFF } },
        response: 'document',
      }),
    );
    expect(served.slice(before).map((h) => h.url)).toEqual(['/grid.tif']);
    expect(doc.stats.mediaType).toBe('application/json');
    expectStats(doc.stats.value);
  });

  it('by file:// reference under allowed_input_paths, raw JSON body', async () => {
    const r = await execute('raster-stats', {
      inputs: { raster: { href: pathToFileURL(path.join(pub, 'grid.tif')).href, type: GEOTIFF } },
    });
    expect(r.status, r.text).toBe(200);
    expect(r.contentType).toMatch(/^application\/json/);
    expectStats(r.json);
  });

  it('a file:// reference outside allowed_input_paths is refused naming the input', async (ctx) => {
    const r = await execute('raster-stats', {
      inputs: { raster: { href: pathToFileURL(path.join(outside, 'grid.tif')).href, type: GEOTIFF } },
    });
    expectProblem(ctx, r, 400, /raster.*only allowed under the configured input paths/);
  });

  it('inline as base64 {value, mediaType, encoding}, and as a bare base64 string', async (ctx) => {
    for (const raster of [
      { value: tiff.toString('base64'), mediaType: GEOTIFF, encoding: 'base64' },
      { value: tiff.toString('base64'), format: { mediaType: GEOTIFF, encoding: 'base64' } },
      tiff.toString('base64'),
    ]) {
      const doc = resultsDocument(
        ctx,
        await execute('raster-stats', { inputs: { raster }, response: 'document' }),
      );
      expectStats(doc.stats.value);
    }
  });

  it('base64 that is not base64 is a 400 naming the input; bytes that are not a GeoTIFF fail naming it', async (ctx) => {
    expectProblem(
      ctx,
      await execute('raster-stats', {
        inputs: { raster: { value: 'not*base64!', mediaType: GEOTIFF, encoding: 'base64' } },
      }),
      400,
      /raster/,
    );
    const notTiff = await execute('raster-stats', {
      inputs: {
        raster: { value: Buffer.from('{"x":1}').toString('base64'), mediaType: GEOTIFF, encoding: 'base64' },
      },
    });
    expectProblem(ctx, notTiff, 400, /raster/);
  });
});

describe('bounding boxes: CRS84 is lon/lat, EPSG:4326 is lat/lon', () => {
  /** The cells of the grid between two longitudes and two latitudes (whole degrees), computed here. */
  const cells = (lon0: number, lat0: number, lon1: number, lat1: number) => {
    const rows = Array.from({ length: lat1 - lat0 }, (_, i) => 30 - lat1 + i);
    const cols = Array.from({ length: lon1 - lon0 }, (_, i) => lon0 - 10 + i);
    return rows.map((r) => cols.map((c) => cell(r, c)));
  };
  const clip = (bbox: unknown) =>
    execute('raster-clip', {
      inputs: { raster: { href: `${originUrl}/grid.tif`, type: GEOTIFF }, bbox },
      response: 'raw',
    });
  const clipped = async (bbox: unknown): Promise<RasterInfo> => {
    const r = await clip(bbox);
    expect(r.status, r.text).toBe(200);
    expect(r.contentType).toMatch(/^image\/tiff/);
    return readRaster(r.bytes);
  };

  it('raster-clip: the same box given both ways cuts the same pixels; the numbers swapped cut others', async () => {
    // Longitude 12°E..14°E, latitude 15°N..16°N.
    const want = { size: [2, 1], geoTransform: [12, 1, 0, 16, 0, -1], values: cells(12, 15, 14, 16) };
    expect(await clipped({ bbox: [12, 15, 14, 16], crs: CRS84 })).toEqual(want);
    expect(await clipped({ bbox: [15, 12, 16, 14], crs: EPSG4326 })).toEqual(want);
    // No CRS: the published default, CRS84.
    expect(await clipped({ bbox: [12, 15, 14, 16] })).toEqual(want);
    // A qualified value holding the box.
    expect(await clipped({ value: { bbox: [15, 12, 16, 14], crs: EPSG4326 } })).toEqual(want);
    // The CRS84 numbers read as EPSG:4326: latitude 12..14, longitude 15..16.
    expect(await clipped({ bbox: [12, 15, 14, 16], crs: EPSG4326 })).toEqual({
      size: [1, 2],
      geoTransform: [15, 1, 0, 14, 0, -1],
      values: cells(15, 12, 16, 14),
    });
  });

  it('bbox-transform to EPSG:3857: CRS84 and EPSG:4326 of the same box agree with the Mercator formulas', async (ctx) => {
    const [x2, y1] = mercator(2, 1);
    const [x1, y2] = mercator(1, 2);
    const transform = async (bbox: unknown) => {
      const doc = resultsDocument(
        ctx,
        await execute('bbox-transform', { inputs: { bbox, target_crs: 'EPSG:3857' }, response: 'document' }),
      );
      expect(doc.bbox.crs).toBe(EPSG3857);
      return doc.bbox.bbox as number[];
    };
    const expectBox = (got: number[], want: number[]) => {
      expect(got).toHaveLength(4);
      got.forEach((v, i) => expect(Math.abs(v - want[i]!), `corner value ${i}`).toBeLessThan(1e-3));
    };
    expectBox(await transform({ bbox: [0, 0, 2, 1], crs: CRS84 }), [0, 0, x2, y1]);
    expectBox(await transform({ bbox: [0, 0, 1, 2], crs: EPSG4326 }), [0, 0, x2, y1]);
    // The same numbers in the other CRS: 1° east and 2° north.
    expectBox(await transform({ bbox: [0, 0, 2, 1], crs: EPSG4326 }), [0, 0, x1, y2]);
  });

  it('a bounding box output by reference: the href serves {bbox, crs} JSON', async (ctx) => {
    const doc = resultsDocument(
      ctx,
      await execute('bbox-transform', {
        inputs: { bbox: { bbox: [0, 0, 1, 2], crs: EPSG4326 }, target_crs: 'EPSG:3857' },
        outputs: { bbox: { transmissionMode: 'reference' } },
        response: 'document',
      }),
    );
    expect(doc.bbox.type).toBe('application/json');
    const file = await request(doc.bbox.href);
    expect(file.status).toBe(200);
    expect(file.json.crs).toBe(EPSG3857);
    const [x, y] = mercator(2, 1);
    [0, 0, x, y].forEach((v, i) => expect(Math.abs(file.json.bbox[i] - v)).toBeLessThan(1e-3));
  });

  // KNOWN BUG, reported, not mine to fix (src/oaproc/results.ts, bboxJson): an output box in the short
  // form EPSG:4326 holds longitude first (the core's reading of that spelling) but is labelled with
  // the EPSG URI, whose axis order is latitude first; it should be labelled CRS84 (or be swapped).
  it('bbox-transform into EPSG:4326: the output box means what its CRS URI says', async (ctx) => {
    const doc = resultsDocument(
      ctx,
      await execute('bbox-transform', {
        inputs: { bbox: { bbox: [0, 0, 1, 2], crs: CRS84 }, target_crs: 'EPSG:4326' },
        response: 'document',
      }),
    );
    const { bbox, crs } = doc.bbox as { bbox: number[]; crs: string };
    expect([CRS84, EPSG4326]).toContain(crs);
    const lonLat = crs === CRS84 ? bbox : [bbox[1]!, bbox[0]!, bbox[3]!, bbox[2]!];
    [0, 0, 1, 2].forEach((v, i) => expect(lonLat[i]).toBeCloseTo(v, 9));
  });

  it('a CRS the input does not offer, and a malformed box, are 400 naming the input before any job', async (ctx) => {
    const before = (await s.gateway.jobs.list({})).total;
    expectProblem(
      ctx,
      await clip({ bbox: [12, 15, 14, 16], crs: 'http://www.opengis.net/def/crs/EPSG/0/32633' }),
      400,
      /bbox/,
    );
    expectProblem(ctx, await clip({ bbox: [12, 15, 14], crs: CRS84 }), 400, /bbox/);
    expectProblem(ctx, await clip({ bbox: [14, 15, 12, 16], crs: CRS84 }), 400, /bbox/);
    expect((await s.gateway.jobs.list({})).total).toBe(before);
  });
});

// ---- Outputs -----------------------------------------------------------------------------------------

describe('GeoTIFF outputs: document inline, raw, by reference', () => {
  const body = (extra: object) => ({
    inputs: {
      raster: { href: `${originUrl}/grid.tif`, type: GEOTIFF },
      bbox: { bbox: [12, 15, 14, 16], crs: CRS84 },
    },
    ...extra,
  });
  const WANT = { size: [2, 1], geoTransform: [12, 1, 0, 16, 0, -1] };

  it('document, value: base64 with its media type and encoding', async (ctx) => {
    const doc = resultsDocument(
      ctx,
      await execute(
        'raster-clip',
        body({ outputs: { clipped: { format: { mediaType: GEOTIFF } } }, response: 'document' }),
      ),
    );
    expect(doc.clipped).toMatchObject({ mediaType: GEOTIFF, encoding: 'base64' });
    expect(readRaster(Buffer.from(doc.clipped.value, 'base64'))).toMatchObject(WANT);
  });

  it('document, reference: {href, type}; the href serves the GeoTIFF', async (ctx) => {
    const doc = resultsDocument(
      ctx,
      await execute(
        'raster-clip',
        body({ outputs: { clipped: { transmissionMode: 'reference' } }, response: 'document' }),
      ),
    );
    expect(doc.clipped.type).toMatch(/^image\/tiff/);
    expect(doc.clipped.href).toMatch(new RegExp(`^${s.base}/`));
    const file = await request(doc.clipped.href);
    expect(file.status).toBe(200);
    expect(file.contentType).toMatch(/^image\/tiff/);
    expect(readRaster(file.bytes)).toMatchObject(WANT);
  });

  it('raw, reference: 204 with a Link to the GeoTIFF', async () => {
    const r = await execute(
      'raster-clip',
      body({ outputs: { clipped: { transmissionMode: 'reference' } }, response: 'raw' }),
    );
    expect(r.status, r.text).toBe(204);
    const link = /^<([^>]+)>;.*rel="http:\/\/www\.opengis\.net\/def\/rel\/ogc\/1\.0\/results"/.exec(
      r.headers.get('link') ?? '',
    );
    expect(link, r.headers.get('link') ?? '').not.toBeNull();
    const file = await request(link![1]!);
    expect(file.status).toBe(200);
    expect(readRaster(file.bytes)).toMatchObject(WANT);
  });
});

// ---- Async ---------------------------------------------------------------------------------------------

describe('an asynchronous geospatial job', () => {
  it('Prefer: respond-async answers 201 before the reference is fetched; polling ends successful with the stats', async (ctx) => {
    // Progress as the job system reports it, seen from inside the server while the client polls.
    const progress: number[] = [];
    const off = s.gateway.jobs.onUpdate((j) => {
      if (j.processId === 'raster-stats' && j.status === 'running') progress.push(j.progress);
    });
    const r = await execute(
      'raster-stats',
      { inputs: { raster: { href: `${originUrl}/slow/grid.tif`, type: GEOTIFF } }, response: 'document' },
      { Prefer: 'respond-async' },
    );
    const answered = Date.now();
    expect(r.status, r.text).toBe(201);
    expect(r.headers.get('preference-applied')).toBe('respond-async');
    expectOfficial(ctx, r.json, 'statusInfo');
    const location = r.headers.get('location')!;
    expect(location).toBe(`${s.base}/jobs/${r.json.jobID}`);

    const seen: Array<{ status: string; progress: number }> = [];
    let status: Reply;
    const deadline = Date.now() + 20_000;
    for (;;) {
      status = await request(location);
      expect(status.status).toBe(200);
      expectOfficial(ctx, status.json, 'statusInfo');
      seen.push({ status: status.json.status, progress: status.json.progress });
      if (!['accepted', 'running'].includes(status.json.status) || Date.now() > deadline) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    off();
    expect(status.json.status).toBe('successful');
    // The slow origin answered (1.5 s after it was asked) only after the client had its 201.
    expect(served.some((h) => h.url === '/slow/grid.tif' && h.at >= answered)).toBe(true);
    expect(progress.some((p) => p > 0)).toBe(true);
    // Seen unfinished first, then finished at 100 %, progress never going back.
    expect(seen.length).toBeGreaterThan(1);
    expect(['accepted', 'running']).toContain(seen[0]!.status);
    expect(seen.at(-1)!.progress).toBe(100);
    seen.forEach((p, i) => i > 0 && expect(p.progress).toBeGreaterThanOrEqual(seen[i - 1]!.progress));
    const results = status.json.links.find(
      (l: { rel: string }) => l.rel === 'http://www.opengis.net/def/rel/ogc/1.0/results',
    );
    const doc = resultsDocument(ctx, await request(results.href));
    expect(doc.stats.value.bands[0]).toMatchObject({ count: gridStats().count, nodata: 1 });
  });

  it('an unknown job is 404 no-such-job', async (ctx) => {
    const r = await request(`${s.base}/jobs/no-such-geo-job`);
    expect(r.status).toBe(404);
    expect(r.json.type).toBe(`${EXC}no-such-job`);
    expectOfficial(ctx, r.json, 'exception');
  });
});
