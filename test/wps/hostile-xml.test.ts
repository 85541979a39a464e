import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OwsError } from '../../src/core/errors.ts';
import { SaxesParser } from 'saxes';
import {
  isElement as isElementNode,
  NS,
  parseXml,
  textOf,
  XML_LIMITS,
  type XmlElement,
  type XmlLimits,
} from '../../src/wps/xml.ts';
import {
  all,
  doc,
  execute,
  expectException,
  expectValid,
  get,
  kids,
  literalInput,
  one,
  post,
  startWpsServer,
  text,
  type WpsServer,
} from '../helpers/wps.ts';

let s: WpsServer;
beforeAll(async () => {
  s = await startWpsServer();
});
afterAll(() => s.close());

const HEAD = `<wps:Execute service="WPS" version="1.0.0" xmlns:wps="${NS.wps}" xmlns:ows="${NS.ows}"`;

/** Timed POST: the reply and how long it took. */
async function timedPost(body: string) {
  const t0 = performance.now();
  const reply = await post(s.wps, body);
  return { reply, ms: performance.now() - t0 };
}

/** The server still answers a plain request (the event loop is free, the process alive). */
async function expectAlive() {
  expect((await get(`${s.wps}?service=WPS&request=GetCapabilities`)).status).toBe(200);
}

function refusal(fn: () => unknown): OwsError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(OwsError);
    return error as OwsError;
  }
  throw new Error('expected an OwsError');
}

