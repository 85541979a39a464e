/**
 * The OpenAPI definition built for every bundled processor and for a description using every
 * feature of the process model: valid OpenAPI 3.0 (the official schema), the 3.0 schema dialect, and
 * execute request schemas that accept and refuse what the description says.
 */
import { describe, expect, it } from 'vitest';
import type { OpenAPIV3 } from 'openapi-types';
import type { ProcessDescription } from '../../src/core/model.ts';
import { openApiDocument } from '../../src/oaproc/openapi.ts';
import { loadRegistry } from '../../src/registry/registry.ts';
import { FIXTURES } from '../helpers/gateway.ts';
import { openApi30Errors, schemaCompiler } from '../helpers/openapi.ts';

const CRS84 = 'http://www.opengis.net/def/crs/OGC/1.3/CRS84';

/** Open ranges, units, unbounded inputs, 3-D boxes, binary formats with a schema, an awkward id. */
const EVERYTHING: ProcessDescription = {
  id: 'odd id/with:chars',
  version: '1.0.0',
  title: 'Everything',
  abstract: 'Every feature of the model',
  jobControlOptions: ['sync-execute'],
  outputTransmission: ['value'],
  inputs: [
    {
      id: 'ratio',
      title: 'Ratio',
      kind: 'literal',
      dataType: 'double',
      minOccurs: 1,
      maxOccurs: 1,
      validation: 'NONE',
      allowedValues: { ranges: [{ minimum: 0, maximum: 1, closure: 'open-closed' }] },
      uoms: { default: 'm', supported: ['m', 'ft'] },
    },
    {
      id: 'mode',
      title: 'Mode',
      kind: 'literal',
      dataType: 'string',
      minOccurs: 0,
      maxOccurs: 1,
      validation: 'NONE',
      allowedValues: { values: ['fast', 'exact'] },
      defaultValue: 'fast',
    },
    {
      id: 'layers',
      title: 'Layers',
      kind: 'complex',
      minOccurs: 2,
      maxOccurs: 'unbounded',
      validation: 'NONE',
      formats: [
        { mimeType: 'application/geo+json' },
        { mimeType: 'image/tiff; application=geotiff' },
        { mimeType: 'text/xml', schema: 'http://example.org/a.xsd' },
      ],
    },
    {
      id: 'box',
      title: 'Box',
      kind: 'bbox',
      minOccurs: 0,
      maxOccurs: 3,
      validation: 'NONE',
      crs: [CRS84, 'http://www.opengis.net/def/crs/EPSG/0/4979'],
      dimensions: 3,
    },
  ],
  outputs: [
    { id: 'n', title: 'N', kind: 'literal', dataType: 'integer' },
    { id: 'image', title: 'Image', kind: 'complex', formats: [{ mimeType: 'image/png' }] },
  ],
};
/** Its id made a component name collides with this one's. */
const COLLIDING: ProcessDescription = {
  ...EVERYTHING,
  id: 'odd_id_with_chars',
  jobControlOptions: ['async-execute'],
};

const build = (processes: ProcessDescription[]) =>
  openApiDocument({
    base: 'https://example.org/ogc',
    title: 'T',
    version: '1.2.3',
    processes,
    maxProcessLimit: 10_000,
    defaultProcessLimit: 10,
  });

/** Every key used anywhere in the value. */
function keys(value: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const v of value) keys(v, into);
  else if (typeof value === 'object' && value !== null)
    for (const [k, v] of Object.entries(value)) {
      into.add(k);
      keys(v, into);
    }
  return into;
}

