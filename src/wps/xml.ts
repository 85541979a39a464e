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

/** An element with its namespace resolved, attributes by local name and by `{ns}local`, and the namespaces in scope. */
export interface XmlElement {
  name: string;
  ns: string;
  local: string;
  attrs: Map<string, string>;
  /** Attributes as written (qualified names), for re-serialization. */
  rawAttrs: Array<[string, string]>;
  children: XmlNode[];
  scope: Map<string, string>;
}

const malformed = (message: string) =>
  new OwsError('NoApplicableCode', message, undefined, 'malformed-request');

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  cdataPropName: '#cdata',
  trimValues: false,
  parseTagValue: false,
  parseAttributeValue: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  processEntities: true,
  htmlEntities: false,
});

type Raw = Record<string, unknown> & { ':@'?: Record<string, string> };

function build(raw: Raw, parentScope: Map<string, string>): XmlElement | undefined {
  const name = Object.keys(raw).find((k) => k !== ':@');
  if (!name || name.startsWith('?') || name === '#comment') return undefined;
  const attributes = Object.entries(raw[':@'] ?? {});
  const scope = new Map(parentScope);
  for (const [k, v] of attributes) {
    if (k === 'xmlns') scope.set('', v);
    else if (k.startsWith('xmlns:')) scope.set(k.slice(6), v);
  }
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
    if (k === 'xmlns' || k.startsWith('xmlns:')) continue;
    const [ans, alocal] = resolve(k, true);
    attrs.set(ans ? `{${ans}}${alocal}` : alocal, v);
  }
  const element: XmlElement = { name, ns, local, attrs, rawAttrs, children: [], scope };
  for (const child of (raw[name] as Raw[]) ?? []) {
    if ('#text' in child) element.children.push({ text: String(child['#text']) });
    else if ('#cdata' in child) {
      const parts = child['#cdata'] as Array<{ '#text'?: unknown }>;
      element.children.push({ cdata: parts.map((p) => String(p['#text'] ?? '')).join('') });
    } else {
      const sub = build(child, scope);
      if (sub) element.children.push(sub);
    }
  }
  return element;
}

/**
 * Parses an XML request body. DTDs are refused outright (no entity expansion, no external entities:
 * XXE and billion-laughs bodies never reach the parser); malformed XML is a client error.
 */
export function parseXml(text: string): XmlElement {
  if (/<!DOCTYPE|<!ENTITY/i.test(text))
    throw malformed('XML with a DTD or entity declarations is not accepted');
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw malformed(`Malformed XML (line ${valid.err.line}): ${valid.err.msg}`);
  const roots = (parser.parse(text) as Raw[])
    .map((r) => build(r, new Map()))
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

function serialize(node: XmlNode, inherited: Map<string, string> | undefined): string {
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
