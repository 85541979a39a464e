/**
 * An OGC API - Processes 1.0 process description (process.yaml: inputs and outputs described by
 * JSON Schema) → the core model. Only what the model can say faithfully is accepted; anything else
 * makes the whole process unexpressible, with the reason (the provider logs it once and leaves the
 * process out — never half-described).
 */
import { CRS84_URI, crsKey, parseCrs } from '../../core/crs.ts';
import type {
  AllowedValues,
  BoundingBoxDomain,
  ComplexDomain,
  Format,
  InputDescription,
  JobControlOption,
  LiteralDataType,
  LiteralDomain,
  MetadataLink,
  OutputDescription,
  ProcessDescription,
  RangeClosure,
  Uoms,
  ValueRange,
} from '../../core/model.ts';
import { checkDescription } from '../../registry/description-checks.ts';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Why a remote description cannot be served; `where` is a JSON path into the document. */
export class NotExpressible extends Error {
  readonly where: string;
  constructor(where: string, reason: string) {
    super(`${where}: ${reason}`);
    this.name = 'NotExpressible';
    this.where = where;
  }
}

/** How one input travels to the remote, beyond what the core model says. */
export interface RemoteInputInfo {
  kind: InputDescription['kind'];
  /** The schema is an array: the values always travel as one JSON array (even a single one). */
  array: boolean;
  /** Bounding boxes: the CRS URIs the remote lists (CRS84 when it lists none). */
  crs?: string[];
}

export interface RemoteOutputInfo {
  kind: OutputDescription['kind'];
  /** The remote gives a JSON value that is kept as a JSON document (arrays and objects). */
  json: boolean;
}

/** A remote process as the gateway serves it, and what is needed to talk to the remote about it. */
export interface RemoteProcess {
  /** The id on the remote server. */
  remoteId: string;
  description: ProcessDescription;
  /** The remote's own jobControlOptions (the local ones are the gateway's). */
  remoteJobControl: string[];
  remoteTransmission: string[];
  inputs: Record<string, RemoteInputInfo>;
  outputs: Record<string, RemoteOutputInfo>;
}

export type DescribeResult = { ok: true; process: RemoteProcess } | { ok: false; reason: string };

// ---- Schemas -------------------------------------------------------------------------------------

type Domain = (LiteralDomain | ComplexDomain | BoundingBoxDomain) & {
  defaultValue?: string | number | boolean;
};

/** Keywords that say nothing about which values are valid. */
const ANNOTATIONS = new Set([
  'title',
  'description',
  'default',
  'examples',
  'example',
  '$comment',
  'readOnly',
  'writeOnly',
  'deprecated',
  'nullable',
  '$schema',
  '$id',
  'xml',
  'externalDocs',
]);

