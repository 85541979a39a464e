import { invalidParameter } from './errors.ts';

const isBase64Char = (c: number) =>
  (c >= 0x41 && c <= 0x5a) ||
  (c >= 0x61 && c <= 0x7a) ||
  (c >= 0x30 && c <= 0x39) ||
  c === 0x2b ||
  c === 0x2f;
const WHITESPACE = /\s/;
/** What `\s` matches (the old definition of allowed whitespace), ASCII without a regular expression. */
const isSpace = (c: number) =>
  c < 0x80 ? c === 0x20 || (c >= 0x09 && c <= 0x0d) : WHITESPACE.test(String.fromCharCode(c));

/**
 * Decodes base64 data of an input (line breaks and other whitespace allowed); InvalidParameterValue
 * otherwise. Checked in one scan and decoded straight from the text (Node's decoder skips the
 * whitespace), so a 30 MB value costs its decoded bytes and no copy of the text.
 */
export function decodeBase64(value: string, id: string): Uint8Array {
  let chars = 0;
  let padding = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (isSpace(c)) continue;
    if (c === 0x3d /* = */ ? ++padding > 2 : padding > 0 || !isBase64Char(c)) {
      throw invalidParameter(id, `Input '${id}': declared base64 but the data is not base64`);
    }
    if (c !== 0x3d) chars++;
  }
  if ((chars + padding) % 4 === 1) {
    throw invalidParameter(id, `Input '${id}': declared base64 but the data is not base64`);
  }
  const decoded = Buffer.from(value, 'base64');
  // A plain Uint8Array over the decoded memory; small results lie in Node's shared pool: copied.
  return decoded.buffer.byteLength === decoded.byteLength
    ? new Uint8Array(decoded.buffer, decoded.byteOffset, decoded.byteLength)
    : new Uint8Array(decoded);
}
