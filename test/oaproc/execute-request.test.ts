import { describe, expect, it } from 'vitest';
import { OwsError } from '../../src/core/errors.ts';
import type { ProcessDescription } from '../../src/core/model.ts';
import { DEFERRED_VALUES, parsePrefer, toRawExecuteRequest } from '../../src/oaproc/execute-request.ts';
import { parseBoundedJson } from '../../src/util/bounded-json.ts';

const occurs = { minOccurs: 0, maxOccurs: 1, validation: 'SIMPLE' } as const;
const process: ProcessDescription = {
  id: 'p',
  version: '1',
  title: 'P',
  jobControlOptions: ['sync-execute', 'async-execute'],
  outputTransmission: ['value', 'reference'],
  inputs: [
    { id: 'text', kind: 'literal', title: 't', dataType: 'string', ...occurs },
    {
      id: 'n',
      kind: 'literal',
      title: 'n',
      dataType: 'double',
      ...occurs,
      uoms: { default: 'm', supported: ['m'] },
    },
    { id: 'many', kind: 'literal', title: 'm', dataType: 'string', ...occurs, maxOccurs: 'unbounded' },
    {
      id: 'doc',
      kind: 'complex',
      title: 'd',
      ...occurs,
      formats: [
        { mimeType: 'application/geo+json', schema: 'http://geojson.org/x.json' },
        { mimeType: 'text/xml' },
      ],
    },
    {
      id: 'xml',
      kind: 'complex',
      title: 'x',
      ...occurs,
      formats: [{ mimeType: 'text/xml' }, { mimeType: 'application/json' }],
    },
    {
      id: 'tiff',
      kind: 'complex',
      title: 'b',
      ...occurs,
      formats: [{ mimeType: 'image/tiff; application=geotiff' }],
    },
    { id: 'box', kind: 'bbox', title: 'b', ...occurs, crs: ['EPSG:4326', 'EPSG:3857'] },
    { id: 'box3857', kind: 'bbox', title: 'b', ...occurs, crs: ['EPSG:3857'] },
  ],
  outputs: [{ id: 'out', kind: 'literal', title: 'o', dataType: 'string' }],
};
const syncOnly: ProcessDescription = { ...process, jobControlOptions: ['sync-execute'] };

const inputsOf = (inputs: unknown) => toRawExecuteRequest({ inputs }, process).request.inputs;