const GEOJSON_FORMATS = new Set([
  'geojson-feature-collection',
  'geojson-feature',
  'geojson-geometry',
  'geojson',
]);
const GEOJSON_REF = /geojson\.org\/schema\/|(geometry|feature|featureCollection)GeoJSON\.(ya?ml|json)$/i;
const BBOX_REF = /(^|\/)bbox\.(ya?ml|json)(#.*)?$/i;

/** allOf parts merged into one schema (later parts win on a clash; nested allOf flattened). */
function flatten(schema: Json, where: string): Json {
  if (!Array.isArray(schema.allOf)) return schema;
  const { allOf, ...rest } = schema;
  let merged: Json = { ...rest };
  (allOf as unknown[]).forEach((part, i) => {
    if (!isObject(part)) throw new NotExpressible(`${where}.allOf[${i}]`, 'not a schema object');
    merged = { ...merged, ...flatten(part, `${where}.allOf[${i}]`) };
  });
  return merged;
}

const hasBboxShape = (s: Json) =>
  s.format === 'ogc-bbox' ||
  (typeof s.$ref === 'string' && BBOX_REF.test(s.$ref)) ||
  (isObject(s.properties) && isObject(s.properties.bbox) && s.properties.bbox.type === 'array');

/** A CRS URI as the model spells it: WGS84 longitude/latitude as EPSG:4326 (short = x first). */
function modelCrs(uri: string): string {
  const id = parseCrs(uri);
  if (!id) return uri.trim();
  return crsKey(uri);
}

function bboxDomain(s: Json, where: string): { domain: BoundingBoxDomain; uris: string[] } {
  const props = isObject(s.properties) ? s.properties : {};
  const crsSchema = isObject(props.crs) ? props.crs : {};
  let uris: string[] = [];
  if (Array.isArray(crsSchema.enum)) {
    if (!crsSchema.enum.every((c) => typeof c === 'string'))
      throw new NotExpressible(`${where}.properties.crs.enum`, 'CRS identifiers must be strings');
    uris = crsSchema.enum as string[];
  }
  if (typeof crsSchema.default === 'string') {
    uris = [crsSchema.default, ...uris.filter((u) => u !== crsSchema.default)];
  }
  if (uris.length === 0) uris = [CRS84_URI];
  const crs: string[] = [];
  for (const uri of uris) {
    const c = modelCrs(uri);
    if (!crs.some((k) => crsKey(k) === crsKey(c))) crs.push(c);
  }
  const corners = isObject(props.bbox) ? props.bbox : {};
  const dims = (n: unknown) => (n === 4 ? 2 : n === 6 ? 3 : undefined);
  const lo = dims(corners.minItems);
  const hi = dims(corners.maxItems);
  const domain: BoundingBoxDomain = { kind: 'bbox', crs };
  if (lo !== undefined && lo === hi) domain.dimensions = lo;
  return { domain, uris };
}

function literalType(s: Json, where: string): LiteralDataType {
  const type = s.type ?? inferType(s);
  const format = typeof s.format === 'string' ? s.format : undefined;
  switch (type) {
    case 'string':
      switch (format) {
        case 'date':
          return 'date';
        case 'date-time':
        case 'dateTime':
          return 'dateTime';
        case 'time':
          return 'time';
        case 'uri':
        case 'url':
        case 'uri-reference':
          return 'anyURI';
        default:
          return 'string';
      }
    case 'number':
      return format === 'float' ? 'float' : 'double';
    case 'integer':
      return 'integer';
    case 'boolean':
      return 'boolean';
    default:
      throw new NotExpressible(
        where,
        `a value of type ${JSON.stringify(type)} is not a literal the model knows`,
      );
  }
}

/** The JSON type of an enum/const whose schema names none. */
function inferType(s: Json): string | undefined {
  const values = Array.isArray(s.enum) ? s.enum : 'const' in s ? [s.const] : [];
  const types = new Set(values.map((v) => (Number.isInteger(v) ? 'integer' : typeof v)));
  if (types.size === 1) return [...types][0];
  if (types.size === 2 && types.has('integer') && types.has('number')) return 'number';
  return undefined;
}

/** Constraints on literals the model cannot carry (it would accept values the remote refuses). */
const LITERAL_UNEXPRESSIBLE = ['pattern', 'minLength', 'maxLength', 'not', 'if', 'then', 'else'];

function range(s: Json, where: string): ValueRange | undefined {
  const num = (k: string) => (typeof s[k] === 'number' ? s[k] : undefined);
  let minimum = num('minimum');
  let maximum = num('maximum');
  let openLow = s.exclusiveMinimum === true;
  let openHigh = s.exclusiveMaximum === true;
  // JSON Schema 2019+ spells exclusive bounds as numbers.
  if (typeof s.exclusiveMinimum === 'number') {
    minimum = s.exclusiveMinimum;
    openLow = true;
  }
  if (typeof s.exclusiveMaximum === 'number') {
    maximum = s.exclusiveMaximum;
    openHigh = true;
  }
  const spacing = num('multipleOf');
  if (minimum === undefined && maximum === undefined && spacing === undefined) return undefined;
  const r: ValueRange = {};
  if (minimum !== undefined) r.minimum = minimum;
  if (maximum !== undefined) r.maximum = maximum;
  if (spacing !== undefined) {
    // WPS spacing counts from the minimum, multipleOf from 0: equivalent only when they agree.
    const steps = (minimum ?? 0) / spacing;
    if (spacing <= 0 || Math.abs(steps - Math.round(steps)) > 1e-9)
      throw new NotExpressible(where, `multipleOf ${spacing} does not count from the minimum`);
    r.spacing = spacing;
  }
  const closure: RangeClosure =
    openLow && openHigh ? 'open' : openLow ? 'open-closed' : openHigh ? 'closed-open' : 'closed';
  r.closure = closure;
  return r;
}

function scalar(v: unknown, where: string): string | number | boolean {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  throw new NotExpressible(where, 'allowed and default values must be strings, numbers or booleans');
}

/** The allowed values a literal schema (or one alternative of it) states. */
function allowedOf(s: Json, where: string, into: AllowedValues): boolean {
  for (const k of LITERAL_UNEXPRESSIBLE)
    if (k in s) throw new NotExpressible(where, `the constraint '${k}' has no equivalent in the model`);
  let constrained = false;
  const values = Array.isArray(s.enum) ? s.enum : 'const' in s ? [s.const] : undefined;
  if (values) {
    (into.values ??= []).push(...values.map((v, i) => scalar(v, `${where}.enum[${i}]`)));
    constrained = true;
  }
  const r = range(s, where);
  if (r) {
    if (values)
      throw new NotExpressible(where, 'an enum together with a range has no equivalent in the model');
    (into.ranges ??= []).push(r);
    constrained = true;
  }
  return constrained;
}

function literalDomain(s: Json, where: string): Domain {
  const dataType = literalType(s, where);
  const allowed: AllowedValues = {};
  let constrained = allowedOf(s, where, allowed);
  const alternatives = s.anyOf ?? s.oneOf;
  if (Array.isArray(alternatives)) {
    // Our own descriptions: {type, anyOf: [{enum}, {minimum, maximum}, …]}.
    let all = true;
    alternatives.forEach((alt, i) => {
      const at = `${where}.${s.anyOf ? 'anyOf' : 'oneOf'}[${i}]`;
      if (!isObject(alt)) throw new NotExpressible(at, 'not a schema object');
      const flat = flatten(alt, at);
      if (flat.type !== undefined && literalType({ ...flat }, at) !== dataType)
        throw new NotExpressible(at, 'alternatives of different types have no equivalent in the model');
      all = allowedOf(flat, at, allowed) && all;
    });
    // An alternative without constraints allows any value: the others add nothing.
    if (!all) {
      delete allowed.values;
      delete allowed.ranges;
    }
    constrained = all;
  }
  const domain: Domain = { kind: 'literal', dataType };
  if (constrained) domain.allowedValues = allowed;
  if ('default' in s && s.default !== null) domain.defaultValue = scalar(s.default, `${where}.default`);
  return domain;
}

function formatOf(s: Json, where: string): Format | undefined {
  const mediaType = typeof s.contentMediaType === 'string' ? s.contentMediaType.trim() : undefined;
  const schemaRef =
    typeof s.contentSchema === 'string'
      ? s.contentSchema
      : typeof s.$ref === 'string' && GEOJSON_REF.test(s.$ref)
        ? s.$ref
        : undefined;
  const geojson =
    (typeof s.format === 'string' && GEOJSON_FORMATS.has(s.format)) ||
    (typeof s.$ref === 'string' && GEOJSON_REF.test(s.$ref));
  const binary = s.format === 'binary' || s.format === 'byte' || s.contentEncoding !== undefined;
  let mimeType = mediaType;
  if (!mimeType && geojson) mimeType = 'application/geo+json';
  if (!mimeType && s.type === 'object') mimeType = 'application/json';
  if (!mimeType && s.type === 'string' && binary) mimeType = 'application/octet-stream';
  if (!mimeType) return undefined;
  if (typeof s.$ref === 'string' && !GEOJSON_REF.test(s.$ref) && !BBOX_REF.test(s.$ref))
    throw new NotExpressible(where, `the schema refers to ${s.$ref}, which is not read`);
  if (s.contentEncoding !== undefined && !['base64', 'binary'].includes(String(s.contentEncoding)))
    throw new NotExpressible(where, `contentEncoding ${JSON.stringify(s.contentEncoding)} is not supported`);
  return { mimeType, ...(schemaRef ? { schema: schemaRef } : {}) };
}

function isLiteralShaped(s: Json): boolean {
  if (formatOf(s, '') !== undefined) return false;
  const type = s.type ?? inferType(s);
  return type === 'string' || type === 'number' || type === 'integer' || type === 'boolean';
}

/** One schema → one domain; `array` when the schema itself is an array of such values. */
interface Classified {
  domain: Domain;
  array?: { minItems?: number; maxItems?: number };
  bboxUris?: string[];
  /** A JSON value kept as a JSON document (objects, arrays of them). */
  json?: boolean;
}

function classify(schema: unknown, where: string, allowArray = true): Classified {
  if (!isObject(schema)) throw new NotExpressible(where, 'the schema is not an object');
  const s = flatten(schema, where);
  if (hasBboxShape(s)) {
    const { domain, uris } = bboxDomain(s, where);
    return { domain, bboxUris: uris };
  }
  if (typeof s.$ref === 'string' && !GEOJSON_REF.test(s.$ref))
    throw new NotExpressible(where, `the schema refers to ${s.$ref}, which is not read`);
  const alternatives = Array.isArray(s.oneOf) ? s.oneOf : Array.isArray(s.anyOf) ? s.anyOf : undefined;
  if (alternatives && !isLiteralShaped(s)) {
    const key = Array.isArray(s.oneOf) ? 'oneOf' : 'anyOf';
    const { oneOf: _o, anyOf: _a, ...parent } = s;
    const branches = alternatives.map((alt, i) => {
      const at = `${where}.${key}[${i}]`;
      if (!isObject(alt)) throw new NotExpressible(at, 'not a schema object');
      return classify({ ...parent, ...alt }, at, false);
    });
    if (branches.every((b) => b.domain.kind === 'complex')) {
      const formats: Format[] = [];
      for (const b of branches) formats.push(...(b.domain as ComplexDomain).formats);
      return { domain: { kind: 'complex', formats }, json: branches.every((b) => b.json) };
    }
    if (branches.length === 1) return branches[0]!;
    throw new NotExpressible(
      where,
      `alternatives of different kinds (${branches.map((b) => b.domain.kind).join(', ')}) have no equivalent in the model`,
    );
  }
  if (s.type === 'array') {
    const items = s.items;
    if (allowArray && isObject(items)) {
      const inner = classify(items, `${where}.items`, false);
      if (inner.domain.kind !== 'complex' || !inner.json) {
        const num = (k: string) => (typeof s[k] === 'number' ? s[k] : undefined);
        return { ...inner, array: { minItems: num('minItems'), maxItems: num('maxItems') } };
      }
    }
    // An array that is one value: a JSON document.
    return { domain: { kind: 'complex', formats: [{ mimeType: 'application/json' }] }, json: true };
  }
  const format = formatOf(s, where);
  if (format) {
    const json = s.type === 'object' || (s.type === undefined && /json/i.test(format.mimeType));
    return { domain: { kind: 'complex', formats: [format] }, json };
  }
  if (s.type === undefined && inferType(s) === undefined && Object.keys(s).every((k) => ANNOTATIONS.has(k)))
    throw new NotExpressible(where, 'a schema that allows any value has no equivalent in the model');
  return { domain: literalDomain(s, where) };
}

// ---- Descriptions ----------------------------------------------------------------------------------

function text(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v : undefined;
}

function described(id: string, d: Json) {
  const keywords = Array.isArray(d.keywords)
    ? d.keywords.filter((k): k is string => typeof k === 'string')
    : [];
  const metadata: MetadataLink[] = [];
  if (Array.isArray(d.metadata)) {
    for (const m of d.metadata) {
      if (!isObject(m) || typeof m.href !== 'string') continue;
      metadata.push({
        href: m.href,
        ...(typeof m.title === 'string' ? { title: m.title } : {}),
        ...(typeof m.role === 'string' ? { role: m.role } : {}),
      });
    }
  }
  const abstract = text(d.description);
  return {
    id,
    title: text(d.title) ?? id,
    ...(abstract ? { abstract } : {}),
    ...(keywords.length > 0 ? { keywords } : {}),
    ...(metadata.length > 0 ? { metadata } : {}),
  };
}

/** Units of measure in `additionalParameters` (as this gateway publishes them). */
function uomsOf(d: Json): Uoms | undefined {
  const params = isObject(d.additionalParameters) ? d.additionalParameters.parameters : undefined;
  if (!Array.isArray(params)) return undefined;
  const values = (name: string) => {
    const p = params.find((q) => isObject(q) && q.name === name) as Json | undefined;
    return Array.isArray(p?.value) ? p.value.filter((v): v is string => typeof v === 'string') : [];
  };
  const supported = values('uom');
  if (supported.length === 0) return undefined;
  return { default: values('defaultUom')[0] ?? supported[0]!, supported };
}

function occurs(v: unknown, where: string, fallback: number): number | 'unbounded' {
  if (v === undefined) return fallback;
  if (v === 'unbounded') return 'unbounded';
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
  throw new NotExpressible(where, `${JSON.stringify(v)} is not an occurrence count`);
}

function withDomain<T extends object>(base: T, c: Classified, uoms: Uoms | undefined) {
  const { defaultValue, ...domain } = c.domain;
  if (domain.kind === 'literal' && uoms) (domain as LiteralDomain).uoms = uoms;
  return { ...base, ...domain, ...(defaultValue !== undefined ? { defaultValue } : {}) };
}

function input(id: string, d: unknown, where: string): { input: InputDescription; info: RemoteInputInfo } {
  if (!isObject(d)) throw new NotExpressible(where, 'not an object');
  const c = classify(d.schema, `${where}.schema`);
  let minOccurs = occurs(d.minOccurs, `${where}.minOccurs`, 1) as number;
  if (minOccurs === ('unbounded' as unknown)) throw new NotExpressible(`${where}.minOccurs`, 'unbounded');
  let maxOccurs = occurs(d.maxOccurs, `${where}.maxOccurs`, 1);
  if (c.array) {
    if (maxOccurs !== 1)
      throw new NotExpressible(where, 'an array schema on an input of several occurrences (nested arrays)');
    if (minOccurs > 0) minOccurs = Math.max(minOccurs, c.array.minItems ?? 1);
    maxOccurs = c.array.maxItems ?? 'unbounded';
  }
  const base = { ...described(id, d), minOccurs, maxOccurs, validation: 'SIMPLE' as const };
  const description = withDomain(base, c, uomsOf(d)) as InputDescription;
  const info: RemoteInputInfo = { kind: description.kind, array: c.array !== undefined };
  if (c.bboxUris) info.crs = c.bboxUris;
  return { input: description, info };
}

function output(
  id: string,
  d: unknown,
  where: string,
): { output: OutputDescription; info: RemoteOutputInfo } {
  if (!isObject(d)) throw new NotExpressible(where, 'not an object');
  let c = classify(d.schema, `${where}.schema`);
  // Several values in one output: kept as one JSON document.
  if (c.array) c = { domain: { kind: 'complex', formats: [{ mimeType: 'application/json' }] }, json: true };
  const { defaultValue: _d, ...rest } = c.domain;
  const description = withDomain(described(id, d), { domain: rest }, uomsOf(d)) as OutputDescription;
  return { output: description, info: { kind: description.kind, json: c.json === true } };
}

const LOCAL_JOB_CONTROL: JobControlOption[] = ['sync-execute', 'async-execute', 'dismiss'];

/**
 * Reads a process description document. `localId` is the id the gateway serves it under (default:
 * the remote id). The local job control options are the gateway's own: every remote process can run
 * as a local job either way, and be dismissed locally.
 */
export function describeRemoteProcess(document: unknown, localId?: string): DescribeResult {
  try {
    if (!isObject(document)) throw new NotExpressible('$', 'the description is not a JSON object');
    const remoteId = text(document.id);
    if (!remoteId) throw new NotExpressible('$.id', 'missing');
    const inputs: InputDescription[] = [];
    const outputs: OutputDescription[] = [];
    const inputInfo: Record<string, RemoteInputInfo> = Object.create(null) as Record<string, RemoteInputInfo>;
    const outputInfo: Record<string, RemoteOutputInfo> = Object.create(null) as Record<
      string,
      RemoteOutputInfo
    >;
    const entries = (v: unknown, where: string): Array<[string, unknown]> => {
      if (v === undefined) return [];
      // Draft descriptions (and some servers) list inputs as an array of {id, …}.
      if (Array.isArray(v))
        return v.map((item, i) => {
          if (!isObject(item) || typeof item.id !== 'string')
            throw new NotExpressible(`${where}[${i}]`, 'an entry without an id');
          return [item.id, item];
        });
      if (!isObject(v)) throw new NotExpressible(where, 'not an object keyed by id');
      return Object.entries(v);
    };
    for (const [id, d] of entries(document.inputs, '$.inputs')) {
      const { input: i, info } = input(id, d, `$.inputs.${id}`);
      inputs.push(i);
      inputInfo[id] = info;
    }
    for (const [id, d] of entries(document.outputs, '$.outputs')) {
      const { output: o, info } = output(id, d, `$.outputs.${id}`);
      outputs.push(o);
      outputInfo[id] = info;
    }
    if (outputs.length === 0) throw new NotExpressible('$.outputs', 'a process without outputs');
    const strings = (v: unknown) =>
      Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];
    const description: ProcessDescription = {
      ...described(localId ?? remoteId, document),
      version: text(document.version) ?? '1.0.0',
      inputs,
      outputs,
      jobControlOptions: [...LOCAL_JOB_CONTROL],
      outputTransmission: ['value', 'reference'],
    };
    const problems = checkDescription(description);
    if (problems.length > 0) throw new NotExpressible('$', problems.join('; '));
    const remoteJobControl = strings(document.jobControlOptions);
    return {
      ok: true,
      process: {
        remoteId,
        description,
        remoteJobControl: remoteJobControl.length > 0 ? remoteJobControl : ['sync-execute'],
        remoteTransmission: strings(document.outputTransmission),
        inputs: inputInfo,
        outputs: outputInfo,
      },
    };
  } catch (error) {
    if (error instanceof NotExpressible) return { ok: false, reason: error.message };
    throw error;
  }
}
