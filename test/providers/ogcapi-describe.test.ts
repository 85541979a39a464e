/**
 * OGC API - Processes descriptions → the core model: real documents of this gateway (read over
 * HTTP and compared with the processes' own descriptions), the OGC specification's example, and
 * documents in the style of pygeoapi and ZOO-Project; and what is refused, with its reason.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crsKey } from '../../src/core/crs.ts';
import type { InputDescription, OutputDescription, ProcessDescription } from '../../src/core/model.ts';
import { describeRemoteProcess, type RemoteProcess } from '../../src/providers/ogcapi/describe.ts';
import { hasOgc, OGC_DIR } from '../helpers/ogc-material.ts';
import { startWpsServer, type WpsServer } from '../helpers/wps.ts';

function mapped(document: unknown): RemoteProcess {
  const result = describeRemoteProcess(document);
  if (!result.ok) throw new Error(result.reason);
  return result.process;
}

function refused(document: unknown): string {
  const result = describeRemoteProcess(document);
  expect(result.ok, 'expected the description to be refused').toBe(false);
  return result.ok ? '' : result.reason;
}

/** What a description says about values, without what OGC API cannot carry (validation modes). */
function comparable(d: InputDescription | OutputDescription) {
  const { validation: _v, ...rest } = d as InputDescription;
  const copy = structuredClone(rest) as Record<string, unknown>;
  // A default travels as JSON: typed for numbers and booleans.
  if (copy.defaultValue !== undefined && copy.kind === 'literal' && copy.dataType !== 'string')
    copy.defaultValue = JSON.parse(String(copy.defaultValue)) as unknown;
  // Several spellings of one CRS (EPSG:4326 and CRS84) are one CRS.
  if (d.kind === 'bbox') copy.crs = [...new Set(d.crs.map(crsKey))];
  // A character encoding (UTF-8) has no place in OGC API (contentEncoding is base64 or binary).
  if (d.kind === 'complex') copy.formats = d.formats.map(({ encoding: _e, ...f }) => f);
  return copy;
}

const OWN = ['hello-world', 'echo', 'sleep', 'bbox-transform', 'buffer', 'raster-clip'];

describe("this gateway's own descriptions, read back", () => {
  let s: WpsServer;
  beforeAll(async () => {
    s = await startWpsServer({ processes: OWN });
  }, 30_000);
  afterAll(() => s.close());

  it.each([...OWN, 'fail'])('%s maps back to the description it was rendered from', async (id) => {
    const res = await fetch(`${s.base}/processes/${id}`);
    expect(res.status).toBe(200);
    const process = mapped(await res.json());
    const original: ProcessDescription = s.gateway.registry.get(id).description;
    expect(process.remoteId).toBe(id);
    expect(process.description.title).toBe(original.title);
    // A summary without an abstract repeats the title as its description.
    expect(process.description.abstract).toBe(original.abstract ?? original.title);
    expect(process.description.keywords).toEqual(original.keywords);
    expect(process.description.inputs.map(comparable)).toEqual(original.inputs.map(comparable));
    expect(process.description.outputs.map(comparable)).toEqual(original.outputs.map(comparable));
    expect(process.remoteJobControl).toEqual(original.jobControlOptions);
  });

  it('keeps what execution needs: the CRS URIs of bounding boxes, in the remote order', async () => {
    const process = mapped(await (await fetch(`${s.base}/processes/bbox-transform`)).json());
    expect(process.inputs.bbox).toEqual({
      kind: 'bbox',
      array: false,
      crs: [
        'http://www.opengis.net/def/crs/OGC/1.3/CRS84',
        'http://www.opengis.net/def/crs/EPSG/0/4326',
        'http://www.opengis.net/def/crs/EPSG/0/3857',
      ],
    });
    const bbox = process.description.inputs.find((i) => i.id === 'bbox');
    expect(bbox).toMatchObject({ kind: 'bbox', crs: ['EPSG:4326', 'EPSG:3857'] });
  });
});

