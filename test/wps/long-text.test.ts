import { describe, expect, it } from 'vitest';
import { collectGarbage } from '../../src/util/collect-garbage.ts';
import { attr, innerXml, isElement, parseXml, textOf, type XmlElement } from '../../src/wps/xml.ts';

const LONG = 64 * 1024;
const first = (el: XmlElement, local: string): XmlElement =>
  el.children.find((c): c is XmlElement => isElement(c) && c.local === local)!;

describe('long character data and CDATA sections', () => {
  it('reads as text, references decoded, exactly as short text is read', () => {
    const body = 'AbC+/'.repeat(LONG / 5 + 10);
    for (const [raw, expected] of [
      [body, body],
      [`${body}&amp;&lt;&#x41;&#66;]]&gt;`, `${body}&<AB]]>`],
      [`\n  ${body}\n`, `\n  ${body}\n`],
    ]) {
      const root = parseXml(`<?xml version="1.0"?><a xmlns="urn:x"><b enc="x>y">${raw}</b><!-- c --></a>`);
      const b = first(root, 'b');
      expect(b.children).toEqual([{ text: expected }]);
      expect(textOf(b)).toBe(expected);
    }
  });

  it('keeps its place among elements, CDATA sections and comments, and serializes as escaped text', () => {
    const long = 'x'.repeat(LONG + 1);
    const xml = `<a xmlns="urn:x"><b/>${long}&amp;<![CDATA[<c/>]]><?pi ${'p'.repeat(10)}?><!-- ${'m'.repeat(LONG)} --><d>${long}</d></a>`;
    const root = parseXml(xml);
    expect(root.children.map((c) => (isElement(c) ? c.local : 'text' in c ? 'text' : 'cdata'))).toEqual([
      'b',
      'text',
      'cdata',
      'd',
    ]);
    expect(root.children[1]).toEqual({ text: `${long}&` });
    expect(textOf(first(root, 'd'))).toBe(long);
    expect(innerXml(root)).toContain(`${long}&amp;<![CDATA[<c/>]]>`);
  });

  it('a CDATA section that looks like a lifted one stays as written (the marker cannot be guessed)', () => {
    const root = parseXml(
      `<a><![CDATA[gw-lifted-cdata-00000000-0000-0000-0000-000000000000-0]]>${'t'.repeat(LONG)}</a>`,
    );
    expect(root.children[0]).toEqual({ cdata: 'gw-lifted-cdata-00000000-0000-0000-0000-000000000000-0' });
    expect(root.children[1]).toEqual({ text: 't'.repeat(LONG) });
  });

  it('a bad reference in long text is still malformed', () => {
    expect(() => parseXml(`<a>${'t'.repeat(LONG)}&nbsp;</a>`)).toThrow(/not declared|Malformed/);
  });

  it('a 30 MB base64 value in 76-character lines parses in well under a second', () => {
    const b64 = Buffer.alloc(22 << 20, 7)
      .toString('base64')
      .replace(/.{76}/g, '$&\n');
    const t0 = performance.now();
    const root = parseXml(`<a xmlns="urn:x"><b>${b64}</b></a>`);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(textOf(first(root, 'b')).length).toBe(b64.length);
  });

  it('long CDATA sections (kept out of the parser) read as short ones: content, line ends, checks, lines', () => {
    const json = JSON.stringify(Array.from({ length: 20_000 }, (_, i) => [i, i / 2]));
    expect(json.length).toBeGreaterThan(LONG);
    const root = parseXml(`<a><b><![CDATA[${json}]]></b><c><![CDATA[x\r\n${json}\ry]]></c></a>`);
    expect(first(root, 'b').children).toEqual([{ cdata: json }]);
    expect(first(root, 'c').children).toEqual([{ cdata: `x\n${json}\ny` }]);
    // An error after a long section still names its line.
    const lines = `${'z'.repeat(LONG)}\n`.repeat(3);
    expect(() => parseXml(`<a>\n<![CDATA[${lines}]]>\n<b></c></a>`)).toThrow(/Malformed XML \(line 6\)/);
    for (const bad of ['\u0001', '\uFFFE', '\uD800x', 'x\uDC00']) {
      expect(() => parseXml(`<a><![CDATA[${json}${bad}]]></a>`), bad).toThrow(/Malformed XML.*disallowed/);
    }
    // A valid pair of surrogates is a character like any other.
    expect(textOf(parseXml(`<a><![CDATA[${json}\u{1F600}]]></a>`))).toBe(`${json}\u{1F600}`);
    // Only real sections are lifted: in a comment the text stays a comment (here a malformed one).
    expect(() => parseXml(`<a><!-- <![CDATA[${json} -- ]]> --></a>`)).toThrow(/Malformed XML/);
    expect(() => parseXml(`<a><![CDATA[${json}</a>`)).toThrow(/Malformed XML/);
    expect(textOf(parseXml(`<a><!-- <![CDATA[ --><![CDATA[${json}]]></a>`))).toBe(json);
  });

  it('a long CDATA section is kept out too and read as it is: CDATA, nothing decoded, in its place', () => {
    const long = `${'c&amp;<d/>]]'.repeat(LONG / 8)}]`;
    const xml = `<a xmlns="urn:x"><b/>t&amp;<![CDATA[${long}]]><![CDATA[short]]><d><![CDATA[${long}]]></d></a>`;
    const root = parseXml(xml);
    expect(root.children).toEqual([
      first(root, 'b'),
      { text: 't&' },
      { cdata: long },
      { cdata: 'short' },
      first(root, 'd'),
    ]);
    expect(first(root, 'd').children).toEqual([{ cdata: long }]);
    expect(textOf(root)).toBe(`t&${long}short`);
    expect(innerXml(root)).toContain(
      `t&amp;<![CDATA[${long}]]><![CDATA[short]]><d xmlns="urn:x"><![CDATA[${long}]]></d>`,
    );
  });

  it('what it returns keeps no large document alive: a kept attribute value holds only itself', () => {
    const MIB = 1024 * 1024;
    // In the JavaScript heap (a Buffer's memory would be freed by a sweeper after the collection).
    const data = (n: number) => 'A'.repeat(n);
    /** The names and attribute values of a 24 MiB document; the document and its data are dropped. */
    const parseKeepingAttributes = (wrap: (data: string) => string): string[] => {
      const b = first(
        parseXml(
          `<a xmlns="urn:x"><b mimeType="application/geo+json; charset=utf-8" schema="http://example.com/a-schema.json">${wrap(data(24 * MIB))}</b></a>`,
        ),
        'b',
      );
      return [b.name, b.ns, attr(b, 'mimeType')!, attr(b, 'schema')!];
    };
    const used = () => {
      expect(collectGarbage()).toBe(true);
      const m = process.memoryUsage();
      return m.heapUsed + m.external;
    };
    for (const wrap of [
      (d: string) => `<![CDATA[${d}]]>`,
      (d: string) => d,
      (d: string) => `<![CDATA[${d}]]>`,
    ]) {
      const before = used();
      const kept = parseKeepingAttributes(wrap);
      expect(kept[2]).toBe('application/geo+json; charset=utf-8');
      expect(used() - before).toBeLessThan(4 * MIB);
    }
    // Nor does a large document refused (its scans ran on it all the same).
    const refuse = (make: () => string): string => {
      try {
        parseXml(make());
      } catch (error) {
        return (error as Error).message;
      }
      return 'parsed';
    };
    for (const make of [
      () => `<a>${data(24 * MIB)}<b c="&bad;"/></a>`,
      () => `<a><!--${data(24 * MIB)}--></a><a/>`,
      () => `<a><![CDATA[${data(24 * MIB)}]]>`,
    ]) {
      const before = used();
      expect(refuse(make)).toMatch(/Malformed XML/);
      expect(used() - before).toBeLessThan(4 * MIB);
    }
  });
});
