import type * as Gdal from 'gdal-async';
import { invalidParameter } from '../../src/core/errors.ts';
import { complexBytes, type ProcessContext } from '../../src/core/processor.ts';
import type { ComplexValue } from '../../src/core/values.ts';
import { loadGdal } from './gdal.ts';
import { stageInput } from './sandbox.ts';

/** Opens a GeoTIFF input with the GeoTIFF driver only (anything else is not what it claims to be). */
export async function openRaster(
  value: ComplexValue,
  locator: string,
  ctx: ProcessContext,
): Promise<Gdal.Dataset> {
  const gdal = await loadGdal();
  // A private copy in a folder of its own, opened as GeoTIFF only: a VRT (or any other format that
  // names other files or URLs) claiming to be a GeoTIFF is refused.
  const file = await stageInput(
    { ...(value.file !== undefined ? { file: value.file } : {}), bytes: () => complexBytes(value) },
    ctx.workDir,
    'tif',
  );
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
  return dataset;
}

/**
 * Reads a band row block by row block (a truncated file fails here with InvalidParameterValue),
 * calling `visit` on each block, stopping when the job is aborted.
 */
export async function readBand(
  band: Gdal.RasterBand,
  locator: string,
  ctx: ProcessContext,
  visit: (values: ArrayLike<number>) => void,
  onRows?: (rowsDone: number, rows: number) => void,
): Promise<void> {
  const { x: width, y: height } = band.size;
  const rowsPerRead = Math.max(1, band.blockSize.y, Math.floor(1_048_576 / Math.max(width, 1)));
  for (let y = 0; y < height; y += rowsPerRead) {
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
    onRows?.(y + rows, height);
  }
}
