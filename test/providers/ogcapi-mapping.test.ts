/** Values between the core and OGC API - Processes JSON: bounding boxes (axis order!), literals, complex data. */
import { describe, expect, it } from 'vitest';
import { fromRemoteBbox, isLatFirst, toRemoteBbox } from '../../src/providers/ogcapi/bbox.ts';
import { describeRemoteProcess, type RemoteProcess } from '../../src/providers/ogcapi/describe.ts';
import { executeRequestJson, outputsFromDocument } from '../../src/providers/ogcapi/mapping.ts';
import type { BoundingBox } from '../../src/core/values.ts';

const CRS84 = 'http://www.opengis.net/def/crs/OGC/1.3/CRS84';
const EPSG4326 = 'http://www.opengis.net/def/crs/EPSG/0/4326';
const EPSG3857 = 'http://www.opengis.net/def/crs/EPSG/0/3857';
const box = (crs: string, lower: number[], upper: number[]): BoundingBox => ({
  kind: 'bbox',
  crs,
  lowerCorner: lower,
  upperCorner: upper,
  dimensions: lower.length,
});

describe('bounding boxes', () => {
  it('knows which spellings are latitude first', () => {
    expect(isLatFirst('EPSG:4326')).toBe(false);
    expect(isLatFirst(CRS84)).toBe(false);
    expect(isLatFirst('urn:ogc:def:crs:OGC:1.3:CRS84')).toBe(false);
    expect(isLatFirst(EPSG4326)).toBe(true);
    expect(isLatFirst('urn:ogc:def:crs:EPSG::4326')).toBe(true);
    expect(isLatFirst('urn:ogc:def:crs:EPSG:6.6:4326')).toBe(true);
    expect(isLatFirst(EPSG3857)).toBe(false);
  });

  it('sends longitude/latitude as CRS84 when the remote lists it', () => {
    // Short EPSG:4326 is longitude first in this gateway.
    expect(toRemoteBbox(box('EPSG:4326', [5, 45], [6, 46]), [CRS84, EPSG4326])).toEqual({
      bbox: [5, 45, 6, 46],
      crs: CRS84,
    });
    // The URN spelling is latitude first: swapped into CRS84.
    expect(toRemoteBbox(box('urn:ogc:def:crs:EPSG::4326', [45, 5], [46, 6]), [CRS84, EPSG4326])).toEqual({
      bbox: [5, 45, 6, 46],
      crs: CRS84,
    });
    // A remote that names no CRS takes CRS84 (the OGC API default).
    expect(toRemoteBbox(box('EPSG:4326', [5, 45], [6, 46]), [])).toEqual({
      bbox: [5, 45, 6, 46],
      crs: CRS84,
    });
  });

  it('swaps into latitude/longitude for a remote that only takes the EPSG 4326 URI', () => {
    expect(toRemoteBbox(box('EPSG:4326', [5, 45], [6, 46]), [EPSG4326])).toEqual({
      bbox: [45, 5, 46, 6],
      crs: EPSG4326,
    });
    expect(toRemoteBbox(box('urn:ogc:def:crs:EPSG::4326', [45, 5], [46, 6]), [EPSG4326])).toEqual({
      bbox: [45, 5, 46, 6],
      crs: EPSG4326,
    });
  });

  it('leaves projected CRSs (easting first) as they are, 3D corners included', () => {
    expect(toRemoteBbox(box('EPSG:3857', [1, 2], [3, 4]), [CRS84, EPSG3857])).toEqual({
      bbox: [1, 2, 3, 4],
      crs: EPSG3857,
    });
    expect(toRemoteBbox(box('urn:ogc:def:crs:EPSG::4326', [45, 5, 0], [46, 6, 10]), [CRS84])).toEqual({
      bbox: [5, 45, 0, 6, 46, 10],
      crs: CRS84,
    });
  });

  it('reads remote boxes into x-first local spellings', () => {
    expect(fromRemoteBbox([45, 5, 46, 6], EPSG4326)).toEqual(box('EPSG:4326', [5, 45], [6, 46]));
    expect(fromRemoteBbox([5, 45, 6, 46], CRS84)).toEqual(box('EPSG:4326', [5, 45], [6, 46]));
    expect(fromRemoteBbox([5, 45, 6, 46], undefined)).toEqual(box('EPSG:4326', [5, 45], [6, 46]));
    expect(fromRemoteBbox([1, 2, 3, 4], EPSG3857)).toEqual(box('EPSG:3857', [1, 2], [3, 4]));
    expect(fromRemoteBbox([1, 2, 3, 4], 'local-grid')).toEqual(box('local-grid', [1, 2], [3, 4]));
  });
});

function process(document: unknown): RemoteProcess {
  const r = describeRemoteProcess(document);
  if (!r.ok) throw new Error(r.reason);
  return r.process;
}

const P = process({
  id: 'p',
  inputs: {
    text: { schema: { type: 'string' } },
    count: { schema: { type: 'integer' }, minOccurs: 0, maxOccurs: 5 },
    flag: { schema: { type: 'boolean' }, minOccurs: 0 },
    day: { schema: { type: 'string', format: 'date' }, minOccurs: 0 },
    length: {
      schema: { type: 'number' },
      minOccurs: 0,
      additionalParameters: { parameters: [{ name: 'uom', value: ['m', 'km'] }] },
    },
    list: { schema: { type: 'array', items: { type: 'number' } }, minOccurs: 0 },
    doc: {
      schema: {
        oneOf: [
          { type: 'object', contentMediaType: 'application/geo+json' },
          { type: 'string', contentMediaType: 'text/plain' },
        ],
      },
      minOccurs: 0,
    },
    image: {
      schema: { type: 'string', contentEncoding: 'base64', contentMediaType: 'image/png' },
      minOccurs: 0,
    },
    area: { schema: { allOf: [{ format: 'ogc-bbox' }, { $ref: 'bbox.yaml' }] }, minOccurs: 0 },
  },
  outputs: {
    n: { schema: { type: 'integer' } },
    when: { schema: { type: 'string', format: 'date-time' } },
    doc: { schema: { type: 'object', contentMediaType: 'application/geo+json' } },
    image: { schema: { type: 'string', contentEncoding: 'base64', contentMediaType: 'image/png' } },
    area: { schema: { format: 'ogc-bbox' } },
    all: { schema: { type: 'array', items: { type: 'integer' } } },
  },
});

