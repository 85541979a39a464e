import { first, type Processor } from '../src/core/processor.ts';
import { vectorInput, vectorOutput } from './_gdal/descriptions.ts';
import { loadGdal } from './_gdal/gdal.ts';
import { eachFeature, openVector, vectorSink } from './_gdal/vector.ts';

const processor: Processor = {
  runtime: 'gdal',
  description: {
    id: 'centroids',
    version: '1.0.0',
    title: 'Centroids',
    abstract:
      'The centroid of every feature, as a point keeping the feature attributes (planar, in the data CRS).',
    keywords: ['vector', 'centroid'],
    inputs: [vectorInput('The features.')],
    outputs: [vectorOutput('centroids', 'Centroids', 'Points, in the format asked for.')],
  },
  async execute(inputs, ctx) {
    const gdal = await loadGdal();
    const source = await openVector(first(inputs, 'data', 'complex')!, 'data', ctx);
    const out = await vectorSink('centroids', source.srs, gdal.wkbPoint, ctx, source.layer);
    await eachFeature(source, ctx, (feature) => {
      const geometry = feature.getGeometry();
      if (geometry) out.add(geometry.centroid(), feature);
    });
    return { centroids: await out.finish() };
  },
};

export default processor;
