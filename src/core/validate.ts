import { validateBoundingBox } from './bbox.ts';
import { validateComplex, type ComplexValidationOptions } from './complex.ts';
import { invalidParameter, missingParameter } from './errors.ts';
import { describeAllowed, isAllowed, parseLiteral } from './literal.ts';
import type { InputDescription, LiteralInputDescription, ProcessDescription } from './model.ts';
import type {
  InputValue,
  JobInputValue,
  JobInputs,
  LiteralValue,
  PendingReference,
  RawInputValue,
  RawInputs,
  RawLiteral,
  RawReference,
} from './values.ts';

export type InputValidationOptions = ComplexValidationOptions;

function validateLiteral(raw: RawLiteral, input: LiteralInputDescription): LiteralValue {
  const locator = input.id;
  if (input.validation === 'NONE') {
    let value: LiteralValue['value'];
    try {
      value = parseLiteral(raw.value, input.dataType, locator);
    } catch {
      value = raw.value;
    }
    return raw.uom ? { kind: 'literal', value, uom: raw.uom } : { kind: 'literal', value };
  }
  const value = parseLiteral(raw.value, input.dataType, locator);
  if (!isAllowed(value, input.dataType, input.allowedValues)) {
    throw invalidParameter(
      locator,
      `Input '${locator}': value '${String(raw.value)}' is not allowed (allowed: ${describeAllowed(input.allowedValues!)})`,
    );
  }
  const literal: LiteralValue = { kind: 'literal', value };
  if (input.uoms) {
    const uom = raw.uom ?? input.uoms.default;
    if (!input.uoms.supported.includes(uom) && uom !== input.uoms.default) {
      throw invalidParameter(
        locator,
        `Input '${locator}': unit of measure '${uom}' is not supported (supported: ${input.uoms.supported.join(', ')})`,
      );
    }
    literal.uom = uom;
  } else if (raw.uom) {
    literal.uom = raw.uom;
  }
  return literal;
}

function pending(raw: RawReference, input: InputDescription): PendingReference {
  if (input.kind === 'bbox') {
    throw invalidParameter(input.id, `Input '${input.id}': a bounding box cannot be given by reference`);
  }
  const { type: _type, ...rest } = raw;
  return { kind: 'reference', ...rest };
}

/**
 * Validates one value of an input. A reference is checked only for being allowed there: its data
 * is validated by `validateInputValue` once the job system has fetched it.
 */
function validateValue(
  raw: RawInputValue,
  input: InputDescription,
  options: InputValidationOptions,
): JobInputValue {
  if (raw.type === 'reference') return pending(raw, input);
  return validateInputValue(raw, input, options);
}

/** Validates one inline (or fetched) value of an input in the input's validation mode. */
export function validateInputValue(
  raw: Exclude<RawInputValue, RawReference>,
  input: InputDescription,
  options: InputValidationOptions,
): InputValue {
  const locator = input.id;
  switch (input.kind) {
    case 'literal':
      if (raw.type !== 'literal') {
        throw invalidParameter(locator, `Input '${locator}' expects literal data, got ${describeRaw(raw)}`);
      }
      return validateLiteral(raw, input);
    case 'complex':
      if (raw.type === 'bbox') {
        throw invalidParameter(locator, `Input '${locator}' expects complex data, got a bounding box`);
      }
      // A bare value for a complex input (OGC API plain string, WPS LiteralData) is data in the default format.
      return validateComplex(
        raw.type === 'literal' ? { type: 'complex', data: String(raw.value) } : raw,
        input,
        input.validation,
        locator,
        options,
      );
    case 'bbox':
      if (raw.type !== 'bbox') {
        throw invalidParameter(locator, `Input '${locator}' expects a bounding box, got ${describeRaw(raw)}`);
      }
      return validateBoundingBox(raw, input, input.validation, locator);
  }
}

const describeRaw = (raw: RawInputValue): string =>
  raw.type === 'literal'
    ? 'literal data'
    : raw.type === 'complex'
      ? 'complex data'
      : raw.type === 'reference'
        ? 'a reference'
        : 'a bounding box';

/**
 * Validates the inputs of an execute request against a process description, each input in its
 * own validation mode: unknown ids, occurrences (MissingParameterValue below minOccurs), values.
 * Literal inputs with a default value that are not given get their default. References are left
 * pending (nothing is fetched here): the request is whole and valid before anything leaves the server.
 */
export function validateInputs(
  description: ProcessDescription,
  raw: RawInputs,
  options: InputValidationOptions = {},
): JobInputs {
  for (const id of Object.keys(raw)) {
    if (!description.inputs.some((i) => i.id === id)) {
      throw invalidParameter(id, `Process '${description.id}' has no input '${id}'`);
    }
  }
  const inputs: JobInputs = {};
  for (const input of description.inputs) {
    let values = raw[input.id] ?? [];
    if (values.length === 0 && input.kind === 'literal' && input.defaultValue !== undefined) {
      values = [{ type: 'literal', value: input.defaultValue }];
    }
    if (values.length < input.minOccurs) {
      throw missingParameter(
        input.id,
        input.minOccurs === 1
          ? `Input '${input.id}' is required`
          : `Input '${input.id}' needs at least ${input.minOccurs} values, got ${values.length}`,
      );
    }
    if (input.maxOccurs !== 'unbounded' && values.length > input.maxOccurs) {
      throw invalidParameter(
        input.id,
        `Input '${input.id}' takes at most ${input.maxOccurs} value${input.maxOccurs === 1 ? '' : 's'}, got ${values.length}`,
      );
    }
    if (values.length > 0) inputs[input.id] = values.map((v) => validateValue(v, input, options));
  }
  return inputs;
}
