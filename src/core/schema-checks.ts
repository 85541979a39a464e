import { invalidParameter } from './errors.ts';
import { isJsonMimeType, normalizeMimeType } from './formats.ts';
import type { Format } from './model.ts';
import { compileSchema, type SchemaValidator } from '../util/json-schema.ts';

/**
 * A VERYSTRICT check: content that already passed STRICT is validated against the schema of its
 * format, from local files (never fetched at run time). Returns true when it validated, false when
 * the format is not its business; throws InvalidParameterValue when the content does not validate.
 */
export type SchemaChecker = (
  content: { text: string | undefined; bytes: Uint8Array },
  format: Format,
  locator: string,
) => boolean;

let geojson: SchemaValidator<unknown> | undefined;

/** GeoJSON (RFC 7946) for application/geo+json, or any JSON format whose schema names GeoJSON. */
export const checkGeoJsonSchema: SchemaChecker = (content, format, locator) => {
  const mime = normalizeMimeType(format.mimeType);
  if (!isJsonMimeType(mime)) return false;
  if (!mime.startsWith('application/geo+json') && !/geojson/i.test(format.schema ?? '')) return false;
  geojson ??= compileSchema('geojson.schema.json');
  const result = geojson(JSON.parse(content.text ?? new TextDecoder().decode(content.bytes)));
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
