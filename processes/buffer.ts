import { first, literal, type Processor } from '../src/core/processor.ts';
import { vectorInput, vectorOutput } from './_gdal/descriptions.ts';
import { loadGdal } from './_gdal/gdal.ts';
import { addFeature, features, memoryLayer, openVector, writeVector } from './_gdal/vector.ts';

const processor: Processor = {
  runtime: 'gdal',
  description: {
    id: 'buffer',
    version: '1.0.0',
    title: 'Buffer',
    abstract:
      'Buffers every feature by a distance in the units of the data CRS (degrees for geographic data), keeping its attributes.',
    keywords: ['vector', 'buffer'],
    inputs: [
      vectorInput('The features to buffer.'),
      {
        id: 'distance',
        kind: 'literal',
        title: 'Distance',
        abstract: 'In the units of the data CRS.',
        dataType: 'double',
      },
      {
        id: 'quadsegs',
        kind: 'literal',
        title: 'Segments per quarter circle',
        dataType: 'integer',
        minOccurs: 0,
        defaultValue: 8,
        allowedValues: { ranges: [{ minimum: 1, maximum: 64 }] },
      },
    ],
    outputs: [vectorOutput('buffered', 'Buffered features', 'Polygons, in the format asked for.')],
  },
  async execute(inputs, ctx) {
    const gdal = await loadGdal();
    const source = await openVector(first(inputs, 'data', 'complex')!, 'data', ctx);
    const distance = Number(literal(inputs, 'distance'));
    const quadsegs = Number(literal(inputs, 'quadsegs') ?? 8);
    const out = await memoryLayer('buffered', source.srs, gdal.wkbMultiPolygon, source.layer);
    for await (const feature of features(source, ctx)) {
      const geometry = feature.getGeometry();
      if (!geometry) continue;
      await addFeature(out.layer, {
        geometry: await geometry.bufferAsync(distance, quadsegs),
        properties: feature.fields.toObject(),
      });
    }
    ctx.progress(95, 'writing');
    return {
      buffered: await writeVector(out, 'buffered', ctx),
    };
  },
};

export default processor;
