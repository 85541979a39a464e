import { invalidParameter } from './errors.ts';
import { matchCrs } from './crs.ts';
import type { BoundingBoxDomain, ValidationMode } from './model.ts';
import type { BoundingBox, RawBoundingBox } from './values.ts';

function corner(raw: Array<number | string> | string): number[] {
  const parts = Array.isArray(raw) ? raw : raw.trim().split(/[\s,]+/);
  return parts.map((p) => (typeof p === 'number' ? p : p.trim() === '' ? NaN : Number(p)));
}

/**
 * Turns a raw bounding box into a typed one. SIMPLE and above check numeric corners of the same
 * (2 or 3, or the declared) dimension, lower ≤ upper on every axis, and the CRS among the supported
 * ones; a missing CRS takes the default (first) one. NONE only converts.
 */
export function validateBoundingBox(
  raw: RawBoundingBox,
  domain: BoundingBoxDomain,
  mode: ValidationMode,
  locator: string,
): BoundingBox {
  const lower = corner(raw.lowerCorner);
  const upper = corner(raw.upperCorner);
  const defaultCrs = domain.crs[0] ?? 'EPSG:4326';
  const crs = raw.crs?.trim() ? raw.crs.trim() : defaultCrs;
  const declared = raw.dimensions === undefined || raw.dimensions === '' ? undefined : Number(raw.dimensions);
  const dimensions = declared ?? lower.length;
  const box: BoundingBox = { kind: 'bbox', lowerCorner: lower, upperCorner: upper, crs, dimensions };
  if (mode === 'NONE') return box;

  const bad = (why: string) => invalidParameter(locator, `Input '${locator}': invalid bounding box: ${why}`);
  if ([...lower, ...upper].some((n) => !Number.isFinite(n))) throw bad('corners must be numbers');
  if (lower.length !== upper.length) throw bad('lower and upper corners differ in dimension');
  if (declared !== undefined && (!Number.isInteger(declared) || declared !== lower.length))
    throw bad(`dimensions=${String(raw.dimensions)} does not match corners of ${lower.length} values`);
  const expected = domain.dimensions ?? 2;
  if (lower.length !== expected && !(domain.dimensions === undefined && lower.length === 3))
    throw bad(`expected ${expected} dimensions, got ${lower.length}`);
  lower.forEach((lo, i) => {
    if (lo > upper[i]!) throw bad(`lower corner exceeds upper corner on axis ${i + 1}`);
  });
  if (!matchCrs(crs, domain.crs))
    throw bad(`CRS '${crs}' is not supported (supported: ${domain.crs.join(', ')})`);
  return box;
}