function rejects(body: unknown, locator: string, detail: RegExp): void {
  let error: unknown;
  try {
    toRawExecuteRequest(body, process);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(OwsError);
  expect((error as OwsError).code).toBe('InvalidParameterValue');
  expect((error as OwsError).locator).toBe(locator);
  expect((error as OwsError).message).toMatch(detail);
}

describe('Prefer', () => {
  it('respond-async is a preference, applied when the process runs async', () => {
    expect(parsePrefer('respond-async', process)).toEqual({
      mode: 'prefer-async',
      applied: ['respond-async'],
    });
    expect(parsePrefer('respond-async', syncOnly)).toEqual({ mode: 'prefer-async', applied: [] });
  });
  it('trims, ignores case, parameters and unknown tokens; parses wait', () => {
    expect(parsePrefer(' Respond-Async ; x=1, handling=lenient, wait=10', process)).toEqual({
      mode: 'prefer-async',
      wait: 10,
      applied: ['respond-async'],
    });
    expect(parsePrefer('wait=abc, return=minimal', process)).toEqual({ mode: 'default', applied: [] });
    expect(parsePrefer(undefined, process)).toEqual({ mode: 'default', applied: [] });
  });
  it('sets the request mode', () => {
    expect(toRawExecuteRequest({}, process, 'respond-async ').request.mode).toBe('prefer-async');
    expect(toRawExecuteRequest({}, process).request.mode).toBe('default');
  });
});

describe('literal inputs', () => {
  it('plain and qualified values, with uom', () => {
    expect(inputsOf({ text: 'a', n: 2.5 })).toEqual({
      text: [{ type: 'literal', value: 'a' }],
      n: [{ type: 'literal', value: 2.5 }],
    });
    expect(inputsOf({ n: { value: 3, uom: 'm' } })).toEqual({ n: [{ type: 'literal', value: 3, uom: 'm' }] });
  });
  it('a value must have the JSON type of its schema: a string for text, a number for numbers', () => {
    rejects({ inputs: { text: true } }, 'text', /JSON string/);
    rejects({ inputs: { text: 42 } }, 'text', /JSON string/);
    rejects({ inputs: { n: '2.5' } }, 'n', /JSON number/);
    rejects({ inputs: { n: { value: '3', uom: 'm' } } }, 'n', /JSON number/);
  });
  it('arrays for maxOccurs > 1, even of one value; an array for maxOccurs 1 is a 400', () => {
    expect(inputsOf({ many: ['a', 'b'] }).many).toHaveLength(2);
    expect(inputsOf({ many: ['a'] })).toEqual({ many: [{ type: 'literal', value: 'a' }] });
    rejects({ inputs: { text: ['a', 'b'] } }, 'text', /one value/);
  });
  it('objects and null are not literals', () => {
    rejects({ inputs: { text: { a: 1 } } }, 'text', /literal value/);
    rejects({ inputs: { text: null } }, 'text', /null/);
    rejects({ inputs: { n: { value: 1, uom: 5 } } }, 'n', /uom/);
  });
});

describe('complex inputs', () => {
  it('a plain string is data in the default format', () => {
    expect(inputsOf({ xml: '<a/>' })).toEqual({ xml: [{ type: 'complex', data: '<a/>' }] });
  });
  it('a plain JSON object is JSON data in the first JSON format', () => {
    expect(inputsOf({ doc: { type: 'Point', coordinates: [1, 2] } })).toEqual({
      doc: [
        {
          type: 'complex',
          data: '{"type":"Point","coordinates":[1,2]}',
          mimeType: 'application/geo+json',
          schema: 'http://geojson.org/x.json',
        },
      ],
    });
    expect(inputsOf({ xml: { a: 1 } }).xml![0]).toMatchObject({
      data: '{"a":1}',
      mimeType: 'application/json',
    });
  });
  it('a JSON array for a JSON input of maxOccurs 1 is one value', () => {
    expect(inputsOf({ doc: [1, 2] })).toEqual({
      doc: [
        {
          type: 'complex',
          data: '[1,2]',
          mimeType: 'application/geo+json',
          schema: 'http://geojson.org/x.json',
        },
      ],
    });
    rejects({ inputs: { xml: ['<a/>'] } }, 'xml', /one value/);
  });
  it('qualified values, flat and with format', () => {
    expect(inputsOf({ doc: { value: '<a/>', mediaType: 'text/xml', schema: 'http://s.xsd' } })).toEqual({
      doc: [{ type: 'complex', data: '<a/>', mimeType: 'text/xml', schema: 'http://s.xsd' }],
    });
    expect(inputsOf({ doc: { value: { a: 1 }, format: { mediaType: 'application/geo+json' } } })).toEqual({
      doc: [{ type: 'complex', data: '{"a":1}', mimeType: 'application/geo+json' }],
    });
    // The test suite's object-input probe.
    expect(inputsOf({ doc: { value: 'teststring' } })).toEqual({
      doc: [{ type: 'complex', data: 'teststring' }],
    });
    rejects({ inputs: { doc: { value: 'x', format: 'text/xml' } } }, 'doc', /'format' must be an object/);
    rejects({ inputs: { doc: { value: 'x', mediaType: 3 } } }, 'doc', /'mediaType' must be a string/);
  });
  it('a JSON value (object, array, number) needs a JSON media type', () => {
    rejects({ inputs: { xml: { value: { a: 1 }, mediaType: 'text/xml' } } }, 'xml', /JSON media type/);
    expect(inputsOf({ xml: { value: { a: 1 }, mediaType: 'application/json' } }).xml![0]).toMatchObject({
      data: '{"a":1}',
    });
  });
  it('binary values are base64, decoded; bad base64 is a 400 naming the input', () => {
    const bytes = new Uint8Array([0, 1, 2, 255]);
    const b64 = Buffer.from(bytes).toString('base64');
    expect(inputsOf({ tiff: b64 })).toEqual({ tiff: [{ type: 'complex', data: bytes }] });
    expect(
      inputsOf({
        tiff: { value: b64, format: { mediaType: 'image/tiff; application=geotiff', encoding: 'base64' } },
      }),
    ).toEqual({
      tiff: [
        { type: 'complex', data: bytes, mimeType: 'image/tiff; application=geotiff', encoding: 'base64' },
      ],
    });
    // A text format sent base64-encoded on request.
    expect(
      inputsOf({ xml: { value: Buffer.from('<a/>').toString('base64'), encoding: 'base64' } }).xml![0],
    ).toMatchObject({
      data: new Uint8Array(Buffer.from('<a/>')),
    });
    rejects({ inputs: { tiff: 'not base64!' } }, 'tiff', /base64/);
    // A binary format the input does not take is passed on as it is: the core refuses it by name
    // (not as "bad base64", which would mislead).
    expect(inputsOf({ tiff: { value: '@@@', mediaType: 'image/png' } })).toEqual({
      tiff: [{ type: 'complex', data: '@@@', mimeType: 'image/png' }],
    });
  });
});

describe('references', () => {
  it('{href, type} and {href, format} become raw references', () => {
    expect(inputsOf({ tiff: { href: 'http://h/x.tif', type: 'image/tiff; application=geotiff' } })).toEqual({
      tiff: [{ type: 'reference', href: 'http://h/x.tif', mimeType: 'image/tiff; application=geotiff' }],
    });
    expect(
      inputsOf({ doc: { href: 'http://h/x.xml', format: { mediaType: 'text/xml', schema: 'http://s' } } }),
    ).toEqual({
      doc: [{ type: 'reference', href: 'http://h/x.xml', mimeType: 'text/xml', schema: 'http://s' }],
    });
    expect(inputsOf({ many: [{ href: 'http://h/1' }, 'b'] }).many).toEqual([
      { type: 'reference', href: 'http://h/1' },
      { type: 'literal', value: 'b' },
    ]);
    rejects({ inputs: { doc: { href: 5 } } }, 'doc', /href/);
  });
});

describe('bounding boxes', () => {
  it('CRS84 corners are longitude first and keep their CRS URI', () => {
    expect(
      inputsOf({ box: { bbox: [7, 51.9, 7.1, 52], crs: 'http://www.opengis.net/def/crs/OGC/1.3/CRS84' } }),
    ).toEqual({
      box: [
        {
          type: 'bbox',
          lowerCorner: [7, 51.9],
          upperCorner: [7.1, 52],
          crs: 'http://www.opengis.net/def/crs/OGC/1.3/CRS84',
        },
      ],
    });
  });
  it('EPSG 4326 URI corners stay latitude first: the URI spelling tells the core so', () => {
    const [box] = inputsOf({
      box: { bbox: [51.9, 7, 52, 7.1], crs: 'http://www.opengis.net/def/crs/EPSG/0/4326' },
    }).box!;
    expect(box).toEqual({
      type: 'bbox',
      lowerCorner: [51.9, 7],
      upperCorner: [52, 7.1],
      crs: 'http://www.opengis.net/def/crs/EPSG/0/4326',
    });
  });
  it('without crs: the published default (CRS84 when WGS84 is supported)', () => {
    expect(inputsOf({ box: { bbox: [0, 0, 1, 1] } }).box![0]).toMatchObject({
      crs: 'http://www.opengis.net/def/crs/OGC/1.3/CRS84',
    });
    expect(inputsOf({ box3857: { bbox: [0, 0, 1, 1] } }).box3857![0]).toMatchObject({
      crs: 'http://www.opengis.net/def/crs/EPSG/0/3857',
    });
  });
  it('3D boxes and qualified boxes', () => {
    expect(inputsOf({ box: { value: { bbox: [0, 0, 0, 1, 1, 1] } } }).box![0]).toMatchObject({
      lowerCorner: [0, 0, 0],
      upperCorner: [1, 1, 1],
    });
  });
  it('malformed boxes are 400s naming the input', () => {
    rejects({ inputs: { box: { bbox: [0, 0, 1] } } }, 'box', /4 or 6/);
    rejects({ inputs: { box: { bbox: [0, 0, 1, 'x'] } } }, 'box', /numbers/);
    rejects({ inputs: { box: [0, 0, 1, 1] } }, 'box', /one value/);
    rejects({ inputs: { box: { bbox: [0, 0, 1, 1], crs: 4326 } } }, 'box', /crs/);
    rejects({ inputs: { box: 'x' } }, 'box', /bounding box/);
  });
});

describe('unknown inputs are translated by shape, for the core to reject', () => {
  it('keeps them', () => {
    expect(inputsOf({ nope: 'a', nobox: { bbox: [0, 0, 1, 1] } })).toEqual({
      nope: [{ type: 'literal', value: 'a' }],
      nobox: [{ type: 'bbox', lowerCorner: [0, 0], upperCorner: [1, 1] }],
    });
  });
});

describe('outputs, response and subscriber', () => {
  it('outputs become output requests; {} and absent mean every output', () => {
    const { request } = toRawExecuteRequest(
      {
        outputs: {
          out: {
            format: { mediaType: 'text/plain', encoding: 'base64', schema: 'http://s' },
            transmissionMode: 'reference',
          },
        },
      },
      process,
    );
    expect(request.outputs).toEqual({
      out: { mimeType: 'text/plain', encoding: 'base64', schema: 'http://s', transmission: 'reference' },
    });
    expect(toRawExecuteRequest({ outputs: {} }, process).request.outputs).toBeUndefined();
    expect(toRawExecuteRequest({}, process).request.outputs).toBeUndefined();
    expect(toRawExecuteRequest({ outputs: { out: {} } }, process).request.outputs).toEqual({ out: {} });
  });
  it('response raw (default) or document, in the binding', () => {
    expect(toRawExecuteRequest({}, process).request.binding).toEqual({ protocol: 'oaproc', response: 'raw' });
    expect(toRawExecuteRequest({ response: 'document' }, process).request.binding.response).toBe('document');
  });
  it('subscriber URIs ride in the binding', () => {
    const subscriber = { successUri: 'http://h/ok', failedUri: 'https://h/ko' };
    expect(toRawExecuteRequest({ subscriber }, process).request.binding).toEqual({
      protocol: 'oaproc',
      response: 'raw',
      subscriber,
    });
  });
  it('structural faults are 400s naming the field', () => {
    rejects('x', 'body', /JSON object/);
    rejects([], 'body', /JSON object/);
    rejects({ inputs: [] }, 'inputs', /object/);
    rejects({ inputs: 'a' }, 'inputs', /object/);
    rejects({ outputs: [] }, 'outputs', /object/);
    rejects({ outputs: { out: 'value' } }, 'out', /object/);
    rejects({ outputs: { out: { transmissionMode: 'inline' } } }, 'out', /transmissionMode/);
    rejects({ outputs: { out: { format: 'text/plain' } } }, 'out', /format/);
    rejects({ response: 'json' }, 'response', /raw.*document/);
    rejects({ response: ['raw'] }, 'response', /raw.*document/);
    rejects({ subscriber: 'http://h' }, 'subscriber', /object/);
    rejects({ subscriber: { successUri: 'not a uri' } }, 'subscriber.successUri', /http/);
    rejects({ subscriber: { failedUri: 'ftp://h/x' } }, 'subscriber.failedUri', /http/);
    rejects({ subscriber: { inProgressUri: 5 } }, 'subscriber.inProgressUri', /http/);
  });
});

describe('large JSON values of the execute body stay text', () => {
  const big = (n: number) =>
    `{"type": "FeatureCollection",  "features": [${Array.from({ length: n }, (_, i) => `{"type":"Feature","properties":{"v":1.0,"i":${i}},"geometry":null}`).join(', ')}]}`;
  const doc = big(2000); // about 120 KB, 10,000 members
  const translate = (text: string) =>
    toRawExecuteRequest(parseBoundedJson(text, { maxMembers: 1000 }, DEFERRED_VALUES), process).request
      .inputs;

  it('as written (no tree, no re-serialization), as the value or the qualified value of a complex input', () => {
    expect(doc.length).toBeGreaterThan(64 * 1024);
    const plain = translate(`{"inputs": {"doc": ${doc}}}`);
    expect(plain.doc).toEqual([
      { type: 'complex', data: doc, mimeType: 'application/geo+json', schema: 'http://geojson.org/x.json' },
    ]);
    const qualified = translate(
      `{"inputs": {"doc": {"value": ${doc}, "mediaType": "application/geo+json"}}}`,
    );
    expect(qualified.doc).toEqual([{ type: 'complex', data: doc, mimeType: 'application/geo+json' }]);
  });

  it('a value nested where it is not kept whole is built back, with the same JSON as before', () => {
    // A Feature with a foreign member `value` is no qualified value: its `value` was kept, then built back.
    const feature = `{"type": "Feature", "value": ${doc}, "geometry": null}`;
    const inputs = translate(`{"inputs": {"doc": ${feature}}}`);
    expect(JSON.parse((inputs.doc![0] as { data: string }).data)).toEqual(JSON.parse(feature));
  });

  it('a large object for a literal or bounding box input is built, within the bounds, and refused as before', () => {
    const error = (() => {
      try {
        translate(`{"inputs": {"text": ${doc}}}`);
      } catch (e) {
        return e as OwsError;
      }
    })();
    expect(error).toBeInstanceOf(OwsError);
    expect(error!.locator).toBe('text');
    expect(error!.message).toMatch(/expected a literal value/);
  });

  it('members outside the kept values still count', () => {
    const many = `[${Array.from({ length: 2000 }, () => '"x"').join(',')}]`;
    expect(() => translate(`{"inputs": {"many": ${many}}}`)).toThrow(/more than 1000 members/);
  });
});
