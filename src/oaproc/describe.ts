import { crsUris } from '../core/crs.ts';
import { isJsonMimeType, isTextMimeType } from '../core/formats.ts';
import type {
  AllowedValues,
  BoundingBoxDomain,
  ComplexDomain,
  Format,
  InputDescription,
  LiteralDataType,
  LiteralDomain,
  MetadataLink,
  OutputDescription,
  ProcessDescription,
  ValueRange,
} from '../core/model.ts';
import { REL } from './links.ts';
import type { Link } from './links.ts';

/** A JSON Schema fragment in the OpenAPI 3.0 dialect of `schema.yaml` (boolean exclusive bounds). */
export type JsonSchema = { [keyword: string]: unknown };

// ---- Literal data --------------------------------------------------------------------------------

const NUMERIC: ReadonlySet<LiteralDataType> = new Set([
  'integer',
  'double',
  'float',
  'positiveInteger',
  'nonNegativeInteger',
]);

function literalType(dataType: LiteralDataType): JsonSchema {
  switch (dataType) {
    case 'string':
      return { type: 'string' };
    case 'integer':
      return { type: 'integer' };
    case 'positiveInteger':
      return { type: 'integer', minimum: 1 };
    case 'nonNegativeInteger':
      return { type: 'integer', minimum: 0 };
    case 'double':
    case 'float':
      return { type: 'number', format: dataType };
    case 'boolean':
      return { type: 'boolean' };
    case 'date':
      return { type: 'string', format: 'date' };
    case 'dateTime':
      return { type: 'string', format: 'date-time' };
    case 'time':
      return { type: 'string', format: 'time' };
    case 'anyURI':
      return { type: 'string', format: 'uri' };
  }
}

/** A literal value as JSON: numbers for numeric types, booleans for boolean, text otherwise. */
export function jsonLiteral(value: string | number | boolean, dataType: LiteralDataType): unknown {
  if (NUMERIC.has(dataType)) {
    const n = typeof value === 'number' ? value : Number(value);
    return Number.isFinite(n) ? n : String(value);
  }
  if (dataType === 'boolean') {
    if (typeof value === 'boolean') return value;
    const s = String(value).trim().toLowerCase();
    return s === 'true' || s === '1' ? true : s === 'false' || s === '0' ? false : String(value);
  }
  return String(value);
}

function rangeSchema(range: ValueRange): JsonSchema {
  const closure = range.closure ?? 'closed';
  const openLow = closure === 'open' || closure === 'open-closed';
  const openHigh = closure === 'open' || closure === 'closed-open';
  const schema: JsonSchema = {};
  if (range.minimum !== undefined) {
    schema.minimum = range.minimum;
    if (openLow) schema.exclusiveMinimum = true;
  }
  if (range.maximum !== undefined) {
    schema.maximum = range.maximum;
    if (openHigh) schema.exclusiveMaximum = true;
  }
  // WPS spacing counts from the minimum; multipleOf counts from 0: only equivalent when they agree.
  if (range.spacing !== undefined && range.spacing > 0) {
    const steps = (range.minimum ?? 0) / range.spacing;
    if (Number.isInteger(steps)) schema.multipleOf = range.spacing;
  }
  return schema;
}

/** Allowed values as schema alternatives: one `enum`, one element per range. */
function allowedAlternatives(allowed: AllowedValues, dataType: LiteralDataType): JsonSchema[] {
  const alternatives: JsonSchema[] = [];
  if (allowed.values && allowed.values.length > 0) {
    alternatives.push({ enum: allowed.values.map((v) => jsonLiteral(v, dataType)) });
  }
  for (const range of allowed.ranges ?? []) alternatives.push(rangeSchema(range));
  return alternatives;
}

export function literalSchema(domain: LiteralDomain, defaultValue?: string | number | boolean): JsonSchema {
  const base = literalType(domain.dataType);
  const alternatives = domain.allowedValues ? allowedAlternatives(domain.allowedValues, domain.dataType) : [];
  let schema: JsonSchema;
  if (alternatives.length === 1) {
    // A type-implied bound (positiveInteger ≥ 1) yields to an explicit range.
    schema = { ...base, ...alternatives[0] };
  } else if (alternatives.length > 1) {
    schema = { ...base, anyOf: alternatives };
  } else {
    schema = base;
  }
  if (defaultValue !== undefined) schema.default = jsonLiteral(defaultValue, domain.dataType);
  return schema;
}

// ---- Complex data --------------------------------------------------------------------------------

/** One `oneOf` branch per format: JSON formats are objects, text is a string, binary is base64. */
function formatSchema(format: Format): JsonSchema {
  const schema: JsonSchema = isJsonMimeType(format.mimeType)
    ? { type: 'object', contentMediaType: format.mimeType }
    : isTextMimeType(format.mimeType) && format.encoding?.toLowerCase() !== 'base64'
      ? { type: 'string', contentMediaType: format.mimeType }
      : { type: 'string', format: 'byte', contentMediaType: format.mimeType, contentEncoding: 'base64' };
  if (format.schema) schema.contentSchema = format.schema;
  return schema;
}

