import { first, type Processor } from '../src/core/processor.ts';
import { vectorInput, vectorOutput } from './_gdal/descriptions.ts';
import { loadGdal } from './_gdal/gdal.ts';
import { addFeature, features, memoryLayer, openVector, writeVector } from './_gdal/vector.ts';

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
    for await (const feature of features(source, ctx)) {
      const geometry = feature.getGeometry();
      if (geometry) all.children.add(geometry);
    }
    const out = await memoryLayer('hull', source.srs, gdal.wkbPolygon);
    await addFeature(out.layer, { geometry: await all.convexHullAsync() });
    return { hull: await writeVector(out, 'hull', ctx) };
  },
};

export default processor;
