/**
 * A validating JSON scanner: one linear pass over the text that accepts exactly what JSON.parse
 * accepts (RFC 8259: no byte-order mark, no trailing commas, no comments) and builds nothing, so
 * that checking a 30 MB GeoJSON costs no memory beyond the text itself. It counts members and
 * nesting depth (for the bounds of bounded-json.ts) and can mark large values as spans of the text
 * that a caller keeps as text instead of building them (see `DeferOptions`).
 *
 * Libraries were considered: the SAX-style tokenizers on npm (clarinet, @streamparser/json,
 * stream-json) make a JavaScript value (a string, a number) for every token, millions for a large
 * GeoJSON, which is what this has to avoid; a scanner that only checks is small.
 */

/** Why the text is not JSON, with the offset of the first character that cannot be read. */
export class JsonSyntaxError extends Error {
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(`${message} at position ${offset}`);
    this.name = 'JsonSyntaxError';
    this.offset = offset;
  }
}

/** The text is JSON but exceeds one of the bounds given to scanJson. */
export class JsonLimitError extends Error {
  readonly limit: 'maxDepth' | 'maxMembers';
  constructor(limit: JsonLimitError['limit'], message: string) {
    super(message);
    this.name = 'JsonLimitError';
    this.limit = limit;
  }
}

export interface ScanBounds {
  /** Nesting of objects and arrays (`[]` is depth 1), checked as the scan goes. */
  maxDepth?: number;
  /** Array elements plus object members outside deferred spans. */
  maxMembers?: number;
}

/** A key or an array index, from the root down. */
export type JsonPath = ReadonlyArray<string | number>;

/** A value the scanner marked to be kept as text: `text.slice(start, end)`. */
export interface JsonSpan {
  path: JsonPath;
  start: number;
  end: number;
}

export interface DeferOptions {
  /** Spans shorter than this (in UTF-16 code units) are left to be built. */
  minLength: number;
  /** Paths are tracked (and keys decoded) this deep; deeper values are never deferred. */
  maxDepth: number;
  /** Whether an object or array value at `path` may become a span. */
  at(path: JsonPath, kind: 'object' | 'array'): boolean;
  /** An object with one of these keys at its top is never deferred (its members are still candidates). */
  unlessKeys?: readonly string[];
}

export interface JsonScan {
  /** Array elements plus object members, outside deferred spans. */
  members: number;
  /** The deepest nesting of objects and arrays, spans included. */
  depth: number;
  /** Deferred values, in text order, never nested. */
  spans: JsonSpan[];
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const SLASH = 0x2f;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

const isDigit = (c: number) => c >= ZERO && c <= NINE;
const isHex = (c: number) => isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);

/** An open object or array within the tracked depth (deferral only). */
interface Frame {
  object: boolean;
  /** The key of the member being read (objects). */
  key: string | undefined;
  index: number;
  /** Set when this container is a deferral candidate. */
  candidate?: { start: number; members: number; spans: number; blocked: boolean };
}

const OBJECT = 1;
const ARRAY = 2;

/**
 * Scans `text` as one JSON value; throws JsonSyntaxError where it is not JSON and JsonLimitError
 * where it exceeds `bounds` (depth as soon as it is exceeded; members outside deferral candidates
 * too, inside one when it turns out not to be deferred). Without `defer`, `spans` is empty and
 * `members` counts every member.
 */
