import path from 'node:path';
import { fanOut, first, literal, type ProcessContext, type Processor } from '../src/core/processor.ts';
import type { ComplexResult, ProcessInputs } from '../src/core/values.ts';
import { vectorInput, vectorOutput } from './_gdal/descriptions.ts';
import { VECTOR_FORMATS, vectorKind } from './_gdal/formats.ts';
import { loadGdal } from './_gdal/gdal.ts';
import { concatGeoJson } from './_gdal/geojson-concat.ts';
import { eachFeature, openVector, vectorSink } from './_gdal/vector.ts';

/** GDAL's own default (OGR_G_Buffer, ogr2ogr, PyWPS on osgeo.ogr): 30 segments per quarter circle. */
const QUADSEGS = 30;

/** Features at the positions [start, end) of the input, buffered by one chunk task. */
interface Chunk {
  start: number;
  end: number;
}

/**
 * Buffers the features of `data` (those of `range` only, if given) into the output the client
 * asked for; a chunk's goes to its own work folder.
 */
async function buffer(inputs: ProcessInputs, ctx: ProcessContext, range?: Chunk): Promise<ComplexResult> {
  const gdal = await loadGdal();
  const source = await openVector(first(inputs, 'data', 'complex')!, 'data', ctx);
  const distance = Number(literal(inputs, 'distance'));
  const quadsegs = Number(literal(inputs, 'quadsegs') ?? QUADSEGS);
  const out = await vectorSink('buffered', source.srs, gdal.wkbMultiPolygon, ctx, source.layer);
  await eachFeature(
    source,
    ctx,
    (feature) => {
      const geometry = feature.getGeometry();
      if (geometry) out.add(geometry.buffer(distance, quadsegs), feature);
    },
    undefined,
    range,
  );
  ctx.progress(95, 'writing');
  return out.finish();
}

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
    return { buffered: await buffer(inputs, ctx) };
  },
  /**
   * Large inputs: the features in consecutive batches, each buffered by a chunk into GeoJSON, the
   * chunks' files joined in order (byte for byte the single-task output). Only for GeoJSON output
   * (the default): the other formats are written whole by GDAL from one layer.
   */
  fanOut: fanOut<Chunk, { file: string }>({
    input: 'data',
    minBytes: 4 * 1024 * 1024,
    // One chunk per slot: each chunk opens the whole input and reads up to its last feature.
    async split(inputs, ctx, slots) {
      const format = ctx.outputs.buffered?.format ?? VECTOR_FORMATS[0]!;
      if (vectorKind(format.mimeType) !== 'geojson') return undefined;
      const source = await openVector(first(inputs, 'data', 'complex')!, 'data', ctx);
      const total = source.layer.features.count();
      source.dataset.close();
      if (total < 2) return undefined;
      const size = Math.ceil(total / Math.min(slots, total));
      const plan: Chunk[] = [];
      for (let start = 0; start < total; start += size)
        plan.push({ start, end: Math.min(total, start + size) });
      return plan;
    },
    async chunk(inputs, chunk, ctx) {
      const result = await buffer(inputs, ctx, chunk);
      if (result.file === undefined) throw new Error('a chunk wrote no GeoJSON file');
      return { file: result.file };
    },
    async merge(_inputs, parts, ctx) {
      const format = ctx.outputs.buffered?.format ?? VECTOR_FORMATS[0]!;
      const file = path.join(ctx.workDir, 'buffered.geojson');
      await concatGeoJson(
        parts.map((p) => p.file),
        file,
      );
      return { buffered: { kind: 'complex', format, file } };
    },
  }),
};

export default processor;
