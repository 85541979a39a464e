import { thrown } from '../helpers/errors.ts';
import { describe, expect, it } from 'vitest';
import { OwsError } from '../../src/core/errors.ts';
import { resolveExecutionMode, resolveOutputs } from '../../src/core/execute.ts';
import type { ProcessDescription } from '../../src/core/model.ts';
import { validateInputs } from '../../src/core/validate.ts';
import type { RawInputs } from '../../src/core/values.ts';
import { normalizeDescription } from '../../src/registry/registry.ts';

const description = normalizeDescription(
  {
    id: 'p',
    version: '1',
    title: 'P',
    inputs: [
      {
        id: 'req',
        kind: 'literal',
        title: 'Required',
        dataType: 'integer',
        allowedValues: { ranges: [{ minimum: 0, maximum: 10 }] },
      },
      {
        id: 'opt',
        kind: 'literal',
        title: 'Optional with default',
        dataType: 'double',
        minOccurs: 0,
        defaultValue: 2.5,
      },
      { id: 'many', kind: 'literal', title: 'Two to three', dataType: 'string', minOccurs: 2, maxOccurs: 3 },
      {
        id: 'any',
        kind: 'literal',
        title: 'Unbounded',
        dataType: 'boolean',
        minOccurs: 0,
        maxOccurs: 'unbounded',
      },
      {
        id: 'len',
        kind: 'literal',
        title: 'With units',
        dataType: 'double',
        minOccurs: 0,
        uoms: { default: 'm', supported: ['m', 'km'] },
      },
      {
        id: 'loose',
        kind: 'literal',
        title: 'No validation',
        dataType: 'integer',
        minOccurs: 0,
        validation: 'NONE',
      },
      {
        id: 'doc',
        kind: 'complex',
        title: 'Document',
        minOccurs: 0,
        maximumMegabytes: 0.001,
        formats: [
          { mimeType: 'application/json', encoding: 'UTF-8' },
          { mimeType: 'text/xml; subtype=gml/3.1.1' },
        ],
      },
      {
        id: 'strictdoc',
        kind: 'complex',
        title: 'Strict document',
        minOccurs: 0,
        validation: 'STRICT',
        formats: [
          { mimeType: 'application/geo+json' },
          { mimeType: 'application/gml+xml' },
          { mimeType: 'text/plain' },
        ],
      },
      { id: 'area', kind: 'bbox', title: 'Area', minOccurs: 0, crs: ['EPSG:4326'] },
    ],
    outputs: [
      {
        id: 'out',
        kind: 'literal',
        title: 'Out',
        dataType: 'double',
        uoms: { default: 'm', supported: ['m', 'km'] },
      },
      {
        id: 'file',
        kind: 'complex',
        title: 'File',
        formats: [{ mimeType: 'application/json' }, { mimeType: 'application/x-zipped-shp' }],
      },
    ],
  },
  'test',
);

const lit = (value: string | number | boolean, uom?: string) => ({
  type: 'literal' as const,
  value,
  ...(uom ? { uom } : {}),
});
const base: RawInputs = { req: [lit('5')], many: [lit('a'), lit('b')] };
const run = (extra: RawInputs, options = {}) => validateInputs(description, { ...base, ...extra }, options);

const owsError = (fn: () => unknown) => thrown(fn, OwsError);

describe('occurrences', () => {
  it('a missing required input is MissingParameterValue with the input as locator', () => {
    const e = owsError(() => validateInputs(description, { many: base.many! }));
    expect([e.code, e.locator]).toEqual(['MissingParameterValue', 'req']);
  });

  it('fewer values than minOccurs is MissingParameterValue', () => {
    const e = owsError(() => run({ many: [lit('a')] }));
    expect([e.code, e.locator]).toEqual(['MissingParameterValue', 'many']);
    expect(e.message).toMatch(/at least 2/);
  });

  it('more values than maxOccurs is InvalidParameterValue', () => {
    const e = owsError(() => run({ many: [lit('a'), lit('b'), lit('c'), lit('d')] }));
    expect([e.code, e.locator]).toEqual(['InvalidParameterValue', 'many']);
    expect(owsError(() => run({ req: [lit(1), lit(2)] })).locator).toBe('req');
  });

  it('unbounded takes any number', () => {
    const inputs = run({ any: Array.from({ length: 50 }, () => lit('true')) });
    expect(inputs.any).toHaveLength(50);
  });

  it('an unknown input is InvalidParameterValue with its id as locator', () => {
    const e = owsError(() => run({ nope: [lit(1)] }));
    expect([e.code, e.locator]).toEqual(['InvalidParameterValue', 'nope']);
  });

  it('an optional literal input that is not given gets its default value; others stay absent', () => {
    const inputs = run({});
    expect(inputs.opt).toEqual([{ kind: 'literal', value: 2.5 }]);
    expect(inputs.any).toBeUndefined();
    expect(inputs.req).toEqual([{ kind: 'literal', value: 5 }]);
  });
});

