import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { fileURLToPath } from 'node:url';

export const SCHEMA_DIR = fileURLToPath(new URL('../../schemas/', import.meta.url));

export interface SchemaValidator<T> {
  /** Fills defaults into `value` (it is mutated) and returns it typed, or the list of problems. */
  (value: unknown): { ok: true; value: T } | { ok: false; problems: SchemaProblem[] };
}

export interface SchemaProblem {
  /** JSON pointer of the offending value, e.g. `/inputs/0/dataType`. */
  path: string;
  message: string;
}

/** Compiles one of the project's schemas (in `schemas/`) with defaults and type coercion as asked. */
export function compileSchema<T>(
  fileName: string,
  options: { coerceTypes?: boolean } = {},
): SchemaValidator<T> {
  const ajv = new Ajv({
    allErrors: true,
    useDefaults: true,
    coerceTypes: options.coerceTypes ?? false,
    strict: false,
  });
  const schema = JSON.parse(readFileSync(SCHEMA_DIR + fileName, 'utf8')) as object;
  const validate: ValidateFunction = ajv.compile(schema);
  return (value: unknown) =>
    validate(value)
      ? { ok: true, value: value as T }
      : { ok: false, problems: simplify(validate.errors ?? []) };
}

function describe(error: ErrorObject): string {
  const p = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'enum':
      return `must be one of: ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'additionalProperties':
      return `unknown key '${String(p.additionalProperty)}'`;
    case 'propertyNames':
      return `unknown key '${String(p.propertyName)}'`;
    case 'required':
      return `missing required key '${String(p.missingProperty)}'`;
    case 'false schema':
      return 'is not allowed here';
    default:
      return error.message ?? error.keyword;
  }
}

/** Drops ajv's noise (failing `if`, `oneOf` summaries, the `enum` twin of a `propertyNames` error). */
function simplify(errors: ErrorObject[]): SchemaProblem[] {
  const seen = new Set<string>();
  const problems: SchemaProblem[] = [];
  for (const error of errors) {
    if (error.keyword === 'if' || error.keyword === 'oneOf' || error.keyword === 'allOf') continue;
    if (error.keyword === 'enum' && error.schemaPath.includes('/propertyNames/')) continue;
    let path = error.instancePath;
    if (error.keyword === 'propertyNames')
      path += `/${String((error.params as { propertyName: string }).propertyName)}`;
    if (error.keyword === 'false schema') {
      // instancePath already names the key
    }
    const message = describe(error);
    const key = `${path} ${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push({ path, message });
  }
  return problems;
}
