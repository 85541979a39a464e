import { invalidParameter, OwsError } from './errors.ts';
import { DEFAULT_CONTENT_CHECKERS, type ContentChecker } from './content-checks.ts';
import { matchFormat } from './formats.ts';
import { DEFAULT_SCHEMA_CHECKERS, type SchemaChecker } from './schema-checks.ts';
import type { ComplexDomain, ValidationMode } from './model.ts';
import type { ComplexValue, RawComplex } from './values.ts';

const encoder = new TextEncoder();

/** Content for the checkers: the text as it is, its UTF-8 bytes only if a checker asks for them. */
function checkedContent(data: string | Uint8Array): { text: string | undefined; bytes: Uint8Array } {
  if (typeof data !== 'string') return { text: undefined, bytes: data };
  let bytes: Uint8Array | undefined;
  return {
    text: data,
    get bytes() {
      return (bytes ??= encoder.encode(data));
    },
  };
}

export interface ComplexValidationOptions {
  /** Checkers for STRICT and VERYSTRICT, tried in order. */
  contentCheckers?: readonly ContentChecker[];
  /** Schema checks for VERYSTRICT, tried in order until one validates the content. */
  schemaCheckers?: readonly SchemaChecker[];
  /** A server-wide cap in bytes (PyWPS maxsingleinputsize); 0 = none. */
  maxSingleInputSize?: number;
}

const MB = 1024 * 1024;

/**
 * Validates complex data. Every mode enforces the size limits (they protect the server).
 * SIMPLE: the declared mime type and encoding are among the supported formats (none declared → the
 * default format). STRICT and VERYSTRICT: the content really is that format, as far as the
 * configured content checkers can tell. VERYSTRICT: the content also validates against the schema
 * of its format (JSON Schema for GeoJSON, XSD for XML formats that name one, with the checkers the
 * server provides); a format that names a schema no checker can validate against is refused.
 */
export function validateComplex(
  raw: RawComplex,
  domain: ComplexDomain,
  mode: ValidationMode,
  locator: string,
  options: ComplexValidationOptions = {},
): ComplexValue {
  // A text's size is counted, not encoded: a copy of 30 MB of GeoJSON only to measure it is waste.
  const size = typeof raw.data === 'string' ? Buffer.byteLength(raw.data, 'utf8') : raw.data.byteLength;
  const limit = Math.min(
    domain.maximumMegabytes ? domain.maximumMegabytes * MB : Infinity,
    options.maxSingleInputSize ? options.maxSingleInputSize : Infinity,
  );
  if (size > limit) {
    throw new OwsError(
      'FileSizeExceeded',
      `Input '${locator}' is ${size} bytes, more than the allowed ${limit} bytes`,
      locator,
    );
  }

  const wanted = { mimeType: raw.mimeType, encoding: raw.encoding, schema: raw.schema };
  let format = matchFormat(domain.formats, wanted);
  if (!format) {
    if (mode !== 'NONE') {
      const supported = domain.formats
        .map((f) => f.mimeType + (f.encoding ? ` (${f.encoding})` : ''))
        .join(', ');
      throw invalidParameter(
        locator,
        `Input '${locator}': format ${raw.mimeType ?? '(none)'}${raw.encoding ? ` with encoding ${raw.encoding}` : ''} is not supported (supported: ${supported})`,
      );
    }
    format = { mimeType: raw.mimeType ?? domain.formats[0]?.mimeType ?? 'application/octet-stream' };
  }
  // The value keeps what the client declared (schema, encoding) on top of the matched format.
  const declared = { ...format, ...(raw.mimeType ? { mimeType: raw.mimeType } : {}) };
  if (raw.schema) declared.schema = raw.schema;

  if (mode === 'STRICT' || mode === 'VERYSTRICT') {
    const content = checkedContent(raw.data);
    for (const check of options.contentCheckers ?? DEFAULT_CONTENT_CHECKERS) {
      if (check(content, declared, locator)) break;
    }
    if (mode === 'VERYSTRICT') {
      // The schema of the process's own format counts; a client's declaration only where it names none.
      const schema = format.schema ?? raw.schema;
      const checked = { ...declared, ...(schema ? { schema } : {}) };
      const validated = (options.schemaCheckers ?? DEFAULT_SCHEMA_CHECKERS).some((check) =>
        check(content, checked, locator),
      );
      if (!validated && schema) {
        throw invalidParameter(
          locator,
          `Input '${locator}': its format names the schema ${schema}, which this server cannot validate against`,
        );
      }
    }
  }
  return typeof raw.data === 'string'
    ? { kind: 'complex', format: declared, text: raw.data }
    : { kind: 'complex', format: declared, bytes: raw.data };
}
