/**
 * The vector and raster formats of the geospatial processors (ComplexData formats), and which GDAL
 * driver reads and writes each. No GDAL import here: descriptions are read in the main thread.
 */
import { normalizeMimeType } from '../../src/core/formats.ts';
import type { Format } from '../../src/core/model.ts';

export type VectorKind = 'geojson' | 'gml3' | 'gml2' | 'kml' | 'shapefile' | 'wkt';

export const VECTOR_FORMATS: Format[] = [
  { mimeType: 'application/geo+json' },
  // Plain JSON here means GeoJSON: naming its schema makes VERYSTRICT check it as such.
  { mimeType: 'application/json', schema: 'https://geojson.org/schema/GeoJSON.json' },
  { mimeType: 'application/gml+xml' },
  {
    mimeType: 'text/xml; subtype=gml/3.1.1',
    schema: 'http://schemas.opengis.net/gml/3.1.1/base/feature.xsd',
  },
  { mimeType: 'text/xml; subtype=gml/2.1.2', schema: 'http://schemas.opengis.net/gml/2.1.2/feature.xsd' },
  { mimeType: 'text/xml' },
  {
    mimeType: 'application/vnd.google-earth.kml+xml',
    schema: 'http://schemas.opengis.net/kml/2.2.0/ogckml22.xsd',
  },
  { mimeType: 'application/x-zipped-shp' },
  { mimeType: 'application/wkt' },
];

export const RASTER_FORMATS: Format[] = [
  { mimeType: 'image/tiff; subtype=geotiff' },
  { mimeType: 'image/tiff; application=geotiff' },
];

export function vectorKind(mimeType: string): VectorKind | undefined {
  const m = normalizeMimeType(mimeType);
  if (/^application\/(geo\+)?json/.test(m)) return 'geojson';
  if (m.includes('subtype=gml/2')) return 'gml2';
  if (m.startsWith('application/gml+xml') || m.startsWith('text/xml')) return 'gml3';
  if (m.startsWith('application/vnd.google-earth.kml+xml')) return 'kml';
  if (m.startsWith('application/x-zipped-shp')) return 'shapefile';
  if (m.startsWith('application/wkt')) return 'wkt';
  return undefined;
}

export const isRasterFormat = (mimeType: string): boolean =>
  /^image\/tiff\b/.test(normalizeMimeType(mimeType));

export const DRIVERS: Record<
  Exclude<VectorKind, 'wkt'>,
  { read: string[]; write: string; extension: string }
> = {
  geojson: { read: ['GeoJSON'], write: 'GeoJSON', extension: 'geojson' },
  gml3: { read: ['GML'], write: 'GML', extension: 'gml' },
  gml2: { read: ['GML'], write: 'GML', extension: 'gml' },
  kml: { read: ['KML', 'LIBKML'], write: 'KML', extension: 'kml' },
  shapefile: { read: ['ESRI Shapefile'], write: 'ESRI Shapefile', extension: 'shp.zip' },
};
