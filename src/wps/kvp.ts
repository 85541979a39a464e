import { invalidParameter } from '../core/errors.ts';

/**
 * KVP parameters: names case-insensitive, empty values ignored (QGIS sends `identifier=`), the
 * first occurrence wins. Values are kept raw (undecoded) too, because the Execute grammar splits
 * DataInputs on `;` and `@` before decoding, so that encoded separators stay data.
 */
export class KvpParams {
  readonly #raw = new Map<string, string>();

  constructor(query: string) {
    for (const pair of query.split('&')) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      const key = decode(eq < 0 ? pair : pair.slice(0, eq))
        .trim()
        .toLowerCase();
      const value = eq < 0 ? '' : pair.slice(eq + 1);
      if (key === '' || decode(value).trim() === '' || this.#raw.has(key)) continue;
      this.#raw.set(key, value);
    }
  }

  get size(): number {
    return this.#raw.size;
  }

  get(name: string): string | undefined {
    const raw = this.#raw.get(name.toLowerCase());
    return raw === undefined ? undefined : decode(raw).trim();
  }

  raw(name: string): string | undefined {
    return this.#raw.get(name.toLowerCase());
  }
}

/** URL-decoding that treats `+` as a space and leaves malformed escapes as they are. */
export function decode(s: string): string {
  const plus = s.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(plus);
  } catch {
    return plus.replace(/%[0-9a-fA-F]{2}/g, (m) => {
      try {
        return decodeURIComponent(m);
      } catch {
        return m;
      }
    });
  }
}

export interface KvpEntry {
  id: string;
  value: string;
  attrs: Record<string, string>;
}

/**
 * The WPS 1.0.0 KVP list grammar `id=value@attr=v@attr2=v;id2=value2` (DataInputs, and with values
 * omitted ResponseDocument / RawDataOutput), split on the raw text, each piece then decoded.
 * `xlink:href` is read as `href`. Attribute names are matched case-insensitively.
 */
export function parseKvpList(raw: string, parameter: string): KvpEntry[] {
  return raw
    .split(';')
    .filter((part) => part.trim() !== '')
    .map((part) => {
      const [head = '', ...attrParts] = part.split('@');
      const eq = head.indexOf('=');
      const id = decode(eq < 0 ? head : head.slice(0, eq)).trim();
      if (id === '')
        throw invalidParameter(parameter, `${parameter}: an entry has no identifier ('${decode(part)}')`);
      const attrs: Record<string, string> = {};
      for (const a of attrParts) {
        const aeq = a.indexOf('=');
        if (aeq < 0)
          throw invalidParameter(parameter, `${parameter}: attribute '${decode(a)}' of '${id}' has no value`);
        const name = decode(a.slice(0, aeq)).trim().toLowerCase();
        attrs[name === 'xlink:href' ? 'href' : name] = decode(a.slice(aeq + 1));
      }
      return { id, value: eq < 0 ? '' : decode(head.slice(eq + 1)), attrs };
    });
}
