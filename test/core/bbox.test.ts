import { describe, expect, it } from 'vitest';
import { validateBoundingBox } from '../../src/core/bbox.ts';
import { crsKey, matchCrs, parseCrs } from '../../src/core/crs.ts';
import { OwsError } from '../../src/core/errors.ts';
import type { BoundingBoxDomain } from '../../src/core/model.ts';
import type { RawBoundingBox } from '../../src/core/values.ts';

const domain: BoundingBoxDomain = { kind: 'bbox', crs: ['EPSG:4326', 'EPSG:3857'] };
const box = (over: Partial<RawBoundingBox> = {}): RawBoundingBox => ({
  type: 'bbox',
  lowerCorner: [0, 1],
  upperCorner: [2, 3],
  crs: 'EPSG:4326',
  ...over,
});

function invalid(raw: RawBoundingBox, d: BoundingBoxDomain = domain): string {
  try {
    validateBoundingBox(raw, d, 'SIMPLE', 'area');
  } catch (e) {
    expect((e as OwsError).code).toBe('InvalidParameterValue');
    expect((e as OwsError).locator).toBe('area');
    return (e as OwsError).message;
  }
  throw new Error('accepted');
}

describe('bounding boxes', () => {
  it('accepts numeric corners as arrays or "x y" strings', () => {
    expect(validateBoundingBox(box(), domain, 'SIMPLE', 'area')).toEqual({
      kind: 'bbox',
      lowerCorner: [0, 1],
      upperCorner: [2, 3],
      crs: 'EPSG:4326',
      dimensions: 2,
    });
    const fromText = validateBoundingBox(
      box({ lowerCorner: '-1.5 2', upperCorner: ' 3e1  4 ' }),
      domain,
      'SIMPLE',
      'a',
    );
    expect(fromText.lowerCorner).toEqual([-1.5, 2]);
    expect(fromText.upperCorner).toEqual([30, 4]);
  });

  it('takes the default CRS when none is given (QGIS sends none)', () => {
    expect(validateBoundingBox(box({ crs: undefined }), domain, 'SIMPLE', 'a').crs).toBe('EPSG:4326');
    expect(validateBoundingBox(box({ crs: '  ' }), domain, 'SIMPLE', 'a').crs).toBe('EPSG:4326');
  });

  it('accepts other spellings of a supported CRS and keeps the spelling given', () => {
    for (const crs of [
      'urn:ogc:def:crs:EPSG::4326',
      'http://www.opengis.net/def/crs/EPSG/0/3857',
      'epsg:4326',
    ]) {
      expect(validateBoundingBox(box({ crs }), domain, 'SIMPLE', 'a').crs).toBe(crs);
    }
  });

  it('rejects an unsupported CRS', () => {
    expect(invalid(box({ crs: 'EPSG:32633' }))).toMatch(/CRS 'EPSG:32633' is not supported/);
  });

  it('rejects non-numeric corners', () => {
    expect(invalid(box({ lowerCorner: ['a', 1] }))).toMatch(/numbers/);
    expect(invalid(box({ upperCorner: '' }))).toMatch(/numbers|dimension/);
  });

  it('rejects lower > upper on any axis', () => {
    expect(invalid(box({ lowerCorner: [3, 1] }))).toMatch(/axis 1/);
    expect(invalid(box({ lowerCorner: [0, 4] }))).toMatch(/axis 2/);
  });

  it('checks dimensions: corner lengths, the declared dimensions, the domain', () => {
    expect(invalid(box({ upperCorner: [2, 3, 4] }))).toMatch(/differ in dimension/);
    expect(invalid(box({ dimensions: 3 }))).toMatch(/dimensions=3/);
    expect(invalid(box({ lowerCorner: [0], upperCorner: [1] }))).toMatch(/expected 2 dimensions/);
    const three = validateBoundingBox(
      box({ lowerCorner: [0, 0, 0], upperCorner: [1, 1, 1], dimensions: '3' }),
      domain,
      'SIMPLE',
      'a',
    );
    expect(three.dimensions).toBe(3);
    expect(
      invalid(box({ lowerCorner: [0, 0, 0], upperCorner: [1, 1, 1] }), { ...domain, dimensions: 2 }),
    ).toMatch(/expected 2/);
    expect(invalid(box(), { ...domain, dimensions: 3 })).toMatch(/expected 3/);
  });

  it('NONE converts but checks nothing', () => {
    const v = validateBoundingBox(box({ lowerCorner: [5, 5], crs: 'EPSG:1' }), domain, 'NONE', 'a');
    expect(v.lowerCorner).toEqual([5, 5]);
    expect(v.crs).toBe('EPSG:1');
  });
});

describe('CRS identifiers', () => {
  it('parses the spellings clients use, with their axis-order convention', () => {
    expect(parseCrs('EPSG:4326')).toEqual({ authority: 'EPSG', code: '4326', axisOrder: 'xy' });
    expect(parseCrs('urn:ogc:def:crs:EPSG::4326')).toEqual({
      authority: 'EPSG',
      code: '4326',
      axisOrder: 'authority',
    });
    expect(parseCrs('urn:ogc:def:crs:EPSG:6.6:4326')?.axisOrder).toBe('authority');
    expect(parseCrs('http://www.opengis.net/def/crs/EPSG/0/4326')?.axisOrder).toBe('authority');
    expect(parseCrs('http://www.opengis.net/def/crs/OGC/1.3/CRS84')).toEqual({
      authority: 'OGC',
      code: 'CRS84',
      axisOrder: 'xy',
    });
    expect(parseCrs('not a crs')).toBeUndefined();
  });

  it('matches equivalent spellings', () => {
    expect(crsKey('urn:ogc:def:crs:EPSG::3857')).toBe('EPSG:3857');
    expect(matchCrs('http://www.opengis.net/def/crs/EPSG/0/4326', ['EPSG:4326'])).toBe('EPSG:4326');
    expect(matchCrs('EPSG:4258', ['EPSG:4326'])).toBeUndefined();
  });
});