describe('the OGC API - Processes 1.0 example description (ProcessDescription.json)', () => {
  const file = 'ogcapi-processes-1.0/core/examples/json/ProcessDescription.json';
  it.skipIf(!hasOgc(file))('maps every input and output', () => {
    const process = mapped(JSON.parse(readFileSync(path.join(OGC_DIR, file), 'utf8')));
    const input = (id: string) => process.description.inputs.find((i) => i.id === id);
    const output = (id: string) => process.description.outputs.find((o) => o.id === id);
    expect(input('stringInput')).toMatchObject({
      kind: 'literal',
      dataType: 'string',
      allowedValues: { values: ['Value1', 'Value2', 'Value3'] },
      minOccurs: 1,
      maxOccurs: 1,
    });
    // OpenAPI 3.0 boolean exclusiveMinimum: (0, 10].
    expect(input('doubleInput')).toMatchObject({
      kind: 'literal',
      dataType: 'double',
      allowedValues: { ranges: [{ minimum: 0, maximum: 10, closure: 'open-closed' }] },
      defaultValue: 5,
    });
    expect(input('dateInput')).toMatchObject({ kind: 'literal', dataType: 'dateTime' });
    // An array of integers travels as a JSON array: occurrences 2..10.
    expect(input('arrayInput')).toMatchObject({
      kind: 'literal',
      dataType: 'integer',
      minOccurs: 2,
      maxOccurs: 10,
    });
    expect(process.inputs.arrayInput).toMatchObject({ array: true });
    // JSON objects are JSON documents.
    expect(input('complexObjectInput')).toMatchObject({
      kind: 'complex',
      formats: [{ mimeType: 'application/json' }],
    });
    expect(input('measureInput')).toMatchObject({
      kind: 'complex',
      formats: [{ mimeType: 'application/json' }],
    });
    expect(input('geometryInput')).toMatchObject({
      kind: 'complex',
      minOccurs: 2,
      maxOccurs: 5,
      formats: [
        {
          mimeType: 'application/gml+xml; version=3.2',
          schema: 'http://schemas.opengis.net/gml/3.2.1/geometryBasic2d.xsd',
        },
        {
          mimeType: 'application/geo+json',
          schema: 'http://schemas.opengis.net/ogcapi/features/part1/1.0/openapi/schemas/geometryGeoJSON.yaml',
        },
      ],
    });
    expect(input('boundingBoxInput')).toMatchObject({ kind: 'bbox', crs: ['EPSG:4326'] });
    expect(process.inputs.boundingBoxInput?.crs).toEqual(['http://www.opengis.net/def/crs/OGC/1.3/CRS84']);
    expect(input('imagesInput')).toMatchObject({
      kind: 'complex',
      minOccurs: 1,
      maxOccurs: 150,
      formats: [{ mimeType: 'application/tiff; application=geotiff' }, { mimeType: 'application/jp2' }],
    });
    expect((input('featureCollectionInput') as { formats: unknown[] }).formats).toHaveLength(3);
    // Several values in one output: one JSON document.
    expect(output('arrayOutput')).toMatchObject({
      kind: 'complex',
      formats: [{ mimeType: 'application/json' }],
    });
    expect(process.outputs.arrayOutput).toEqual({ kind: 'complex', json: true });
    expect(output('boundingBoxOutput')).toMatchObject({ kind: 'bbox' });
    expect(output('doubleOutput')).toMatchObject({ kind: 'literal', dataType: 'double' });
    expect(process.remoteJobControl).toEqual(['async-execute', 'sync-execute']);
  });
});

/**
 * In the style of pygeoapi 0.16+ (pygeoapi/process/hello_world.py PROCESS_METADATA rendered by
 * /processes/{id}): inputs keyed by id with a bare JSON schema, no minOccurs on optional inputs
 * written as `minOccurs: 0`, outputs with `contentMediaType` at the schema level. Written by hand.
 */
