import { invalidParameter } from '../core/errors.ts';

/**
 * KVP parameters: names case-insensitive, empty values ignored (QGIS sends `identifier=`), the
 * first occurrence wins. Values are kept raw (undecoded) too, because the Execute grammar splits
 * DataInputs on `;` and `@` before decoding, so that encoded separators stay data (see singleEncoded).
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

  /** A list parameter (DataInputs, ResponseDocument, RawDataOutput) in the form parseKvpList splits. */
  list(name: string): string | undefined {
    const raw = this.raw(name);
    return raw === undefined ? undefined : singleEncoded(raw);
  }
}

/**
 * A KVP list parameter reaches us in one of two encodings:
 *
 * - single: separators `=` `;` `@` literal in the query string, each identifier, value and attribute
 *   URL-encoded once (`DataInputs=name=J%C3%B6rg;message=a%3Bb`). Most clients send this, and this
 *   server always read it: the raw text is split on the separators, then each piece is decoded, so an
 *   encoded separator (`%3B`) is data.
 * - double, as WPS 1.0.0 §10.2.2.1 specifies (PyWPS and ZOO-Project clients): each value and attribute
 *   URL-encoded, then the whole parameter URL-encoded again as any query value
 *   (`DataInputs=name%3DJ%25C3%25B6rg%3Bmessage%3Da%253Bb`). Decoding it once gives the single form.
 *
 * Rule: the raw parameter is double-encoded when it holds none of `=` `;` `@` literally but at least
 * one of them percent-encoded (`%3D` `%3B` `%40`, either case); it is then decoded once and read as
 * the single form. Why this is unambiguous:
 * - a single-encoded DataInputs always has a literal `=` (each entry is `id=value`; a reference is
 *   `id=@href=…`), so it is never taken for double;
 * - a single-encoded ResponseDocument / RawDataOutput without attributes (`echo`, `a;b`) has no
 *   encoded separator; with only encoded ones (`a%3Bb`, `out%40asReference%3Dtrue`) it would name an
 *   output whose identifier contains `;` `@` or `=`, which identifiers never do, so the double
 *   reading (outputs `a` and `b`; `out` by reference) is the only meaningful one;
 * - a text with some separators literal and some encoded is single: the encoded ones are data
 *   (`stringInput=a%3Bb` is the value `a;b`);
 * - `+` is a space in both layers (form encoding): a literal `+` is `%2B` single, `%252B` double, so
 *   base64 data and `+` in values survive both forms when encoded as the form requires;
 * - a client that encodes the values twice but leaves the separators literal
 *   (`name=J%25C3%25B6rg`) cannot be told from a single-encoded value that contains `%C3`: it is read
 *   as single, and the value is `J%C3%B6rg`.
 */
export function singleEncoded(raw: string): string {
  const double = !/[=;@]/.test(raw) && /%(3d|3b|40)/i.test(raw);
  return double ? decode(raw) : raw;
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
      // Attribute names are the client's: no prototype to reach or replace.
      const attrs = Object.create(null) as Record<string, string>;
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
