import { crsKey, parseCrs } from '../../core/crs.ts';
import { isJsonMimeType } from '../../core/formats.ts';
import type { BoundingBox } from '../../core/values.ts';

/** One thing the job page's map draws (read by static/gateway.js). */
export type MapLayer =
  | { role: 'input' | 'output'; id: string; kind: 'geojson'; data: unknown }
  | { role: 'input' | 'output'; id: string; kind: 'geojson'; url: string }
  | { role: 'input' | 'output'; id: string; kind: 'bbox'; extent: number[]; projection: string };

const GEOJSON_TYPES = new Set([
  'FeatureCollection',
  'Feature',
  'Point',
  'MultiPoint',
  'LineString',
  'MultiLineString',
  'Polygon',
  'MultiPolygon',
  'GeometryCollection',
]);

/** Inline GeoJSON larger than this is not copied into the page. */
export const MAX_INLINE_GEOJSON = 512 * 1024;

/** Whether a media type may hold GeoJSON (geo+json, or JSON). */
export const mayBeGeoJson = (mimeType: string): boolean => isJsonMimeType(mimeType);

/** Parsed GeoJSON from text, or undefined when the text is not GeoJSON. */
export function geoJson(text: string): unknown {
  if (text.length > MAX_INLINE_GEOJSON) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    const type = (value as { type?: unknown } | null)?.type;
    return typeof type === 'string' && GEOJSON_TYPES.has(type) ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A bounding box as a map extent [minX, minY, maxX, maxY]: WGS 84 as longitude/latitude (the URN and
 * URI spellings of EPSG:4326 are latitude first and are swapped), Web Mercator as is; undefined for
 * other CRSs, which the page's map cannot place.
 */
export function bboxLayer(
  role: 'input' | 'output',
  id: string,
  bbox: BoundingBox,
): Extract<MapLayer, { kind: 'bbox' }> | undefined {
  const key = crsKey(bbox.crs);
  const [x1, y1] = bbox.lowerCorner;
  const [x2, y2] = bbox.upperCorner;
  if (x1 === undefined || y1 === undefined || x2 === undefined || y2 === undefined) return undefined;
  if (key === 'EPSG:4326') {
    const latFirst =
      parseCrs(bbox.crs)?.axisOrder === 'authority' && parseCrs(bbox.crs)?.authority === 'EPSG';
    const extent = latFirst ? [y1, x1, y2, x2] : [x1, y1, x2, y2];
    return { role, id, kind: 'bbox', extent, projection: 'EPSG:4326' };
  }
  if (key === 'EPSG:3857' || key === 'EPSG:900913') {
    return { role, id, kind: 'bbox', extent: [x1, y1, x2, y2], projection: 'EPSG:3857' };
  }
  return undefined;
}
