import { invalidParameter } from './errors.ts';
import { normalizeMimeType } from './formats.ts';
import type { Format } from './model.ts';
import { compileSchema, type SchemaValidator } from '../util/json-schema.ts';

/**
 * A VERYSTRICT check: content that already parsed as its format (STRICT) is validated against the
 * schema of that format, from a file shipped in `schemas/` (never fetched at run time). Returns
 * true when it validated, false when the format is not its business.
 */
export type SchemaChecker = (json: unknown, format: Format, locator: string) => boolean;

let geojson: SchemaValidator<unknown> | undefined;

/** GeoJSON (RFC 7946) for application/geo+json, or any JSON format whose schema names GeoJSON. */
export const checkGeoJsonSchema: SchemaChecker = (json, format, locator) => {
  const mime = normalizeMimeType(format.mimeType);
  if (!mime.startsWith('application/geo+json') && !/geojson/i.test(format.schema ?? '')) return false;
  geojson ??= compileSchema('geojson.schema.json');
  const result = geojson(json);
  if (!result.ok) {
    const where = result.problems[0]!;
    throw invalidParameter(
      locator,
      `Input '${locator}': the content is not valid GeoJSON (${where.path || '(root)'}: ${where.message})`,
    );
  }
  return true;
};

export const DEFAULT_SCHEMA_CHECKERS: readonly SchemaChecker[] = [checkGeoJsonSchema];
