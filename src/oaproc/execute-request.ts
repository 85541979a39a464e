import { crsUris } from '../core/crs.ts';
import { invalidParameter } from '../core/errors.ts';
import type { RawExecuteRequest, RawOutputRequest, RequestedMode } from '../core/execute.ts';
import { isJsonMimeType, isTextMimeType } from '../core/formats.ts';
import type {
  InputDescription,
  LiteralDataType,
  ProcessDescription,
  TransmissionMode,
} from '../core/model.ts';
import type { RawInputs, RawInputValue } from '../core/values.ts';
import { decodeBase64 } from '../core/base64.ts';
import { BoundedJsonError, JsonText, parseBoundedJson, type DeferOptions } from '../util/bounded-json.ts';

export type ResponseType = 'raw' | 'document';

export interface Subscriber {
  successUri?: string;
  inProgressUri?: string;
  failedUri?: string;
}

/** What the OGC API binding stores with a job it creates. */
export interface OaprocJobOptions {
  protocol: 'oaproc';
  response: ResponseType;
  subscriber?: Subscriber;
  [key: string]: unknown;
}

export interface Preferences {
  /** The requested mode: 'prefer-async' for `respond-async`, else 'default'. */
  mode: RequestedMode;
  /** `wait=N`, in seconds. */
  wait?: number;
  /** The preferences the server honours, for `Preference-Applied` (e.g. `respond-async`). */
  applied: string[];
}

