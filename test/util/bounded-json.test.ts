import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BoundedJsonError, JSON_LIMITS, parseBoundedJson } from '../../src/util/bounded-json.ts';

function refusal(text: string, limits = {}): BoundedJsonError {
  try {
    parseBoundedJson(text, limits);
  } catch (error) {
    expect(error).toBeInstanceOf(BoundedJsonError);
    return error as BoundedJsonError;
  }
  throw new Error('expected a BoundedJsonError');
}

describe('parseBoundedJson', () => {
  it('parses JSON as JSON.parse does, a byte-order mark ignored', () => {
    const v = { a: [1, 'x', null, true, { b: '{[}]"\\' }], c: {} };
    expect(parseBoundedJson(JSON.stringify(v))).toEqual(v);
    expect(parseBoundedJson('\uFEFF [ ] ')).toEqual([]);
    expect(parseBoundedJson('"just a string"')).toBe('just a string');
  });

  it('bounds depth: at the limit accepted, one more refused, brackets inside strings not counted', () => {
    expect(parseBoundedJson('[[[1]]]', { maxDepth: 3 })).toEqual([[[1]]]);
    expect(refusal('[[[[1]]]]', { maxDepth: 3 }).limit).toBe('maxDepth');
    expect(refusal('{"a":{"b":{"c":{}}}}', { maxDepth: 3 }).message).toMatch(/deeper than 3/);
    expect(parseBoundedJson('["[[[[", "\\"[[[["]', { maxDepth: 1 })).toEqual(['[[[[', '"[[[[']);
  });

  it('a 3 MB body nested a million deep is refused in milliseconds', () => {
    const deep = '['.repeat(1_500_000) + ']'.repeat(1_500_000);
    const t0 = performance.now();
    expect(refusal(deep).limit).toBe('maxDepth');
    expect(performance.now() - t0).toBeLessThan(100);
  });

  it('bounds members (array elements and object members, over the document) and length', () => {
    expect(parseBoundedJson('[1,2,{"a":3,"b":[]}]', { maxMembers: 5 })).toHaveLength(3);
    expect(refusal('[1,2,{"a":3,"b":[4]}]', { maxMembers: 5 }).limit).toBe('maxMembers');
    expect(parseBoundedJson('[[],{},""]', { maxMembers: 3 })).toEqual([[], {}, '']);
    expect(refusal(`[${'0,'.repeat(JSON_LIMITS.maxMembers)}0]`).limit).toBe('maxMembers');
    expect(refusal('"abcdef"', { maxLength: 5 }).limit).toBe('maxLength');
  });

  it('syntax errors are BoundedJsonError too', () => {
    for (const bad of ['', '{', '[1,]', '{"a" 1}', 'nul', '"\\u12"', '}{'])
      expect(refusal(bad).limit).toBe('syntax');
  });

  it('__proto__ keys stay own data, nothing polluted', () => {
    const v = parseBoundedJson('{"__proto__":{"polluted":1},"constructor":{"prototype":{"x":1}}}') as Record<
      string,
      unknown
    >;
    expect(Object.keys(v)).toEqual(['__proto__', 'constructor']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
  });

  it('property: any JSON value within the limits parses to itself', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
        const text = JSON.stringify(value);
        expect(parseBoundedJson(text)).toEqual(JSON.parse(text));
      }),
      { numRuns: 300 },
    );
  });

  it('property: any text parses or throws BoundedJsonError, and depth is never exceeded', () => {
    const jsonish = fc.string({
      unit: fc.constantFrom('[', ']', '{', '}', '"', '\\', ',', ':', '1', ' ', 'a'),
    });
    fc.assert(
      fc.property(fc.oneof(jsonish, fc.string({ unit: 'binary' })), (text) => {
        let value: unknown;
        try {
          value = parseBoundedJson(text, { maxDepth: 3 });
        } catch (error) {
          expect(error).toBeInstanceOf(BoundedJsonError);
          return;
        }
        const depth = (v: unknown): number =>
          typeof v === 'object' && v !== null ? 1 + Math.max(0, ...Object.values(v).map(depth)) : 0;
        expect(depth(value)).toBeLessThanOrEqual(3);
      }),
      { numRuns: 1000 },
    );
  });
});