describe('execute requests', () => {
  it('writes each value in its JSON type, arrays for several values and for array schemas', async () => {
    const body = await executeRequestJson(
      P,
      {
        text: [{ kind: 'literal', value: 'x' }],
        count: [
          { kind: 'literal', value: 1 },
          { kind: 'literal', value: 2 },
        ],
        flag: [{ kind: 'literal', value: false }],
        day: [{ kind: 'literal', value: new Date('2024-02-29T00:00:00Z') }],
        length: [{ kind: 'literal', value: 2.5, uom: 'km' }],
        list: [{ kind: 'literal', value: 7 }],
        doc: [
          {
            kind: 'complex',
            format: { mimeType: 'application/geo+json' },
            text: '{"type":"Point","coordinates":[1,2]}',
          },
        ],
        image: [
          {
            kind: 'complex',
            format: { mimeType: 'image/png' },
            bytes: new Uint8Array([0x89, 0x50, 0x4e, 0x47]),
          },
        ],
        area: [box('urn:ogc:def:crs:EPSG::4326', [45, 5], [46, 6])],
      },
      { n: {}, doc: { format: { mimeType: 'application/geo+json' } } },
    );
    expect(body).toEqual({
      inputs: {
        text: 'x',
        count: [1, 2],
        flag: false,
        day: '2024-02-29',
        length: { value: 2.5, uom: 'km' },
        list: [7],
        doc: { value: { type: 'Point', coordinates: [1, 2] }, mediaType: 'application/geo+json' },
        image: { value: 'iVBORw==', encoding: 'base64', mediaType: 'image/png' },
        area: { bbox: [5, 45, 6, 46], crs: CRS84 },
      },
      outputs: {
        n: { transmissionMode: 'value' },
        doc: { transmissionMode: 'value', format: { mediaType: 'application/geo+json' } },
      },
      response: 'document',
    });
  });

  it('sends one value of a many-valued input bare, and asks for references when told to', async () => {
    const body = await executeRequestJson(
      P,
      { count: [{ kind: 'literal', value: 3 }] },
      { image: {} },
      {
        referenceOutputs: new Set(['image']),
      },
    );
    expect(body.inputs).toEqual({ count: 3 });
    expect(body.outputs).toEqual({ image: { transmissionMode: 'reference' } });
  });
});

describe('results documents', () => {
  const all = { n: {}, when: {}, doc: {}, image: {}, area: {}, all: {} };

  it('reads bare and qualified values, base64, bounding boxes and JSON arrays', () => {
    const outputs = outputsFromDocument(
      P,
      {
        n: { value: 42 },
        when: '2024-01-02T03:04:05Z',
        doc: { value: { type: 'Point', coordinates: [1, 2] }, mediaType: 'application/geo+json' },
        image: { value: 'iVBORw==', encoding: 'base64', mediaType: 'image/png' },
        area: { bbox: [45, 5, 46, 6], crs: EPSG4326 },
        all: [1, 2, 3],
        extra: 'not asked for',
      },
      all,
    );
    expect(outputs.n).toEqual({ kind: 'literal', value: 42 });
    expect(outputs.when).toEqual({ kind: 'literal', value: new Date('2024-01-02T03:04:05Z') });
    expect(outputs.doc).toEqual({
      kind: 'complex',
      format: { mimeType: 'application/geo+json' },
      text: '{"type":"Point","coordinates":[1,2]}',
    });
    expect(outputs.image).toEqual({
      kind: 'complex',
      format: { mimeType: 'image/png' },
      bytes: new Uint8Array([0x89, 0x50, 0x4e, 0x47]),
    });
    expect(outputs.area).toEqual(box('EPSG:4326', [5, 45], [6, 46]));
    expect(outputs.all).toEqual({
      kind: 'complex',
      format: { mimeType: 'application/json' },
      text: '[1,2,3]',
    });
    expect(outputs).not.toHaveProperty('extra');
  });

  it('leaves links to the caller', () => {
    expect(
      outputsFromDocument(P, { image: { href: 'http://r/x.png', type: 'image/png' } }, { image: {} }),
    ).toEqual({
      image: { kind: 'remote-reference', href: 'http://r/x.png', type: 'image/png' },
    });
  });

  it.each([
    [{ n: 'forty-two' }, /'n' is malformed: .*integer/],
    [{ n: { nested: true } }, /'n' is malformed: a literal output is not/],
    [{ area: { bbox: [1, 2, 3] } }, /'area' is malformed: "bbox" must hold 4 or 6 numbers/],
    [{ area: { bbox: [1, 2, 3, 'x'] } }, /'area' is malformed/],
    [{ image: { value: '***', encoding: 'base64' } }, /'image' is malformed: declared base64/],
  ])('refuses a malformed result: %j', (document, message) => {
    expect(() => outputsFromDocument(P, document, all)).toThrow(message);
  });

  it('refuses what is not a results document', () => {
    expect(() => outputsFromDocument(P, [1], all)).toThrow(/no results document/);
  });
});
