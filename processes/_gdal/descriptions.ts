import type { InputSpec, OutputDescription } from '../../src/core/model.ts';
import { RASTER_FORMATS, VECTOR_FORMATS } from './formats.ts';

export const vectorInput = (abstract: string): InputSpec => ({
  id: 'data',
  kind: 'complex',
  title: 'Vector data',
  abstract: `${abstract} GeoJSON, GML 2/3, KML, zipped Shapefile or WKT (one geometry, read as EPSG:4326).`,
  formats: VECTOR_FORMATS,
  validation: 'STRICT',
});

export const vectorOutput = (id: string, title: string, abstract: string): OutputDescription => ({
  id,
  kind: 'complex',
  title,
  abstract,
  formats: VECTOR_FORMATS,
});

export const rasterInput = (abstract: string): InputSpec => ({
  id: 'raster',
  kind: 'complex',
  title: 'Raster',
  abstract: `${abstract} GeoTIFF, inline as base64 or by reference.`,
  formats: RASTER_FORMATS,
  validation: 'STRICT',
});
