/**
 * A JSON Schema of RFC 7946 GeoJSON FeatureCollections, after the geojson.org schemas (positions of
 * 2 or 3 numbers, line strings of 2 positions or more, closed rings of 4 or more, GeometryCollection
 * members as geometries), with two allowances of the RFC: a top-level empty geometry (§3.1: empty
 * coordinates) and the `crs` and `name` members GDAL writes (foreign members, §6.1).
 */
import { Ajv, type ValidateFunction } from 'ajv';
import { expect } from 'vitest';

const position = { type: 'array', minItems: 2, maxItems: 3, items: { type: 'number' } };
const line = { type: 'array', minItems: 2, items: position };
const ring = { type: 'array', minItems: 4, items: position };
const polygon = { type: 'array', items: ring };
const empty = { type: 'array', maxItems: 0 };

const geometry = (type: string, coordinates: object) => ({
  type: 'object',
  required: ['type', 'coordinates'],
  properties: { type: { const: type }, coordinates, bbox: { type: 'array' } },
});

const SCHEMA = {
  $id: 'rfc7946-feature-collection',
  definitions: {
    geometry: {
      oneOf: [
        geometry('Point', position),
        geometry('LineString', { anyOf: [line, empty] }),
        geometry('Polygon', polygon),
        geometry('MultiPoint', { type: 'array', items: position }),
        geometry('MultiLineString', { type: 'array', items: line }),
        geometry('MultiPolygon', { type: 'array', items: polygon }),
        {
          type: 'object',
          required: ['type', 'geometries'],
          properties: {
            type: { const: 'GeometryCollection' },
            geometries: { type: 'array', items: { $ref: '#/definitions/geometry' } },
          },
        },
      ],
    },
    feature: {
      type: 'object',
      required: ['type', 'properties', 'geometry'],
      properties: {
        type: { const: 'Feature' },
        id: { type: ['string', 'number'] },
        properties: { type: ['object', 'null'] },
        geometry: { oneOf: [{ type: 'null' }, { $ref: '#/definitions/geometry' }] },
      },
    },
  },
  type: 'object',
  required: ['type', 'features'],
  properties: {
    type: { const: 'FeatureCollection' },
    features: { type: 'array', items: { $ref: '#/definitions/feature' } },
  },
};

let validate: ValidateFunction | undefined;

/** Parses `text` as JSON and checks it is a GeoJSON FeatureCollection; returns it. */
export function expectGeoJson(
  text: string,
): { features: Array<Record<string, unknown>> } & Record<string, unknown> {
  const doc = JSON.parse(text) as { features: Array<Record<string, unknown>> };
  validate ??= new Ajv({ allErrors: true, strict: false }).compile(SCHEMA);
  expect(validate(doc), JSON.stringify(validate.errors?.slice(0, 5))).toBe(true);
  return doc;
}
