import { randomUUID } from 'node:crypto';
import { SaxesParser } from 'saxes';
import { OwsError } from '../core/errors.ts';
import { escapeAttribute, escapeText } from './xml-writer.ts';

export const NS = {
  wps: 'http://www.opengis.net/wps/1.0.0',
  ows: 'http://www.opengis.net/ows/1.1',
  xlink: 'http://www.w3.org/1999/xlink',
  xml: 'http://www.w3.org/XML/1998/namespace',
  xsi: 'http://www.w3.org/2001/XMLSchema-instance',
} as const;

export type XmlNode = XmlElement | { text: string } | { cdata: string };

/**
 * The namespaces in scope at an element: its own declarations and a pointer to its parent's scope.
 * Elements that declare nothing share their parent's scope, so a document costs memory linear in
 * its declarations, never declarations × elements. Lookups through the chain are memoised per scope.
 */
export class NamespaceScope {
  readonly #own: ReadonlyMap<string, string>;
  readonly #parent: NamespaceScope | undefined;
  #resolved: Map<string, string | undefined> | undefined;

  constructor(own: ReadonlyMap<string, string>, parent?: NamespaceScope) {
    this.#own = own;
    this.#parent = parent;
  }

  /** The namespace bound to a prefix ('' for the default namespace), or undefined. */
  get(prefix: string): string | undefined {
    const own = this.#own.get(prefix);
    if (own !== undefined || this.#parent === undefined) return own;
    this.#resolved ??= new Map();
    if (this.#resolved.has(prefix)) return this.#resolved.get(prefix);
    const inherited = this.#parent.get(prefix);
    this.#resolved.set(prefix, inherited);
    return inherited;
  }
}

const EMPTY_SCOPE = new NamespaceScope(new Map());

/** An element with its namespace resolved, attributes by local name and by `{ns}local`, and the namespaces in scope. */
export interface XmlElement {
  name: string;
  ns: string;
  local: string;
  attrs: Map<string, string>;
  /** Attributes as written (qualified names), for re-serialization. */
  rawAttrs: Array<[string, string]>;
  children: XmlNode[];
  scope: NamespaceScope;
}

/**
 * Bounds on an XML request, checked while it is parsed. Exceeding one is a client error (400) that
 * names the limit. Each is far above what a WPS request, or the GML/KML it carries, needs; together
 * with `server.max_request_size` they keep the parse of any body to milliseconds and bounded memory.
 */
export const XML_LIMITS = {
  /** Nesting depth of elements (the root is depth 1). */
  maxDepth: 100,
  /** Elements in the whole document. */
  maxElements: 200_000,
  /** Attributes on one element, namespace declarations included. */
  maxAttributesPerElement: 256,
  /** Namespace declarations (`xmlns`, `xmlns:p`) on one element. */
  maxNamespaceDeclarationsPerElement: 64,
  /** Namespace declarations in the whole document. */
  maxNamespaceDeclarations: 10_000,
  /**
   * Characters in one attribute value as written (WPS attributes are identifiers, media types, URLs).
   * saxes builds a value a piece at each white space character or reference (a 20 MB value of
   * `\n x` took 700 MB): a long value in a large document is refused before it is parsed.
   */
  maxAttributeValueLength: 1024 * 1024,
} as const;

export type XmlLimits = { [K in keyof typeof XML_LIMITS]: number };

const malformed = (message: string) =>
  new OwsError('NoApplicableCode', message, undefined, 'malformed-request');

const overLimit = (limit: keyof XmlLimits, value: number, what: string) =>
  malformed(`The XML request exceeds the limit of ${value} ${what} (${limit})`);

const refusedDtd = () => malformed('XML with a DTD or entity declarations is not accepted');
/** What a malformed prolog is refused as when it holds something like a DTD (`<!doctype`, `<!ENTITY`). */
const DTD_LIKE = /<!(?:DOCTYPE|ENTITY)/i;

const isNamespaceDeclaration = (name: string) => name === 'xmlns' || name.startsWith('xmlns:');

/** CDATA sections, comments and processing instructions this long are kept out of the parser (see liftCdata). */
const LIFTED_CDATA = 64 * 1024;

/** Long CDATA sections taken out of a document: a marker and the index stand in for each. */
interface LiftedCdata {
  marker: string;
  sections: string[];
}

/** What a parse produces besides the tree: the document element, and the sections lifted before. */
interface ParseState {
  root?: XmlElement;
  lifted?: LiftedCdata;
  /** The text parsed is large: what the tree keeps is copied out of it (see detach). */
  large?: boolean;
}

/**
 * A copy of a string that shares no memory with the text it was cut from. The parser's names,
 * values and text are slices of the text it parsed, and a slice keeps the whole text alive: a
 * mimeType kept with a job would keep a 25 MB request in memory for as long as the job runs.
 * Strings shorter than 13 characters are copied by V8 anyway; long text (the data itself) is kept
 * as it is.
 */
const detach = (s: string): string =>
  s.length < 13 || s.length >= LIFTED_CDATA ? s : (JSON.parse(JSON.stringify(s)) as string);
const same = (s: string): string => s;
/** A flat copy of a string (one piece, however it was built). */
const flat = (s: string): string => JSON.parse(JSON.stringify(s)) as string;

/** The markup whose content is not parsed (comments, processing instructions, CDATA sections), and start tags. */
const UNPARSED = /<(?:!--|\?|!\[CDATA\[|(?=[^!?/]))/g;
/** In a start tag: the quote that opens an attribute value, or its end. */
const TAG_STOP = /["'>]/g;

/** Where the start tag at text[start] ends; throws when an attribute value in it is over `limit`. */
function skipStartTag(text: string, start: number, limit: number): number {
  for (let at = start + 1; ;) {
    TAG_STOP.lastIndex = at;
    const stop = TAG_STOP.exec(text);
    if (!stop) return text.length; // unclosed: the parser says so
    if (stop[0] === '>') return stop.index + 1;
    const close = text.indexOf(stop[0], stop.index + 1);
    if (close < 0) return text.length;
    if (close - stop.index - 1 > limit)
      throw overLimit('maxAttributeValueLength', limit, 'characters in an attribute value');
    at = close + 1;
  }
}
const CDATA_OPEN = '<![CDATA[';

/** Characters that may be outside XML 1.0's: controls, U+FFFE, U+FFFF, surrogates (allowed in a pair). */
const MAYBE_NOT_XML_CHAR = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD]/;
const NOT_XML_CHAR = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/** Line feeds in text[start, end). */
function lineFeeds(text: string, start: number, end: number): number {
  let lines = 0;
  for (let nl = text.indexOf('\n', start); nl >= 0 && nl < end; nl = text.indexOf('\n', nl + 1)) lines++;
  return lines;
}

/** An error at text[at] (its line counted as the parser counts it). */
const malformedAt = (text: string, at: number, message: string) =>
  malformed(`Malformed XML (line ${lineFeeds(text, 0, at + 1) + 1}): ${message}`);

/** Throws as the parser would when text[start, end) holds a character XML does not allow. */
function checkChars(text: string, start: number, end: number): void {
  const content = text.slice(start, end);
  if (!MAYBE_NOT_XML_CHAR.test(content)) return;
  const at = NOT_XML_CHAR.exec(content)?.index;
  if (at !== undefined) throw malformedAt(text, start + at, 'disallowed character.');
}

/** The end of a processing instruction's target (its first white space) in text[start, end), or -1. */
function targetEnd(text: string, start: number, end: number): number {
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) return i;
  }
  return -1;
}

/**
 * Replaces each CDATA section of LIFTED_CDATA characters or more by a short one holding a marker no
 * client can guess (and as many line feeds, so that lines still count right), and keeps its content
 * aside (a slice of the text, no copy). saxes builds the content of a CDATA section by concatenation,
 * a piece at each `]`: a 30 MB GeoJSON (a `]` per coordinate pair) became a rope of millions of
 * pieces, 5 times the body. Comments and processing instructions are skipped over, so only real
 * sections are lifted (in a well-formed document `<` appears nowhere else unparsed); the parser
 * still checks all the rest, and the cdata handler checks what it puts back (readCdata).
 *
 * Long comments, and the data of long processing instructions (other than the XML declaration),
 * are dropped the same way once checked as saxes checks them: it builds them a piece at each `-` or
 * `?`, and a 20 MB comment of `-x` took 700 MB and more than a second. Nothing reads them. Start
 * tags are skipped over, their attribute values measured (maxAttributeValueLength).
 */
function liftCdata(text: string, limits: XmlLimits): { text: string; lifted?: LiftedCdata } {
  if (text.length < LIFTED_CDATA && text.length <= limits.maxAttributeValueLength) return { text };
  let lifted: LiftedCdata | undefined;
  const parts: string[] = [];
  let copied = 0;
  /** Where the character data (and end tags) since the last markup skipped over begins. */
  let textFrom = 0;
  // Long character data with references is cut by an empty comment every LIFTED_CDATA characters
  // or so (before a reference): saxes builds a text a piece at each reference (20 MB of `&amp;`
  // took 250 MB), a piece of text at a time has a bounded number of them. The tree builder joins
  // the texts again.
  const cutText = (end: number) => {
    for (let at = textFrom + LIFTED_CDATA; at < end; at += LIFTED_CDATA) {
      const reference = text.indexOf('&', at);
      if (reference < 0 || reference >= end) break;
      parts.push(text.slice(copied, reference), '<!---->');
      copied = at = reference;
    }
  };
  UNPARSED.lastIndex = 0;
  for (let m = UNPARSED.exec(text); m; textFrom = UNPARSED.lastIndex, m = UNPARSED.exec(text)) {
    cutText(m.index);
    const open = m[0];
    if (open === '<') {
      UNPARSED.lastIndex = skipStartTag(text, m.index, limits.maxAttributeValueLength);
      continue;
    }
    const close = open === '<!--' ? '-->' : open === '<?' ? '?>' : ']]>';
    const start = m.index + open.length;
    const end = text.indexOf(close, start);
    if (end < 0) {
      textFrom = text.length; // unclosed: the parser says so
      break;
    }
    UNPARSED.lastIndex = end + close.length;
    if (end - start < LIFTED_CDATA) continue;
    if (open === CDATA_OPEN) {
      lifted ??= { marker: `gw-lifted-cdata-${randomUUID()}-`, sections: [] };
      parts.push(
        text.slice(copied, start),
        `${lifted.marker}${lifted.sections.length}${'\n'.repeat(lineFeeds(text, start, end))}`,
      );
      lifted.sections.push(text.slice(start, end));
      copied = end;
    } else if (open === '<!--') {
      // As saxes: no `--` in a comment, none ending in `-` (`--->`), only XML characters.
      // (`--->` holds a `--` before its end too.) The error is where saxes finds it, after the `--`.
      const dashes = text.indexOf('--', start);
      if (dashes < end) throw malformedAt(text, dashes + 2, 'malformed comment.');
      checkChars(text, start, end);
      parts.push(text.slice(copied, start), '\n'.repeat(lineFeeds(text, start, end)));
      copied = end;
    } else {
      // The target is kept for the parser to check (the XML declaration is kept whole); the data,
      // anything but `?>`, only has to be XML characters.
      const data = targetEnd(text, start, end);
      if (data < 0 || text.slice(start, data).toLowerCase() === 'xml') continue;
      checkChars(text, data, end);
      parts.push(text.slice(copied, data), ' ', '\n'.repeat(lineFeeds(text, data, end)));
      copied = end;
    }
  }
  cutText(text.length);
  if (copied === 0) return { text };
  parts.push(text.slice(copied));
  return { text: parts.join(''), lifted };
}

/** A lifted section's content as the parser would have read it: only XML characters, line ends as `\n`. */
function readCdata(section: string, line: number): string {
  if (MAYBE_NOT_XML_CHAR.test(section) && NOT_XML_CHAR.test(section))
    throw malformed(`Malformed XML (line ${line}): disallowed character in a CDATA section`);
  return section.includes('\r') ? section.replace(/\r\n?/g, '\n') : section;
}

const PARSER_OPTIONS = {
  xmlns: true,
  /** A prefix no element in scope declares: a client error that names it. */
  resolvePrefix: (prefix: string): undefined => {
    // Asked for the default namespace too when no element declared one: having none is no error.
    if (prefix === '') return undefined;
    throw malformed(`The XML prefix '${prefix}' is not declared`);
  },
} as const;

/**
 * saxes, a strict (well-formedness checking, namespace-aware) streaming parser, building XmlElements
 * and checking the limits as elements and attributes are read, so a hostile body stops early.
 *
 * A subclass that sets its handlers in its constructor, on purpose: handlers set on a parser after it
 * is constructed (`new SaxesParser().on(...)` seven times), or any field of a subclass, turn the object
 * into a slow dictionary-mode object in V8, and every read of its state costs 4-5 times as much.
 */
class TreeParser extends SaxesParser<typeof PARSER_OPTIONS> {
  /** The document element goes into `state` (a field of its own would also make this a dictionary). */
  constructor(limits: XmlLimits, state: ParseState) {
    super(PARSER_OPTIONS);
    const stack: XmlElement[] = [];
    let elements = 0;
    let attributes = 0;
    let declarations = 0;
    this.on('error', (error) => {
      throw malformed(`Malformed XML (line ${this.line}): ${error.message.replace(/^\d+:\d+: /, '')}`);
    });
    // A DTD (the only place entities are declared) is refused as soon as it has been read, before
    // anything it declares could be used: no entity is expanded, nothing external is fetched.
    this.on('doctype', () => {
      throw refusedDtd();
    });
    this.on('opentagstart', () => {
      if (++elements > limits.maxElements)
        throw overLimit('maxElements', limits.maxElements, 'elements in a document');
      if (stack.length >= limits.maxDepth)
        throw overLimit('maxDepth', limits.maxDepth, 'levels of nested elements');
      attributes = 0;
    });
    this.on('attribute', (a) => {
      if (a.value.length > limits.maxAttributeValueLength) {
        throw overLimit(
          'maxAttributeValueLength',
          limits.maxAttributeValueLength,
          'characters in an attribute value',
        );
      }
      if (++attributes > limits.maxAttributesPerElement) {
        throw overLimit(
          'maxAttributesPerElement',
          limits.maxAttributesPerElement,
          'attributes on an element',
        );
      }
    });
    const own = state.large ? detach : same;
    this.on('opentag', (tag) => {
      const parent = stack.at(-1);
      const attrs = new Map<string, string>();
      const rawAttrs: Array<[string, string]> = [];
      let declared: Map<string, string> | undefined;
      for (const name in tag.attributes) {
        const a = tag.attributes[name]!;
        // A long value is copied flat: saxes built it of a piece per white space or reference.
        const value = a.value.length >= LIFTED_CDATA ? flat(a.value) : own(a.value);
        rawAttrs.push([own(name), value]);
        if (isNamespaceDeclaration(name))
          (declared ??= new Map()).set(a.prefix === 'xmlns' ? own(a.local) : '', value);
        else attrs.set(a.uri ? `{${a.uri}}${a.local}` : own(name), value);
      }
      if (declared) {
        if (declared.size > limits.maxNamespaceDeclarationsPerElement) {
          throw overLimit(
            'maxNamespaceDeclarationsPerElement',
            limits.maxNamespaceDeclarationsPerElement,
            'namespace declarations on an element',
          );
        }
        declarations += declared.size;
        if (declarations > limits.maxNamespaceDeclarations) {
          throw overLimit(
            'maxNamespaceDeclarations',
            limits.maxNamespaceDeclarations,
            'namespace declarations in a document',
          );
        }
      }
      const parentScope = parent?.scope ?? EMPTY_SCOPE;
      const element: XmlElement = {
        name: own(tag.name),
        ns: own(tag.uri),
        local: own(tag.local),
        attrs,
        rawAttrs,
        children: [],
        scope: declared ? new NamespaceScope(declared, parentScope) : parentScope,
      };
      if (parent) parent.children.push(element);
      else state.root = element;
      stack.push(element);
    });
    this.on('closetag', () => {
      stack.pop();
    });
    // Text outside the root element is whitespace (anything else is malformed): not kept.
    // Texts only a comment or a processing instruction apart are one text (see liftCdata's cuts).
    this.on('text', (text) => {
      const children = stack.at(-1)?.children;
      const last = children?.at(-1);
      if (last && 'text' in last) last.text += own(text);
      else children?.push({ text: own(text) });
    });
    const { lifted } = state;
    this.on('cdata', (cdata) => {
      // A lifted section is put back, checked as the parser would have checked it.
      const content =
        lifted && cdata.startsWith(lifted.marker)
          ? readCdata(lifted.sections[parseInt(cdata.slice(lifted.marker.length), 10)]!, this.line)
          : own(cdata);
      stack.at(-1)!.children.push({ cdata: content });
    });
  }
}

/**
 * Parses an XML request body in one pass. DTDs are refused outright (no entity expansion, no
 * external entities: XXE and billion-laughs bodies never reach the parser); malformed XML, and XML
 * beyond XML_LIMITS, is a client error. The cost is linear in the body.
 */
export function parseXml(text: string, limits: XmlLimits = XML_LIMITS): XmlElement {
  if (hasDoctype(text)) throw refusedDtd();
  // Line ends normalized before parsing, as XML 1.0 §2.11 says: saxes builds text, attribute
  // values and comments a piece at each carriage return (20 MB of `\r` took 800 MB and 1.4 s).
  const { text: reduced, lifted } = liftCdata(normalizeLineEnds(text), limits);
  const result: ParseState = { lifted, large: reduced.length >= LIFTED_CDATA };
  try {
    new TreeParser(limits, result).write(reduced).close();
  } catch (error) {
    // A DTD the parser could not even read (`<!doctype`, a broken internal subset) is still a DTD.
    if (result.root === undefined && DTD_LIKE.test(text)) throw refusedDtd();
    throw error;
  }
  if (!result.root) throw malformed('The XML document must have exactly one root element');
  // V8 keeps the last string a regular expression ran on (the legacy RegExp.input): the scan of
  // liftCdata would keep the whole request alive until some other expression runs, which in a
  // server waiting for one long job can be never. An expression that matches replaces it.
  if (text.length >= LIFTED_CDATA) FORGET_SUBJECT.test('');
  return result.root;
}

const FORGET_SUBJECT = /^/;
const CRLF = /\r\n?/g;

/**
 * `\r\n` and `\r` as `\n` (XML 1.0 §2.11, done before parsing). A replace costs a piece per line
 * end, fine for lines of text; text dense with carriage returns is rewritten code unit by code unit
 * (a byte a character when they all fit in one).
 */
function normalizeLineEnds(text: string): string {
  let crs = 0;
  const dense = text.length >> 6;
  for (let cr = text.indexOf('\r'); cr >= 0 && crs <= dense; cr = text.indexOf('\r', cr + 1)) crs++;
  if (crs === 0) return text;
  if (crs <= dense) return text.replace(CRLF, '\n');
  return (
    rewriteLineEnds(text, new Uint8Array(text.length)) ?? rewriteLineEnds(text, new Uint16Array(text.length))!
  );
}

/** The text with its line ends normalized, written into `units`; undefined if a code unit does not fit. */
function rewriteLineEnds(text: string, units: Uint8Array | Uint16Array): string | undefined {
  const max = units instanceof Uint8Array ? 0xff : 0xffff;
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > max) return undefined;
    if (c !== 0x0d) units[length++] = c;
    else {
      units[length++] = 0x0a;
      if (text.charCodeAt(i + 1) === 0x0a) i++;
    }
  }
  const bytes = Buffer.from(units.buffer, 0, length * units.BYTES_PER_ELEMENT);
  return units instanceof Uint8Array ? bytes.toString('latin1') : bytes.toString('utf16le');
}

