/**
 * processes/_gdal/geojson-writer.ts against GDAL's own GeoJSON driver: the same geometries and
 * attributes once parsed (numbers to 12 significant digits), and GDAL's writer kept for what the
 * fast writer does not render itself.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type * as Gdal from 'gdal-async';
import { loadGdal } from '../../processes/_gdal/gdal.ts';
import { geojsonWriter, geometryJson } from '../../processes/_gdal/geojson-writer.ts';

const gdal = await loadGdal();
const dir = mkdtempSync(path.join(tmpdir(), 'geojson-writer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const rounded = (value: unknown): unknown =>
  typeof value === 'number'
    ? Number(value.toPrecision(12))
    : Array.isArray(value)
      ? value.map(rounded)
      : value && typeof value === 'object'
        ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rounded(v)]))
        : value;

/**
 * A source layer (GeoJSON read by GDAL) and what GDAL's driver writes for its features (with
 * `geometry` instead of theirs, if given).
 */
function source(features: string, geometry?: Gdal.Geometry): { layer: Gdal.Layer; gdalText: string } {
  const dataset = gdal.open(Buffer.from(`{"type":"FeatureCollection","features":[${features}]}`));
  const layer = dataset.layers.get(0);
  const file = path.join(dir, `gdal-${Math.random().toString(36).slice(2)}.geojson`);
  const out = gdal.open(file, 'w', 'GeoJSON');
  const outLayer = out.layers.create('out', layer.srs, gdal.wkbUnknown);
  for (const field of layer.fields) outLayer.fields.add(field);
  for (let f = layer.features.first(); f; f = layer.features.next()) {
    const feature = new gdal.Feature(outLayer);
    feature.setFrom(f);
    if (geometry) feature.setGeometry(geometry);
    outLayer.features.add(feature);
  }
  out.close();
  return { layer, gdalText: readFileSync(file, 'utf8') };
}

describe('geometries', () => {
  it.for([
    'POINT (1 2)',
    'POINT Z (1 2 3)',
    'POINT M (1 2 4)',
    'POINT ZM (1 2 3 4)',
    'LINESTRING (0 0,1 1,2 0.5)',
    'LINESTRING Z (0 0 1,1 1 2)',
    'POLYGON ((0 0,10 0,10 10,0 10,0 0),(2 2,3 2,3 3,2 2))',
    'MULTIPOINT ((0 0),(1 1))',
    'MULTILINESTRING ((0 0,1 1),(2 2,3 3))',
    'MULTIPOLYGON (((0 0,1 0,1 1,0 0)),((5 5,6 5,6 6,5 5)))',
    'MULTIPOLYGON Z (((0 0 1,1 0 1,1 1 1,0 0 1)))',
    'GEOMETRYCOLLECTION (POINT (1 2),LINESTRING (0 0,1 1),GEOMETRYCOLLECTION (POINT (3 4)))',
    'POLYGON EMPTY',
    'POINT EMPTY',
    'CIRCULARSTRING (0 0,1 1,2 0)',
    'POINT (0.1 -179.99999999999997)',
  ])('%s: as GDAL writes it', (wkt) => {
    const geometry = gdal.Geometry.fromWKT(wkt);
    const feature = `{"type":"Feature","properties":{},"geometry":${geometryJson(gdal, geometry)}}`;
    const theirs = JSON.parse(source(feature, geometry).gdalText) as {
      features: Array<{ geometry: unknown }>;
    };
    expect(rounded(JSON.parse(geometryJson(gdal, geometry)))).toEqual(rounded(theirs.features[0]!.geometry));
  });

  it('a coordinate is written as the shortest text that reads back as the same double', () => {
    const x = 0.1 + 0.2; // 0.30000000000000004
    const json = geometryJson(gdal, gdal.Geometry.fromWKT(`POINT (${x} 1e-7)`));
    expect(json).toBe('{"type":"Point","coordinates":[0.30000000000000004,1e-7]}');
  });

  /** A coordinate as GDAL's driver means it: the shortest text of the double, -0 kept. */
  const text = (v: number) => (Object.is(v, -0) ? '-0' : String(v));
  /** ISO WKB of a line string (XY, or XYZ with three ordinates a position). */
  const lineWkb = (positions: number[][]) => {
    const z = positions[0]?.length === 3;
    const wkb = Buffer.alloc(9 + positions.length * (z ? 24 : 16));
    wkb.writeUInt8(1, 0);
    wkb.writeUInt32LE(z ? 1002 : 2, 1);
    wkb.writeUInt32LE(positions.length, 5);
    positions.flat().forEach((v, i) => wkb.writeDoubleLE(v, 9 + 8 * i));
    return wkb;
  };
  const lineText = (positions: number[][]) =>
    `{"type":"LineString","coordinates":[${positions.map((p) => `[${p.map(text).join(',')}]`).join(',')}]}`;

  it.for([1, 1023, 1024, 1025, 2500])(
    'a line of %i positions is written exactly, in batches, -0 kept wherever it falls',
    (n) => {
      const positions = Array.from({ length: n }, (_, i) => [
        i % 700 === 3 ? -0 : (i * 0.1 + 0.2) * (i % 2 ? -1 : 1),
        i === n - 1 ? -0 : 1 / (i + 3),
      ]);
      const geometry = gdal.Geometry.fromWKB(lineWkb(positions));
      expect(geometryJson(gdal, geometry)).toBe(lineText(positions));
      const z = positions.map(([x, y], i) => [x!, y!, i % 3 ? i * 1e-9 : -0]);
      expect(geometryJson(gdal, gdal.Geometry.fromWKB(lineWkb(z)))).toBe(lineText(z));
    },
  );

  it('empty members are left out; an empty point inside a collection too', () => {
    const json = (wkt: string) => geometryJson(gdal, gdal.Geometry.fromWKT(wkt));
    expect(json('MULTIPOLYGON (EMPTY,((0 0,1 0,1 1,0 0)),EMPTY)')).toBe(
      '{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]]]}',
    );
    expect(
      json(
        'GEOMETRYCOLLECTION (POINT EMPTY,LINESTRING EMPTY,GEOMETRYCOLLECTION (POLYGON EMPTY),POINT (1 2))',
      ),
    ).toBe('{"type":"GeometryCollection","geometries":[{"type":"Point","coordinates":[1,2]}]}');
    expect(json('GEOMETRYCOLLECTION (POINT EMPTY)')).toBe('{"type":"GeometryCollection","geometries":[]}');
    expect(json('POINT EMPTY')).toBe('null');
  });

  it('a geometry with a non-finite coordinate is left to GDAL’s driver, whatever its size', () => {
    const positions = Array.from({ length: 3000 }, (_, i) => [i, i === 2999 ? Infinity : 1]);
    const geometry = gdal.Geometry.fromWKB(lineWkb(positions));
    const theirs = JSON.parse(
      source('{"type":"Feature","properties":{},"geometry":null}', geometry).gdalText,
    ) as {
      features: Array<{ geometry: unknown }>;
    };
    expect(JSON.parse(geometryJson(gdal, geometry))).toEqual(theirs.features[0]!.geometry);
  });
});

