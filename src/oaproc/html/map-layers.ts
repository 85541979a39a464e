import { crsKey, parseCrs } from '../../core/crs.ts';
import { isJsonMimeType } from '../../core/formats.ts';
import type { BoundingBox } from '../../core/values.ts';

/** One thing the job page's map draws (read by static/gateway.js). */
export type MapLayer =
  | { role: 'input' | 'output'; id: string; kind: 'geojson'; data: unknown }
  | { role: 'input' | 'output'; id: string; kind: 'geojson'; url: string }
  | { role: 'input' | 'output'; id: string; kind: 'bbox'; extent: number[]; projection: string };

const GEOMETRY_TYPES = new Set([
  'Point',
  'MultiPoint',
  'LineString',
  'MultiLineString',
  'Polygon',
  'MultiPolygon',
]);

/** Inline GeoJSON larger than this is not copied into the page. */
export const MAX_INLINE_GEOJSON = 512 * 1024;

/** Whether a media type may hold GeoJSON (geo+json, or JSON). */
export const mayBeGeoJson = (mimeType: string): boolean => isJsonMimeType(mimeType);

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A GeoJSON geometry, its coordinates checked shallowly (an array, positions' first level). */
function isGeometry(v: unknown): boolean {
  if (!isObject(v) || typeof v.type !== 'string') return false;
  if (v.type === 'GeometryCollection') {
    return Array.isArray(v.geometries) && v.geometries.every(isGeometry);
  }
  if (!GEOMETRY_TYPES.has(v.type) || !Array.isArray(v.coordinates)) return false;
  const c = v.coordinates as unknown[];
  if (v.type === 'Point') return c.length >= 2 && c.every((n) => typeof n === 'number' && Number.isFinite(n));
  return c.every(Array.isArray);
}

/** A GeoJSON Feature: its geometry a geometry object or null. */
const isFeature = (v: unknown): boolean =>
  isObject(v) && v.type === 'Feature' && (v.geometry === null || isGeometry(v.geometry));

/**
 * Whether a value is GeoJSON a map can read: a FeatureCollection with an array of Features, a
 * Feature, or a Geometry (coordinates checked shallowly).
 */
export function isGeoJson(value: unknown): boolean {
  if (!isObject(value)) return false;
  if (value.type === 'FeatureCollection') {
    return Array.isArray(value.features) && value.features.every(isFeature);
  }
  if (value.type === 'Feature') return isFeature(value);
  return isGeometry(value);
}

/** Parsed GeoJSON from text, or undefined when the text is not well-formed GeoJSON. */
export function geoJson(text: string): unknown {
  if (text.length > MAX_INLINE_GEOJSON) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return isGeoJson(value) ? value : undefined;
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