describe('literal inputs', () => {
  it('SIMPLE checks the type and the allowed values', () => {
    expect(owsError(() => run({ req: [lit('five')] })).locator).toBe('req');
    expect(owsError(() => run({ req: [lit('11')] })).message).toMatch(/not allowed.*\[0, 10\]/);
  });

  it('units of measure: the default applies, unsupported ones are rejected', () => {
    expect(run({ len: [lit('3')] }).len).toEqual([{ kind: 'literal', value: 3, uom: 'm' }]);
    expect(run({ len: [lit('3', 'km')] }).len).toEqual([{ kind: 'literal', value: 3, uom: 'km' }]);
    const e = owsError(() => run({ len: [lit('3', 'ft')] }));
    expect([e.code, e.locator]).toEqual(['InvalidParameterValue', 'len']);
  });

  it('NONE passes values it cannot type through unchecked', () => {
    expect(run({ loose: [lit('12')] }).loose).toEqual([{ kind: 'literal', value: 12 }]);
    expect(run({ loose: [lit('twelve')] }).loose).toEqual([{ kind: 'literal', value: 'twelve' }]);
  });

  it('a value of another kind is InvalidParameterValue', () => {
    const bbox = { type: 'bbox' as const, lowerCorner: [0, 0], upperCorner: [1, 1] };
    expect(owsError(() => run({ req: [bbox] })).locator).toBe('req');
    expect(owsError(() => run({ area: [lit('1,2,3,4')] })).locator).toBe('area');
  });
});

describe('complex inputs', () => {
  const doc = (data: string | Uint8Array, mimeType?: string, encoding?: string) => ({
    type: 'complex' as const,
    data,
    ...(mimeType ? { mimeType } : {}),
    ...(encoding ? { encoding } : {}),
  });

  it('SIMPLE: the format must be supported; none given means the default format', () => {
    expect(run({ doc: [doc('{}')] }).doc?.[0]).toMatchObject({
      format: { mimeType: 'application/json' },
      text: '{}',
    });
    expect(run({ doc: [doc('<a/>', 'Text/XML;subtype=gml/3.1.1')] }).doc?.[0]).toMatchObject({
      format: { mimeType: 'Text/XML;subtype=gml/3.1.1' },
    });
    const e = owsError(() => run({ doc: [doc('x', 'image/png')] }));
    expect([e.code, e.locator]).toEqual(['InvalidParameterValue', 'doc']);
    expect(e.message).toMatch(/image\/png.*not supported/);
  });

  it('SIMPLE: the encoding must fit; base64 is always a valid transport encoding', () => {
    expect(
      run({ doc: [doc(new Uint8Array([123, 125]), 'application/json', 'base64')] }).doc?.[0],
    ).toMatchObject({
      bytes: new Uint8Array([123, 125]),
    });
    expect(owsError(() => run({ doc: [doc('{}', 'application/json', 'UTF-16')] })).locator).toBe('doc');
  });

  it('SIMPLE does not look at the content', () => {
    expect(run({ doc: [doc('not json', 'application/json')] }).doc?.[0]).toMatchObject({ text: 'not json' });
  });

  it('STRICT: JSON must parse, XML must be well-formed, text passes', () => {
    expect(run({ strictdoc: [doc('{"type":"FeatureCollection","features":[]}')] }).strictdoc).toHaveLength(1);
    const badJson = owsError(() => run({ strictdoc: [doc('{"type":', 'application/geo+json')] }));
    expect([badJson.code, badJson.locator]).toEqual(['InvalidParameterValue', 'strictdoc']);
    expect(badJson.message).toMatch(/not valid JSON/);
    expect(
      run({ strictdoc: [doc('<gml:Point xmlns:gml="http://www.opengis.net/gml"/>', 'application/gml+xml')] })
        .strictdoc,
    ).toHaveLength(1);
    const badXml = owsError(() => run({ strictdoc: [doc('<a><b></a>', 'application/gml+xml')] }));
    expect(badXml.message).toMatch(/not well-formed XML/);
    expect(run({ strictdoc: [doc('anything at all', 'text/plain')] }).strictdoc).toHaveLength(1);
  });

  it('size limits give FileSizeExceeded with the input as locator, whatever the mode', () => {
    const big = 'x'.repeat(2000);
    const e = owsError(() => run({ doc: [doc(big)] }));
    expect([e.code, e.locator]).toEqual(['FileSizeExceeded', 'doc']);
    const e2 = owsError(() => run({ strictdoc: [doc(`"${big}"`)] }, { maxSingleInputSize: 1000 }));
    expect([e2.code, e2.locator]).toEqual(['FileSizeExceeded', 'strictdoc']);
  });

  it('a bare literal for a complex input is data in the default format', () => {
    expect(run({ doc: [lit('{"a":1}')] }).doc?.[0]).toMatchObject({
      format: { mimeType: 'application/json' },
      text: '{"a":1}',
    });
  });
});