describe('features', () => {
  const features = [
    `{"type":"Feature","properties":{"i":1,"r":2.5,"s":"a \\"quoted\\" Zürich Ω","b":true,"lr":[0.5],"ls":["x","y"]},"geometry":{"type":"Point","coordinates":[1,2]}}`,
    `{"type":"Feature","properties":{"i":-7,"r":1.0,"s":"","b":false,"lr":[1e300],"ls":[]},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}}`,
    `{"type":"Feature","properties":{"i":3},"geometry":{"type":"LineString","coordinates":[[0,0],[1,1]]}}`,
  ].join(',');

  it('attributes and geometries read back as GDAL wrote them; absent attributes stay absent', () => {
    const { layer, gdalText } = source(features);
    const file = path.join(dir, 'fast.geojson');
    const writer = geojsonWriter(gdal, file, 'out', layer.srs, layer);
    expect(writer).toBeDefined();
    for (let f = layer.features.first(); f; f = layer.features.next()) writer!.add(f.getGeometry()!, f);
    writer!.close();
    const ours = JSON.parse(readFileSync(file, 'utf8')) as { features: Array<{ properties: object }> };
    const theirs = JSON.parse(gdalText) as { features: Array<{ properties: object }> };
    expect(rounded(ours)).toEqual(rounded(theirs));
    // Booleans stay booleans (an integer subtype gdal-async does not show).
    expect(ours.features[0]!.properties).toMatchObject({ b: true });
    expect(Object.keys(ours.features[2]!.properties)).toEqual(['i']);
  });

  it('a feature larger than the write buffer (1 MiB) is written whole, byte for byte', () => {
    const geometries = [60_000, 3, 40_000].map((n, k) =>
      gdal.Geometry.fromWKT(
        `LINESTRING (${Array.from({ length: n }, (_, i) => `${k + i / 7} ${-i / 3}`).join(',')})`,
      ),
    );
    const file = path.join(dir, 'large.geojson');
    const writer = geojsonWriter(gdal, file, 'out', null);
    for (const g of geometries) writer!.add(g);
    writer!.close();
    const text = readFileSync(file, 'utf8');
    expect(text.length).toBeGreaterThan(2 ** 21);
    const expected = geometries
      .map((g) => `{"type":"Feature","properties":{},"geometry":${geometryJson(gdal, g)}}`)
      .join(',\n');
    expect(text.slice(text.indexOf('"features": [\n') + 14)).toBe(`${expected}\n]\n}\n`);
    expect((JSON.parse(text) as { features: unknown[] }).features).toHaveLength(3);
  });

  it('the header (name, crs) is what GDAL writes for the layer CRS', () => {
    const file = path.join(dir, 'header.geojson');
    const writer = geojsonWriter(gdal, file, 'reprojected', gdal.SpatialReference.fromEPSG(3857));
    writer!.add(gdal.Geometry.fromWKT('POINT (1 2)'));
    writer!.close();
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({
      type: 'FeatureCollection',
      name: 'reprojected',
      crs: { type: 'name', properties: { name: 'urn:ogc:def:crs:EPSG::3857' } },
      features: [{ type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: [1, 2] } }],
    });
  });

  it.for([
    ['date', '"2020-01-02"'],
    ['date and time', '"2020-01-02T03:04:05Z"'],
    ['64-bit integer', '12345678901234567'],
    ['integer list (maybe booleans)', '[true,false]'],
  ])('a %s field is left to GDAL’s writer', ([, value]) => {
    const { layer } = source(
      `{"type":"Feature","properties":{"v":${value}},"geometry":{"type":"Point","coordinates":[0,0]}}`,
    );
    expect(geojsonWriter(gdal, path.join(dir, 'none.geojson'), 'out', layer.srs, layer)).toBeUndefined();
  });
});
