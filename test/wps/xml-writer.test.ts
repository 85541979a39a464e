import { spawnSync } from 'node:child_process';
import { execPath } from 'node:process';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exceptionReport, executeResponse, type RenderedOutput } from '../../src/wps/render.ts';
import { XmlWriter } from '../../src/wps/xml-writer.ts';
import { attr, innerXml, isElement, NS, parseXml, textOf, type XmlElement } from '../../src/wps/xml.ts';
import { all, doc, expectValid, get, one, startWpsServer, text, type WpsServer } from '../helpers/wps.ts';

/** What a string reads back as once written: characters XML forbids are U+FFFD, the rest unchanged. */
const readBack = (s: string) =>
  s.replace(/[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '\uFFFD');

/** Every kind of character that needs care, and plenty that do not. */
const NASTY = [
  '&',
  '&amp;',
  '&x;',
  '&#0;',
  '&#38;',
  '<',
  '>',
  '<a/>',
  ']]>',
  ']]]]>>',
  '"',
  "'",
  '\t',
  '\n',
  '\r',
  '\r\n',
  ' ',
  '\u0000',
  '\u0001',
  '\u001f',
  '\u007f',
  '\u0085',
  '\uD800',
  '\uDFFF',
  '\uDFFF\uD800',
  '\uFFFE',
  '\uFFFF',
  '\uFFFD',
  '\u{1F600}',
  'é',
  'x',
];
const nastyStrings = fc.oneof(
  fc.array(fc.constantFrom(...NASTY), { maxLength: 12 }).map((p) => p.join('')),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 40 }),
);

/** The text of a parsed element, CDATA included. */
const content = (el: XmlElement) =>
  el.children.map((c) => ('text' in c ? c.text : 'cdata' in c ? c.cdata : '')).join('');

describe('innerXml: a fragment taken out of a request reads back as it was read', () => {
  it('keeps characters that reading would otherwise normalise (CR in text, tab/LF/CR in attributes) and escapes the rest', () => {
    const root = parseXml(
      '<a><b xmlns="urn:x" v="1&#9;2&#10;3&#13;4 &quot;&lt;&amp;">x&#13;y &lt;&amp;&gt; z</b></a>',
    );
    const again = parseXml(`<r>${innerXml(root)}</r>`);
    const b = again.children.find(isElement)!;
    expect(b.ns).toBe('urn:x');
    expect(attr(b, 'v')).toBe('1\t2\n3\r4 "<&');
    expect(textOf(b)).toBe('x\ry <&> z');
  });
});