export interface TranslatedExecute {
  request: RawExecuteRequest & { binding: OaprocJobOptions };
  preferences: Preferences;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

const bad = (locator: string, message: string) => invalidParameter(locator, message);

// ---- Prefer (RFC 7240) ------------------------------------------------------------------------------

/**
 * Reads the `Prefer` header: tokens are trimmed and case-insensitive, parameters after `;` and
 * unknown preferences are ignored. `respond-async` is honoured when the process can run
 * asynchronously; `wait` is parsed and left to the route to honour (and to report as applied).
 */
export function parsePrefer(header: string | undefined, description: ProcessDescription): Preferences {
  const preferences: Preferences = { mode: 'default', applied: [] };
  for (const item of (header ?? '').split(',')) {
    const [token = ''] = item.split(';');
    const eq = token.indexOf('=');
    const name = (eq < 0 ? token : token.slice(0, eq)).trim().toLowerCase();
    const value =
      eq < 0
        ? undefined
        : token
            .slice(eq + 1)
            .trim()
            .replace(/^"(.*)"$/, '$1');
    if (name === 'respond-async') {
      preferences.mode = 'prefer-async';
      if (description.jobControlOptions.includes('async-execute') && !preferences.applied.includes(name))
        preferences.applied.push(name);
    } else if (name === 'wait' && value !== undefined && /^\d+$/.test(value)) {
      preferences.wait = Number(value);
    }
  }
  return preferences;
}

// ---- Inputs ---------------------------------------------------------------------------------------

/**
 * Where the execute body's JSON values are kept as text (JsonText) rather than built: an input's
 * value (`inputs.id`, unless it is a qualified value or a reference), a qualified value's `value`,
 * and the same for each value of a list. Whatever their size: complex data reaches the process
 * exactly as the client wrote it (a JSON round trip would turn 9007199254740993 into …992, -0 into
 * 0 and 1e400 into null), and large data is never built into a tree. Values of other inputs (boxes)
 * are built from their text.
 */
export const DEFERRED_VALUES: DeferOptions = {
  minLength: 0,
  maxDepth: 4,
  at: (path, kind) => {
    if (path[0] !== 'inputs') return false;
    const listed = typeof path[2] === 'number';
    if (path.length === 2) return kind === 'object';
    if (path.length === 3) return listed || path[2] === 'value';
    return path.length === 4 && listed && path[3] === 'value';
  },
  unlessKeys: ['value', 'href'],
};

/** A kept text built after all, where something other than complex data is expected (bounded as the body is). */
function built(v: JsonText, locator: string): unknown {
  try {
    return parseBoundedJson(v.text);
  } catch (error) {
    if (!(error instanceof BoundedJsonError)) throw error;
    throw bad(locator, `Input '${locator}': ${error.message}`);
  }
}

/** JSON text of a value that may hold kept texts (built back in: only for values nested unusually). */
const stringify = (v: unknown): string =>
  v instanceof JsonText
    ? v.text
    : JSON.stringify(v, (_key, x: unknown) => (x instanceof JsonText ? JSON.parse(x.text) : x));

const QUALIFIED_KEYS = new Set(['value', 'mediaType', 'encoding', 'schema', 'format', 'uom']);

/** `{value, mediaType?, encoding?, schema?}` or the test suite's `{value, format: {mediaType, …}}`. */
const isQualified = (v: Json): boolean => 'value' in v && Object.keys(v).every((k) => QUALIFIED_KEYS.has(k));

interface FormatFields {
  mimeType?: string;
  encoding?: string;
  schema?: string;
}

/** mediaType/encoding/schema of a qualified value or a reference, at the top or under `format`. */
function formatFields(v: Json, locator: string, typeKey: 'mediaType' | 'type'): FormatFields {
  const format = v.format;
  if (format !== undefined && !isObject(format))
    throw bad(locator, `Input '${locator}': 'format' must be an object`);
  const pick = (key: string, ...sources: Array<Json | undefined>): string | undefined => {
    for (const source of sources) {
      const value = source?.[key];
      if (value === undefined) continue;
      if (typeof value !== 'string') throw bad(locator, `Input '${locator}': '${key}' must be a string`);
      return value;
    }
    return undefined;
  };
  const mimeType = pick(typeKey, v) ?? pick('mediaType', format);
  const encoding = pick('encoding', v, format);
  // An inline JSON Schema object names no schema document: only URLs are carried on.
  const schemaValue = v.schema ?? format?.schema;
  const schema = typeof schemaValue === 'string' ? schemaValue : undefined;
  return {
    ...(mimeType !== undefined ? { mimeType } : {}),
    ...(encoding !== undefined ? { encoding } : {}),
    ...(schema !== undefined ? { schema } : {}),
  };
}

const base64 = (text: string, locator: string): Uint8Array => decodeBase64(text, locator);

const isBinary = (mimeType: string | undefined) => mimeType !== undefined && !isTextMimeType(mimeType);

function reference(v: Json, locator: string): RawInputValue {
  if (typeof v.href !== 'string' || v.href.trim() === '')
    throw bad(locator, `Input '${locator}': 'href' must be a non-empty string`);
  return { type: 'reference', href: v.href, ...formatFields(v, locator, 'type') };
}

/** The JSON type a literal's schema has (describe.ts): strings for text, dates and URIs. */
function jsonTypeOf(dataType: LiteralDataType): 'string' | 'number' | 'boolean' {
  switch (dataType) {
    case 'integer':
    case 'double':
    case 'float':
    case 'positiveInteger':
    case 'nonNegativeInteger':
      return 'number';
    case 'boolean':
      return 'boolean';
    default:
      return 'string';
  }
}

function literal(v: unknown, locator: string, dataType?: LiteralDataType): RawInputValue {
  if (isObject(v) && isQualified(v)) {
    const uom = v.uom;
    if (uom !== undefined && typeof uom !== 'string')
      throw bad(locator, `Input '${locator}': 'uom' must be a string`);
    return { ...literal(v.value, locator, dataType), ...(uom !== undefined ? { uom } : {}) };
  }
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
    // The value must have the JSON type of the input's schema, as schema validation would demand.
    const expected = dataType ? jsonTypeOf(dataType) : undefined;
    if (expected && typeof v !== expected) {
      throw bad(locator, `Input '${locator}': expected a JSON ${expected} (${dataType}), got a ${typeof v}`);
    }
    return { type: 'literal', value: v };
  }
  throw bad(locator, `Input '${locator}': expected a literal value (a string, number or boolean)`);
}

