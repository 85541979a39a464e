import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JsonLimitError, JsonSyntaxError, scanJson, type DeferOptions } from '../../src/util/json-scan.ts';
import { JsonText, parseBoundedJson } from '../../src/util/bounded-json.ts';

/** Whether JSON.parse accepts the text. */
const parses = (text: string): boolean => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};
const scans = (text: string): boolean => {
  try {
    scanJson(text);
    return true;
  } catch (error) {
    expect(error).toBeInstanceOf(JsonSyntaxError);
    return false;
  }
};

/** Text near JSON: the characters of its grammar, often broken in the places scanners get wrong. */
const jsonish = fc.string({
  unit: fc.constantFrom(
    ...['[', ']', '{', '}', '"', '\\', ',', ':', ' ', '\n', '\t', '\r', '\u000b', '\u00a0', '\ufeff'],
    ...['0', '1', '9', '-', '+', '.', 'e', 'E', 'u', 'a', 'F', 'n', 'b', '/', '\u0000', '\u001f'],
    ...['true', 'false', 'null', 'tru', 'nul', '\\u', '\\u00', '"a"', '\ud800', '\u00e9'],
  ),
  maxLength: 40,
});

/** Valid JSON with a mutation: a character inserted, deleted or replaced. */
const mutated = fc
  .tuple(
    fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v, null, fc.sample(fc.constantFrom(0, 1), 1)[0])),
    fc.nat(),
    fc.constantFrom('insert', 'delete', 'replace'),
    fc.constantFrom(...'[]{}",:\\ 0-.eE+tfnu\u0000x'.split('')),
  )
  .map(([text, at, how, c]) => {
    const k = text.length === 0 ? 0 : at % text.length;
    if (how === 'insert') return text.slice(0, k) + c + text.slice(k);
    if (how === 'delete') return text.slice(0, k) + text.slice(k + 1);
    return text.slice(0, k) + c + text.slice(k + 1);
  });

describe('scanJson', () => {
  it('accepts exactly what JSON.parse accepts (fuzzed: JSON values, near-JSON, mutated JSON, any text)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify(v)),
          fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v, null, '\t')),
          jsonish,
          mutated,
          fc.string({ unit: 'binary', maxLength: 30 }),
        ),
        (text) => {
          expect(scans(text)).toBe(parses(text));
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('numbers, escapes, literals and whitespace: the edges', () => {
    const cases = [
      ...['0', '-0', '1.5e+10', '1E-2', '-0.0e0', '01', '1.', '.5', '+1', '-', '1e', '1e+', '0x1', '1_0'],
      ...[
        '"\\u00e9"',
        '"\\u00G0"',
        '"\\x41"',
        '"\\/"',
        '"\\\'"',
        '"\t"',
        '"\u007f"',
        '"\ud800"',
        '"\\ud800"',
      ],
      ...['true', 'True', 'nulll', ' [1 , 2 ] ', '\ufeff1', '\u00a01', '[1,]', '{"a":1,}', '{,}', '[,1]'],
      ...['{"a" : 1 , "b":[ ]}', '{"a"}', '{1:2}', '[]]', '[][]', '', ' ', '"', '"\\'],
    ];
    for (const text of cases) expect(scans(text), JSON.stringify(text)).toBe(parses(text));
  });

  it('counts members and depth as bounded-json defines them, and stops at the bounds', () => {
    expect(scanJson('[1,2,{"a":3,"b":[]}]')).toMatchObject({ members: 5, depth: 3 });
    expect(scanJson('[[],{},""]')).toMatchObject({ members: 3, depth: 2 });
    expect(() => scanJson('[[[', { maxDepth: 2 })).toThrow(JsonLimitError);
    expect(() => scanJson('[1,2,3,', { maxMembers: 2 })).toThrow(JsonLimitError);
  });

  it('a nesting a million deep costs a byte a level, not an object (no limit given)', () => {
    const deep = '['.repeat(1_000_000) + ']'.repeat(1_000_000);
    expect(scanJson(deep).depth).toBe(1_000_000);
    expect(() => scanJson(deep.slice(0, -1))).toThrow(JsonSyntaxError);
  });

  it('reports where the text stops being JSON', () => {
    try {
      scanJson('{"a": [1, 2,, 3]}');
      expect.unreachable();
    } catch (error) {
      expect((error as JsonSyntaxError).offset).toBe(12);
      expect((error as Error).message).toMatch(/Unexpected character ',' .* at position 12/);
    }
  });
});

