import { randomUUID } from 'node:crypto';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { OwsError } from '../core/errors.ts';

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
} as const;

export type XmlLimits = { [K in keyof typeof XML_LIMITS]: number };

const malformed = (message: string) =>
  new OwsError('NoApplicableCode', message, undefined, 'malformed-request');

const overLimit = (limit: keyof XmlLimits, value: number, what: string) =>
  malformed(`The XML request exceeds the limit of ${value} ${what} (${limit})`);

/**
 * Names that fast-xml-parser refuses (it throws) or renames, because its output is plain objects keyed
 * by name. They are legal XML names: they reach the parser with a `#` in front (a character no XML
 * name contains) and leave it without, so `<constructor>` in a GML fragment survives unchanged.
 */
const GUARDED_NAMES = new Set([
  '__proto__',
  'constructor',
  'prototype',
  'hasOwnProperty',
  'toString',
  'valueOf',
  '__defineGetter__',
  '__defineSetter__',
  '__lookupGetter__',
  '__lookupSetter__',
  'isPrototypeOf',
  'propertyIsEnumerable',
  'toLocaleString',
]);
const guard = (name: string) => (GUARDED_NAMES.has(name) ? `#${name}` : name);
const unguard = (name: string) => (name.startsWith('#') ? name.slice(1) : name);

const isNamespaceDeclaration = (name: string) => name === 'xmlns' || name.startsWith('xmlns:');

function parserFor(limits: XmlLimits): XMLParser {
  let elements = 0;
  let declarations = 0;
  return new XMLParser({
    preserveOrder: true,
    ignoreAttributes: false,
    attributeNamePrefix: '',
    cdataPropName: '#cdata',
    trimValues: false,
    parseTagValue: false,
    parseAttributeValue: false,
    ignoreDeclaration: true,
    ignorePiTags: true,
    // References are decoded by decodeReferences below, in one pass (fast-xml-parser leaves numeric
    // character references such as &#246; as they are unless it also decodes HTML's named entities).
    processEntities: false,
    htmlEntities: false,
    maxNestedTags: limits.maxDepth - 1,
    transformTagName: guard,
    transformAttributeName: guard,
    // Called once per element as it is read: the limits stop a hostile body early.
    updateTag: (_name, _path, attributes: Record<string, unknown> | undefined) => {
      if (++elements > limits.maxElements)
        throw overLimit('maxElements', limits.maxElements, 'elements in a document');
      if (!attributes) return true;
      const names = Object.keys(attributes);
      if (names.length > limits.maxAttributesPerElement)
        throw overLimit(
          'maxAttributesPerElement',
          limits.maxAttributesPerElement,
          'attributes on an element',
        );
      let own = 0;
      for (const n of names) if (isNamespaceDeclaration(unguard(n))) own++;
      if (own > limits.maxNamespaceDeclarationsPerElement) {
        throw overLimit(
          'maxNamespaceDeclarationsPerElement',
          limits.maxNamespaceDeclarationsPerElement,
          'namespace declarations on an element',
        );
      }
      declarations += own;
      if (declarations > limits.maxNamespaceDeclarations) {
        throw overLimit(
          'maxNamespaceDeclarations',
          limits.maxNamespaceDeclarations,
          'namespace declarations in a document',
        );
      }
      return true;
    },
  });
}

type Raw = Record<string, unknown> & { ':@'?: Record<string, string> };

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** Is `cp` a character XML 1.0 allows (§2.2)? */
const isXmlChar = (cp: number) =>
  cp === 0x9 ||
  cp === 0xa ||
  cp === 0xd ||
  (cp >= 0x20 && cp <= 0xd7ff) ||
  (cp >= 0xe000 && cp <= 0xfffd) ||
  (cp >= 0x10000 && cp <= 0x10ffff);

/**
 * Replaces the references of character data or an attribute value, in one pass (so `&amp;#38;` is
 * `&#38;`, not `&`): the five predefined entities and numeric character references. Any other `&`
 * (an undeclared entity, a bare ampersand) makes the document not well-formed.
 */
