import geodesic from 'geographiclib-geodesic';
import type * as Gdal from 'gdal-async';
import { first, type Processor } from '../src/core/processor.ts';
import { vectorInput } from './_gdal/descriptions.ts';
import { loadGdal } from './_gdal/gdal.ts';
import { eachFeature, openVector } from './_gdal/vector.ts';

const WGS84 = geodesic.Geodesic.WGS84;

/** Area of a ring of longitude/latitude points on the WGS84 ellipsoid (Karney's algorithm), in m². */
function geodesicRingArea(ring: Gdal.LineString): number {
  const polygon = WGS84.Polygon(false);
  const points = ring.points.toArray();
  // The closing point repeats the first one; the polygon closes itself.
  for (const p of points.slice(0, points.length > 1 ? -1 : undefined)) polygon.AddPoint(p.y, p.x);
  return Math.abs(polygon.Compute(false, true).area ?? 0);
}

function polygonArea(polygon: Gdal.Polygon, geographic: boolean): number {
  if (!geographic) return polygon.getArea();
  const rings = polygon.rings.toArray();
  const [outer, ...holes] = rings;
  if (!outer) return 0;
  return geodesicRingArea(outer) - holes.reduce((sum, h) => sum + geodesicRingArea(h), 0);
}

function areaOf(geometry: Gdal.Geometry, gdal: typeof Gdal, geographic: boolean): number {
  if (geometry instanceof gdal.Polygon) return polygonArea(geometry, geographic);
  if (geometry instanceof gdal.GeometryCollection) {
    let sum = 0;
    geometry.children.forEach((g: Gdal.Geometry) => {
      sum += areaOf(g, gdal, geographic);
    });
    return sum;
  }
  return 0; // points and lines have no area
}

const processor: Processor = {
  runtime: 'gdal',
  description: {
    id: 'area',
    version: '1.0.0',
    title: 'Area',
    abstract:
      'The sum of the areas of the polygons of a vector dataset. In a projected CRS the area is planar, in the square units of the CRS; in a geographic CRS it is geodesic, in square metres on the WGS84 ellipsoid (Karney). Points and lines count zero.',
    keywords: ['vector', 'area', 'geodesic'],
    inputs: [vectorInput('The polygons to measure.')],
    outputs: [
      {
        id: 'area',
        kind: 'literal',
        title: 'Area',
        abstract: 'm² for geographic data, CRS units² otherwise.',
        dataType: 'double',
      },
    ],
  },
  async execute(inputs, ctx) {
    const gdal = await loadGdal();
    const source = await openVector(first(inputs, 'data', 'complex')!, 'data', ctx);
    const geographic = source.srs.isGeographic();
    let total = 0;
    await eachFeature(source, ctx, (feature) => {
      const geometry = feature.getGeometry();
      if (geometry) total += areaOf(geometry, gdal, geographic);
    });
    return { area: total };
  },
};

export default processor;