export function scanJson(text: string, bounds: ScanBounds = {}, defer?: DeferOptions): JsonScan {
  const n = text.length;
  const maxDepth = bounds.maxDepth ?? Infinity;
  const maxMembers = bounds.maxMembers ?? Infinity;
  /** Open deferral candidates: members inside them are checked when they close. */
  let candidates = 0;
  const checkMembers = () => {
    if (candidates === 0 && members > maxMembers)
      throw new JsonLimitError('maxMembers', `JSON with more than ${maxMembers} members`);
  };
  /** The kind (OBJECT, ARRAY) of each open container: one byte a level, however deep. */
  let kinds = new Uint8Array(64);
  let open_ = 0;
  /** Frames of the open containers at levels 1…tracked (only with `defer`). */
  const tracked = defer ? defer.maxDepth + 1 : 0;
  const frames: Frame[] = [];
  const spans: JsonSpan[] = [];
  let i = 0;
  let members = 0;
  let depth = 0;
  const unless = new Set(defer?.unlessKeys ?? []);

  const fail = (what: string): never => {
    if (i >= n) throw new JsonSyntaxError(`Unexpected end of JSON input (${what})`, i);
    const c = text.charCodeAt(i);
    const shown =
      c >= 0x20 && c < 0x7f ? `'${String.fromCharCode(c)}'` : `U+${c.toString(16).padStart(4, '0')}`;
    throw new JsonSyntaxError(`Unexpected character ${shown} (${what})`, i);
  };
  const skipSpace = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
  };
  /** Reads a string starting at the quote; returns whether it held an escape. */
  const readString = (): boolean => {
    i++;
    let escaped = false;
    for (;;) {
      if (i >= n) fail('unterminated string');
      const c = text.charCodeAt(i);
      if (c === QUOTE) {
        i++;
        return escaped;
      }
      if (c < 0x20) fail('control character in a string');
      if (c === BACKSLASH) {
        escaped = true;
        const e = text.charCodeAt(i + 1);
        if (e === 0x75 /* u */) {
          for (let k = 2; k < 6; k++) {
            if (!isHex(text.charCodeAt(i + k))) {
              i += k;
              fail('bad \\u escape');
            }
          }
          i += 6;
        } else if (
          e === QUOTE ||
          e === BACKSLASH ||
          e === SLASH ||
          e === 0x62 ||
          e === 0x66 ||
          e === 0x6e ||
          e === 0x72 ||
          e === 0x74
        ) {
          i += 2;
        } else {
          i++;
          fail('bad escape');
        }
      } else i++;
    }
  };
  const readDigits = () => {
    if (!isDigit(text.charCodeAt(i))) fail('digit expected');
    while (isDigit(text.charCodeAt(i))) i++;
  };
  const readNumber = () => {
    if (text.charCodeAt(i) === MINUS) i++;
    if (text.charCodeAt(i) === ZERO) i++;
    else readDigits();
    if (text.charCodeAt(i) === DOT) {
      i++;
      readDigits();
    }
    const e = text.charCodeAt(i);
    if (e === 0x65 || e === 0x45) {
      i++;
      const s = text.charCodeAt(i);
      if (s === PLUS || s === MINUS) i++;
      readDigits();
    }
  };
  const readWord = (word: string) => {
    for (let k = 0; k < word.length; k++) {
      if (text.charCodeAt(i) !== word.charCodeAt(k)) fail(`'${word}' expected`);
      i++;
    }
  };
  const path = (): JsonPath => frames.map((f) => (f.object ? (f.key ?? '') : f.index));
  /** Reads `"key" :` (at a key position) of the object open at level `open_`. */
  const readKey = () => {
    if (text.charCodeAt(i) !== QUOTE) fail('a key string expected');
    const start = i;
    const escaped = readString();
    const frame = open_ <= tracked ? frames[open_ - 1] : undefined;
    if (frame) {
      frame.key = escaped ? (JSON.parse(text.slice(start, i)) as string) : text.slice(start + 1, i - 1);
      if (frame.candidate && unless.has(frame.key)) frame.candidate.blocked = true;
    }
    skipSpace();
    if (text.charCodeAt(i) !== COLON) fail("':' expected");
    i++;
  };
  const open = (kind: number) => {
    if (open_ === kinds.length) {
      const grown = new Uint8Array(kinds.length * 2);
      grown.set(kinds);
      kinds = grown;
    }
    kinds[open_] = kind;
    if (open_ < tracked) {
      const object = kind === OBJECT;
      const frame: Frame = { object, key: undefined, index: 0 };
      if (open_ <= defer!.maxDepth && defer!.at(path(), object ? 'object' : 'array')) {
        frame.candidate = { start: i, members, spans: spans.length, blocked: false };
        candidates++;
      }
      frames.push(frame);
    }
    open_++;
    if (open_ > depth) {
      depth = open_;
      if (depth > maxDepth)
        throw new JsonLimitError('maxDepth', `JSON nested deeper than ${maxDepth} levels`);
    }
    i++;
  };
  const close = () => {
    const frame = open_ <= tracked ? frames.pop() : undefined;
    open_--;
    i++;
    const c = frame?.candidate;
    if (!c) return;
    candidates--;
    if (!c.blocked && spans.length === c.spans && i - c.start >= defer!.minLength) {
      spans.push({ path: path(), start: c.start, end: i });
      members = c.members;
    }
    checkMembers();
  };

  // The value grammar, iteratively: `value` reads one value (opening containers), then the loop
  // below closes containers and moves to the next member until a value is due again.
  for (;;) {
    skipSpace();
    const c = text.charCodeAt(i);
    if (c === OPEN_BRACE) {
      open(OBJECT);
      skipSpace();
      if (text.charCodeAt(i) === CLOSE_BRACE) close();
      else {
        members++;
        checkMembers();
        readKey();
        continue;
      }
    } else if (c === OPEN_BRACKET) {
      open(ARRAY);
      skipSpace();
      if (text.charCodeAt(i) === CLOSE_BRACKET) close();
      else {
        members++;
        checkMembers();
        continue;
      }
    } else if (c === QUOTE) readString();
    else if (c === MINUS || isDigit(c)) readNumber();
    else if (c === 0x74) readWord('true');
    else if (c === 0x66) readWord('false');
    else if (c === 0x6e) readWord('null');
    else fail('a value expected');

    // After a value: close what ends here, then find the next member.
    for (;;) {
      skipSpace();
      if (open_ === 0) {
        if (i < n) fail('end of input expected');
        return { members, depth, spans };
      }
      const object = kinds[open_ - 1] === OBJECT;
      const d = text.charCodeAt(i);
      if (d === COMMA) {
        i++;
        members++;
        checkMembers();
        skipSpace();
        if (object) readKey();
        else if (open_ <= tracked) frames[open_ - 1]!.index++;
        break;
      }
      if (d === (object ? CLOSE_BRACE : CLOSE_BRACKET)) {
        close();
        continue;
      }
      fail(object ? "',' or '}' expected" : "',' or ']' expected");
    }
  }
}