function decodeReferences(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(/&(?:#x([0-9a-fA-F]{1,6})|#([0-9]{1,7})|([a-zA-Z]+))?;?/g, (match, hex, dec, name) => {
    if (!match.endsWith(';')) throw malformed(`Malformed XML: '&' must start a reference such as &amp;`);
    if (name !== undefined) {
      const value = PREDEFINED[name as string];
      if (value === undefined)
        throw malformed(`Malformed XML: the entity &${name as string}; is not declared`);
      return value;
    }
    const cp = hex !== undefined ? parseInt(hex as string, 16) : Number(dec);
    if (!isXmlChar(cp)) throw malformed(`Malformed XML: ${match} is not a character XML allows`);
    return String.fromCodePoint(cp);
  });
}

/** Runs of character data this long are kept out of fast-xml-parser (see liftTextRuns). */
const LIFTED_RUN = 64 * 1024;

/** Long runs of character data lifted out of a document: `marker + index` stands in for each. */
interface LiftedRuns {
  marker: string;
  /** Each run as written: text (references still to decode) or the content of a CDATA section. */
  runs: Array<{ value: string; cdata: boolean }>;
}

/** The end of the markup (tag, comment, CDATA section, processing instruction) starting at `lt`; -1 if unclosed. */
function markupEnd(text: string, lt: number): number {
  const closing = (open: string, close: string) => {
    const at = text.indexOf(close, lt + open.length);
    return at < 0 ? -1 : at + close.length;
  };
  if (text.startsWith('<!--', lt)) return closing('<!--', '-->');
  if (text.startsWith('<![CDATA[', lt)) return closing('<![CDATA[', ']]>');
  if (text.startsWith('<?', lt)) return closing('<?', '?>');
  // A tag: its attribute values may hold '>'.
  let quote = 0;
  for (let i = lt + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (quote !== 0) {
      if (c === quote) quote = 0;
    } else if (c === 0x22 || c === 0x27) quote = c;
    else if (c === 0x3e) return i + 1;
  }
  return -1;
}

/**
 * Replaces each run of character data of LIFTED_RUN characters or more, and each CDATA section
 * holding that many, by a CDATA section holding a marker no client can guess, and keeps the run
 * aside (a slice of the text, no copy). fast-xml-parser builds character data one character at a
 * time, a string node each: a 30 MB base64 value took about 1 GB and 4 s. And what it returns
 * (names, attribute values) are slices of the text it parsed: of the whole request, were that text
 * parsed, so that a mimeType attribute kept alive with a job would keep a 25 MB request alive too.
 * It parses the rest, a copy of a few kilobytes. `build` puts the runs back. The text has been
 * checked well-formed before.
 */
function liftTextRuns(text: string): { text: string; lifted: LiftedRuns | undefined } {
  let lifted: LiftedRuns | undefined;
  const parts: string[] = [];
  let copied = 0;
  const lift = (from: number, to: number, value: string, cdata: boolean) => {
    lifted ??= { marker: `gw-lifted-text-${randomUUID()}-`, runs: [] };
    parts.push(text.slice(copied, from), `<![CDATA[${lifted.marker}${lifted.runs.length}]]>`);
    lifted.runs.push({ value, cdata });
    copied = to;
  };
  for (let i = 0; i < text.length;) {
    const lt = text.indexOf('<', i);
    const end = lt < 0 ? text.length : lt;
    if (end - i >= LIFTED_RUN) lift(i, end, text.slice(i, end), false);
    if (lt < 0) break;
    i = markupEnd(text, lt);
    if (i < 0) break;
    const content = i - lt - '<![CDATA[]]>'.length;
    if (content >= LIFTED_RUN && text.startsWith('<![CDATA[', lt))
      lift(lt, i, text.slice(lt + '<![CDATA['.length, i - ']]>'.length), true);
  }
  if (!lifted) return { text, lifted };
  parts.push(text.slice(copied));
  return { text: parts.join(''), lifted };
}