function boundingBox(v: unknown, input: InputDescription | undefined, locator: string): RawInputValue {
  const given = isObject(v) && isQualified(v) ? v.value : v;
  const box = given instanceof JsonText ? built(given, locator) : given;
  if (!isObject(box) || !Array.isArray(box.bbox))
    throw bad(locator, `Input '${locator}': expected a bounding box {"bbox": [4 or 6 numbers], "crs": URI}`);
  const corners = box.bbox as unknown[];
  if (corners.length !== 4 && corners.length !== 6)
    throw bad(locator, `Input '${locator}': 'bbox' must hold 4 or 6 numbers, not ${corners.length}`);
  if (!corners.every((c) => typeof c === 'number'))
    throw bad(locator, `Input '${locator}': 'bbox' must hold numbers only`);
  if (box.crs !== undefined && typeof box.crs !== 'string')
    throw bad(locator, `Input '${locator}': 'crs' must be a URI string`);
  const numbers = corners as number[];
  const half = numbers.length / 2;
  // The core reads the axis order off the CRS spelling (CRS84: longitude first; the EPSG URI:
  // the authority's order, latitude first for 4326), so the spelling is passed on unchanged.
  // Without one, the value is in the default the description publishes.
  const crs = box.crs ?? (input?.kind === 'bbox' ? crsUris(input.crs)[0] : undefined);
  return {
    type: 'bbox',
    lowerCorner: numbers.slice(0, half),
    upperCorner: numbers.slice(half),
    ...(crs !== undefined ? { crs } : {}),
  };
}

function complex(v: unknown, input: InputDescription | undefined, locator: string): RawInputValue {
  const formats = input?.kind === 'complex' ? input.formats : [];
  const defaultFormat = formats[0];
  if (isObject(v) && !(v instanceof JsonText) && isQualified(v)) {
    const fields = formatFields(v, locator, 'mediaType');
    const value = v.value;
    if (typeof value === 'string') {
      const mimeType = fields.mimeType ?? defaultFormat?.mimeType;
      // Binary data travels as base64: when declared so, or in a binary format the input takes (a
      // format it does not take is left to the core to refuse by name).
      const supported = formats.some((f) => f.mimeType.toLowerCase() === mimeType?.toLowerCase());
      const encoded =
        fields.encoding?.toLowerCase() === 'base64' ||
        (fields.encoding === undefined && supported && isBinary(mimeType));
      return { type: 'complex', data: encoded ? base64(value, locator) : value, ...fields };
    }
    if (value === null) throw bad(locator, `Input '${locator}': 'value' must not be null`);
    const mimeType = fields.mimeType ?? defaultFormat?.mimeType;
    if (mimeType !== undefined && !isJsonMimeType(mimeType)) {
      throw bad(locator, `Input '${locator}': a JSON value needs a JSON media type, not ${mimeType}`);
    }
    return { type: 'complex', data: stringify(value), ...fields };
  }
  if (typeof v === 'string') {
    // A plain string is data in the default format; binary formats travel as base64.
    return { type: 'complex', data: isBinary(defaultFormat?.mimeType) ? base64(v, locator) : v };
  }
  // A plain JSON value is JSON data, in the first JSON format the input offers.
  const json = formats.find((f) => isJsonMimeType(f.mimeType));
  return {
    type: 'complex',
    data: stringify(v),
    mimeType: json?.mimeType ?? 'application/json',
    ...(json?.schema ? { schema: json.schema } : {}),
  };
}

function inputValue(value: unknown, input: InputDescription | undefined, locator: string): RawInputValue {
  if (value instanceof JsonText && (input === undefined || input.kind === 'complex'))
    return complex(value, input, locator);
  const v = value instanceof JsonText ? built(value, locator) : value;
  if (v === null || v === undefined) throw bad(locator, `Input '${locator}': null is not a value`);
  if (isObject(v) && 'href' in v) return reference(v, locator);
  switch (input?.kind) {
    case 'literal':
      return literal(v, locator, input.dataType);
    case 'bbox':
      return boundingBox(v, input, locator);
    case 'complex':
      return complex(v, input, locator);
    case undefined:
      // Unknown ids are the core's to reject (with their locator); translate by the value's shape.
      if (typeof v !== 'object') return literal(v, locator);
      if (isObject(v) && 'bbox' in v) return boundingBox(v, input, locator);
      return complex(v, input, locator);
  }
}

const jsonOnly = (input: InputDescription | undefined) =>
  input?.kind === 'complex' && input.formats.length > 0 && isJsonMimeType(input.formats[0]!.mimeType);