describe('the OpenAPI definition', () => {
  it('for every bundled processor, and for every feature of the model, is valid OpenAPI 3.0', async () => {
    const registry = await loadRegistry({ baseDir: FIXTURES, syncEnabled: true, asyncEnabled: true });
    const bundled = registry.list().map((e) => e.description);
    expect(bundled.length).toBeGreaterThan(5);
    const document = build([...bundled, EVERYTHING, COLLIDING]);
    expect(openApi30Errors(document)).toEqual([]);
    for (const keyword of ['const', 'contentMediaType', 'contentEncoding', 'contentSchema', '$schema'])
      expect(keys(document).has(keyword), keyword).toBe(false);
    for (const d of bundled)
      expect(document.paths, d.id).toHaveProperty([`/processes/${encodeURIComponent(d.id)}/execution`]);
  });

  it('gives colliding ids distinct components and operationIds, and 201 only to processes that may run async', () => {
    const document = build([EVERYTHING, COLLIDING]);
    const a = document.paths['/processes/odd%20id%2Fwith%3Achars/execution']!.post!;
    const b = document.paths['/processes/odd_id_with_chars/execution']!.post!;
    const ref = (op: OpenAPIV3.OperationObject) =>
      (
        (op.requestBody as OpenAPIV3.RequestBodyObject).content['application/json']!.schema as {
          $ref: string;
        }
      ).$ref;
    expect(ref(a)).not.toBe(ref(b));
    expect(a.operationId).not.toBe(b.operationId);
    expect(a.responses).not.toHaveProperty('201');
    expect(b.responses).toHaveProperty('201');
    const ok = a.responses['200'] as OpenAPIV3.ResponseObject;
    expect(Object.keys(ok.content!).sort()).toEqual(
      ['application/json', 'image/png', 'multipart/related', 'text/plain'].sort(),
    );
  });

  it('an execute request schema accepts what the description allows and refuses the rest', () => {
    const document = build([EVERYTHING]);
    const compile = schemaCompiler(document);
    const schema = (
      document.paths['/processes/odd%20id%2Fwith%3Achars/execution']!.post!
        .requestBody as OpenAPIV3.RequestBodyObject
    ).content['application/json']!.schema;
    const validate = compile(schema);
    const layers = [{ type: 'FeatureCollection', features: [] }, { href: 'http://example.org/a.tif' }];
    const box = { bbox: [0, 0, 0, 1, 1, 1], crs: CRS84 };
    const good = [
      { inputs: { ratio: 1, layers } },
      { inputs: { ratio: { value: 0.5, uom: 'ft' }, layers, mode: 'exact', box } },
      { inputs: { ratio: 0.1, layers, box: [box, { value: box }] }, response: 'document' },
      {
        inputs: {
          ratio: 0.1,
          layers: ['<a/>', { value: 'AAAA', mediaType: 'image/tiff; application=geotiff' }],
        },
      },
      { inputs: { ratio: 0.1, layers }, outputs: { image: { format: { mediaType: 'image/png' } } } },
    ];
    for (const body of good) expect(validate(body), JSON.stringify(validate.errors)).toBe(true);
    const bad = [
      { inputs: { layers } }, // ratio is required
      { inputs: { ratio: 0, layers } }, // the range is open at 0
      { inputs: { ratio: 1.5, layers } },
      { inputs: { ratio: { value: 0.5, uom: 'km' }, layers } },
      { inputs: { ratio: 0.5, layers: [layers[0]] } }, // at least two
      { inputs: { ratio: 0.5, layers, mode: 'slow' } },
      { inputs: { ratio: 0.5, layers, box: { bbox: [0, 0, 1, 1] } } }, // 3-D
      { inputs: { ratio: 0.5, layers, box: { ...box, crs: 'http://example.org/crs' } } },
      { inputs: { ratio: 0.5, layers, box: [box, box, box, box] } },
      { inputs: { ratio: 0.5, layers, other: 1 } },
      { inputs: { ratio: 0.5, layers }, outputs: { image: { format: { mediaType: 'image/gif' } } } },
      { inputs: { ratio: 0.5, layers }, outputs: { image: { transmissionMode: 'reference' } } },
      { inputs: { ratio: 0.5, layers }, subscriber: { inProgressUri: 'http://example.org/' } },
    ];
    for (const body of bad) expect(validate(body), JSON.stringify(body)).toBe(false);
  });
});
