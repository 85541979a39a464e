import { describe, expect, it } from 'vitest';
import { OwsError } from '../../src/core/errors.ts';
import { inRange, isAllowed, normalizeDataType, parseLiteral } from '../../src/core/literal.ts';
import type { LiteralDataType } from '../../src/core/model.ts';

function rejects(raw: string | number | boolean, type: LiteralDataType) {
  try {
    parseLiteral(raw, type, 'x');
  } catch (e) {
    expect(e).toBeInstanceOf(OwsError);
    expect((e as OwsError).code).toBe('InvalidParameterValue');
    expect((e as OwsError).locator).toBe('x');
    return;
  }
  throw new Error(`'${String(raw)}' was accepted as ${type}`);
}

describe('literal data types', () => {
  it('string keeps text as is and stringifies JSON scalars', () => {
    expect(parseLiteral('  a b ', 'string', 'x')).toBe('  a b ');
    expect(parseLiteral(42, 'string', 'x')).toBe('42');
  });

  it('integer', () => {
    expect(parseLiteral('42', 'integer', 'x')).toBe(42);
    expect(parseLiteral('-7', 'integer', 'x')).toBe(-7);
    expect(parseLiteral('+3', 'integer', 'x')).toBe(3);
    expect(parseLiteral(12, 'integer', 'x')).toBe(12);
    for (const bad of ['4.2', '1e3', 'abc', '', '9007199254740993', 4.5, true]) rejects(bad, 'integer');
  });

  it('positiveInteger and nonNegativeInteger', () => {
    expect(parseLiteral('1', 'positiveInteger', 'x')).toBe(1);
    rejects('0', 'positiveInteger');
    rejects('-1', 'positiveInteger');
    expect(parseLiteral('0', 'nonNegativeInteger', 'x')).toBe(0);
    rejects('-1', 'nonNegativeInteger');
  });

  it('double and float, with XSD special values', () => {
    expect(parseLiteral('3.25', 'double', 'x')).toBe(3.25);
    expect(parseLiteral('-1.5e3', 'double', 'x')).toBe(-1500);
    expect(parseLiteral('.5', 'float', 'x')).toBe(0.5);
    expect(parseLiteral('7.', 'float', 'x')).toBe(7);
    expect(parseLiteral('INF', 'double', 'x')).toBe(Infinity);
    expect(parseLiteral('-INF', 'double', 'x')).toBe(-Infinity);
    expect(parseLiteral('NaN', 'double', 'x')).toBeNaN();
    expect(parseLiteral(2.5, 'double', 'x')).toBe(2.5);
    for (const bad of ['1,5', 'abc', '', '1.2.3', '0x10', 'Infinity', false]) rejects(bad, 'double');
  });

  it('boolean', () => {
    expect(parseLiteral('true', 'boolean', 'x')).toBe(true);
    expect(parseLiteral('1', 'boolean', 'x')).toBe(true);
    expect(parseLiteral('False', 'boolean', 'x')).toBe(false);
    expect(parseLiteral('0', 'boolean', 'x')).toBe(false);
    expect(parseLiteral(false, 'boolean', 'x')).toBe(false);
    for (const bad of ['yes', '2', '', 'truthy']) rejects(bad, 'boolean');
  });

  it('date', () => {
    expect((parseLiteral('2024-02-29', 'date', 'x') as Date).toISOString()).toBe('2024-02-29T00:00:00.000Z');
    expect((parseLiteral('2024-03-01+02:00', 'date', 'x') as Date).toISOString()).toBe(
      '2024-02-29T22:00:00.000Z',
    );
    for (const bad of ['2023-02-29', '2024-13-01', '2024-1-1', '20240101', '2024-01-01T00:00:00Z'])
      rejects(bad, 'date');
  });

  it('dateTime', () => {
    expect((parseLiteral('2024-05-06T07:08:09Z', 'dateTime', 'x') as Date).toISOString()).toBe(
      '2024-05-06T07:08:09.000Z',
    );
    expect((parseLiteral('2024-05-06T07:08:09.5-01:00', 'dateTime', 'x') as Date).toISOString()).toBe(
      '2024-05-06T08:08:09.500Z',
    );
    // No zone: taken as UTC. 24:00:00 is the end of the day.
    expect((parseLiteral('2024-05-06T10:00:00', 'dateTime', 'x') as Date).toISOString()).toBe(
      '2024-05-06T10:00:00.000Z',
    );
    expect((parseLiteral('2024-12-31T24:00:00Z', 'dateTime', 'x') as Date).toISOString()).toBe(
      '2025-01-01T00:00:00.000Z',
    );
    for (const bad of [
      '2024-05-06',
      '2024-05-06T25:00:00Z',
      '2024-05-06T10:60:00Z',
      '2024-05-06 10:00:00',
      'now',
    ])
      rejects(bad, 'dateTime');
  });

  it('time', () => {
    expect(parseLiteral('13:20:00', 'time', 'x')).toBe('13:20:00');
    expect(parseLiteral('13:20:00.25Z', 'time', 'x')).toBe('13:20:00.25Z');
    for (const bad of ['13:20', '24:01:00', '1:20:00', '13:20:00+15:00']) rejects(bad, 'time');
  });

  it('anyURI', () => {
    expect(parseLiteral('http://example.org/a?b=c', 'anyURI', 'x')).toBe('http://example.org/a?b=c');
    expect(parseLiteral('relative/path.xml', 'anyURI', 'x')).toBe('relative/path.xml');
    expect(parseLiteral('urn:ogc:def:crs:EPSG::4326', 'anyURI', 'x')).toBe('urn:ogc:def:crs:EPSG::4326');
    for (const bad of ['has space', 'http://[broken', 'tab\there']) rejects(bad, 'anyURI');
  });

  it('normalizes data type names from XSD references and OGC API schemas', () => {
    expect(normalizeDataType('xs:integer')).toBe('integer');
    expect(normalizeDataType('http://www.w3.org/TR/xmlschema-2/#double')).toBe('double');
    expect(normalizeDataType('Boolean')).toBe('boolean');
    expect(normalizeDataType('number')).toBe('double');
    expect(normalizeDataType('xs:dateTime')).toBe('dateTime');
    expect(normalizeDataType('geometry')).toBeUndefined();
  });
});