describe('namespace bombs: parsing is linear, XML beyond the limits is a 400 naming the limit', () => {
  it('~199 KB: a chain of 98 elements each declaring 64 distinct prefixes around 10,500 elements parses in well under a second', async () => {
    // Within every limit, so only linear cost saves it: a parser that copies the scope for each element
    // (6,272 prefixes in scope × 10,500 elements) blocks the event loop for seconds and takes gigabytes.
    const levels = XML_LIMITS.maxDepth - 2; // with the root and the leaves: exactly maxDepth
    const per = XML_LIMITS.maxNamespaceDeclarationsPerElement;
    let open = '';
    let close = '';
    for (let d = 0; d < levels; d++) {
      const decls = Array.from({ length: per }, (_, i) => ` xmlns:p${d}_${i}="u"`).join('');
      open += `<n${decls}>`;
      close = `</n>${close}`;
    }
    const body = `${HEAD}><ows:Identifier>echo</ows:Identifier>${open}${'<p0_1:a/>'.repeat(10_500)}${close}</wps:Execute>`;
    expect(body.length).toBeGreaterThan(190_000);
    const { reply, ms } = await timedPost(body);
    // Parsed, then refused for a semantic reason: the process echo needs stringInput.
    expectException(reply, 400, 'MissingParameterValue', 'stringInput');
    expect(ms).toBeLessThan(1000);
    await expectAlive();
  }, 10_000);

  it('~199 KB: 4,000 namespace declarations on the root and 30,000 elements are refused in well under a second', async () => {
    const decls = Array.from({ length: 4000 }, (_, i) => ` xmlns:p${i}="u:${i}"`).join('');
    const body = `${HEAD}${decls}><ows:Identifier>echo</ows:Identifier>${'<a/>'.repeat(30_000)}</wps:Execute>`;
    expect(body.length).toBeGreaterThan(190_000);
    const { reply, ms } = await timedPost(body);
    const ex = expectException(reply, 400, 'NoApplicableCode');
    expect(text(ex)).toMatch(/maxAttributesPerElement/);
    expect(ms).toBeLessThan(1000);
    await expectAlive();
  }, 10_000);

  it('each limit is enforced and named: depth (also for a self-closing leaf), elements, attributes, declarations per element and in total', async () => {
    const deep = (n: number, leaf: string) => `${'<d>'.repeat(n - 1)}${leaf}${'</d>'.repeat(n - 1)}`;
    expect(text(expectException(await post(s.wps, deep(101, '<d></d>')), 400, 'NoApplicableCode'))).toMatch(
      /maxDepth/,
    );
    expect(text(expectException(await post(s.wps, deep(101, '<d/>')), 400, 'NoApplicableCode'))).toMatch(
      /maxDepth/,
    );
    // Far deeper than any parser's stack: still a 400 in milliseconds.
    const { reply, ms } = await timedPost(deep(50_000, '<d/>'));
    expect(text(expectException(reply, 400, 'NoApplicableCode'))).toMatch(/maxDepth/);
    expect(ms).toBeLessThan(1000);
    // At the limit the document is read (and refused for not being a WPS request).
    expectException(await post(s.wps, deep(100, '<d/>')), 400, 'OperationNotSupported', 'd');

    const attrs = (n: number, p = 'a') => Array.from({ length: n }, (_, i) => ` ${p}${i}="v"`).join('');
    expect(text(expectException(await post(s.wps, `<r${attrs(257)}/>`), 400, 'NoApplicableCode'))).toMatch(
      /maxAttributesPerElement/,
    );
    expect(
      text(expectException(await post(s.wps, `<r${attrs(65, 'xmlns:p')}/>`), 400, 'NoApplicableCode')),
    ).toMatch(/maxNamespaceDeclarationsPerElement/);

    const small: XmlLimits = { ...XML_LIMITS, maxElements: 10, maxNamespaceDeclarations: 5 };
    expect(parseXml(`<r>${'<a/>'.repeat(9)}</r>`, small).children).toHaveLength(9);
    expect(refusal(() => parseXml(`<r>${'<a/>'.repeat(10)}</r>`, small)).message).toMatch(/maxElements/);
    const spread = `<r xmlns:a="1" xmlns:b="2"><x xmlns:c="3" xmlns:d="4"/><y xmlns:e="5"/><z xmlns:f="6"/></r>`;
    const e = refusal(() => parseXml(spread, small));
    expect(e.reason).toBe('malformed-request');
    expect(e.message).toMatch(/maxNamespaceDeclarations\b/);

    // An attribute value: at the limit read (references and white space as XML says), over it refused,
    // in a small document (by the parser) and in a large one (before it).
    const value = (n: number) => '&amp;\n'.repeat(n / 6);
    const short: XmlLimits = { ...XML_LIMITS, maxAttributeValueLength: 600 };
    expect(parseXml(`<r a="${value(600)}"/>`, short).attrs.get('a')).toBe('& '.repeat(100));
    expect(refusal(() => parseXml(`<r a="${value(606)}"/>`, short)).message).toMatch(
      /maxAttributeValueLength/,
    );
    const padding = `<!--${'x'.repeat(70_000)}-->`;
    expect(parseXml(`<r a='${value(600)}'>${padding}</r>`, short).attrs.get('a')).toBe('& '.repeat(100));
    expect(refusal(() => parseXml(`<r b=">" a='${value(606)}'>${padding}</r>`, short)).message).toMatch(
      /maxAttributeValueLength/,
    );
    const over = `<r a="${'\nx'.repeat(XML_LIMITS.maxAttributeValueLength / 2 + 1)}"/>`;
    expect(text(expectException(await post(s.wps, over), 400, 'NoApplicableCode'))).toMatch(
      /maxAttributeValueLength/,
    );
  });

  it('namespaces still resolve through the chain: nearest declaration wins, undeclaring scopes end at their element', () => {
    const root = parseXml(
      `<a:r xmlns:a="A1" xmlns="D"><a:x xmlns:a="A2"><a:y b="1" a:c="2"/></a:x><a:z/><w/></a:r>`,
    );
    expect([root.ns, root.local]).toEqual(['A1', 'r']);
    const [x, z, w] = kids(root);
    const y = kids(x!)[0]!;
    expect([x!.ns, y.ns, z!.ns, w!.ns]).toEqual(['A2', 'A2', 'A1', 'D']);
    expect([...y.attrs]).toEqual([
      ['b', '1'],
      ['{A2}c', '2'],
    ]);
    expect(refusal(() => parseXml('<r><q:x/></r>')).message).toMatch(/'q' is not declared/);
  });
});