function build(
  raw: Raw,
  parentScope: NamespaceScope,
  depth: number,
  limits: XmlLimits,
  lifted?: LiftedRuns,
): XmlElement | undefined {
  const key = Object.keys(raw).find((k) => k !== ':@');
  if (!key || key.startsWith('?') || key === '#comment' || key === '#text' || key === '#cdata')
    return undefined;
  if (depth > limits.maxDepth) throw overLimit('maxDepth', limits.maxDepth, 'levels of nested elements');
  const name = unguard(key);
  const attributes = Object.entries(raw[':@'] ?? {}).map(([k, v]): [string, string] => [
    unguard(k),
    decodeReferences(String(v)),
  ]);
  let declared: Map<string, string> | undefined;
  for (const [k, v] of attributes) {
    if (k === 'xmlns') (declared ??= new Map()).set('', v);
    else if (k.startsWith('xmlns:')) (declared ??= new Map()).set(k.slice(6), v);
  }
  const scope = declared ? new NamespaceScope(declared, parentScope) : parentScope;
  const resolve = (qname: string, isAttribute: boolean): [string, string] => {
    const i = qname.indexOf(':');
    if (i < 0) return [isAttribute ? '' : (scope.get('') ?? ''), qname];
    const prefix = qname.slice(0, i);
    const ns = prefix === 'xml' ? NS.xml : scope.get(prefix);
    if (ns === undefined) throw malformed(`The XML prefix '${prefix}' is not declared`);
    return [ns, qname.slice(i + 1)];
  };
  const [ns, local] = resolve(name, false);
  const attrs = new Map<string, string>();
  const rawAttrs: Array<[string, string]> = [];
  for (const [k, v] of attributes) {
    rawAttrs.push([k, v]);
    if (isNamespaceDeclaration(k)) continue;
    const [ans, alocal] = resolve(k, true);
    attrs.set(ans ? `{${ans}}${alocal}` : alocal, v);
  }
  const element: XmlElement = { name, ns, local, attrs, rawAttrs, children: [], scope };
  for (const child of (raw[key] as Raw[]) ?? []) {
    if ('#text' in child) element.children.push({ text: decodeReferences(String(child['#text'])) });
    else if ('#cdata' in child) {
      const parts = child['#cdata'] as Array<{ '#text'?: unknown }>;
      const cdata = parts.map((p) => String(p['#text'] ?? '')).join('');
      const run =
        lifted && cdata.startsWith(lifted.marker)
          ? lifted.runs[Number(cdata.slice(lifted.marker.length))]
          : undefined;
      if (run === undefined) element.children.push({ cdata });
      else element.children.push(run.cdata ? { cdata: run.value } : { text: decodeReferences(run.value) });
    } else {
      const sub = build(child, scope, depth + 1, limits, lifted);
      if (sub) element.children.push(sub);
    }
  }
  return element;
}

/**
 * Parses an XML request body. DTDs are refused outright (no entity expansion, no external entities:
 * XXE and billion-laughs bodies never reach the parser); malformed XML, and XML beyond XML_LIMITS,
 * is a client error. The cost is linear in the body.
 */
export function parseXml(text: string, limits: XmlLimits = XML_LIMITS): XmlElement {
  if (/<!DOCTYPE|<!ENTITY/i.test(text))
    throw malformed('XML with a DTD or entity declarations is not accepted');
  let parsed: Raw[];
  let lifted: LiftedRuns | undefined;
  try {
    const valid = XMLValidator.validate(text);
    if (valid !== true) throw malformed(`Malformed XML (line ${valid.err.line}): ${valid.err.msg}`);
    const reduced = liftTextRuns(text);
    lifted = reduced.lifted;
    parsed = parserFor(limits).parse(reduced.text) as Raw[];
  } catch (error) {
    if (error instanceof OwsError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    if (/nested tags/i.test(message))
      throw overLimit('maxDepth', limits.maxDepth, 'levels of nested elements');
    throw malformed(`Malformed XML: ${message}`);
  }
  const roots = parsed
    .map((r) => build(r, EMPTY_SCOPE, 1, limits, lifted))
    .filter((e): e is XmlElement => e !== undefined);
  if (roots.length !== 1) throw malformed('The XML document must have exactly one root element');
  return roots[0]!;
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

const escapeText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const escapeAttr = (s: string) => escapeText(s).replace(/"/g, '&quot;');

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
  const open = `<${node.name}${attrs.map(([k, v]) => ` ${k}="${escapeAttr(v)}"`).join('')}`;
  if (node.children.length === 0) return `${open}/>`;
  return `${open}>${node.children.map((c) => serialize(c, undefined)).join('')}</${node.name}>`;
}

/** The mixed content of an element as XML text, each top-level child carrying the namespaces in scope. */
export function innerXml(el: XmlElement): string {
  return el.children.map((c) => serialize(c, isElement(c) ? c.scope : undefined)).join('');
}
