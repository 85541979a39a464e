/**
 * JSON.parse with bounds on nesting depth and member count, checked by one linear scan of the text
 * (json-scan.ts, which also checks the syntax) before anything is built: a body of a few megabytes
 * nested 100,000 deep, or holding a million tiny members, is refused in milliseconds instead of
 * becoming a tree that later recursive code walks. Large values at places the caller names can be
 * kept as text (JsonText) instead of being built: they count against depth but not members.
 */
import { randomUUID } from 'node:crypto';
import { JsonLimitError, JsonSyntaxError, scanJson, type DeferOptions, type JsonPath } from './json-scan.ts';

export type { DeferOptions, JsonPath } from './json-scan.ts';

/** A JSON value kept as its source text (valid JSON, checked by the scan), not built. */
export class JsonText {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

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

/** The container at `path` (all but its last step) and the last step, if the path leads anywhere. */
function parentOf(
  root: unknown,
  path: JsonPath,
): [Record<string | number, unknown>, string | number] | undefined {
  let node = root;
  for (let k = 0; k < path.length - 1; k++) {
    if (typeof node !== 'object' || node === null) return undefined;
    const step = path[k]!;
    if (!Object.hasOwn(node, step)) return undefined;
    node = (node as Record<string | number, unknown>)[step];
  }
  if (typeof node !== 'object' || node === null) return undefined;
  return [node as Record<string | number, unknown>, path[path.length - 1]!];
}

/**
 * Parses JSON text (a leading byte-order mark is ignored) within the limits. Keys such as
 * `__proto__` stay own data properties as JSON.parse makes them: copy parsed objects with
 * Object.entries into prototype-less objects or Maps, never by assignment into `{}`. With `defer`,
 * the values it marks become JsonText (a slice of `text`, no copy) where the parsed document has them.
 */
export function parseBoundedJson(
  text: string,
  limits: Partial<JsonLimits> = {},
  defer?: DeferOptions,
): unknown {
  const bounds = { ...JSON_LIMITS, ...limits };
  if (text.length > bounds.maxLength)
    throw new BoundedJsonError('maxLength', `JSON text longer than ${bounds.maxLength} characters`);
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let spans;
  try {
    ({ spans } = scanJson(body, bounds, defer));
  } catch (error) {
    if (error instanceof JsonLimitError) throw new BoundedJsonError(error.limit, error.message);
    if (error instanceof JsonSyntaxError)
      throw new BoundedJsonError('syntax', `Not valid JSON: ${error.message}`);
    throw error;
  }
  if (spans.length === 0) return JSON.parse(body) as unknown;
  if (spans[0]!.path.length === 0) return new JsonText(body);
  // The document without its deferred values: each replaced by a placeholder string no client can
  // guess, put back as JsonText only where the parsed document still holds it (a later duplicate
  // key may have replaced it, as JSON.parse lets the last one win).
  const nonce = randomUUID();
  const placeholder = (k: number) => `\u0000${nonce}:${k}`;
  const json = (k: number) => `\\u0000${nonce}:${k}`;
  const parts: string[] = [];
  let at = 0;
  spans.forEach((span, k) => {
    parts.push(body.slice(at, span.start), `"${json(k)}"`);
    at = span.end;
  });
  parts.push(body.slice(at));
  const root = JSON.parse(parts.join('')) as unknown;
  spans.forEach((span, k) => {
    const parent = parentOf(root, span.path);
    if (parent && parent[0][parent[1]] === placeholder(k)) {
      // An own data property, as JSON.parse makes them (an assignment to `__proto__` would not be one).
      Object.defineProperty(parent[0], parent[1], {
        value: new JsonText(body.slice(span.start, span.end)),
        writable: true,
        enumerable: true,
        configurable: true,
      });
    }
  });
  return root;
}