describe('well-formedness: one strict pass refuses what XML 1.0 and its namespaces refuse', () => {
  it('each malformed body is a client error naming the line, never a partial tree', () => {
    const cases: Array<[string, RegExp]> = [
      ['<r><a></r>', /Malformed XML \(line 1\)/],
      ['<r><a>', /Malformed XML \(line 1\).*unclosed/],
      ['<r a="1" a="2"/>', /Malformed XML \(line 1\).*duplicate attribute/],
      ['<r xmlns:p="u" xmlns:q="u" p:a="1" q:a="2"/>', /Malformed XML \(line 1\).*duplicate attribute/],
      ['<r a=1/>', /Malformed XML/],
      ['<r a="<"/>', /Malformed XML/],
      ['<r>a ]]> b</r>', /Malformed XML/],
      ['<r/>text', /Malformed XML/],
      ['<r/><s/>', /Malformed XML/],
      ['', /Malformed XML/],
      ['<r>a & b</r>', /Malformed XML/],
      ['<r>\u0001</r>', /Malformed XML/],
      ['<r xmlns:p=""/>', /Malformed XML/],
      ['<r><!-- a -- b --></r>', /Malformed XML/],
      ['<?xml version="1.0"?>\n<r>\n  <a>\n  </b>\n</r>', /Malformed XML \(line 4\)/],
      ['<r p:a="1"/>', /'p' is not declared/],
      ['<p:r/>', /'p' is not declared/],
    ];
    for (const [body, message] of cases) {
      const e = refusal(() => parseXml(body));
      expect(e.reason, body).toBe('malformed-request');
      expect(e.code, body).toBe('NoApplicableCode');
      expect(e.message, body).toMatch(message);
    }
  });

  it('reads line ends, attribute values and references as XML 1.0 says', () => {
    const root = parseXml(
      '<r xmlns="urn:d" a="x&#10;y\tz" b="&lt;&amp;&#x263A;">a\r\nb\rc&#13;<![CDATA[&amp;]]></r>',
    );
    expect(root.ns).toBe('urn:d');
    // Attribute-value normalization: literal white space is a space, a reference keeps its character.
    expect(root.attrs.get('a')).toBe('x\ny z');
    expect(root.attrs.get('b')).toBe('<&☺');
    expect(root.children).toEqual([{ text: 'a\nb\nc\r' }, { cdata: '&amp;' }]);
  });
});

