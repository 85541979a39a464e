/**
 * JSON.parse with bounds on nesting depth and member count, checked by one linear scan of the text
 * before anything is built: a body of a few megabytes nested 100,000 deep, or holding a million tiny
 * members, is refused in milliseconds instead of becoming a tree that later recursive code walks.
 */

export interface JsonLimits {
  /** Nesting of objects and arrays (a scalar is depth 0, `[]` and `{}` depth 1). */
  maxDepth: number;
  /** Array elements plus object members, over the whole document. */
  maxMembers: number;
  /** Length of the text in UTF-16 code units (the caller usually bounds bytes already). */
  maxLength: number;
}

export const JSON_LIMITS: JsonLimits = {
  maxDepth: 64,
  maxMembers: 500_000,
  maxLength: 64 * 1024 * 1024,
};

export type JsonLimitName = keyof JsonLimits | 'syntax';

/** Thrown for text that is not JSON (`limit: 'syntax'`) or that exceeds one of the limits. */
export class BoundedJsonError extends Error {
  readonly limit: JsonLimitName;
  constructor(limit: JsonLimitName, message: string) {
    super(message);
    this.name = 'BoundedJsonError';
    this.limit = limit;
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/** Checks depth and member count outside strings; syntax is left to JSON.parse. */
function scan(text: string, limits: JsonLimits): void {
  let depth = 0;
  let members = 0;
  let inString = false;
  let opened = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
      continue;
    }
    if (isSpace(c)) continue;
    if (opened && c !== CLOSE_BRACE && c !== CLOSE_BRACKET) members++;
    opened = false;
    if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > limits.maxDepth)
        throw new BoundedJsonError('maxDepth', `JSON nested deeper than ${limits.maxDepth} levels`);
      opened = true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
    else if (c === COMMA) members++;
    if (members > limits.maxMembers)
      throw new BoundedJsonError('maxMembers', `JSON with more than ${limits.maxMembers} members`);
  }
}

/**
 * Parses JSON text (a leading byte-order mark is ignored) within the limits. Keys such as
 * `__proto__` stay own data properties as JSON.parse makes them: copy parsed objects with
 * Object.entries into prototype-less objects or Maps, never by assignment into `{}`.
 */
export function parseBoundedJson(text: string, limits: Partial<JsonLimits> = {}): unknown {
  const bounds = { ...JSON_LIMITS, ...limits };
  if (text.length > bounds.maxLength)
    throw new BoundedJsonError('maxLength', `JSON text longer than ${bounds.maxLength} characters`);
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  scan(body, bounds);
  try {
    return JSON.parse(body) as unknown;
  } catch (error) {
    throw new BoundedJsonError('syntax', `Not valid JSON: ${(error as Error).message}`);
  }
}
