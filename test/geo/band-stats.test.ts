/**
 * Band moments merged from parts (processes/_gdal/band-stats.ts), against one pass over all pixels
 * and against the definitions: count, nodata, min, max identical; integer sums identical; mean and
 * stddev within 1e-12 relative, for any cut, empty parts (as JSON carries them) included.
 */
import { describe, expect, it } from 'vitest';
import {
  addPixels,
  bandStats,
  emptyMoments,
  mergeMoments,
  type BandMoments,
} from '../../processes/_gdal/band-stats.ts';

const NODATA = -9999;
const isNoData = (v: number) => v === NODATA;
const relative = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b));

/** A deterministic pseudo-random sequence (no Math.random: reproducible failures). */
function values(n: number, value: (i: number) => number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = i % 101 === 0 ? NODATA : value(i);
  return out;
}

/** The moments of `data` cut at `cuts`, each part as it crosses a task boundary (JSON). */
function inParts(data: Float64Array, cuts: number[]): BandMoments {
  const bounds = [0, ...cuts, data.length];
  const parts = bounds.slice(1).map((end, i) => {
    const m = emptyMoments();
    addPixels(m, data.subarray(bounds[i]!, end), isNoData);
    return JSON.parse(JSON.stringify(m)) as BandMoments;
  });
  return parts.reduce((a, b) => mergeMoments(a, b));
}

describe('band moments merged from parts', () => {
  it.for([
    { name: 'integers', exact: true, value: (i: number) => ((i * 7919) % 20001) - 10000 },
    { name: 'floats near 1e6', exact: false, value: (i: number) => 1e6 + Math.sin(i * 0.37) * 3.25 },
    { name: 'floats of mixed magnitude', exact: false, value: (i: number) => Math.sin(i) * 10 ** (i % 9) },
  ])('$name: any cut gives the one-pass statistics', ({ exact, value }) => {
    const data = values(200_000, value);
    const whole = emptyMoments();
    addPixels(whole, data, isNoData);
    const one = bandStats(1, whole);
    const valid = [...data].filter((v) => v !== NODATA);
    const mean = valid.reduce((a, b) => a + b, 0) / valid.length;
    const stddev = Math.sqrt(valid.reduce((a, v) => a + (v - mean) ** 2, 0) / valid.length);
    expect(one.count).toBe(valid.length);
    expect(relative(one.mean!, mean)).toBeLessThanOrEqual(1e-12);
    expect(relative(one.stddev!, stddev)).toBeLessThanOrEqual(1e-12);
    for (const cuts of [[100_000], [1, 2, 3], [0, 0, 50_000, 199_999, 200_000], [31_337, 77_777, 150_001]]) {
      const merged = bandStats(1, inParts(data, cuts));
      for (const key of ['count', 'nodata', 'min', 'max'] as const) expect(merged[key], key).toBe(one[key]);
      if (exact) {
        expect(merged.sum).toBe(one.sum);
        expect(merged.mean).toBe(one.mean);
      } else {
        expect(relative(merged.sum!, one.sum!)).toBeLessThanOrEqual(1e-12);
        expect(relative(merged.mean!, one.mean!)).toBeLessThanOrEqual(1e-12);
      }
      expect(relative(merged.stddev!, one.stddev!)).toBeLessThanOrEqual(1e-12);
    }
  });

  it('only nodata: nulls, counts exact', () => {
    const data = new Float64Array(10).fill(NODATA);
    const merged = bandStats(1, inParts(data, [3, 7]));
    expect(merged).toEqual({
      band: 1,
      min: null,
      max: null,
      sum: null,
      mean: null,
      stddev: null,
      count: 0,
      nodata: 10,
    });
  });
});
