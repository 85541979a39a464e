import { invalidParameter } from './errors.ts';

/** Decodes base64 data of an input (line breaks and other whitespace allowed); InvalidParameterValue otherwise. */
export function decodeBase64(value: string, id: string): Uint8Array {
  const text = value.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 === 1) {
    throw invalidParameter(id, `Input '${id}': declared base64 but the data is not base64`);
  }
  return new Uint8Array(Buffer.from(text, 'base64'));
}