const PYGEOAPI_HELLO = {
  version: '0.2.0',
  id: 'hello-world',
  title: 'Hello World',
  description: 'An example process that takes a name as input, and echoes it back as output.',
  jobControlOptions: ['sync-execute', 'async-execute'],
  keywords: ['hello world', 'example', 'echo'],
  links: [
    {
      type: 'text/html',
      rel: 'about',
      title: 'information',
      href: 'https://example.org/process',
      hreflang: 'en-US',
    },
  ],
  inputs: {
    name: {
      title: 'Name',
      description: 'The name of the person or entity that you wish to be echoed back as an output',
      schema: { type: 'string' },
      minOccurs: 1,
      maxOccurs: 1,
      metadata: null,
      keywords: ['full name', 'personal'],
    },
    message: {
      title: 'Message',
      description: 'An optional message to echo as well',
      schema: { type: 'string' },
      minOccurs: 0,
      maxOccurs: 1,
      metadata: null,
      keywords: ['message'],
    },
  },
  outputs: {
    echo: {
      title: 'Hello, world',
      description: 'A "hello world" echo with the name and (optional) message submitted for processing',
      schema: { type: 'object', contentMediaType: 'application/json' },
    },
  },
  outputTransmission: ['value'],
};

/**
 * In the style of ZOO-Project 2.0 (its /ogc-api/processes/{id}): JSON Schema 2020-12 spellings
 * (numeric exclusiveMinimum), `nullable`, formats as `oneOf` with `contentEncoding`, bbox with a
 * `$ref` to the OGC bbox schema and a CRS enum, `maxOccurs` as a number. Written by hand.
 */
const ZOO_STYLE = {
  id: 'OTB.BandMath',
  title: 'Outputs a monoband image computed from an expression',
  description: 'Band math',
  version: '2.0.0',
  jobControlOptions: ['async-execute', 'dismiss'],
  outputTransmission: ['value', 'reference'],
  inputs: {
    il: {
      title: 'Input image list',
      minOccurs: 1,
      maxOccurs: 1024,
      schema: {
        oneOf: [
          { type: 'string', contentEncoding: 'base64', contentMediaType: 'image/tiff' },
          { type: 'string', contentEncoding: 'base64', contentMediaType: 'image/jpeg' },
        ],
      },
    },
    exp: { title: 'Expression', minOccurs: 1, maxOccurs: 1, schema: { type: 'string', nullable: false } },
    ram: {
      title: 'Available RAM (MB)',
      minOccurs: 0,
      maxOccurs: 1,
      schema: { type: 'integer', default: 128, exclusiveMinimum: 0, maximum: 65536, nullable: true },
    },
    extent: {
      title: 'Area of interest',
      minOccurs: 0,
      maxOccurs: 1,
      schema: {
        allOf: [
          { $ref: 'http://schemas.opengis.net/ogcapi/processes/part1/1.0/openapi/schemas/bbox.yaml' },
          {
            type: 'object',
            properties: {
              crs: {
                type: 'string',
                format: 'uri',
                enum: [
                  'http://www.opengis.net/def/crs/EPSG/0/4326',
                  'http://www.opengis.net/def/crs/EPSG/0/32631',
                ],
              },
            },
          },
        ],
      },
    },
    type: {
      title: 'Output pixel type',
      schema: { type: 'string', enum: ['uint8', 'float'], default: 'float' },
    },
  },
  outputs: {
    out: {
      title: 'Output image',
      schema: {
        oneOf: [
          { type: 'string', contentEncoding: 'base64', contentMediaType: 'image/tiff' },
          { type: 'string', contentEncoding: 'base64', contentMediaType: 'image/png' },
        ],
      },
    },
  },
};

