/**
 * Validated inputs → an OGC API - Processes 1.0 execute request (execute.yaml), and a results
 * document (results.yaml) → what a processor returns. Protocol vocabulary only; no HTTP.
 */
import { readFile } from 'node:fs/promises';
import { decodeBase64 } from '../../core/base64.ts';
import { OwsError } from '../../core/errors.ts';
import type { OutputRequest } from '../../core/execute.ts';
import { isJsonMimeType, isTextMimeType } from '../../core/formats.ts';
import { literalText, parseLiteral } from '../../core/literal.ts';
import type { Format, LiteralDataType } from '../../core/model.ts';
import type {
  ComplexResult,
  ComplexValue,
  JobInputValue,
  JobInputs,
  LiteralValue,
  OutputValue,
} from '../../core/values.ts';
import { fromRemoteBbox, toRemoteBbox } from './bbox.ts';
import type { RemoteProcess } from './describe.ts';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

const NUMERIC = new Set<LiteralDataType>([
  'integer',
  'double',
  'float',
  'positiveInteger',
  'nonNegativeInteger',
]);

/** A literal as the JSON type its schema has: numbers, booleans, ISO text for dates. */
function literalJson(value: LiteralValue, dataType: LiteralDataType): unknown {
  const v = value.value;
  const json =
    v instanceof Date
      ? literalText(v, dataType)
      : NUMERIC.has(dataType) || dataType === 'boolean'
        ? v
        : literalText(v, dataType);
  return value.uom ? { value: json, uom: value.uom } : json;
}

async function complexBytes(value: ComplexValue): Promise<Uint8Array> {
  if (value.bytes) return value.bytes;
  if (value.file) return readFile(value.file);
  return new TextEncoder().encode(value.text ?? '');
}

const formatFields = (format: Format) => ({
  mediaType: format.mimeType,
  ...(format.schema ? { schema: format.schema } : {}),
});

/** Text formats inline (JSON as JSON), everything else base64 (`qualifiedInputValue`). */
async function complexJson(value: ComplexValue): Promise<Json> {
  const { format } = value;
  const binary = !isTextMimeType(format.mimeType) || format.encoding?.toLowerCase() === 'base64';
  if (binary) {
    const bytes = await complexBytes(value);
    return { value: Buffer.from(bytes).toString('base64'), encoding: 'base64', ...formatFields(format) };
  }
  const text = value.text ?? new TextDecoder().decode(await complexBytes(value));
  if (isJsonMimeType(format.mimeType)) {
    try {
      return { value: JSON.parse(text) as unknown, ...formatFields(format) };
    } catch {
      // Not JSON after all: sent as text, for the remote to judge.
    }
  }
  return { value: text, ...formatFields(format) };
}

async function inputJson(id: string, value: JobInputValue, process: RemoteProcess): Promise<unknown> {
  const input = process.description.inputs.find((i) => i.id === id);
  switch (value.kind) {
    case 'literal':
      return literalJson(value, input?.kind === 'literal' ? input.dataType : 'string');
    case 'bbox':
      return toRemoteBbox(value, process.inputs[id]?.crs ?? []);
    case 'complex':
      return complexJson(value);
    case 'reference':
      // Passed through: the remote fetches it.
      return {
        href: value.href,
        ...(value.mimeType ? { type: value.mimeType } : {}),
      };
  }
}

/**
 * The execute request for `process`: every input (arrays for several values, and always for inputs
 * whose schema is an array), the requested outputs with their formats, a results document.
 */
export async function executeRequestJson(
  process: RemoteProcess,
  inputs: JobInputs,
  outputs: Record<string, OutputRequest>,
  options: { referenceOutputs?: ReadonlySet<string> } = {},
): Promise<Json> {
  const body: Json = {};
  const inputJsonById: Json = {};
  for (const [id, values] of Object.entries(inputs)) {
    const info = process.inputs[id];
    const mapped = await Promise.all(values.map((v) => inputJson(id, v, process)));
    if (mapped.length === 0) continue;
    const input = process.description.inputs.find((i) => i.id === id);
    const many = input !== undefined && (input.maxOccurs === 'unbounded' || input.maxOccurs > 1);
    inputJsonById[id] = info?.array || (many && mapped.length > 1) ? mapped : mapped[0];
  }
  body.inputs = inputJsonById;
  const outputJson: Json = {};
  for (const [id, request] of Object.entries(outputs)) {
    const transmissionMode = options.referenceOutputs?.has(id) ? 'reference' : 'value';
    outputJson[id] = {
      transmissionMode,
      ...(request.format
        ? {
            format: {
              mediaType: request.format.mimeType,
              ...(request.format.schema ? { schema: request.format.schema } : {}),
            },
          }
        : {}),
    };
  }
  body.outputs = outputJson;
  body.response = 'document';
  return body;
}

