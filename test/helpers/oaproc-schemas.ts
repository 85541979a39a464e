/**
 * The official OGC API - Processes 1.0 JSON schemas (OpenAPI 3.0 YAML fragments) loaded into ajv,
 * with the errata of SOURCES.md applied in memory. Without the schemas, validations are skipped
 * visibly (and fail under CI=true).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import { expect, type TestContext } from 'vitest';
import { parse } from 'yaml';
import { IN_CI, missingMessage, OAPROC_SCHEMAS, OGC_DIR } from './ogc-material.ts';

const SCHEMA_DIR = path.join(OGC_DIR, OAPROC_SCHEMAS);

export const OAPROC_SCHEMAS_AVAILABLE = existsSync(path.join(SCHEMA_DIR, 'process.yaml'));
// The global set-up (ogc-notice.ts) says once per run what is missing and how to provide it.
if (!OAPROC_SCHEMAS_AVAILABLE && IN_CI) throw new Error(missingMessage([OAPROC_SCHEMAS]));

type Schema = { [key: string]: unknown };
const isSchema = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * OpenAPI 3.0 schema dialect → JSON Schema: boolean `exclusiveMinimum`/`exclusiveMaximum` become
 * numeric bounds, `nullable: true` admits null. Property names under `properties` are not keywords.
 */
export function fromOpenApi(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(fromOpenApi);
  if (!isSchema(schema)) return schema;
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'properties' && isSchema(value)) {
      out.properties = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fromOpenApi(v)]));
    } else if (['items', 'not', 'additionalProperties'].includes(key)) {
      out[key] = fromOpenApi(value);
    } else if (['allOf', 'oneOf', 'anyOf'].includes(key)) {
      out[key] = (value as unknown[]).map(fromOpenApi);
    } else if (key === 'nullable' || key === 'exclusiveMinimum' || key === 'exclusiveMaximum') {
      // handled below
    } else {
      out[key] = value;
    }
  }
  for (const [flag, bound] of [
    ['exclusiveMinimum', 'minimum'],
    ['exclusiveMaximum', 'maximum'],
  ] as const) {
    const value = schema[flag];
    if (typeof value === 'number') out[flag] = value;
    else if (value === true && typeof schema[bound] === 'number') {
      out[flag] = schema[bound];
      delete out[bound];
    }
  }
  if (schema.nullable === true) return { anyOf: [out, { type: 'null' }] };
  return out;
}

/** The errata of ../shared/ogc/SOURCES.md, applied to the loaded files. */
function applyErrata(file: string, schema: Schema): Schema {
  if (file === 'inputValueNoObject.yaml' || file === 'inputValue.yaml') {
    const { oneOf, ...rest } = schema;
    return { ...rest, anyOf: oneOf };
  }
  if (file === 'bbox.yaml') {
    const props = schema.properties as { crs: Schema };
    const { enum: _enum, ...crs } = props.crs;
    return { ...schema, properties: { ...props, crs } };
  }
  if (Array.isArray(schema.default) && typeof schema.default[0] === 'string') {
    return { ...schema, default: schema.default[0] };
  }
  return schema;
}

let ajv: Ajv | undefined;
function officialAjv(): Ajv {
  if (ajv) return ajv;
  ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  for (const file of readdirSync(SCHEMA_DIR).filter((f) => f.endsWith('.yaml'))) {
    let schema = parse(readFileSync(path.join(SCHEMA_DIR, file), 'utf8')) as Schema;
    schema = applyErrata(file, schema);
    if (file === 'execute.yaml') {
      const props = schema.properties as { response: Schema };
      props.response = { ...props.response, default: 'raw' };
    }
    const converted = fromOpenApi(schema) as Schema;
    ajv.addSchema({ ...converted, $id: pathToFileURL(path.join(SCHEMA_DIR, file)).href });
  }
  return ajv;
}

export type OfficialSchema =
  | 'landingPage'
  | 'confClasses'
  | 'processList'
  | 'process'
  | 'exception'
  | 'statusInfo'
  | 'jobList'
  | 'execute'
  | 'results'
  | 'schema';

export function officialValidator(name: OfficialSchema): ValidateFunction {
  const fn = officialAjv().getSchema(pathToFileURL(path.join(SCHEMA_DIR, `${name}.yaml`)).href);
  if (!fn) throw new Error(`no schema ${name}.yaml`);
  return fn;
}

/**
 * Asserts `value` is valid against the official `name.yaml`; without the schemas, marks the test
 * skipped (after the assertions that preceded this call have run).
 */
export function expectOfficial(ctx: TestContext, value: unknown, name: OfficialSchema): void {
  if (!OAPROC_SCHEMAS_AVAILABLE) {
    ctx.skip(`OGC API - Processes schemas not found: set OGC_SCHEMAS_DIR to validate against ${name}.yaml`);
    return;
  }
  const validate = officialValidator(name);
  const ok = validate(value);
  expect(
    ok,
    `${name}.yaml: ${JSON.stringify(validate.errors?.slice(0, 5), null, 1)}\n${JSON.stringify(value).slice(0, 2000)}`,
  ).toBe(true);
}

/** Compiles an input/output `schema` of a process description (OpenAPI 3.0 dialect) as JSON Schema. */
export function compileValueSchema(schema: unknown): ValidateFunction {
  const local = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  return local.compile(fromOpenApi(schema) as Schema);
}
