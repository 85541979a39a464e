import { invalidParameter } from '../core/errors.ts';
import type { InputDescription } from '../core/model.ts';
import type { RawInputs, RawInputValue } from '../core/values.ts';
import { decodeBase64 } from '../core/base64.ts';
import type { ReferenceInput, WpsInput, WpsInputValue } from './requests.ts';

/** KVP bounding boxes: `minx,miny,maxx,maxy[,crs[,dimensions]]` (or 6 numbers for 3D). */
function kvpBoundingBox(value: string, id: string): RawInputValue {
  const parts = value.split(',').map((p) => p.trim());
  const numbers = parts.findIndex((p) => p === '' || Number.isNaN(Number(p)));
  const count = numbers < 0 ? parts.length : numbers;
  if (count !== 4 && count !== 6) {
    throw invalidParameter(id, `Input '${id}': a bounding box is minx,miny,maxx,maxy[,crs[,dimensions]]`);
  }
  const half = count / 2;
  const [crs, dimensions] = parts.slice(count);
  return {
    type: 'bbox',
    lowerCorner: parts.slice(0, half),
    upperCorner: parts.slice(half, count),
    ...(crs ? { crs } : {}),
    ...(dimensions ? { dimensions } : {}),
  };
}

function fromKvp(
  value: Extract<WpsInputValue, { type: 'kvp' }>,
  input: InputDescription | undefined,
  id: string,
): RawInputValue {
  const a = value.attrs;
  if (input?.kind === 'bbox') return kvpBoundingBox(value.value, id);
  if (input?.kind === 'complex') {
    return {
      type: 'complex',
      data: a.encoding?.toLowerCase() === 'base64' ? decodeBase64(value.value, id) : value.value,
      ...(a.mimetype ? { mimeType: a.mimetype } : {}),
      ...(a.encoding ? { encoding: a.encoding } : {}),
      ...(a.schema ? { schema: a.schema } : {}),
    };
  }
  return { type: 'literal', value: value.value, ...(a.uom ? { uom: a.uom } : {}) };
}

function fromReference(ref: ReferenceInput): RawInputValue {
  const { type: _type, headers, ...rest } = ref;
  return { type: 'reference', ...rest, ...(headers.length > 0 ? { headers } : {}) };
}

/**
 * Turns the inputs of a WPS Execute into core raw inputs: KVP values typed by the description,
 * references passed on as references (the job system fetches them once the request is valid).
 */
export function toRawInputs(inputs: WpsInput[], descriptions: InputDescription[]): RawInputs {
  // Keyed by client-chosen ids: no prototype, so `__proto__` or `constructor` is just an unknown id.
  const raw: RawInputs = Object.create(null) as RawInputs;
  for (const { id, value } of inputs) {
    const input = descriptions.find((d) => d.id === id);
    let converted: RawInputValue;
    switch (value.type) {
      case 'reference':
        converted = fromReference(value);
        break;
      case 'kvp':
        converted = fromKvp(value, input, id);
        break;
      case 'literal':
        converted = { type: 'literal', value: value.value, ...(value.uom ? { uom: value.uom } : {}) };
        break;
      case 'bbox':
        converted = value;
        break;
      case 'complex':
        converted = value;
        break;
    }
    (raw[id] ??= []).push(converted);
  }
  return raw;
}
