import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OwsError } from '../../src/core/errors.ts';
import { validateInputs } from '../../src/core/validate.ts';
import { toRawExecuteRequest } from '../../src/oaproc/execute-request.ts';
import { toRawInputs } from '../../src/wps/inputs.ts';
import { parseKvpList } from '../../src/wps/kvp.ts';
import { parseKvpRequest, parseXmlRequest } from '../../src/wps/parse.ts';
import { httpStatus } from '../../src/wps/routes.ts';
import { NS } from '../../src/wps/xml.ts';
import echo from '../../processes/echo.ts';
import { doc, expectValid, get, post, startWpsServer, type Reply, type WpsServer } from '../helpers/wps.ts';
import { normalizeDescription } from '../../src/registry/registry.ts';

/**
 * For arbitrary input a request parser returns a request or throws an OwsError that is the client's
 * fault (a 4xx: not NoApplicableCode unless the request is malformed, never ServerBusy); any other
 * exception would be a 500.
 */
function expectClientErrorOrValue<T>(run: () => T): T | undefined {
  try {
    return run();
  } catch (error) {
    if (!(error instanceof OwsError)) throw error;
    expect(error.code === 'NoApplicableCode' ? error.reason : 'ok').toBe(
      error.code === 'NoApplicableCode' ? 'malformed-request' : 'ok',
    );
    const status = httpStatus(error);
    expect(status >= 400 && status < 500, `${error.code}: ${error.message}`).toBe(true);
    return undefined;
  }
}

/** The echo process: every kind of input (literal, list, binary and text complex, bounding box). */
const description = normalizeDescription(echo.description, 'echo');
const RUNS = { numRuns: 400 };

// ---- Generators ------------------------------------------------------------------------------------

const TRICKY = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf'];
const ids = fc.oneof(
  // Not `pause`: the HTTP property runs echo synchronously and must stay fast.
  fc.constantFrom(...description.inputs.map((i) => i.id).filter((id) => id !== 'pause'), ...TRICKY, ''),
  fc.string({ maxLength: 8 }),
);
const pieces = fc.oneof(
  fc.constantFrom(
    '=',
    ';',
    '@',
    '&',
    '%',
    '%3D',
    '%3B',
    '%40',
    '%25',
    '%zz',
    '+',
    ',',
    'href',
    'mimetype',
    'encoding',
    'base64',
    'uom',
    'asreference',
    'true',
  ),
  ids,
  fc.string({ maxLength: 6, unit: 'binary' }),
);
const noise = fc.array(pieces, { maxLength: 12 }).map((p) => p.join(''));
const ATTRS = [
  'mimetype',
  'encoding',
  'schema',
  'uom',
  'href',
  'xlink:href',
  'method',
  'asreference',
  ...TRICKY,
];
/** The DataInputs grammar, well-formed entries (`id=value@attr=v`) or noise. */
const listText = fc.oneof(
  noise,
  fc
    .array(
      fc.tuple(
        ids,
        fc.oneof(noise, fc.constantFrom('1', '1,2,3,4', 'a,b,c,d,EPSG:4326', 'aGk=', 'x')),
        fc.array(
          fc.tuple(
            fc.constantFrom(...ATTRS),
            fc.oneof(noise, fc.constantFrom('base64', 'text/plain', 'true', 'http://127.0.0.1:9/x')),
          ),
        ),
      ),
      { maxLength: 4 },
    )
    .map((entries) =>
      entries
        .map(
          ([id, v, attrs]) => `${encodeURIComponent(id)}=${v}${attrs.map(([k, x]) => `@${k}=${x}`).join('')}`,
        )
        .join(';'),
    ),
);
const KEYS = [
  'service',
  'request',
  'version',
  'identifier',
  'datainputs',
  'responsedocument',
  'rawdataoutput',
  'storeexecuteresponse',
  'status',
  'lineage',
  'language',
  'acceptversions',
];
const EXECUTE = 'service=WPS&request=Execute&version=1.0.0&identifier=echo';
const kvpQuery = fc.oneof(
  fc
    .tuple(listText, fc.option(listText), fc.option(listText))
    .map(([inputs, doc, raw]) =>
      [
        EXECUTE,
        `DataInputs=${inputs}`,
        ...(doc !== null ? [`ResponseDocument=${doc}`] : []),
        ...(raw !== null ? [`RawDataOutput=${raw}`] : []),
      ].join('&'),
    ),
  fc
    .array(
      fc.tuple(
        fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 5 })),
        fc.oneof(
          fc.constantFrom(
            'WPS',
            'wps',
            'Execute',
            'GetCapabilities',
            'DescribeProcess',
            '1.0.0',
            'echo',
            'true',
            'false',
          ),
          listText,
        ),
      ),
      { maxLength: 8 },
    )
    .map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join('&')),
);