describe('descriptions in the style of other servers', () => {
  it('pygeoapi: literals, optional inputs, a JSON output; the remote job control kept apart', () => {
    const process = mapped(PYGEOAPI_HELLO);
    expect(process.description.version).toBe('0.2.0');
    expect(process.description.inputs).toEqual([
      expect.objectContaining({
        id: 'name',
        kind: 'literal',
        dataType: 'string',
        minOccurs: 1,
        maxOccurs: 1,
        keywords: ['full name', 'personal'],
      }),
      expect.objectContaining({ id: 'message', kind: 'literal', dataType: 'string', minOccurs: 0 }),
    ]);
    expect(process.description.outputs).toEqual([
      expect.objectContaining({ id: 'echo', kind: 'complex', formats: [{ mimeType: 'application/json' }] }),
    ]);
    expect(process.outputs.echo).toEqual({ kind: 'complex', json: true });
    expect(process.remoteJobControl).toEqual(['sync-execute', 'async-execute']);
    expect(process.remoteTransmission).toEqual(['value']);
  });

  it('ZOO-Project: base64 formats, numeric exclusive bounds, bbox by $ref with EPSG URIs', () => {
    const process = mapped(ZOO_STYLE);
    const input = (id: string) => process.description.inputs.find((i) => i.id === id);
    expect(input('il')).toMatchObject({
      kind: 'complex',
      maxOccurs: 1024,
      formats: [{ mimeType: 'image/tiff' }, { mimeType: 'image/jpeg' }],
    });
    expect(input('ram')).toMatchObject({
      kind: 'literal',
      dataType: 'integer',
      defaultValue: 128,
      allowedValues: { ranges: [{ minimum: 0, maximum: 65536, closure: 'open-closed' }] },
    });
    expect(input('extent')).toMatchObject({ kind: 'bbox', crs: ['EPSG:4326', 'EPSG:32631'] });
    expect(process.inputs.extent?.crs).toEqual([
      'http://www.opengis.net/def/crs/EPSG/0/4326',
      'http://www.opengis.net/def/crs/EPSG/0/32631',
    ]);
    expect(input('type')).toMatchObject({
      allowedValues: { values: ['uint8', 'float'] },
      defaultValue: 'float',
      minOccurs: 1,
    });
    expect(process.remoteJobControl).toEqual(['async-execute', 'dismiss']);
  });
});

describe('what the model cannot express leaves the process out, with the reason', () => {
  const withInput = (schema: unknown, extra: Record<string, unknown> = {}) => ({
    id: 'p',
    inputs: { x: { schema, ...extra } },
    outputs: { y: { schema: { type: 'string' } } },
  });

  it.each([
    [
      'a literal or a document',
      { oneOf: [{ type: 'string' }, { type: 'object', contentMediaType: 'application/json' }] },
      /different kinds \(literal, complex\)/,
    ],
    ['a pattern', { type: 'string', pattern: '^[a-z]+$' }, /'pattern' has no equivalent/],
    ['a length bound', { type: 'string', maxLength: 3 }, /'maxLength' has no equivalent/],
    [
      'a schema it cannot read',
      { $ref: '#/components/schemas/Thing' },
      /refers to #\/components\/schemas\/Thing/,
    ],
    ['any value', {}, /allows any value/],
    [
      'a spacing that does not count from the minimum',
      { type: 'number', minimum: 1, multipleOf: 2 },
      /multipleOf 2/,
    ],
    ['null as a type', { type: 'null' }, /type "null"/],
  ])('%s', (_name, schema, reason) => {
    expect(refused(withInput(schema))).toMatch(reason);
  });

  it('names where the problem is', () => {
    expect(refused(withInput({ type: 'string', pattern: 'x' }))).toMatch(/^\$\.inputs\.x\.schema: /);
  });

  it('an array schema on an input of several occurrences (nested arrays)', () => {
    expect(refused(withInput({ type: 'array', items: { type: 'string' } }, { maxOccurs: 3 }))).toMatch(
      /nested arrays/,
    );
  });

  it('occurrences that are not counts, a process without outputs, a document that is not one', () => {
    expect(refused(withInput({ type: 'string' }, { minOccurs: -1 }))).toMatch(
      /minOccurs: -1 is not an occurrence count/,
    );
    expect(refused({ id: 'p', inputs: {}, outputs: {} })).toMatch(/without outputs/);
    expect(refused([1, 2])).toMatch(/not a JSON object/);
    expect(refused({ title: 'no id', outputs: {} })).toMatch(/\$\.id: missing/);
  });

  it('a default the allowed values exclude', () => {
    expect(refused(withInput({ type: 'string', enum: ['a', 'b'], default: 'c' }))).toMatch(
      /defaultValue: not among the allowed values/,
    );
  });
});
