import { first, type Processor } from '../src/core/processor.ts';
import { vectorInput, vectorOutput } from './_gdal/descriptions.ts';
import { loadGdal } from './_gdal/gdal.ts';
import { eachFeature, openVector, vectorSink } from './_gdal/vector.ts';

const processor: Processor = {
  runtime: 'gdal',
  description: {
    id: 'convex-hull',
    version: '1.0.0',
    title: 'Convex hull',
    abstract: 'The convex hull of all features together: one polygon (planar, in the data CRS).',
    keywords: ['vector', 'convex hull'],
    inputs: [vectorInput('The features.')],
    outputs: [vectorOutput('hull', 'Convex hull', 'One polygon, in the format asked for.')],
  },
  async execute(inputs, ctx) {
    const gdal = await loadGdal();
    const source = await openVector(first(inputs, 'data', 'complex')!, 'data', ctx);
    const all = new gdal.GeometryCollection();
    await eachFeature(source, ctx, (feature) => {
      const geometry = feature.getGeometry();
      if (geometry) all.children.add(geometry);
    });
    const out = await vectorSink('hull', source.srs, gdal.wkbPolygon, ctx);
    out.add(all.convexHull());
    return { hull: await out.finish() };
  },
};

export default processor;