function inputValues(value: unknown, input: InputDescription | undefined, id: string): RawInputValue[] {
  if (!Array.isArray(value)) return [inputValue(value, input, id)];
  const many = input === undefined || input.maxOccurs === 'unbounded' || input.maxOccurs > 1;
  if (many) return value.map((v) => inputValue(v, input, id));
  // One value that is itself a JSON array.
  if (jsonOnly(input)) return [inputValue(value, input, id)];
  throw bad(id, `Input '${id}' takes one value, not an array`);
}

function inputs(body: Json, description: ProcessDescription): RawInputs {
  if (body.inputs === undefined) return {};
  if (!isObject(body.inputs)) throw bad('inputs', "'inputs' must be an object keyed by input id");
  // Keyed by client-chosen ids: no prototype, so `__proto__` or `constructor` is just an unknown id.
  const raw: RawInputs = Object.create(null) as RawInputs;
  for (const [id, value] of Object.entries(body.inputs)) {
    const input = description.inputs.find((i) => i.id === id);
    raw[id] = inputValues(value, input, id);
  }
  return raw;
}

// ---- Outputs, response, subscriber -------------------------------------------------------------

function outputs(body: Json): Record<string, RawOutputRequest> | undefined {
  if (body.outputs === undefined) return undefined;
  if (!isObject(body.outputs)) throw bad('outputs', "'outputs' must be an object keyed by output id");
  const entries = Object.entries(body.outputs);
  // 1.0 has no "no outputs" request: an empty selection means every output, as an omitted one.
  if (entries.length === 0) return undefined;
  const result = Object.create(null) as Record<string, RawOutputRequest>;
  for (const [id, want] of entries) {
    if (!isObject(want)) throw bad(id, `Output '${id}': expected an object {format, transmissionMode}`);
    const mode = want.transmissionMode;
    if (mode !== undefined && mode !== 'value' && mode !== 'reference')
      throw bad(id, `Output '${id}': transmissionMode must be 'value' or 'reference'`);
    const { mimeType, encoding, schema } = formatFields({ format: want.format ?? {} }, id, 'mediaType');
    result[id] = {
      ...(mimeType !== undefined ? { mimeType } : {}),
      ...(encoding !== undefined ? { encoding } : {}),
      ...(schema !== undefined ? { schema } : {}),
      ...(mode !== undefined ? { transmission: mode as TransmissionMode } : {}),
    };
  }
  return result;
}

function response(body: Json): ResponseType {
  const value = body.response ?? 'raw';
  if (value !== 'raw' && value !== 'document')
    throw bad('response', `'response' must be 'raw' or 'document', not ${JSON.stringify(value)}`);
  return value;
}

const SUBSCRIBER_KEYS = ['successUri', 'inProgressUri', 'failedUri'] as const;

function subscriber(body: Json): Subscriber | undefined {
  if (body.subscriber === undefined) return undefined;
  if (!isObject(body.subscriber)) throw bad('subscriber', "'subscriber' must be an object");
  const result: Subscriber = {};
  for (const key of SUBSCRIBER_KEYS) {
    const uri = body.subscriber[key];
    if (uri === undefined) continue;
    const url = typeof uri === 'string' && URL.canParse(uri) ? new URL(uri) : undefined;
    if (typeof uri !== 'string' || !url || (url.protocol !== 'http:' && url.protocol !== 'https:'))
      throw bad(`subscriber.${key}`, `'subscriber.${key}' must be an absolute http(s) URI`);
    result[key] = uri;
  }
  return result;
}

/**
 * Turns an execute request (the parsed JSON body, execute.yaml) and its `Prefer` header into the
 * core's raw request. Structural faults are 400s naming the field; whether ids, counts, types and
 * formats fit the process is the core's validation.
 */
export function toRawExecuteRequest(
  body: unknown,
  description: ProcessDescription,
  prefer?: string,
): TranslatedExecute {
  if (!isObject(body)) throw bad('body', 'The execute request must be a JSON object');
  const preferences = parsePrefer(prefer, description);
  const selected = outputs(body);
  const sub = subscriber(body);
  const binding: OaprocJobOptions = {
    protocol: 'oaproc',
    response: response(body),
    ...(sub ? { subscriber: sub } : {}),
  };
  return {
    request: {
      processId: description.id,
      inputs: inputs(body, description),
      ...(selected ? { outputs: selected } : {}),
      mode: preferences.mode,
      binding,
    },
    preferences,
  };
}
