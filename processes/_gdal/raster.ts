import type * as Gdal from 'gdal-async';
import { invalidParameter, OwsError } from '../../src/core/errors.ts';
import { formatBytes, type ResourceLimits } from '../../src/core/limits.ts';
import { complexBytes, type ProcessContext } from '../../src/core/processor.ts';
import type { ComplexValue } from '../../src/core/values.ts';
import { loadGdal } from './gdal.ts';
import { stageInput } from './sandbox.ts';

/** Bytes of one sample of a GDAL data type ('Byte', 'Int16', 'CFloat32'…); unknown types count as 16. */
export function bytesPerSample(dataType: string | null): number {
  const m = /^(C?)(?:U?Int|Float)(8|16|32|64)$/.exec(dataType ?? '');
  if (dataType === 'Byte') return 1;
  if (!m) return 16;
  return (Number(m[2]) / 8) * (m[1] ? 2 : 1);
}

export interface RasterShape {
  width: number;
  height: number;
  bands: number;
  /** Bytes of one sample of the widest band. */
  bytesPerSample: number;
}

/**
 * Refuses a raster (read or about to be written) whose dimensions, pixel count or decoded size are
 * over the limits, with FileSizeExceeded naming `locator` and the key to raise. `what` opens the
 * message ("Input 'raster': the GeoTIFF is", "the clipped raster would be"); `maxBytes` may be
 * tighter than the raster limit (an output's).
 */
export function checkRasterShape(
  shape: RasterShape,
  limits: ResourceLimits,
  locator: string,
  what: string,
  maxBytes: { limit: number; key: string } = { limit: limits.maxRasterBytes, key: 'max_raster_bytes' },
): void {
  const { width, height, bands } = shape;
  const pixels = width * height;
  const bytes = pixels * bands * shape.bytesPerSample;
  const refuse = (over: string, key: string) =>
    new OwsError(
      'FileSizeExceeded',
      `${what} ${width} × ${height} pixels in ${bands} band${bands === 1 ? '' : 's'} (${formatBytes(bytes)} decoded): ${over} (server.limits.${key})`,
      locator,
    );
  if (width > limits.maxRasterWidth)
    throw refuse(`wider than the ${limits.maxRasterWidth} columns allowed`, 'max_raster_width');
  if (height > limits.maxRasterHeight)
    throw refuse(`taller than the ${limits.maxRasterHeight} rows allowed`, 'max_raster_height');
  if (pixels > limits.maxRasterPixels)
    throw refuse(`more than the ${limits.maxRasterPixels} pixels allowed`, 'max_raster_pixels');
  if (bytes > maxBytes.limit)
    throw refuse(`more than the ${formatBytes(maxBytes.limit)} allowed`, maxBytes.key);
}

/** The shape of a dataset's raster, from its header (no pixel is read). */
export async function rasterShape(dataset: Gdal.Dataset): Promise<RasterShape> {
  const { x: width, y: height } = dataset.rasterSize;
  const bands = await dataset.bands.countAsync();
  let widest = 0;
  for (let b = 1; b <= bands; b++) {
    widest = Math.max(widest, bytesPerSample((await dataset.bands.getAsync(b)).dataType));
  }
  return { width, height, bands, bytesPerSample: widest };
}

/**
 * Opens a GeoTIFF input with the GeoTIFF driver only (anything else is not what it claims to be),
 * and refuses one whose size once decoded is over the limits before any pixel is read.
 */
export async function openRaster(
  value: ComplexValue,
  locator: string,
  ctx: ProcessContext,
): Promise<Gdal.Dataset> {
  // A private copy in a folder of its own, opened as GeoTIFF only: a VRT (or any other format that
  // names other files or URLs) claiming to be a GeoTIFF is refused.
  const file = await stageInput(
    { ...(value.file !== undefined ? { file: value.file } : {}), bytes: () => complexBytes(value) },
    ctx.workDir,
    'tif',
  );
  return openStagedRaster(file, locator, ctx);
}

/**
 * Opens a GeoTIFF already staged by `openRaster` (in this job's work folder: a later step of a
 * fanned-out job reads the copy its split made) with the same checks.
 */
export async function openStagedRaster(
  file: string,
  locator: string,
  ctx: ProcessContext,
): Promise<Gdal.Dataset> {
  const gdal = await loadGdal();
  let dataset: Gdal.Dataset;
  try {
    dataset = await gdal.openAsync(file, 'r', ['GTiff']);
  } catch (e) {
    throw invalidParameter(
      locator,
      `Input '${locator}': the data is not a readable GeoTIFF (${(e as Error).message})`,
    );
  }
  if ((await dataset.bands.countAsync()) === 0) {
    throw invalidParameter(locator, `Input '${locator}': the GeoTIFF has no band`);
  }
  try {
    checkRasterShape(await rasterShape(dataset), ctx.limits, locator, `Input '${locator}': the GeoTIFF is`);
  } catch (e) {
    dataset.close();
    throw e;
  }
  return dataset;
}

/**
 * Reads a band row block by row block (a truncated file fails here with InvalidParameterValue),
 * calling `visit` on each block, stopping when the job is aborted. With `range`, only the rows
 * [start, end) (a chunk of a fanned-out job); `onRows` then counts within the range.
 */
export async function readBand(
  band: Gdal.RasterBand,
  locator: string,
  ctx: ProcessContext,
  visit: (values: ArrayLike<number>) => void,
  onRows?: (rowsDone: number, rows: number) => void,
  range?: { start: number; end: number },
): Promise<void> {
  const { x: width } = band.size;
  const from = range?.start ?? 0;
  const height = range?.end ?? band.size.y;
  const rowsPerRead = Math.max(1, band.blockSize.y, Math.floor(1_048_576 / Math.max(width, 1)));
  for (let y = from; y < height; y += rowsPerRead) {
    ctx.signal.throwIfAborted();
    const rows = Math.min(rowsPerRead, height - y);
    let values: ArrayLike<number>;
    try {
      values = (await band.pixels.readAsync(0, y, width, rows)) as unknown as ArrayLike<number>;
    } catch (e) {
      throw invalidParameter(
        locator,
        `Input '${locator}': the raster cannot be read (${(e as Error).message})`,
      );
    }
    visit(values);
    onRows?.(y + rows - from, height - from);
  }
}
