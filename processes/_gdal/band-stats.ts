/**
 * Statistics of a band's valid pixels that can be computed in parts (row blocks of a fanned-out
 * job) and merged: count, nodata, min and max (exact in any order), the sum (Neumaier's compensated
 * summation, kept as sum + compensation so that parts merge without losing it: exact whenever
 * every partial sum is an integer below 2^53, as for integer bands, else within a few units in the
 * last place) and the mean and sum of squared deviations (Welford within a part, Chan, Golub and
 * LeVeque's pairwise update across parts: the same to rounding, within 1e-12 relative).
 */
export interface BandMoments {
  count: number;
  nodata: number;
  min: number;
  max: number;
  sum: number;
  /** Neumaier's running compensation of `sum`. */
  compensation: number;
  /** The running mean of Welford's update (for m2). */
  mean: number;
  /** Sum of squared deviations from the mean. */
  m2: number;
}

export const emptyMoments = (): BandMoments => ({
  count: 0,
  nodata: 0,
  min: Infinity,
  max: -Infinity,
  sum: 0,
  compensation: 0,
  mean: 0,
  m2: 0,
});

/** Adds a block of pixels; `isNoData` says which are nodata (NaN is never valid). */
export function addPixels(m: BandMoments, values: ArrayLike<number>, isNoData: (v: number) => boolean): void {
  let { count: n, nodata, min, max, sum, compensation: c, mean, m2 } = m;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (isNoData(v) || Number.isNaN(v)) {
      nodata++;
      continue;
    }
    n++;
    // Neumaier: the low-order bits lost by sum + v go to the compensation.
    const t = sum + v;
    c += Math.abs(sum) >= Math.abs(v) ? sum - t + v : v - t + sum;
    sum = t;
    // Welford.
    const delta = v - mean;
    mean += delta / n;
    m2 += delta * (v - mean);
    if (v < min) min = v;
    if (v > max) max = v;
  }
  Object.assign(m, { count: n, nodata, min, max, sum, compensation: c, mean, m2 });
}

/** Neumaier's step: adds `v` to the compensated sum (sum, c). */
function neumaier(sum: number, c: number, v: number): [number, number] {
  const t = sum + v;
  return [t, c + (Math.abs(sum) >= Math.abs(v) ? sum - t + v : v - t + sum)];
}

/** The moments of two disjoint parts together (Chan et al. for the mean and m2). */
export function mergeMoments(a: BandMoments, b: BandMoments): BandMoments {
  if (b.count === 0) return { ...a, nodata: a.nodata + b.nodata };
  if (a.count === 0) return { ...b, nodata: a.nodata + b.nodata };
  const n = a.count + b.count;
  const delta = b.mean - a.mean;
  let [sum, compensation] = neumaier(a.sum, a.compensation, b.sum);
  [sum, compensation] = neumaier(sum, compensation, b.compensation);
  return {
    count: n,
    nodata: a.nodata + b.nodata,
    min: Math.min(a.min, b.min),
    max: Math.max(a.max, b.max),
    sum,
    compensation,
    mean: a.mean + (delta * b.count) / n,
    m2: a.m2 + b.m2 + (delta * delta * a.count * b.count) / n,
  };
}

export interface BandStats {
  band: number;
  min: number | null;
  max: number | null;
  /** Sum of the valid pixels. */
  sum: number | null;
  /** sum / count. */
  mean: number | null;
  /** Population standard deviation of the valid pixels. */
  stddev: number | null;
  /** Pixels that are not nodata. */
  count: number;
  /** Pixels equal to the band's nodata value. */
  nodata: number;
}

export function bandStats(band: number, m: BandMoments): BandStats {
  const valid = m.count > 0;
  const sum = m.sum + m.compensation;
  return {
    band,
    min: valid ? m.min : null,
    max: valid ? m.max : null,
    sum: valid ? sum : null,
    mean: valid ? sum / m.count : null,
    stddev: valid ? Math.sqrt(Math.max(0, m.m2) / m.count) : null,
    count: m.count,
    nodata: m.nodata,
  };
}