describe('validation modes for GeoJSON (one passing and one failing case each)', () => {
  const geo = (validation: string) =>
    normalizeDescription(
      {
        id: 'g',
        version: '1',
        title: 'G',
        inputs: [
          {
            id: 'data',
            kind: 'complex',
            title: 'Data',
            validation,
            formats: [{ mimeType: 'application/geo+json' }],
          },
        ],
        outputs: [{ id: 'o', kind: 'literal', title: 'O', dataType: 'string' }],
      },
      'test',
    );
  const input = (data: string) => ({
    data: [{ type: 'complex' as const, data, mimeType: 'application/geo+json' }],
  });
  const valid = JSON.stringify({
    type: 'FeatureCollection',
    features: [
      {
        type: 'Feature',
        properties: { a: 1 },
        geometry: {
          type: 'Polygon',
          coordinates: [
            [
              [0, 0],
              [1, 0],
              [1, 1],
              [0, 0],
            ],
          ],
        },
      },
    ],
  });
  const badGeoJson = JSON.stringify({
    type: 'Feature',
    properties: {},
    geometry: {
      type: 'Polygon',
      coordinates: [
        [
          [0, 0],
          [1, 0],
          [0, 0],
        ],
      ],
    },
  });

  it('NONE and SIMPLE do not look at the content', () => {
    for (const mode of ['NONE', 'SIMPLE'])
      expect(validateInputs(geo(mode), input('not json at all')).data).toHaveLength(1);
  });

  it('STRICT: the content must parse as JSON, but any JSON passes', () => {
    expect(validateInputs(geo('STRICT'), input(badGeoJson)).data).toHaveLength(1);
    expect(owsError(() => validateInputs(geo('STRICT'), input('{"type":'))).locator).toBe('data');
  });

  it('VERYSTRICT: the content must also be valid GeoJSON (RFC 7946 schema shipped in schemas/)', () => {
    expect(validateInputs(geo('VERYSTRICT'), input(valid)).data).toHaveLength(1);
    const e = owsError(() => validateInputs(geo('VERYSTRICT'), input(badGeoJson)));
    expect([e.code, e.locator]).toEqual(['InvalidParameterValue', 'data']);
    expect(e.message).toMatch(/not valid GeoJSON/);
    expect(
      owsError(() => validateInputs(geo('VERYSTRICT'), input('{"type":"Feature","geometry":null}'))).message,
    ).toMatch(/not valid GeoJSON/);
    expect(owsError(() => validateInputs(geo('VERYSTRICT'), input('{"type":'))).message).toMatch(
      /not valid JSON/,
    );
  });
});

describe('execution mode', () => {
  const withModes = (jobControlOptions: ProcessDescription['jobControlOptions']) => ({
    ...description,
    jobControlOptions,
  });

  it('default: sync when allowed, else async', () => {
    expect(resolveExecutionMode(withModes(['sync-execute', 'async-execute']), 'default')).toBe('sync');
    expect(resolveExecutionMode(withModes(['async-execute']), 'default')).toBe('async');
  });

  it('prefer-async: async when allowed, else sync', () => {
    expect(resolveExecutionMode(withModes(['sync-execute', 'async-execute']), 'prefer-async')).toBe('async');
    expect(resolveExecutionMode(withModes(['sync-execute']), 'prefer-async')).toBe('sync');
  });

  it('an explicit mode the process does not allow is refused', () => {
    const async = owsError(() => resolveExecutionMode(withModes(['sync-execute']), 'async'));
    expect([async.code, async.reason]).toEqual(['StorageNotSupported', 'execution-mode-not-allowed']);
    const sync = owsError(() => resolveExecutionMode(withModes(['async-execute']), 'sync'));
    expect(sync.code).toBe('OperationNotSupported');
  });
});

describe('requested outputs', () => {
  it('none requested means every output in its default format', () => {
    expect(resolveOutputs(description, undefined)).toEqual({
      out: {},
      file: { format: { mimeType: 'application/json' } },
    });
  });

  it('a format among the supported ones is chosen; others are refused', () => {
    expect(resolveOutputs(description, { file: { mimeType: 'application/x-zipped-shp' } })).toEqual({
      file: { format: { mimeType: 'application/x-zipped-shp' } },
    });
    expect(owsError(() => resolveOutputs(description, { file: { mimeType: 'image/png' } })).locator).toBe(
      'file',
    );
  });

  it('unknown outputs and unsupported units are InvalidParameterValue', () => {
    expect(owsError(() => resolveOutputs(description, { nope: {} })).locator).toBe('nope');
    expect(resolveOutputs(description, { out: { uom: 'km' } })).toEqual({ out: { uom: 'km' } });
    expect(owsError(() => resolveOutputs(description, { out: { uom: 'ft' } })).code).toBe(
      'InvalidParameterValue',
    );
  });

  it('a transmission mode the process does not offer is StorageNotSupported', () => {
    const valueOnly = { ...description, outputTransmission: ['value' as const] };
    const e = owsError(() => resolveOutputs(valueOnly, { file: { transmission: 'reference' } }));
    expect([e.code, e.locator]).toEqual(['StorageNotSupported', 'file']);
  });
});