/**
 * Does the prolog (white space, comments, processing instructions) end in a document type
 * declaration, in any case? Refused before parsing: saxes reads the whole DTD before it reports it
 * (a 20 MB internal subset took 500 MB and 3 s). A DTD elsewhere is an error saxes reports at once.
 */
function hasDoctype(text: string): boolean {
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
    else if (text.startsWith('<?', i)) {
      const end = text.indexOf('?>', i + 2);
      if (end < 0) return false;
      i = end + 2;
    } else if (text.startsWith('<!--', i)) {
      const end = text.indexOf('-->', i + 4);
      if (end < 0) return false;
      i = end + 3;
    } else return text.slice(i, i + 9).toUpperCase() === '<!DOCTYPE';
  }
}

export const isElement = (node: XmlNode): node is XmlElement => 'local' in node;

export const children = (el: XmlElement, ns: string, local: string): XmlElement[] =>
  el.children.filter((c): c is XmlElement => isElement(c) && c.ns === ns && c.local === local);

export const child = (el: XmlElement, ns: string, local: string): XmlElement | undefined =>
  children(el, ns, local)[0];

/** An element's child by local name in any of the given namespaces (some clients write `ows:` where `wps:` belongs). */
export const childAny = (el: XmlElement, local: string): XmlElement | undefined =>
  el.children.find((c): c is XmlElement => isElement(c) && c.local === local);

