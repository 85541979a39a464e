/**
 * An internal processor, never published: converts one vector value (GML, KML, zipped Shapefile,
 * WKT, GeoJSON) to GeoJSON in WGS 84 longitude/latitude (RFC 7946) for the job page's map. It runs
 * on the GDAL child processes like the geospatial processes, reading through the same guarded
 * `openVector` (staged copy, declared driver only, archive checks, sandboxed GDAL configuration).
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { OwsError } from '../../src/core/errors.ts';
import { first, literal, type Processor } from '../../src/core/processor.ts';
import { vectorInput } from './descriptions.ts';
import { loadGdal } from './gdal.ts';
import { openVector } from './vector.ts';

export const TO_GEOJSON_OUTPUT = 'geojson';

const processor: Processor = {
  runtime: 'gdal',
  description: {
    id: '_to-geojson',
    version: '1.0.0',
    title: 'To GeoJSON (internal)',
    inputs: [
      vectorInput('The value to draw.'),
      { id: 'max_bytes', kind: 'literal', title: 'Largest GeoJSON', dataType: 'integer' },
    ],
    outputs: [
      {
        id: TO_GEOJSON_OUTPUT,
        kind: 'complex',
        title: 'GeoJSON',
        formats: [{ mimeType: 'application/geo+json' }],
      },
    ],
  },
  async execute(inputs, ctx) {
    const gdal = await loadGdal();
    const source = await openVector(first(inputs, 'data', 'complex')!, 'data', ctx);
    const file = path.join(ctx.workDir, 'layer.geojson');
    // RFC7946=YES: reprojected to WGS 84, longitude first, whatever the source's CRS.
    const out = await gdal.vectorTranslateAsync(file, source.dataset, [
      '-f',
      'GeoJSON',
      '-lco',
      'RFC7946=YES',
      source.layer.name,
    ]);
    out.close();
    source.dataset.close();
    const size = (await stat(file)).size;
    const max = Number(literal(inputs, 'max_bytes'));
    if (size > max) {
      throw new OwsError(
        'FileSizeExceeded',
        `As GeoJSON the layer is ${size} bytes, more than ${max}`,
        'data',
      );
    }
    return { [TO_GEOJSON_OUTPUT]: { kind: 'complex', format: { mimeType: 'application/geo+json' }, file } };
  },
};

export default processor;
