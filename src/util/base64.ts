/** Decodes standard base64 (whitespace allowed, padding optional); undefined when the text is not base64. */
export function decodeBase64(value: string): Uint8Array | undefined {
  const text = value.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 === 1) return undefined;
  return new Uint8Array(Buffer.from(text, 'base64'));
}
