import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InputDescription, LiteralDataType } from '../../src/core/model.ts';
import { startWpsServer, type WpsServer } from '../helpers/wps.ts';
import { compileValueSchema, expectOfficial } from '../helpers/oaproc-schemas.ts';

/** Every bundled processor (processes/*.ts). */
const BUNDLED = readdirSync(new URL('../../processes/', import.meta.url))
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.replace(/\.ts$/, ''));

let s: WpsServer;
beforeAll(async () => {
  s = await startWpsServer({ processes: BUNDLED });
}, 60_000);
afterAll(() => s.close());

const SAMPLE: Record<LiteralDataType, unknown> = {
  string: 'text',
  integer: 3,
  double: 1.5,
  float: 1.5,
  boolean: true,
  positiveInteger: 2,
  nonNegativeInteger: 0,
  date: '2024-01-02',
  dateTime: '2024-01-02T03:04:05Z',
  time: '03:04:05',
  anyURI: 'http://example.org/x',
};
const WRONG_TYPE: Record<LiteralDataType, unknown> = {
  string: 42,
  integer: 1.5,
  double: 'abc',
  float: 'abc',
  boolean: 'yes',
  positiveInteger: 0,
  nonNegativeInteger: -1,
  date: 20240102,
  dateTime: false,
  time: 3,
  anyURI: 7,
};

/** Values chosen from the model (not from the generated schema): [valid, invalid] pairs. */
function samples(input: InputDescription): Array<{ branch?: number; valid: unknown[]; invalid: unknown[] }> {
  switch (input.kind) {
    case 'literal': {
      const valid: unknown[] = [];
      const invalid: unknown[] = [WRONG_TYPE[input.dataType]];
      const allowed = input.allowedValues;
      const range = allowed?.ranges?.[0];
      if (allowed?.values?.length) {
        valid.push(allowed.values[0]);
        if (!range) invalid.push(input.dataType === 'string' ? 'not-an-allowed-value' : 999_999);
      }
      if (range) {
        valid.push(range.minimum ?? range.maximum);
        if (range.maximum !== undefined && !allowed?.values?.length && (allowed?.ranges?.length ?? 0) === 1)
          invalid.push(range.maximum + 1);
      }
      if (!allowed) valid.push(SAMPLE[input.dataType]);
      return [{ valid, invalid }];
    }
    case 'complex':
      return input.formats.map((f, branch) => ({
        branch,
        valid: [
          /json/.test(f.mimeType)
            ? { type: 'FeatureCollection', features: [] }
            : /xml|text|wkt|csv/.test(f.mimeType)
              ? '<a/>'
              : 'AAECAw==',
        ],
        invalid: [42],
      }));
    case 'bbox':
      return [
        {
          valid: [
            { bbox: [1, 2, 3, 4] },
            { bbox: [1, 2, 3, 4], crs: 'http://www.opengis.net/def/crs/EPSG/0/4326' },
          ],
          invalid: [{ bbox: [1, 2, 3] }, { bbox: [1, 2, 3, 4], crs: 'http://example.org/crs' }, { crs: 'x' }],
        },
      ];
  }
}

describe('the description of every bundled process', () => {
  it('includes every bundled processor', () => {
    expect(s.gateway.registry.list().map((e) => e.description.id)).toEqual(expect.arrayContaining(BUNDLED));
  });

  it.for(BUNDLED)('%s validates against process.yaml and its input schemas work', async (id, ctx) => {
    const res = await fetch(`${s.base}/processes/${id}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      inputs: Record<string, { schema: { oneOf?: unknown[] } & Record<string, unknown> }>;
      outputs: Record<string, { schema: unknown }>;
    };
    const model = s.gateway.registry.get(id).description;
    expect(Object.keys(body.outputs)).toEqual(model.outputs.map((o) => o.id));
    for (const input of model.inputs) {
      const described = body.inputs[input.id]!;
      expect(described).toMatchObject({ minOccurs: input.minOccurs, maxOccurs: input.maxOccurs });
      for (const { branch, valid, invalid } of samples(input)) {
        const schema = branch === undefined ? described.schema : described.schema.oneOf![branch];
        const validate = compileValueSchema(schema);
        for (const v of valid)
          expect(validate(v), `${id}.${input.id} accepts ${JSON.stringify(v)}`).toBe(true);
        for (const v of invalid)
          expect(validate(v), `${id}.${input.id} rejects ${JSON.stringify(v)}`).toBe(false);
      }
    }
    expectOfficial(ctx, body, 'process');
  });
});