/** `oneOf` with one branch per format; the first is the default format (`/req/.../input-mixed-type`). */
export function complexSchema(domain: ComplexDomain): JsonSchema {
  return { oneOf: domain.formats.map(formatSchema) };
}

// ---- Bounding boxes --------------------------------------------------------------------------------

/**
 * `allOf: [{format: ogc-bbox}, <bbox.yaml with this domain's CRS>]`; the `format` element comes
 * first for the OGC test suite's parser (conformance notes §3.1.2).
 */
export function bboxSchema(domain: BoundingBoxDomain): JsonSchema {
  const uris = crsUris(domain.crs);
  const corners: JsonSchema =
    domain.dimensions === 3
      ? { minItems: 6, maxItems: 6 }
      : domain.dimensions === 2
        ? { minItems: 4, maxItems: 4 }
        : {
            oneOf: [
              { minItems: 4, maxItems: 4 },
              { minItems: 6, maxItems: 6 },
            ],
          };
  return {
    allOf: [
      { format: 'ogc-bbox' },
      {
        type: 'object',
        required: ['bbox'],
        properties: {
          bbox: { type: 'array', ...corners, items: { type: 'number' } },
          crs: { type: 'string', format: 'uri', ...(uris[0] ? { default: uris[0] } : {}), enum: uris },
        },
      },
    ],
  };
}

// ---- Descriptions ----------------------------------------------------------------------------------

export function valueSchema(domain: InputDescription | OutputDescription): JsonSchema {
  switch (domain.kind) {
    case 'literal':
      return literalSchema(domain, 'defaultValue' in domain ? domain.defaultValue : undefined);
    case 'complex':
      return complexSchema(domain);
    case 'bbox':
      return bboxSchema(domain);
  }
}

interface DescriptionTypeJson {
  title: string;
  description?: string;
  keywords?: string[];
  metadata?: MetadataLink[];
  additionalParameters?: { parameters: Array<{ name: string; value: unknown[] }> };
}

function describedJson(d: {
  title: string;
  abstract?: string;
  keywords?: string[];
  metadata?: MetadataLink[];
}): DescriptionTypeJson {
  return {
    title: d.title,
    ...(d.abstract ? { description: d.abstract } : {}),
    ...(d.keywords && d.keywords.length > 0 ? { keywords: d.keywords } : {}),
    ...(d.metadata && d.metadata.length > 0 ? { metadata: d.metadata.map((m) => ({ ...m })) } : {}),
  };
}

/** Units of measure have no place in the 1.0 schema: they ride in `additionalParameters`. */
function uomParameters(
  d: InputDescription | OutputDescription,
): Pick<DescriptionTypeJson, 'additionalParameters'> {
  if (d.kind !== 'literal' || !d.uoms) return {};
  return {
    additionalParameters: {
      parameters: [
        { name: 'uom', value: d.uoms.supported },
        { name: 'defaultUom', value: [d.uoms.default] },
      ],
    },
  };
}

export function inputDescriptionJson(input: InputDescription) {
  return {
    ...describedJson(input),
    ...uomParameters(input),
    schema: valueSchema(input),
    minOccurs: input.minOccurs,
    maxOccurs: input.maxOccurs,
  };
}

export function outputDescriptionJson(output: OutputDescription) {
  return { ...describedJson(output), ...uomParameters(output), schema: valueSchema(output) };
}

const processUrl = (base: string, id: string) => `${base}/processes/${encodeURIComponent(id)}`;

/** processSummary.yaml: what `/processes` lists. */
export function processSummary(description: ProcessDescription, base: string) {
  const links: Link[] = [
    {
      href: processUrl(base, description.id),
      rel: 'self',
      type: 'application/json',
      title: 'Process description',
    },
    {
      href: `${processUrl(base, description.id)}/execution`,
      rel: REL.execute,
      title: 'Execute endpoint',
    },
  ];
  return {
    id: description.id,
    version: description.version,
    ...describedJson(description),
    // Summaries always carry a description; the title stands in when the author wrote no abstract.
    description: description.abstract ?? description.title,
    jobControlOptions: [...description.jobControlOptions],
    outputTransmission: [...description.outputTransmission],
    links,
  };
}

/** process.yaml (ogc-process-description): the summary plus inputs and outputs keyed by id. */
export function processDescriptionJson(description: ProcessDescription, base: string) {
  return {
    ...processSummary(description, base),
    inputs: Object.fromEntries(description.inputs.map((i) => [i.id, inputDescriptionJson(i)])),
    outputs: Object.fromEntries(description.outputs.map((o) => [o.id, outputDescriptionJson(o)])),
  };
}