/** Text and CDATA content, concatenated. */
export const textOf = (el: XmlElement): string =>
  el.children.map((c) => ('text' in c ? c.text : 'cdata' in c ? c.cdata : '')).join('');

export const attr = (el: XmlElement, name: string, ns?: string): string | undefined =>
  el.attrs.get(ns ? `{${ns}}${name}` : name);

const prefixOf = (qname: string): string => (qname.includes(':') ? qname.slice(0, qname.indexOf(':')) : '');

function usedPrefixes(el: XmlElement, found = new Set<string>()): Set<string> {
  found.add(prefixOf(el.name));
  for (const [k] of el.rawAttrs) {
    const p = prefixOf(k);
    if (p && p !== 'xmlns' && p !== 'xml') found.add(p);
  }
  for (const c of el.children) if (isElement(c)) usedPrefixes(c, found);
  return found;
}

function serialize(node: XmlNode, inherited: NamespaceScope | undefined): string {
  if ('text' in node) return escapeText(node.text);
  if ('cdata' in node) return `<![CDATA[${node.cdata.replace(/]]>/g, ']]]]><![CDATA[>')}]]>`;
  const attrs = [...node.rawAttrs];
  if (inherited) {
    // A fragment taken out of its document keeps the declarations of the prefixes it uses.
    for (const prefix of usedPrefixes(node)) {
      const key = prefix ? `xmlns:${prefix}` : 'xmlns';
      const uri = node.scope.get(prefix);
      if (uri !== undefined && !attrs.some(([k]) => k === key)) attrs.push([key, uri]);
    }
  }
  const open = `<${node.name}${attrs.map(([k, v]) => ` ${k}="${escapeAttribute(v)}"`).join('')}`;
  if (node.children.length === 0) return `${open}/>`;
  return `${open}>${node.children.map((c) => serialize(c, undefined)).join('')}</${node.name}>`;
}

/** The mixed content of an element as XML text, each top-level child carrying the namespaces in scope. */
export function innerXml(el: XmlElement): string {
  return el.children.map((c) => serialize(c, isElement(c) ? c.scope : undefined)).join('');
}

/**
 * Is `xml` well-formed element content (elements, text, CDATA, comments; no declaration or DTD) whose
 * prefixes are declared within it or in `inScope`? Then it can be written into a document verbatim.
 */
export function isWellFormedContent(xml: string, inScope: Record<string, string>): boolean {
  try {
    // Read as requests are (see liftCdata): long comments and CDATA sections are checked outside
    // saxes, which builds them a piece at each `-` or `]` (a 20 MB comment took 700 MB); content
    // with an attribute value over the limit is not embedded.
    const { text } = liftCdata(normalizeLineEnds(xml), XML_LIMITS);
    new SaxesParser({ xmlns: true, fragment: true, additionalNamespaces: inScope }).write(text).close();
    return true;
  } catch {
    return false;
  }
}