const xmlName = fc.oneof(
  fc.constantFrom(
    'wps:Execute',
    'wps:DataInputs',
    'wps:Input',
    'ows:Identifier',
    'wps:Data',
    'wps:LiteralData',
    'wps:ComplexData',
    'wps:BoundingBoxData',
    'ows:LowerCorner',
    'wps:Reference',
    'wps:ResponseForm',
    'wps:ResponseDocument',
    'wps:RawDataOutput',
    'wps:Output',
    'wps:Body',
    'x:y',
    'q:undeclared',
    ...TRICKY,
  ),
  fc.stringMatching(/^[A-Za-z_][\w.-]{0,6}$/),
);
const attrName = fc.oneof(
  fc.constantFrom(
    'service',
    'version',
    'mimeType',
    'encoding',
    'asReference',
    'status',
    'storeExecuteResponse',
    'xlink:href',
    'href',
    'method',
    'uom',
    'crs',
    'xmlns:x',
    'xmlns',
    'q:a',
    ...TRICKY,
  ),
  fc.stringMatching(/^[A-Za-z_][\w.-]{0,6}$/),
);
const escape = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const textContent = fc.oneof(
  fc.constantFrom(
    'WPS',
    '1.0.0',
    'echo',
    'stringInput',
    'complexInput',
    'bboxInput',
    'base64',
    'true',
    '1 2',
    ']]>',
    '<![CDATA[a]]]]><![CDATA[>b]]>',
    '&amp;',
    '&#0;',
    '&#x1F600;',
    '&x;',
  ),
  fc.string({ maxLength: 10, unit: 'binary' }).map(escape),
);
type Tree = { name: string; attrs: Array<[string, string]>; children: Array<Tree | string> };
const { tree } = fc.letrec<{ tree: Tree; node: Tree | string }>((tie) => ({
  tree: fc.record({
    name: xmlName,
    attrs: fc.uniqueArray(fc.tuple(attrName, textContent), { maxLength: 4, selector: ([k]) => k }),
    children: fc.array(tie('node'), { maxLength: 4, depthIdentifier: 'xml' }),
  }),
  node: fc.oneof({ depthSize: 'small', depthIdentifier: 'xml' }, textContent, tie('tree')),
}));
const render = (t: Tree | string): string =>
  typeof t === 'string'
    ? t
    : `<${t.name}${t.attrs.map(([k, v]) => ` ${k}="${v}"`).join('')}>${t.children.map(render).join('')}</${t.name}>`;
const NS_DECLS = ` xmlns:wps="${NS.wps}" xmlns:ows="${NS.ows}" xmlns:xlink="${NS.xlink}" xmlns:x="urn:x"`;
const xmlInput = fc
  .tuple(
    ids,
    fc.oneof(tree, textContent),
    fc.constantFrom('LiteralData', 'ComplexData', 'BoundingBoxData', 'Reference'),
    fc.uniqueArray(fc.tuple(attrName, textContent), { maxLength: 3, selector: ([k]) => k }),
  )
  .map(([id, content, kind, attrs]) => {
    const a = attrs.map(([k, v]) => ` ${k}="${v}"`).join('');
    const body =
      kind === 'Reference'
        ? `<wps:Reference${a}/>`
        : `<wps:Data><wps:${kind}${a}>${render(content)}</wps:${kind}></wps:Data>`;
    return `<wps:Input><ows:Identifier>${escape(id)}</ows:Identifier>${body}</wps:Input>`;
  });
const xmlBody = fc.oneof(
  // An Execute of echo with arbitrary inputs.
  fc
    .array(xmlInput, { maxLength: 4 })
    .map(
      (inputs) =>
        `<wps:Execute service="WPS" version="1.0.0"${NS_DECLS}><ows:Identifier>echo</ows:Identifier><wps:DataInputs>${inputs.join('')}</wps:DataInputs></wps:Execute>`,
    ),
  // Structured: a WPS-shaped tree with the usual declarations on the root.
  tree.map((t) => render(t).replace(/^<([^\s>]+)/, `<$1${NS_DECLS}`)),
  // Raw: anything at all after a '<'.
  fc.string({ unit: 'binary', maxLength: 60 }).map((s) => `<${s}`),
);

// ---- Properties ------------------------------------------------------------------------------------

