/**
 * HTML pages read with a real HTML parser (parse5, the WHATWG parsing algorithm browsers use): what a
 * browser would build from the page, element by element.
 */
import { parse } from 'parse5';
import type { DefaultTreeAdapterMap } from 'parse5';

export type Element = DefaultTreeAdapterMap['element'];
type Node = DefaultTreeAdapterMap['node'];

const isElement = (n: Node): n is Element => 'tagName' in n;

function* walk(node: Node): Generator<Element> {
  if (isElement(node)) yield node;
  const children = 'childNodes' in node ? node.childNodes : [];
  for (const c of children) yield* walk(c);
  // <template> content is a fragment of its own
  if (isElement(node) && node.tagName === 'template' && 'content' in node) yield* walk(node.content as Node);
}

export const attr = (el: Element, name: string): string | undefined =>
  el.attrs.find((a) => a.name === name)?.value;

export function textOf(node: Node): string {
  if ('value' in node && node.nodeName === '#text') return node.value;
  const children = 'childNodes' in node ? node.childNodes : [];
  return children.map((c) => textOf(c)).join('');
}

export interface Page {
  elements: Element[];
  byId(id: string): Element | undefined;
  all(tag: string): Element[];
  /** Elements with this attribute (and value, when given). */
  withAttr(name: string, value?: string): Element[];
  text: string;
}

export function parsePage(html: string): Page {
  const document = parse(html);
  const elements = [...walk(document as unknown as Node)];
  return {
    elements,
    byId: (id) => elements.find((e) => attr(e, 'id') === id),
    all: (tag) => elements.filter((e) => e.tagName === tag),
    withAttr: (name, value) =>
      elements.filter((e) =>
        e.attrs.some((a) => a.name === name && (value === undefined || a.value === value)),
      ),
    text: textOf(document as unknown as Node),
  };
}