describe('long comments, processing instructions and CDATA sections kept out of the parser', () => {
  /** What saxes alone makes of a document: its tree's text, or the line of its first error. */
  function bySaxes(xml: string): { text: string } | { line: number } {
    const parser = new SaxesParser({ xmlns: true });
    let text = '';
    let line = 0;
    parser.on('error', (error) => {
      line ||= parser.line;
      throw error;
    });
    parser.on('text', (t) => (text += t));
    parser.on('cdata', (t) => (text += t));
    try {
      parser.write(xml).close();
      return { text };
    } catch {
      return { line };
    }
  }
  function byParseXml(xml: string): { text: string } | { line: number } {
    try {
      const all = (el: XmlElement): string =>
        el.children.map((c) => ('text' in c ? c.text : 'cdata' in c ? c.cdata : all(c))).join('');
      return { text: all(parseXml(xml)) };
    } catch (error) {
      expect(error).toBeInstanceOf(OwsError);
      return { line: Number(/line (\d+)/.exec((error as OwsError).message)?.[1]) };
    }
  }

  it('the tree, or the line of the error, is what saxes alone gives (line ends of every kind)', () => {
    const lines = ('x'.repeat(99) + '\n').repeat(1000);
    const bodies = [
      `<a>\n<!--${lines}-->\n<b>&bad;</b></a>`,
      `<a>\n<!--${lines}-->\n<b>t</b></a>`,
      `<a>\n<?p ${lines}?>\n<b>&bad;</b></a>`,
      `<a>\r\n<?p ${lines.replace(/\n/g, '\r\n')}?>\r\n<b>&bad;</b></a>`,
      `<a>\r<![CDATA[${lines.replace(/\n/g, '\r')}]]>\r<b>&bad;</b></a>`,
      `<a>\r<![CDATA[${lines.replace(/\n/g, '\r')}]]>\r<b>t\r\n</b></a>`,
      `<a>\n<!--${lines.replace(/x/g, 'x\r')}-->\n<b>&bad;</b></a>`,
      `<a>\n<!--${lines}--->\n</a>`,
      `<a>\n<!--${lines}--${lines}-->\n</a>`,
      `<a>\n<!--${lines}\u0000-->\n</a>`,
      `<a>\n<?p ${lines}\uFFFE?>\n</a>`,
      `<a>\n<?xml ${lines}?>\n</a>`,
      `<a>\n<!-- <![CDATA[ -->${lines}<!-- ]]> --></a>`,
      `<a>\n<![CDATA[ <!-- ]]>${lines}<![CDATA[ --> ]]></a>`,
    ];
    for (const body of bodies) expect(byParseXml(body), body.slice(0, 40)).toEqual(bySaxes(body));
  });

  it('long character data with references is read whole, as one text, also around comments', () => {
    const data = 'a &amp; b &lt;c&gt; &#233; &#x1F600;\n'.repeat(20_000);
    const read = data
      .replace(/&amp;/g, '&')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&#233;/g, 'é')
      .replace(/&#x1F600;/g, '\u{1F600}');
    const root = parseXml(
      `<r><x>${data}</x><y a="1">${data}<z/>${data}<!--c-->${data}</y><w>${data}</w></r>`,
    );
    const [x, y, w] = root.children.filter(isElementNode);
    expect(x!.children).toEqual([{ text: read }]);
    expect(y!.children).toHaveLength(3);
    expect(textOf(y!)).toBe(read.repeat(3));
    expect(textOf(w!)).toBe(read);
  });

  it('a DTD after comments and processing instructions of any length, in any case, is refused before it is read', () => {
    const long = 'x'.repeat(100_000);
    for (const body of [
      `<?xml version="1.0"?>\n<!--${long}-->\n<!DOCTYPE a [<!ENTITY e "${long}">]>\n<a>&e;</a>`,
      `\uFEFF <?pi ${long}?> <!--c--> <!doctype a SYSTEM "http://127.0.0.1:9/x.dtd"><a/>`,
      `<!DocType a [${'<!ENTITY e "x">'.repeat(10_000)}`,
    ]) {
      expect(refusal(() => parseXml(body)).message).toMatch(/DTD/);
    }
  });
});

describe('names that are JavaScript object keys', () => {
  it('__proto__, constructor and prototype as elements and attributes: kept as written, nothing polluted', () => {
    const root = parseXml(
      `<r __proto__="p" constructor="c"><__proto__ prototype="x"><constructor/></__proto__><toString hasOwnProperty="1" b="2"/></r>`,
    );
    expect(root.attrs.get('__proto__')).toBe('p');
    expect(root.attrs.get('constructor')).toBe('c');
    const [proto, str] = kids(root);
    expect(proto!.local).toBe('__proto__');
    expect(proto!.attrs.get('prototype')).toBe('x');
    expect(kids(proto!)[0]!.local).toBe('constructor');
    expect(str!.local).toBe('toString');
    expect([...str!.attrs.keys()]).toEqual(['hasOwnProperty', 'b']);
    expect(({} as Record<string, unknown>).prototype).toBeUndefined();
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
  });

  it('over HTTP: inputs, attributes and elements so named are 4xx or ignored, never a 500; echoed XML keeps them', async () => {
    for (const id of ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty']) {
      expectException(
        await post(s.wps, execute('echo', literalInput('stringInput', 's') + literalInput(id, '1'))),
        400,
        'InvalidParameterValue',
        id,
      );
      expectException(
        await get(
          `${s.wps}?service=WPS&request=Execute&version=1.0.0&identifier=echo&DataInputs=stringInput=s;${id}=1`,
        ),
        400,
        'InvalidParameterValue',
        id,
      );
      expectException(
        await get(`${s.wps}?service=WPS&request=DescribeProcess&version=1.0.0&identifier=${id}`),
        400,
        'InvalidParameterValue',
        'Identifier',
      );
    }
    const kvp = await get(
      `${s.wps}?service=WPS&request=Execute&version=1.0.0&identifier=echo&DataInputs=stringInput=s@__proto__=x@constructor=y@prototype=z`,
    );
    expect(kvp.status, kvp.body).toBe(200);
    expectValid(kvp.body, 'execute');

    const gml = '<__proto__ constructor="c"><prototype>1</prototype></__proto__>';
    const body = execute(
      'echo',
      literalInput('stringInput', 's', ' __proto__="x" constructor="y"') +
        `<wps:Input><ows:Identifier>complexInput</ows:Identifier><wps:Data><wps:ComplexData mimeType="text/xml">${gml}</wps:ComplexData></wps:Data></wps:Input>`,
      `<wps:ResponseForm><wps:RawDataOutput mimeType="text/xml"><ows:Identifier>complexOutput</ows:Identifier></wps:RawDataOutput></wps:ResponseForm><wps:__proto__/>`,
    );
    const r = await post(s.wps, body);
    expect(r.status, r.body).toBe(200);
    expect(r.body).toBe(gml);
  });
});

describe('hostile bodies: DTDs are refused before anything is read or fetched', () => {
  let listener: Server;
  let port = 0;
  const hits: string[] = [];
  beforeAll(async () => {
    listener = createServer((req, res) => {
      hits.push(req.url ?? '');
      res.end('<!ENTITY x "LEAKED">');
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    port = (listener.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => listener.close(() => resolve())));

  it('external DTD, external and parameter entities, XInclude-free billion laughs: each a fast 400, the listener never called', async () => {
    const url = `http://127.0.0.1:${port}`;
    const gc = (doctype: string, content = '') =>
      `<?xml version="1.0"?>${doctype}<wps:GetCapabilities service="WPS" xmlns:wps="${NS.wps}">${content}</wps:GetCapabilities>`;
    const bodies = [
      gc(`<!DOCTYPE wps:GetCapabilities SYSTEM "${url}/external.dtd">`),
      gc(`<!DOCTYPE wps:GetCapabilities PUBLIC "-//x//y" "${url}/public.dtd">`),
      gc(`<!DOCTYPE r [<!ENTITY % p SYSTEM "${url}/param.dtd"> %p;]>`, '&x;'),
      gc(`<!DOCTYPE r [<!ENTITY % e "<!ENTITY x 'LEAKED'>"> %e;]>`, '&x;'),
      gc(`<!DOCTYPE r [<!ENTITY x SYSTEM "${url}/entity">]>`, '&x;'),
      gc(`<!doctype r [<!entity x SYSTEM "file:///etc/passwd">]>`, '&x;'),
      // Quadratic blow-up: one large entity referenced many times.
      gc(`<!DOCTYPE r [<!ENTITY a "${'a'.repeat(50_000)}">]>`, '&a;'.repeat(10_000)),
      // Billion laughs, 10 levels.
      gc(
        `<!DOCTYPE r [<!ENTITY l0 "lol">${Array.from({ length: 10 }, (_, i) => `<!ENTITY l${i + 1} "${`&l${i};`.repeat(10)}">`).join('')}]>`,
        '&l10;',
      ),
    ];
    for (const body of bodies) {
      const { reply, ms } = await timedPost(body);
      const ex = expectException(reply, 400, 'NoApplicableCode');
      expect(text(ex)).toMatch(/DTD/);
      expect(reply.body).not.toMatch(/LEAKED|root:/);
      expect(ms).toBeLessThan(1000);
    }
    expect(hits).toEqual([]);
    await expectAlive();
  });

  it('DTD-like text in a comment, a CDATA section or character data is data, not a DTD', () => {
    const root = parseXml(
      `<!-- <!DOCTYPE r> --><r><![CDATA[<!DOCTYPE html><!ENTITY x "y">]]>&lt;!DOCTYPE r&gt;</r>`,
    );
    expect(root.children).toEqual([{ cdata: '<!DOCTYPE html><!ENTITY x "y">' }, { text: '<!DOCTYPE r>' }]);
    expect(refusal(() => parseXml('<r/><!DOCTYPE r>')).message).toMatch(/Malformed XML/);
  });
});

describe('text outputs containing "]]>" and markup', () => {
  const nasty = 'a]]>b <script>alert(1)</script> ]]]]>> end';
  const plainInput = `<wps:Input><ows:Identifier>complexInput</ows:Identifier><wps:Data><wps:ComplexData mimeType="text/plain">${nasty.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')}</wps:ComplexData></wps:Data></wps:Input>`;
  const echoed = (xml: string) =>
    text(
      one(
        all(one(doc(xml), 'ProcessOutputs'), 'Output').find(
          (o) => text(kids(o, 'Identifier')[0]!) === 'complexOutput',
        )!,
        'ComplexData',
      ),
    );

  it('synchronous: the ExecuteResponse is valid and carries the text unchanged', async () => {
    const r = await post(s.wps, execute('echo', literalInput('stringInput', 's') + plainInput));
    expect(r.status, r.body).toBe(200);
    expectValid(r.body, 'execute');
    expect(echoed(r.body)).toBe(nasty);
  });

  it('asynchronous: every status document of the job stays valid, before and after completion', async () => {
    const r = await post(
      s.wps,
      execute(
        'echo',
        literalInput('stringInput', 's') + plainInput,
        `<wps:ResponseForm><wps:ResponseDocument storeExecuteResponse="true" status="true"/></wps:ResponseForm>`,
      ),
    );
    expect(r.status, r.body).toBe(200);
    expectValid(r.body, 'execute');
    const location = doc(r.body).attrs.get('statusLocation')!;
    let body = '';
    for (let i = 0; i < 100; i++) {
      const status = await get(location);
      expect(status.status).toBe(200);
      expectValid(status.body, 'execute');
      body = status.body;
      if (/ProcessSucceeded|ProcessFailed/.test(body)) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    expect(body).toMatch(/ProcessSucceeded/);
    expect(echoed(body)).toBe(nasty);
    // Read again later: the stored job still renders.
    const again = await get(location);
    expectValid(again.body, 'execute');
    expect(echoed(again.body)).toBe(nasty);
  });

  it('text that looks like entity references ("&x;", "&amp;", "&#0;") is escaped once, in outputs and exceptions', async () => {
    const value = 'a &amp; b &x; c &#0; d';
    const r = await post(s.wps, execute('echo', literalInput('stringInput', value.replace(/&/g, '&amp;'))));
    expect(r.status, r.body).toBe(200);
    expectValid(r.body, 'execute');
    const literal = all(one(doc(r.body), 'ProcessOutputs'), 'LiteralData')[0]!;
    expect(text(literal)).toBe(value);
    const ex = expectException(
      await post(s.wps, `<wps:Execute xmlns:wps="${NS.wps}" service="&amp;x; &amp;amp;"/>`),
      400,
      'InvalidParameterValue',
      'service',
    );
    expect(text(one(ex, 'ExceptionText'))).toMatch(/'&x; &amp;'/);
  });

  it('character references are decoded once, in text and attributes; undeclared entities are malformed XML', async () => {
    // OWSLib writes every non-ASCII character as a numeric character reference.
    const raw = await post(
      s.wps,
      execute(
        'hello-world',
        literalInput('name', 'J&#246;rg &#x263A; &amp;#246;'),
        '<wps:ResponseForm><wps:RawDataOutput><ows:Identifier>echo</ows:Identifier></wps:RawDataOutput></wps:ResponseForm>',
      ),
    );
    expect(raw.status, raw.body).toBe(200);
    expect(raw.body).toBe('Hello Jörg ☺ &#246;!');
    const attr = await post(
      s.wps,
      execute(
        'echo',
        literalInput('stringInput', 's') +
          '<wps:Input><ows:Identifier>complexInput</ows:Identifier><wps:Data><wps:ComplexData mimeType="text&#47;plain">x</wps:ComplexData></wps:Data></wps:Input>',
      ),
    );
    expect(attr.status, attr.body).toBe(200);
    for (const bad of ['&foo;', '&#0;', '&#xD800;', 'a & b']) {
      const r = await post(s.wps, execute('hello-world', literalInput('name', bad)));
      expect(r.status, `${bad}: ${r.body}`).toBe(400);
      expect(r.body).toMatch(/Malformed XML/);
    }
  });

  it('an XML output whose text holds "]]>" is embedded without breaking the document', async () => {
    const xml = '<p>x ]]&gt; y</p>';
    const r = await post(
      s.wps,
      execute(
        'echo',
        literalInput('stringInput', 's') +
          `<wps:Input><ows:Identifier>complexInput</ows:Identifier><wps:Data><wps:ComplexData mimeType="text/xml">${xml}</wps:ComplexData></wps:Data></wps:Input>`,
      ),
    );
    expect(r.status, r.body).toBe(200);
    expectValid(r.body, 'execute');
    expect(echoed(r.body).trim()).toBe('x ]]> y');
  });
});

describe('the character encoding of a request body', () => {
  const send = (body: Uint8Array, headers: Record<string, string> = {}) =>
    fetch(s.wps, { method: 'POST', headers: { 'Content-Type': 'text/xml', ...headers }, body });
  const hello = (name: string, declaration = '<?xml version="1.0" encoding="UTF-8"?>') =>
    `${declaration}${execute('hello-world', literalInput('name', name), '<wps:ResponseForm><wps:RawDataOutput><ows:Identifier>echo</ows:Identifier></wps:RawDataOutput></wps:ResponseForm>').replace(/^<\?xml[^>]*\?>/, '')}`;

  it('is read as the XML declaration (or a byte order mark) says', async () => {
    const latin1 = Buffer.from(hello('Jörg', '<?xml version="1.0" encoding="ISO-8859-1"?>'), 'latin1');
    expect(await (await send(latin1)).text()).toBe('Hello Jörg!');
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(hello('Jörg ☺', ''), 'utf16le')]);
    expect(await (await send(utf16)).text()).toBe('Hello Jörg ☺!');
    expect(await (await send(Buffer.from(hello('Jörg')))).text()).toBe('Hello Jörg!');
  });

  it('bytes invalid in the declared encoding, an unknown encoding or a content coding are a 400, never U+FFFD', async () => {
    const invalid = Buffer.concat([
      Buffer.from(hello('J').split('J')[0]!),
      Buffer.from([0xff, 0xfe, 0x41]),
      Buffer.from(hello('J').split('J').slice(1).join('J')),
    ]);
    const cases: Array<[Uint8Array, Record<string, string>, RegExp]> = [
      [invalid, {}, /not valid utf-8/i],
      [Buffer.from(hello('x', '<?xml version="1.0" encoding="EBCDIC-CP-US"?>')), {}, /not supported/],
      [Buffer.from(hello('x')), { 'Content-Encoding': 'gzip' }, /Content-Encoding/],
    ];
    for (const [body, headers, message] of cases) {
      const r = await send(body, headers);
      const text = await r.text();
      expect(r.status, text).toBe(400);
      expect(text).toMatch(message);
      expect(text).not.toContain('\uFFFD');
    }
  });
});
