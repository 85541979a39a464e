import { first, type Processor } from '../src/core/processor.ts';
import { rasterInput } from './_gdal/descriptions.ts';
import { openRaster, readBand } from './_gdal/raster.ts';

export interface BandStats {
  band: number;
  min: number | null;
  max: number | null;
  mean: number | null;
  /** Population standard deviation of the valid pixels. */
  stddev: number | null;
  /** Pixels that are not nodata. */
  count: number;
  /** Pixels equal to the band's nodata value. */
  nodata: number;
}

const processor: Processor = {
  runtime: 'gdal',
  description: {
    id: 'raster-stats',
    version: '1.0.0',
    title: 'Raster statistics',
    abstract:
      'Per band: minimum, maximum, mean, population standard deviation and the number of valid and nodata pixels, computed exactly from every pixel (no overviews, no sampling).',
    keywords: ['raster', 'statistics'],
    inputs: [rasterInput('The raster to measure.')],
    outputs: [
      {
        id: 'stats',
        kind: 'complex',
        title: 'Statistics',
        abstract: '{"bands":[{"band":1,"min":…,"max":…,"mean":…,"stddev":…,"count":…,"nodata":…}]}',
        formats: [{ mimeType: 'application/json' }],
      },
    ],
  },
  async execute(inputs, ctx) {
    const dataset = await openRaster(first(inputs, 'raster', 'complex')!, 'raster', ctx);
    const count = await dataset.bands.countAsync();
    const bands: BandStats[] = [];
    for (let b = 1; b <= count; b++) {
      const band = await dataset.bands.getAsync(b);
      const noData = band.noDataValue;
      const isNoData =
        noData === null || noData === undefined
          ? () => false
          : Number.isNaN(noData)
            ? Number.isNaN
            : (v: number) => v === noData;
      let [n, nodata, mean, m2, min, max] = [0, 0, 0, 0, Infinity, -Infinity];
      await readBand(
        band,
        'raster',
        ctx,
        (values) => {
          for (let i = 0; i < values.length; i++) {
            const v = values[i]!;
            if (isNoData(v) || Number.isNaN(v)) {
              nodata++;
              continue;
            }
            // Welford's online algorithm: exact to rounding, stable for large counts.
            n++;
            const delta = v - mean;
            mean += delta / n;
            m2 += delta * (v - mean);
            if (v < min) min = v;
            if (v > max) max = v;
          }
        },
        (done, rows) =>
          ctx.progress(
            ((b - 1 + done / rows) / count) * 100,
            `band ${b} of ${count}: ${done} of ${rows} rows`,
          ),
      );
      bands.push({
        band: b,
        min: n > 0 ? min : null,
        max: n > 0 ? max : null,
        mean: n > 0 ? mean : null,
        stddev: n > 0 ? Math.sqrt(m2 / n) : null,
        count: n,
        nodata,
      });
    }
    return { stats: { kind: 'complex', text: JSON.stringify({ bands }) } };
  },
};

export default processor;
