import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { singleEncoded } from '../../src/wps/kvp.ts';
import { FIXTURES } from '../helpers/gateway.ts';
import {
  all,
  doc,
  expectException,
  expectValid,
  get,
  kids,
  one,
  startWpsServer,
  text,
  type WpsServer,
} from '../helpers/wps.ts';
import { TEXT_PLAIN, UOMS } from '../fixtures/processes/inspect.ts';

/**
 * KVP DataInputs / ResponseDocument / RawDataOutput in both encodings a client may send: "single"
 * (separators literal, each value URL-encoded once) and "double" (WPS 1.0.0 §10.2.2.1: each value
 * encoded, then the whole parameter encoded again), the latter also form-style (spaces as `+`).
 */

/** A KVP list: entries of an identifier, an optional value and attributes, each encoded with `enc`. */
type Entry = [id: string, value: string | undefined, attrs?: Array<[string, string]>];
const list = (entries: Entry[], enc: (s: string) => string) =>
  entries
    .map(
      ([id, value, attrs = []]) =>
        enc(id) +
        (value === undefined ? '' : `=${enc(value)}`) +
        attrs.map(([k, v]) => `@${k}=${enc(v)}`).join(''),
    )
    .join(';');

const formEncode = (s: string) => new URLSearchParams([['', s]]).toString().slice(1);

const FORMS = {
  single: (entries: Entry[]) => list(entries, encodeURIComponent),
  double: (entries: Entry[]) => encodeURIComponent(list(entries, encodeURIComponent)),
  'double, form-encoded': (entries: Entry[]) => formEncode(list(entries, formEncode)),
} as const;
type Form = keyof typeof FORMS;
const FORM_NAMES = Object.keys(FORMS) as Form[];

/** Every character the KVP grammar or the query string gives a meaning to, and non-ASCII text. */
const NASTY = 'a;b @c=d&e%f/g?h+i Jörg ☃ 東京';

let origin: Server;
let originUrl: string;
let s: WpsServer;

beforeAll(async () => {
  // Serves GeoJSON naming the exact request path and query, so that a test sees the href arrive intact.
  origin = createServer((req, res) => {
    res.setHeader('Content-Type', 'application/geo+json');
    res.end(JSON.stringify({ type: 'Feature', properties: { url: req.url }, geometry: null }));
  });
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  originUrl = `http://127.0.0.1:${(origin.address() as { port: number }).port}`;
  s = await startWpsServer({
    extraServer: ['  allowed_reference_hosts: [127.0.0.1]'],
    extraResources: [
      `  inspect:\n    type: process\n    processor: {name: ${path.join(FIXTURES, 'processes', 'inspect.ts')}}`,
    ],
  });
});

afterAll(async () => {
  await s?.close();
  await new Promise((resolve) => origin?.close(resolve));
});

const executeUrl = (identifier: string, params: Record<string, string>) =>
  `${s.wps}?service=WPS&version=1.0.0&request=Execute&identifier=${identifier}` +
  Object.entries(params)
    .map(([k, v]) => `&${k}=${v}`)
    .join('');

interface Report {
  text?: Array<{ value: string; uom?: string }>;
  doc?: Array<{ format: { mimeType: string; encoding?: string; schema?: string }; text: string }>;
  box?: Array<{ lower: number[]; upper: number[]; crs: string }>;
}

/** Executes `inspect` with these inputs in this form and returns what the processor received. */
async function inspect(form: Form, inputs: Entry[]): Promise<Report> {
  const reply = await get(
    executeUrl('inspect', {
      DataInputs: FORMS[form](inputs),
      RawDataOutput: FORMS[form]([['report', undefined]]),
    }),
  );
  expect(reply.status, reply.body).toBe(200);
  expect(reply.contentType).toMatch(/^application\/json/);
  return JSON.parse(reply.body) as Report;
}