describe('request parsers, property-based: a request or a 4xx OwsError, never another exception', () => {
  it('WPS KVP: parseKvpRequest, then the inputs typed and validated against a process', () => {
    fc.assert(
      fc.property(kvpQuery, (query) => {
        const request = expectClientErrorOrValue(() => parseKvpRequest(query));
        if (request?.operation === 'Execute')
          expectClientErrorOrValue(() =>
            validateInputs(description, toRawInputs(request.inputs, description.inputs)),
          );
      }),
      RUNS,
    );
  });

  it('the DataInputs grammar: entries with an identifier, attributes with names', () => {
    fc.assert(
      fc.property(listText, (text) => {
        const entries = expectClientErrorOrValue(() => parseKvpList(text, 'DataInputs'));
        for (const e of entries ?? []) {
          expect(e.id).not.toBe('');
          expect(Object.getPrototypeOf(e.attrs)).toBeNull();
        }
      }),
      RUNS,
    );
  });

  it('WPS XML: parseXmlRequest, then the inputs typed and validated against a process', () => {
    fc.assert(
      fc.property(xmlBody, (body) => {
        const request = expectClientErrorOrValue(() => parseXmlRequest(body));
        if (request?.operation === 'Execute')
          expectClientErrorOrValue(() =>
            validateInputs(description, toRawInputs(request.inputs, description.inputs)),
          );
      }),
      RUNS,
    );
  });

  it('OGC API execute: toRawExecuteRequest on arbitrary JSON and Prefer headers, then validation', () => {
    const inputsObject = fc.dictionary(ids, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 });
    const body = fc.oneof(
      fc.jsonValue({ maxDepth: 4 }),
      fc.record(
        {
          inputs: fc.oneof(inputsObject, fc.jsonValue({ maxDepth: 2 })),
          outputs: fc.oneof(
            fc.dictionary(ids, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
            fc.jsonValue({ maxDepth: 2 }),
          ),
          response: fc.oneof(fc.constantFrom('raw', 'document'), fc.jsonValue({ maxDepth: 1 })),
          subscriber: fc.jsonValue({ maxDepth: 2 }),
        },
        { requiredKeys: [] },
      ),
      // JSON.parse makes `__proto__` an own key, as a real body would.
      fc
        .constantFrom(
          '{"inputs":{"__proto__":{"stringInput":"x"}}}',
          '{"inputs":{"stringInput":"s","constructor":1}}',
          '{"outputs":{"__proto__":{}}}',
        )
        .map((t) => JSON.parse(t) as unknown),
    );
    const prefer = fc.option(
      fc.oneof(
        fc.constantFrom('respond-async', 'wait=3', 'wait=-1', 'respond-async, wait=1'),
        fc.string({ maxLength: 12 }),
      ),
      { nil: undefined },
    );
    fc.assert(
      fc.property(body, prefer, (b, p) => {
        const translated = expectClientErrorOrValue(() => toRawExecuteRequest(b, description, p));
        if (translated)
          expectClientErrorOrValue(() => validateInputs(description, translated.request.inputs));
      }),
      RUNS,
    );
  });

  it('names that are JavaScript object keys are unknown inputs, never a 500', () => {
    for (const id of TRICKY) {
      const json = JSON.parse(`{"inputs":{"stringInput":"s","${id}":"x"}}`) as unknown;
      const e = (() => {
        try {
          validateInputs(description, toRawExecuteRequest(json, description).request.inputs);
        } catch (error) {
          return error as OwsError;
        }
        return undefined;
      })();
      expect(e).toBeInstanceOf(OwsError);
      expect([e!.code, e!.locator]).toEqual(['InvalidParameterValue', id]);
    }
  });
});

describe('over HTTP, property-based: arbitrary KVP and XML get a valid document or a 4xx ExceptionReport', () => {
  let s: WpsServer;
  beforeAll(async () => {
    s = await startWpsServer();
  });
  afterAll(() => s.close());

  const SCHEMA = {
    Capabilities: 'capabilities',
    ProcessDescriptions: 'describe',
    ExecuteResponse: 'execute',
  } as const;
  function check(reply: Reply): void {
    expect(
      reply.status === 200 || (reply.status >= 400 && reply.status < 500),
      `${reply.status}: ${reply.body}`,
    ).toBe(true);
    if (reply.status === 200 && reply.contentType !== 'text/xml') return; // a raw output
    const root = doc(reply.body);
    if (reply.status === 200) {
      const schema = SCHEMA[root.local as keyof typeof SCHEMA];
      if (schema) expectValid(reply.body, schema);
      return;
    }
    expect(reply.contentType).toBe('text/xml');
    expect(root.local).toBe('ExceptionReport');
    expectValid(reply.body, 'exception');
  }

  it('100 GET requests with arbitrary KVP and 100 POSTs with arbitrary XML', async () => {
    await fc.assert(
      fc.asyncProperty(kvpQuery, async (query) => check(await get(`${s.wps}?${query}`))),
      { numRuns: 100 },
    );
    await fc.assert(
      fc.asyncProperty(xmlBody, async (body) => check(await post(s.wps, body))),
      { numRuns: 100 },
    );
    expect((await get(`${s.wps}?service=WPS&request=GetCapabilities`)).status).toBe(200);
  }, 30_000);
});