describe('XmlWriter escaping: whatever a process or client says reads back unchanged (forbidden characters as U+FFFD)', () => {
  it('text, CDATA and attribute values round-trip through a strict parser, for arbitrary strings', () => {
    fc.assert(
      fc.property(nastyStrings, nastyStrings, nastyStrings, (t, c, a) => {
        const xml = new XmlWriter()
          .start('r', { a, 'xmlns:p': 'urn:p' })
          .element('t', undefined, t)
          .start('c')
          .cdata(c)
          .end()
          .element('p:e', { 'p:b': a })
          .end()
          .toString();
        const root = parseXml(xml);
        const [te, ce, pe] = root.children.filter(isElement);
        expect(root.attrs.get('a')).toBe(readBack(a));
        expect(content(te!)).toBe(readBack(t));
        expect(content(ce!)).toBe(readBack(c));
        expect(pe!.attrs.get('{urn:p}b')).toBe(readBack(a));
      }),
      { numRuns: 500 },
    );
  });

  it('the written text, one example of each case', () => {
    const w = new XmlWriter()
      .start('r', { a: 'x&y<z>"q"\t\n\r', b: undefined, c: '' })
      .text('a &amp; b &x; <c> ]]> \r \u0001 \uD800 \u{1F600}')
      .cdata('<x/> & y')
      .cdata('a ]]> b')
      .cdata('a\r\nb')
      .cdata('nul\u0000')
      .element('e')
      .element('f', {}, '')
      .end();
    expect(w.toString()).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
        '<r a="x&amp;y&lt;z&gt;&quot;q&quot;&#9;&#10;&#13;" c="">' +
        'a &amp;amp; b &amp;x; &lt;c&gt; ]]&gt; &#13; \uFFFD \uFFFD \u{1F600}' +
        '<![CDATA[<x/> & y]]>a ]]&gt; ba&#13;\nb<![CDATA[nul\uFFFD]]><e/><f/></r>',
    );
  });

  it('every written document is well-formed to libxml2 too (xmllint)', () => {
    const samples = fc.sample(nastyStrings, 200);
    const w = new XmlWriter().start('r');
    for (const s of samples) w.element('e', { a: s }, s).start('c').cdata(s).end();
    const r = spawnSync('xmllint', ['--noout', '-'], { input: w.end().toString(), encoding: 'utf8' });
    expect(r.error, 'xmllint must be installed (libxml2-utils)').toBeUndefined();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('refuses to end an element it did not start, or to give a document with elements left open', () => {
    expect(() => new XmlWriter().end()).toThrow(/without an open element/);
    expect(() => new XmlWriter().start('a').start('b').end().toString()).toThrow(/<a> is not ended/);
  });
});

describe('ExecuteResponse content', () => {
  const process = {
    id: 'p',
    version: '1.0',
    title: 'P & Q',
    inputs: [],
    outputs: [],
    jobControlOptions: [],
    outputTransmission: [],
  };
  const complex = (content: string, as: 'xml' | 'cdata' | 'base64'): RenderedOutput => ({
    description: { id: 'o', title: 'O', kind: 'complex', formats: [{ mimeType: 'text/xml' }] },
    complex: { format: { mimeType: 'text/xml' }, content, as },
  });
  const render = (outputs: RenderedOutput[]) =>
    executeResponse({
      process,
      serviceInstance: 'http://x/wps?service=WPS&request=GetCapabilities',
      lang: 'en-US',
      creationTime: new Date(0),
      status: { kind: 'ProcessSucceeded', message: 'done \u0001' },
      outputs,
    });
  const complexData = (xml: string) => one(doc(xml), 'ComplexData');

  it('XML output is embedded as elements when its prefixes are declared (in it or on the document), else as CDATA', () => {
    const gml = '<gml:Point xmlns:gml="http://www.opengis.net/gml"><gml:pos>1 2</gml:pos></gml:Point>';
    const cases: Array<[string, 'elements' | 'cdata']> = [
      [gml, 'elements'],
      [`${gml}<!-- c --><a xmlns="urn:a">&#246;<![CDATA[<z>]]></a>`, 'elements'],
      ['<ows:Title>in scope</ows:Title>', 'elements'],
      ['<gml:Point><gml:pos>1 2</gml:pos></gml:Point>', 'cdata'],
      ['<?xml version="1.0"?><a/>', 'cdata'],
      ['<!DOCTYPE a><a/>', 'cdata'],
      ['<a>&nbsp;</a>', 'cdata'],
      ['<a><b></a>', 'cdata'],
      ['<a>\u0001</a>', 'cdata'],
    ];
    for (const [xml, as] of cases) {
      const body = render([complex(xml, 'xml')]);
      expectValid(body, 'execute');
      const cx = complexData(body);
      if (as === 'elements') {
        expect(cx.children.some(isElement), xml).toBe(true);
        expect(body, xml).toContain(xml);
      } else {
        expect(cx.children.some(isElement), xml).toBe(false);
        expect(content(cx), xml).toBe(readBack(xml));
      }
    }
    const point = one(complexData(render([complex(gml, 'xml')])), 'Point');
    expect(point.ns).toBe('http://www.opengis.net/gml');
    const title = one(complexData(render([complex('<ows:Title>t</ows:Title>', 'xml')])), 'Title');
    expect(title.ns).toBe(NS.ows);
  });

  it('a large XML output is checked in bounded memory: a long comment, CDATA or line ends of every kind', () => {
    // In a process whose heap is too small for what saxes builds of a 16 MB comment (700 MB before).
    const source = fileURLToPath(new URL('../../src/wps/render.ts', import.meta.url));
    const script = `
      import { executeResponse } from ${JSON.stringify(source)};
      const n = 16 * 1024 * 1024;
      const outputs = [
        \`<a><!--\${'-x'.repeat(n / 2)}--></a>\`,
        \`<a>\${'\\r'.repeat(n)}</a>\`,
        \`<a><![CDATA[\${']x'.repeat(n / 2)}]]></a>\`,
      ];
      for (const content of outputs) {
        const body = executeResponse({
          process: { id: 'p', version: '1.0', title: 'P', inputs: [], outputs: [], jobControlOptions: [], outputTransmission: [] },
          serviceInstance: 'http://x/wps', lang: 'en-US', creationTime: new Date(0),
          status: { kind: 'ProcessSucceeded', message: 'ok' },
          outputs: [{ description: { id: 'o', title: 'O', kind: 'complex', formats: [{ mimeType: 'text/xml' }] },
            complex: { format: { mimeType: 'text/xml' }, content, as: 'xml' } }],
        });
        // Embedded as elements (well-formed), not as a CDATA section.
        process.stdout.write(String(body.includes('<wps:ComplexData mimeType="text/xml"><a>')));
      }
    `;
    const r = spawnSync(execPath, ['--max-old-space-size=192', '--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    expect(
      r.stderr
        .split('\n')
        .filter((l) => /heap|Error/.test(l))
        .join('\n'),
    ).toBe('');
    expect(r.stdout).toBe('truetruetrue');
  }, 60_000);

  it('text and CDATA outputs, titles and messages with markup and forbidden characters stay valid', () => {
    const nasty = 'a]]>b <script>x</script> &amp; \u0000\uFFFE\uD800 \r\n';
    const body = render([complex(nasty, 'cdata'), { ...complex(nasty, 'base64') }]);
    expectValid(body, 'execute');
    const values = all(doc(body), 'ComplexData').map(content);
    expect(values).toEqual([readBack(nasty), readBack(nasty)]);
    expect(text(one(doc(body), 'ProcessSucceeded'))).toBe('done \uFFFD');
    expect(text(one(one(doc(body), 'Process'), 'Title'))).toBe('P & Q');
  });

  it('exception reports carry any message and locator', () => {
    const report = exceptionReport(
      { code: 'InvalidParameterValue', message: 'bad &x; <y> ]]> \u0001', locator: 'a"b&c' },
      'en-US',
    );
    expectValid(report, 'exception');
    const ex = one(doc(report), 'Exception');
    expect(ex.attrs.get('locator')).toBe('a"b&c');
    expect(text(one(ex, 'ExceptionText'))).toBe('bad &x; <y> ]]> \uFFFD');
  });
});

describe('over HTTP', () => {
  let s: WpsServer;
  beforeAll(async () => {
    s = await startWpsServer();
  });
  afterAll(() => s.close());

  it('a control character a client sends through KVP is U+FFFD in the ExecuteResponse, which stays valid', async () => {
    const r = await get(
      `${s.wps}?service=WPS&request=Execute&version=1.0.0&identifier=echo&DataInputs=stringInput=a%01b%EF%BF%BEc&lineage=true`,
    );
    expect(r.status, r.body).toBe(200);
    expectValid(r.body, 'execute');
    const literals = all(doc(r.body), 'LiteralData').map(text);
    expect(literals).toContain('a\uFFFDb\uFFFDc');
    expect(literals).not.toContain('a\u0001b\uFFFEc');
  });
});
