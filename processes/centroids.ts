import { first, type Processor } from '../src/core/processor.ts';
import { vectorInput, vectorOutput } from './_gdal/descriptions.ts';
import { loadGdal } from './_gdal/gdal.ts';
import { addFeature, features, memoryLayer, openVector, writeVector } from './_gdal/vector.ts';

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
    const out = await memoryLayer('centroids', source.srs, gdal.wkbPoint, source.layer);
    for await (const feature of features(source, ctx)) {
      const geometry = feature.getGeometry();
      if (geometry)
        await addFeature(out.layer, {
          geometry: await geometry.centroidAsync(),
          properties: feature.fields.toObject(),
        });
    }
    return {
      centroids: await writeVector(out, 'centroids', ctx),
    };
  },
};

export default processor;
