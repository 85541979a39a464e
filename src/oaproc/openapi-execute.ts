import type { InputDescription, OutputDescription, ProcessDescription } from '../core/model.ts';
import { valueSchema, type JsonSchema } from './describe.ts';

/** Keywords of the process-description schema dialect (schema.yaml) that OpenAPI 3.0 has no place for. */
const NOT_OAS30 = new Set(['contentMediaType', 'contentEncoding', 'contentSchema']);

const isSchema = (v: unknown): v is JsonSchema => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A value schema of a process description made a valid OpenAPI 3.0 Schema Object: the JSON Schema
 * content keywords (which `schema.yaml` adds) become `x-` extensions, and `oneOf` over formats
 * becomes `anyOf` (a text value may well fit two formats: that does not make it invalid).
 */
export function oas30Schema(schema: JsonSchema): JsonSchema {
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (NOT_OAS30.has(key)) out[`x-${key}`] = value;
    else if (key === 'oneOf' || key === 'anyOf' || key === 'allOf')
      out[key === 'oneOf' ? 'anyOf' : key] = (value as unknown[]).map((v) =>
        isSchema(v) ? oas30Schema(v) : v,
      );
    else if ((key === 'items' || key === 'not' || key === 'additionalProperties') && isSchema(value))
      out[key] = oas30Schema(value);
    else if (key === 'properties' && isSchema(value))
      out[key] = Object.fromEntries(
        Object.entries(value).map(([k, v]) => [k, isSchema(v) ? oas30Schema(v) : v]),
      );
    else out[key] = value;
  }
  return out;
}

export const schemaRef = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });

/** The qualified form of a value (`{value, …}`, qualifiedInputValue.yaml) this input accepts. */
function qualified(input: InputDescription, value: JsonSchema): JsonSchema {
  switch (input.kind) {
    case 'literal':
      return {
        type: 'object',
        required: ['value'],
        properties: {
          value,
          uom: { type: 'string', ...(input.uoms ? { enum: [...input.uoms.supported] } : {}) },
        },
      };
    case 'bbox':
      return { type: 'object', required: ['value'], properties: { value } };
    case 'complex':
      return {
        type: 'object',
        required: ['value'],
        properties: {
          value: { description: 'The data: a JSON value, text, or base64 for binary formats' },
          mediaType: { type: 'string', enum: [...new Set(input.formats.map((f) => f.mimeType))] },
          encoding: { type: 'string' },
          schema: { anyOf: [{ type: 'string', format: 'uri' }, { type: 'object' }] },
          format: schemaRef('format'),
        },
      };
  }
}

/** Every form one value of `input` may take in an execute request: bare, qualified, or by reference. */
function oneValue(input: InputDescription): JsonSchema {
  const value = oas30Schema(valueSchema(input));
  return { anyOf: [value, qualified(input, value), schemaRef('reference')] };
}

function inputSchema(input: InputDescription): JsonSchema {
  const single = oneValue(input);
  const many = input.maxOccurs === 'unbounded' || input.maxOccurs > 1;
  const described = {
    title: input.title,
    ...(input.abstract ? { description: input.abstract } : {}),
  };
  if (!many) return { ...described, ...single };
  const array: JsonSchema = {
    type: 'array',
    items: single,
    ...(input.minOccurs > 1 ? { minItems: input.minOccurs } : {}),
    ...(input.maxOccurs !== 'unbounded' ? { maxItems: input.maxOccurs } : {}),
  };
  return { ...described, anyOf: input.minOccurs > 1 ? [array] : [...(single.anyOf as JsonSchema[]), array] };
}

/** What a client may ask of one output: its format (one of the described ones) and transmission. */
function outputSelection(output: OutputDescription, description: ProcessDescription): JsonSchema {
  const mediaTypes =
    output.kind === 'complex'
      ? [...new Set(output.formats.map((f) => f.mimeType))]
      : output.kind === 'bbox'
        ? ['application/json']
        : ['text/plain', 'application/json'];
  return {
    type: 'object',
    title: output.title,
    properties: {
      format: {
        type: 'object',
        properties: {
          mediaType: { type: 'string', enum: mediaTypes },
          encoding: { type: 'string' },
          schema: { type: 'string', format: 'uri' },
        },
      },
      transmissionMode: { type: 'string', enum: [...description.outputTransmission] },
    },
  };
}

/**
 * The execute request (execute.yaml) of one process, from the same model its description is
 * rendered from: its inputs keyed by id with their value schemas (required ones listed), its
 * outputs keyed by id. Unknown input or output ids are refused (400), hence no other properties.
 */
export function executeRequestSchema(description: ProcessDescription): JsonSchema {
  const required = description.inputs.filter((i) => i.minOccurs > 0).map((i) => i.id);
  return {
    type: 'object',
    title: `Execute ${description.title}`,
    properties: {
      inputs: {
        type: 'object',
        properties: Object.fromEntries(description.inputs.map((i) => [i.id, inputSchema(i)])),
        ...(required.length > 0 ? { required } : {}),
        additionalProperties: false,
      },
      outputs: {
        type: 'object',
        properties: Object.fromEntries(
          description.outputs.map((o) => [o.id, outputSelection(o, description)]),
        ),
        additionalProperties: false,
      },
      response: { type: 'string', enum: ['raw', 'document'], default: 'raw' },
      subscriber: schemaRef('subscriber'),
    },
    ...(required.length > 0 ? { required: ['inputs'] } : {}),
  };
}

/**
 * The media types a successful execution of this process may answer with (200): the results
 * document (JSON), one raw output in its own media type, several as multipart/related.
 */
export function rawMediaTypes(description: ProcessDescription): string[] {
  const types = new Set<string>(['application/json']);
  for (const output of description.outputs) {
    if (output.kind === 'literal') types.add('text/plain');
    else if (output.kind === 'complex') for (const f of output.formats) types.add(f.mimeType);
  }
  if (description.outputs.length > 1) types.add('multipart/related');
  return [...types];
}
