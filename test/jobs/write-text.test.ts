import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeText } from '../../src/jobs/files.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'write-text-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('writeText', () => {
  it('writes the UTF-8 of a text of any size, pairs split across pieces and lone surrogates included', async () => {
    const piece = 256 * 1024;
    const texts = [
      '',
      'ascii',
      'é'.repeat(piece + 3),
      // A surrogate pair straddling the first piece boundary, then one right at the end.
      'a'.repeat(piece - 1) + '😀' + 'b'.repeat(piece) + '😀',
      // Lone surrogates are written as U+FFFD, as Buffer.from writes them.
      'x'.repeat(piece - 1) + '\ud800' + 'y' + '\udc00',
      '€𝄞'.repeat(400_000),
    ];
    for (const [i, text] of texts.entries()) {
      const file = path.join(dir, `t${i}`);
      await writeText(file, text);
      expect(readFileSync(file).equals(Buffer.from(text, 'utf8')), `text ${i}`).toBe(true);
    }
  });
});