describe('deferred values', () => {
  const defer: DeferOptions = {
    minLength: 20,
    maxDepth: 3,
    at: (path) => path[0] === 'inputs' && (path.length === 2 || path[2] === 'value'),
    unlessKeys: ['value', 'href'],
  };
  const big = { type: 'FeatureCollection', features: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] };
  const bigText = JSON.stringify(big);

  it('large values at the named paths stay text, the rest is built', () => {
    const text = `{"inputs":{"a":${bigText},"b":{"value":${bigText},"mediaType":"x"},"c":{"value":"${'s'.repeat(40)}"},"d":{"href":"http://h/${'p'.repeat(30)}"},"e":[1]}}`;
    const doc = parseBoundedJson(text, { maxMembers: 20 }, defer) as {
      inputs: Record<string, Record<string, unknown>>;
    };
    expect(doc.inputs.a).toBeInstanceOf(JsonText);
    expect((doc.inputs.a as unknown as JsonText).text).toBe(bigText);
    expect(doc.inputs.b!.value).toBeInstanceOf(JsonText);
    expect(doc.inputs.b!.mediaType).toBe('x');
    // Strings, objects holding `value` or `href`, and small values are built as JSON.parse builds them.
    expect(doc.inputs.c).toEqual({ value: 's'.repeat(40) });
    expect(doc.inputs.d).toEqual({ href: `http://h/${'p'.repeat(30)}` });
    expect(doc.inputs.e).toEqual([1]);
  });

  it('deferred values count against depth, not members; the rest counts as before', () => {
    const text = `{"inputs":{"a":${bigText}}}`;
    expect(parseBoundedJson(text, { maxMembers: 2 }, defer)).toBeDefined();
    expect(() => parseBoundedJson(text, { maxMembers: 2 })).toThrow(/more than 2 members/);
    expect(() =>
      parseBoundedJson(`{"inputs":{"a":{"b":[[[[1]]]],"c":"${'x'.repeat(20)}"}}}`, { maxDepth: 5 }, defer),
    ).toThrow(/deeper than 5/);
  });

  it('a duplicate key keeps JSON.parse semantics (the last wins), and __proto__ stays an own key', () => {
    const text = `{"inputs":{"a":${bigText},"a":5,"__proto__":${bigText}}}`;
    const doc = parseBoundedJson(text, {}, defer) as { inputs: Record<string, unknown> };
    expect(doc.inputs.a).toBe(5);
    expect(Object.getPrototypeOf(doc.inputs)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(doc.inputs, '__proto__')?.value).toBeInstanceOf(JsonText);
  });

  it('property: with deferral, the document equals JSON.parse once the texts are parsed back', () => {
    const revive = (v: unknown): unknown =>
      v instanceof JsonText
        ? JSON.parse(v.text)
        : Array.isArray(v)
          ? v.map(revive)
          : typeof v === 'object' && v !== null
            ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, revive(x)]))
            : v;
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom('a', 'b', 'value', 'href', '__proto__'), fc.jsonValue({ maxDepth: 4 })),
        (inputs) => {
          const text = JSON.stringify({ inputs });
          const deferred = parseBoundedJson(text, {}, { ...defer, minLength: 8 });
          expect(revive(deferred)).toEqual(JSON.parse(text));
        },
      ),
      { numRuns: 500 },
    );
  });
});