describe.each(FORM_NAMES)('KVP Execute, %s encoding', (form) => {
  it('literal values and uom attributes with separators and non-ASCII text', async () => {
    const r = await inspect(form, [
      ['text', NASTY, [['uom', UOMS[2]!]]],
      ['text', '100%', [['uom', 'µm']]],
      ['text', ' spaced  out '],
    ]);
    expect(r.text).toEqual([
      { value: NASTY, uom: UOMS[2] },
      { value: '100%', uom: 'µm' },
      { value: ' spaced  out ', uom: 'm' },
    ]);
  });

  it('complex values inline: GeoJSON and XML, with mimeType / encoding / schema attributes', async () => {
    const geojson = JSON.stringify({
      type: 'Feature',
      properties: { name: NASTY },
      geometry: { type: 'Point', coordinates: [1, 2] },
    });
    const xml = `<a x="1&amp;2" y='?'>${NASTY.replace('&', '&amp;')}</a>`;
    const schema = 'http://example.org/schemas/a b.xsd?v=1&w=x;y@z';
    const r = await inspect(form, [
      ['doc', geojson, [['mimeType', 'application/geo+json']]],
      [
        'doc',
        xml,
        [
          ['mimeType', 'text/xml'],
          ['encoding', 'UTF-8'],
          ['schema', schema],
        ],
      ],
      ['doc', NASTY, [['mimeType', TEXT_PLAIN]]],
    ]);
    expect(r.doc).toEqual([
      { format: { mimeType: 'application/geo+json' }, text: geojson },
      { format: { mimeType: 'text/xml', encoding: 'UTF-8', schema }, text: xml },
      { format: { mimeType: TEXT_PLAIN }, text: NASTY },
    ]);
  });

  it('complex values base64-encoded (`+`, `/` and `=` in the data)', async () => {
    const bytes = Buffer.from(`${NASTY} ~~~>>>?`);
    const base64 = bytes.toString('base64');
    expect(base64).toMatch(/\+/);
    expect(base64).toMatch(/\//);
    expect(base64).toMatch(/=$/);
    const r = await inspect(form, [
      [
        'doc',
        base64,
        [
          ['mimeType', TEXT_PLAIN],
          ['encoding', 'base64'],
        ],
      ],
    ]);
    // The bytes decoded from base64 (the core keeps the data, not its transport encoding).
    expect(r.doc?.[0]?.text).toBe(bytes.toString());
  });

  it.each(['xlink:href', 'href'])(
    'references (@%s=) whose URL has its own escapes and separators',
    async (attr) => {
      const href = `${originUrl}/data/J%C3%B6rg%20file.json?q=a%3Bb&r=c@d=e&s=%25`;
      const r = await inspect(form, [
        [
          'doc',
          '',
          [
            [attr, href],
            ['mimeType', 'application/geo+json'],
          ],
        ],
      ]);
      expect(r.doc).toHaveLength(1);
      expect(r.doc![0]!.format.mimeType).toBe('application/geo+json');
      const fetched = JSON.parse(r.doc![0]!.text) as { properties: { url: string } };
      expect(fetched.properties.url).toBe(href.slice(originUrl.length));
    },
  );

  it('bounding boxes, with a CRS URN (`:` in it)', async () => {
    const r = await inspect(form, [['box', '1.5,-2,3e2,4,urn:ogc:def:crs:EPSG::3857']]);
    expect(r.box).toEqual([{ lower: [1.5, -2], upper: [300, 4], crs: 'urn:ogc:def:crs:EPSG::3857' }]);
  });

  it('RawDataOutput with a mimeType holding `;` and `=`', async () => {
    const reply = await get(
      executeUrl('inspect', {
        DataInputs: FORMS[form]([['text', NASTY]]),
        RawDataOutput: FORMS[form]([['report', undefined, [['mimeType', TEXT_PLAIN]]]]),
      }),
    );
    expect(reply.status, reply.body).toBe(200);
    expect(reply.contentType).toBe(TEXT_PLAIN);
    expect((JSON.parse(reply.body) as Report).text).toEqual([{ value: NASTY, uom: 'm' }]);
  });

  it('ResponseDocument: two outputs, mimeType and asReference attributes', async () => {
    const reply = await get(
      executeUrl('inspect', {
        DataInputs: FORMS[form]([['text', NASTY]]),
        ResponseDocument: FORMS[form]([
          [
            'report',
            undefined,
            [
              ['mimeType', TEXT_PLAIN],
              ['asReference', 'true'],
            ],
          ],
          ['count', undefined],
        ]),
      }),
    );
    expect(reply.status, reply.body).toBe(200);
    expectValid(reply.body, 'execute');
    const outputs = kids(one(doc(reply.body), 'ProcessOutputs'), 'Output');
    expect(outputs.map((o) => text(one(o, 'Identifier')))).toEqual(['report', 'count']);
    const ref = one(outputs[0]!, 'Reference');
    expect(ref.attrs.get('mimeType')).toBe(TEXT_PLAIN);
    const stored = await get(ref.attrs.get('href')!);
    expect((JSON.parse(stored.body) as Report).text).toEqual([{ value: NASTY, uom: 'm' }]);
    expect(text(one(outputs[1]!, 'LiteralData'))).toBe('1');
  });

  it('ResponseDocument with a single output and no attributes', async () => {
    const reply = await get(
      executeUrl('inspect', {
        DataInputs: FORMS[form]([['text', 'x']]),
        ResponseDocument: FORMS[form]([['count', undefined]]),
      }),
    );
    expect(reply.status, reply.body).toBe(200);
    const outputs = all(one(doc(reply.body), 'ProcessOutputs'), 'Output');
    expect(outputs.map((o) => text(one(o, 'Identifier')))).toEqual(['count']);
  });
});

describe('KVP encodings', () => {
  it('the example of the standard form: name=Jörg, message=a;b', async () => {
    const reply = await get(
      executeUrl('hello-world', {
        DataInputs: 'name%3DJ%25C3%25B6rg%3Bmessage%3Da%253Bb',
        RawDataOutput: 'echo',
      }),
    );
    expect([reply.status, reply.body]).toEqual([200, 'Hello Jörg! a;b']);
  });

  it('the single form keeps encoded separators as data; the double form decodes them one layer down', async () => {
    const single = await get(
      executeUrl('hello-world', { DataInputs: 'name=a%3Db;message=%40', RawDataOutput: 'echo' }),
    );
    expect(single.body).toBe('Hello a=b! @');
    const double = await get(
      executeUrl('hello-world', { DataInputs: 'name%3Da%253Db%3Bmessage%3D%2540', RawDataOutput: 'echo' }),
    );
    expect(double.body).toBe('Hello a=b! @');
  });

  it('errors name the decoded entry', async () => {
    expectException(
      await get(executeUrl('hello-world', { DataInputs: 'nom%3DJ%25C3%25B6rg' })),
      400,
      'InvalidParameterValue',
      'nom',
    );
    expectException(
      await get(
        executeUrl('hello-world', {
          DataInputs: 'name%3DK',
          RawDataOutput: 'nope%40mimeType%3Dtext%252Fplain',
        }),
      ),
      400,
      'InvalidParameterValue',
      'nope',
    );
  });

  it.each([
    ['name=J%C3%B6rg;message=a%3Bb', 'name=J%C3%B6rg;message=a%3Bb'],
    ['name%3DJ%25C3%25B6rg%3Bmessage%3Da%253Bb', 'name=J%C3%B6rg;message=a%3Bb'],
    ['echo', 'echo'],
    ['a%3Bb', 'a;b'],
    ['out%40asReference%3Dtrue', 'out@asReference=true'],
    ['out%40ASREFERENCE%3dtrue', 'out@ASREFERENCE=true'],
    ['stringInput=a%3Bb', 'stringInput=a%3Bb'],
    ['x%3Dy+z%252B', 'x=y z%2B'],
    ['name=J%25C3%25B6rg', 'name=J%25C3%25B6rg'],
    ['100%25', '100%25'],
  ])('singleEncoded(%j) = %j', (raw, expected) => {
    expect(singleEncoded(raw)).toBe(expected);
  });
});