// ---- Results --------------------------------------------------------------------------------------

/** An output the remote gave by reference (`link.yaml`): fetched, or passed through. */
export interface RemoteReference {
  kind: 'remote-reference';
  href: string;
  type?: string;
}

export type MappedOutput = OutputValue | RemoteReference;

const malformed = (id: string, why: string) =>
  new OwsError('NoApplicableCode', `The remote server's result '${id}' is malformed: ${why}`, id);

function literalResult(id: string, raw: unknown, dataType: LiteralDataType): LiteralValue {
  let value = raw;
  let uom: string | undefined;
  if (isObject(raw) && 'value' in raw) {
    value = raw.value;
    if (typeof raw.uom === 'string') uom = raw.uom;
  }
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean')
    throw malformed(id, 'a literal output is not a string, number or boolean');
  try {
    return { kind: 'literal', value: parseLiteral(value, dataType, id), ...(uom ? { uom } : {}) };
  } catch (error) {
    throw malformed(id, (error as Error).message);
  }
}

const QUALIFIED_KEYS = new Set(['value', 'mediaType', 'encoding', 'schema', 'format']);

/** `{value, mediaType?, encoding?, schema?}` (qualifiedInputValue), told apart from a JSON value. */
const qualifiedOf = (raw: unknown): Json | undefined =>
  isObject(raw) && 'value' in raw && Object.keys(raw).every((k) => QUALIFIED_KEYS.has(k)) ? raw : undefined;

function complexResult(id: string, raw: unknown, want: Format | undefined): ComplexResult {
  const qualified = qualifiedOf(raw);
  const value = qualified ? qualified.value : raw;
  const mimeType =
    (qualified && typeof qualified.mediaType === 'string' ? qualified.mediaType : undefined) ??
    (isObject(qualified?.format) && typeof qualified.format.mediaType === 'string'
      ? qualified.format.mediaType
      : undefined) ??
    want?.mimeType ??
    'application/json';
  const encoding = qualified && typeof qualified.encoding === 'string' ? qualified.encoding : undefined;
  const format: Format = { ...(want ?? {}), mimeType };
  if (typeof value === 'string') {
    if (encoding?.toLowerCase() === 'base64' || (!isTextMimeType(mimeType) && encoding !== 'utf-8')) {
      try {
        return { kind: 'complex', format, bytes: decodeBase64(value, id) };
      } catch {
        throw malformed(id, 'declared base64 but the data is not base64');
      }
    }
    return { kind: 'complex', format, text: value };
  }
  if (value === undefined || value === null) throw malformed(id, 'no value');
  return { kind: 'complex', format, text: JSON.stringify(value) };
}

/** One output of a results document → what a processor returns; references left to the caller. */
export function outputFromJson(
  process: RemoteProcess,
  id: string,
  raw: unknown,
  request: OutputRequest | undefined,
): MappedOutput {
  const output = process.description.outputs.find((o) => o.id === id);
  if (!output) throw malformed(id, 'not an output of the process');
  if (isObject(raw) && typeof raw.href === 'string' && !('value' in raw)) {
    return {
      kind: 'remote-reference',
      href: raw.href,
      ...(typeof raw.type === 'string' ? { type: raw.type } : {}),
    };
  }
  switch (output.kind) {
    case 'literal':
      return literalResult(id, raw, output.dataType);
    case 'bbox': {
      const box = isObject(raw) && isObject(raw.value) ? raw.value : raw;
      if (!isObject(box) || !Array.isArray(box.bbox)) throw malformed(id, 'a bounding box without "bbox"');
      const corners = box.bbox;
      if (
        (corners.length !== 4 && corners.length !== 6) ||
        !corners.every((c): c is number => typeof c === 'number' && Number.isFinite(c))
      )
        throw malformed(id, '"bbox" must hold 4 or 6 numbers');
      if (box.crs !== undefined && typeof box.crs !== 'string') throw malformed(id, '"crs" must be a string');
      return fromRemoteBbox(corners, box.crs);
    }
    case 'complex':
      return complexResult(id, raw, request?.format ?? output.formats[0]);
  }
}

/** A results document → outputs; only the requested ones are read. */
export function outputsFromDocument(
  process: RemoteProcess,
  document: unknown,
  requested: Record<string, OutputRequest>,
): Record<string, MappedOutput> {
  if (!isObject(document))
    throw new OwsError('NoApplicableCode', 'The remote server sent no results document');
  const outputs: Record<string, MappedOutput> = {};
  for (const [id, request] of Object.entries(requested)) {
    if (!Object.hasOwn(document, id)) continue;
    outputs[id] = outputFromJson(process, id, document[id], request);
  }
  return outputs;
}