describe('ranges', () => {
  it('closure: closed, open, closed-open, open-closed', () => {
    const at = (closure: 'closed' | 'open' | 'closed-open' | 'open-closed') =>
      [0, 5, 10].map((v) => inRange(v, { minimum: 0, maximum: 10, closure }));
    expect(at('closed')).toEqual([true, true, true]);
    expect(at('open')).toEqual([false, true, false]);
    expect(at('closed-open')).toEqual([true, true, false]);
    expect(at('open-closed')).toEqual([false, true, true]);
    expect(inRange(-0.001, { minimum: 0, maximum: 10 })).toBe(false);
    expect(inRange(10.001, { minimum: 0, maximum: 10 })).toBe(false);
  });

  it('half-open ranges and NaN', () => {
    expect(inRange(1e9, { minimum: 0 })).toBe(true);
    expect(inRange(-1e9, { maximum: 0 })).toBe(true);
    expect(inRange(NaN, { minimum: 0 })).toBe(false);
  });

  it('spacing, anchored at the minimum, tolerant of floating-point error', () => {
    const r = { minimum: 1, maximum: 2, spacing: 0.1 };
    expect(inRange(1.3, r)).toBe(true);
    expect(inRange(1.7000000000000002, r)).toBe(true);
    expect(inRange(1.35, r)).toBe(false);
    expect(inRange(4, { minimum: 0, maximum: 10, spacing: 2 })).toBe(true);
    expect(inRange(5, { minimum: 0, maximum: 10, spacing: 2 })).toBe(false);
    // Without a minimum the maximum anchors the steps.
    expect(inRange(7, { maximum: 10, spacing: 3 })).toBe(true);
    expect(inRange(8, { maximum: 10, spacing: 3 })).toBe(false);
  });
});

describe('allowed values', () => {
  it('no allowed values means any value', () => {
    expect(isAllowed('anything', 'string', undefined)).toBe(true);
    expect(isAllowed(3, 'integer', {})).toBe(true);
  });

  it('a list of values, compared as typed values', () => {
    const allowed = { values: ['red', 'green'] };
    expect(isAllowed('red', 'string', allowed)).toBe(true);
    expect(isAllowed('Red', 'string', allowed)).toBe(false);
    expect(isAllowed(parseLiteral('2.0', 'double', 'x'), 'double', { values: ['2', 3] })).toBe(true);
    expect(isAllowed(parseLiteral('2024-01-01Z', 'date', 'x'), 'date', { values: ['2024-01-01'] })).toBe(
      true,
    );
  });

  it('values or ranges: a value may match either', () => {
    const allowed = { values: [-1], ranges: [{ minimum: 10, maximum: 20 }] };
    expect(isAllowed(-1, 'integer', allowed)).toBe(true);
    expect(isAllowed(15, 'integer', allowed)).toBe(true);
    expect(isAllowed(5, 'integer', allowed)).toBe(false);
  });

  it('several ranges', () => {
    const allowed = {
      ranges: [
        { minimum: 0, maximum: 1 },
        { minimum: 5, maximum: 6, closure: 'open' as const },
      ],
    };
    expect(isAllowed(0.5, 'double', allowed)).toBe(true);
    expect(isAllowed(5.5, 'double', allowed)).toBe(true);
    expect(isAllowed(5, 'double', allowed)).toBe(false);
    expect(isAllowed(3, 'double', allowed)).toBe(false);
  });
});
