import type * as Gdal from 'gdal-async';
import { fanOut, first, type ProcessContext, type Processor } from '../src/core/processor.ts';
import type { ProcessInputs } from '../src/core/values.ts';
import {
  addPixels,
  bandStats,
  emptyMoments,
  mergeMoments,
  type BandMoments,
  type BandStats,
} from './_gdal/band-stats.ts';
import { rasterInput } from './_gdal/descriptions.ts';
import { openRaster, openStagedRaster, readBand } from './_gdal/raster.ts';

export type { BandStats } from './_gdal/band-stats.ts';

/** Rows [start, end) of the raster staged at `file` (by the split), measured by one chunk task. */
interface Chunk {
  file: string;
  start: number;
  end: number;
}

const noDataTest = (noData: number | null | undefined): ((v: number) => boolean) =>
  noData === null || noData === undefined
    ? () => false
    : Number.isNaN(noData)
      ? Number.isNaN
      : (v) => v === noData;

/** The moments of every band over the rows of `range` (all rows without it). */
async function measure(
  dataset: Gdal.Dataset,
  ctx: ProcessContext,
  range?: { start: number; end: number },
): Promise<BandMoments[]> {
  const count = await dataset.bands.countAsync();
  const moments: BandMoments[] = [];
  for (let b = 1; b <= count; b++) {
    const band = await dataset.bands.getAsync(b);
    const isNoData = noDataTest(band.noDataValue);
    const m = emptyMoments();
    await readBand(
      band,
      'raster',
      ctx,
      (values) => addPixels(m, values, isNoData),
      (done, rows) =>
        ctx.progress(((b - 1 + done / rows) / count) * 100, `band ${b} of ${count}: ${done} of ${rows} rows`),
      range,
    );
    moments.push(m);
  }
  return moments;
}

const statsOutput = (bands: BandStats[]) => ({
  stats: { kind: 'complex' as const, text: JSON.stringify({ bands }) },
});

const raster = (inputs: ProcessInputs) => first(inputs, 'raster', 'complex')!;

const processor: Processor = {
  runtime: 'gdal',
  description: {
    id: 'raster-stats',
    version: '1.0.0',
    title: 'Raster statistics',
    abstract:
      'Per band: minimum, maximum, sum, mean, population standard deviation and the number of valid and nodata pixels, computed exactly from every pixel (no overviews, no sampling).',
    keywords: ['raster', 'statistics'],
    inputs: [rasterInput('The raster to measure.')],
    outputs: [
      {
        id: 'stats',
        kind: 'complex',
        title: 'Statistics',
        abstract: '{"bands":[{"band":1,"min":…,"max":…,"sum":…,"mean":…,"stddev":…,"count":…,"nodata":…}]}',
        formats: [{ mimeType: 'application/json' }],
      },
    ],
  },
  async execute(inputs, ctx) {
    const dataset = await openRaster(raster(inputs), 'raster', ctx);
    const moments = await measure(dataset, ctx);
    dataset.close();
    return statsOutput(moments.map((m, i) => bandStats(i + 1, m)));
  },
  /**
   * Large rasters: row blocks measured by chunks (each reads only its rows of the copy the split
   * staged), their moments merged exactly where exactness is possible (src: _gdal/band-stats.ts).
   */
  fanOut: fanOut<Chunk, BandMoments[]>({
    input: 'raster',
    minBytes: 16 * 1024 * 1024,
    // Two chunks per slot: a chunk reads only its rows, so more chunks cost little.
    async split(inputs, ctx, slots) {
      const dataset = await openRaster(raster(inputs), 'raster', ctx);
      const height = dataset.rasterSize.y;
      // Chunks start on block rows (a strip or tile row is read once, by one chunk).
      const blockRows = Math.max(1, (await dataset.bands.getAsync(1)).blockSize.y);
      const file = dataset.description;
      dataset.close();
      const blocks = Math.ceil(height / blockRows);
      if (blocks < 2) return undefined;
      const rows = Math.ceil(blocks / Math.min(2 * slots, blocks)) * blockRows;
      const plan: Chunk[] = [];
      for (let start = 0; start < height; start += rows)
        plan.push({ file, start, end: Math.min(height, start + rows) });
      return plan;
    },
    async chunk(_inputs, chunk, ctx) {
      const dataset = await openStagedRaster(chunk.file, 'raster', ctx);
      try {
        return await measure(dataset, ctx, chunk);
      } finally {
        dataset.close();
      }
    },
    async merge(_inputs, parts) {
      const merged = parts.reduce((all, part) => all.map((m, b) => mergeMoments(m, part[b]!)));
      return statsOutput(merged.map((m, i) => bandStats(i + 1, m)));
    },
  }),
};

export default processor;
