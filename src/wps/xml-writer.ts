/**
 * Writes an XML document straight to text, element by element: no document tree is built, walked or
 * serialized afterwards (each WPS response is written once and sent). Names are the caller's
 * constants; every text and attribute value is escaped here, once:
 *
 * - `&`, `<` and `>` always (so text such as `&amp;` or `&x;` from a client reads back unchanged, and
 *   `]]>` never appears in character data), `"` in attribute values;
 * - tab, line feed and carriage return in attribute values, and carriage return in text, as character
 *   references (else attribute-value normalization and line-end handling would change them on reading);
 * - characters XML 1.0 cannot carry even escaped (control characters, lone surrogates, U+FFFE/U+FFFF)
 *   become U+FFFD: process text never breaks a document.
 */

/** Characters XML 1.0 allows (§2.2), as a class to negate. */
const XML_CHAR = String.raw`\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}`;
/**
 * The same without the supplementary planes, for quick tests without the `u` flag (several times
 * faster on long text): it also matches every surrogate, which the exact pass then keeps when paired.
 */
const BMP_XML_CHAR = String.raw`\t\n\r\x20-\uD7FF\uE000-\uFFFD`;
const MAYBE_TEXT_SPECIAL = new RegExp(String.raw`[&<>\r]|[^${BMP_XML_CHAR}]`);
const TEXT_SPECIALS = new RegExp(String.raw`[&<>\r]|[^${XML_CHAR}]`, 'gu');
const MAYBE_ATTR_SPECIAL = new RegExp(String.raw`[&<>"\t\n\r]|[^${BMP_XML_CHAR}]`);
const ATTR_SPECIALS = new RegExp(String.raw`[&<>"\t\n\r]|[^${XML_CHAR}]`, 'gu');
const MAYBE_NOT_XML_CHAR = new RegExp(`[^${BMP_XML_CHAR}]`);
const NOT_XML_CHARS = new RegExp(`[^${XML_CHAR}]`, 'gu');

const REPLACEMENTS: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  '\t': '&#9;',
  '\n': '&#10;',
  '\r': '&#13;',
};
const replace = (c: string) => REPLACEMENTS[c] ?? '\uFFFD';

/** Character data, escaped. */
export const escapeText = (s: string): string =>
  MAYBE_TEXT_SPECIAL.test(s) ? s.replace(TEXT_SPECIALS, replace) : s;

/** An attribute value (between double quotes), escaped. */
export const escapeAttribute = (s: string): string =>
  MAYBE_ATTR_SPECIAL.test(s) ? s.replace(ATTR_SPECIALS, replace) : s;

/** Text with each character XML cannot carry as U+FFFD. */
const onlyXmlChars = (s: string): string =>
  MAYBE_NOT_XML_CHAR.test(s) ? s.replace(NOT_XML_CHARS, '\uFFFD') : s;

/** Attributes in document order; an undefined value leaves the attribute out. */
export type XmlAttributes = Record<string, string | undefined>;

const DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';

export class XmlWriter {
  #out = DECLARATION;
  readonly #open: string[] = [];
  /** The last start tag is still open (`<name a="v"`): `>` or `/>` follows. */
  #pending = false;

  #flush(): void {
    if (this.#pending) {
      this.#out += '>';
      this.#pending = false;
    }
  }

  /** Starts an element; its content follows until the matching end(). */
  start(name: string, attrs?: XmlAttributes): this {
    this.#flush();
    let tag = `<${name}`;
    if (attrs) {
      for (const key in attrs) {
        const value = attrs[key];
        if (value !== undefined) tag += ` ${key}="${escapeAttribute(value)}"`;
      }
    }
    this.#out += tag;
    this.#open.push(name);
    this.#pending = true;
    return this;
  }

  /** Ends the innermost open element (`<name/>` when it has no content). */
  end(): this {
    const name = this.#open.pop();
    if (name === undefined) throw new Error('XmlWriter: end() without an open element');
    if (this.#pending) {
      this.#out += '/>';
      this.#pending = false;
    } else this.#out += `</${name}>`;
    return this;
  }

  /** An element holding only text (empty when `text` is undefined). */
  element(name: string, attrs?: XmlAttributes, text?: string): this {
    this.start(name, attrs);
    if (text !== undefined && text !== '') this.text(text);
    return this.end();
  }

  text(text: string): this {
    this.#flush();
    this.#out += escapeText(text);
    return this;
  }

  /**
   * Text as a CDATA section (markup-heavy text stays readable), unless it holds `]]>` (which would end
   * the section) or a carriage return (which reading turns into a line feed): then as escaped text.
   */
  cdata(text: string): this {
    if (text.includes(']]>') || text.includes('\r')) return this.text(text);
    this.#flush();
    this.#out += `<![CDATA[${onlyXmlChars(text)}]]>`;
    return this;
  }

  /** Markup the caller has checked to be well-formed content in this place (see isWellFormedContent). */
  raw(xml: string): this {
    this.#flush();
    this.#out += onlyXmlChars(xml);
    return this;
  }

  /** The document (every element ended). */
  toString(): string {
    if (this.#open.length > 0) throw new Error(`XmlWriter: <${this.#open.at(-1)}> is not ended`);
    return this.#out;
  }
}
