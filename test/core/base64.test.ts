import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBase64 } from '../../src/core/base64.ts';

/** The former definition: whitespace removed, then one regular expression (a copy of the text each). */
function reference(value: string): Uint8Array {
  const text = value.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 === 1) throw new Error('not base64');
  return new Uint8Array(Buffer.from(text, 'base64'));
}
const outcome = (f: () => Uint8Array) => {
  try {
    return [...f()];
  } catch {
    return 'refused';
  }
};

describe('decodeBase64', () => {
  it('accepts, refuses and decodes as the regular-expression definition did (fuzzed)', () => {
    const unit = fc.constantFrom(...'Ab0+/= \n\t\u000b\u00a0\u2028-_é'.split(''));
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit, maxLength: 30 }), fc.base64String()), (text) => {
        expect(outcome(() => decodeBase64(text, 'x'))).toEqual(outcome(() => reference(text)));
      }),
      { numRuns: 5000 },
    );
  });

  it('gives a plain Uint8Array that owns its memory, small or large', () => {
    for (const size of [3, 3000, 300_000]) {
      const bytes = decodeBase64(Buffer.alloc(size, 7).toString('base64'), 'x');
      expect(Object.getPrototypeOf(bytes)).toBe(Uint8Array.prototype);
      expect(bytes.buffer.byteLength).toBe(size);
    }
  });
});
