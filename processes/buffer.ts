import { first, literal, type Processor } from '../src/core/processor.ts';
import { vectorInput, vectorOutput } from './_gdal/descriptions.ts';
import { loadGdal } from './_gdal/gdal.ts';
import { eachFeature, openVector, vectorSink } from './_gdal/vector.ts';

/** GDAL's own default (OGR_G_Buffer, ogr2ogr, PyWPS on osgeo.ogr): 30 segments per quarter circle. */
const QUADSEGS = 30;

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
        abstract:
          "How finely curves are drawn: a point becomes a polygon of 4 × quadsegs sides. Default 30, GDAL's own default.",
        dataType: 'integer',
        minOccurs: 0,
        defaultValue: QUADSEGS,
        allowedValues: { ranges: [{ minimum: 1, maximum: 64 }] },
      },
    ],
    outputs: [vectorOutput('buffered', 'Buffered features', 'Polygons, in the format asked for.')],
  },
  async execute(inputs, ctx) {
    const gdal = await loadGdal();
    const source = await openVector(first(inputs, 'data', 'complex')!, 'data', ctx);
    const distance = Number(literal(inputs, 'distance'));
    const quadsegs = Number(literal(inputs, 'quadsegs') ?? QUADSEGS);
    const out = await vectorSink('buffered', source.srs, gdal.wkbMultiPolygon, ctx, source.layer);
    await eachFeature(source, ctx, (feature) => {
      const geometry = feature.getGeometry();
      if (geometry) out.add(geometry.buffer(distance, quadsegs), feature);
    });
    ctx.progress(95, 'writing');
    return { buffered: await out.finish() };
  },
};

export default processor;
