import path from 'node:path';
import { invalidParameter } from '../src/core/errors.ts';
import { first, type Processor } from '../src/core/processor.ts';
import { BBOX_CRS, transformBox } from './_gdal/bbox.ts';
import { rasterInput } from './_gdal/descriptions.ts';
import { RASTER_FORMATS } from './_gdal/formats.ts';
import { loadGdal } from './_gdal/gdal.ts';
import { checkRasterShape, openRaster, rasterShape } from './_gdal/raster.ts';

const processor: Processor = {
  runtime: 'gdal',
  description: {
    id: 'raster-clip',
    version: '1.0.0',
    title: 'Raster clip',
    abstract:
      'Cuts a raster to a bounding box (transformed into the raster CRS when given in another one); whole pixels, pixel values unchanged.',
    keywords: ['raster', 'clip', 'subset'],
    inputs: [
      rasterInput('The raster to clip.'),
      { id: 'bbox', kind: 'bbox', title: 'Bounding box', crs: BBOX_CRS },
    ],
    outputs: [{ id: 'clipped', kind: 'complex', title: 'Clipped raster', formats: RASTER_FORMATS }],
  },
  async execute(inputs, ctx) {
    const gdal = await loadGdal();
    const source = await openRaster(first(inputs, 'raster', 'complex')!, 'raster', ctx);
    const box = first(inputs, 'bbox', 'bbox')!;
    const srs = source.srs;
    const inRasterCrs = srs ? transformBox(box, srs, gdal) : box;
    const [minX, minY] = inRasterCrs.lowerCorner as [number, number];
    const [maxX, maxY] = inRasterCrs.upperCorner as [number, number];
    const gt = source.geoTransform;
    if (!gt) throw invalidParameter('raster', "Input 'raster': the GeoTIFF has no georeferencing");
    const { x: width, y: height } = source.rasterSize;
    const [rx0, ry1] = [gt[0]!, gt[3]!];
    const [rx1, ry0] = [gt[0]! + gt[1]! * width, gt[3]! + gt[5]! * height];
    if (
      maxX <= Math.min(rx0, rx1) ||
      minX >= Math.max(rx0, rx1) ||
      maxY <= Math.min(ry0, ry1) ||
      minY >= Math.max(ry0, ry1)
    ) {
      throw invalidParameter('bbox', "Input 'bbox': the bounding box does not overlap the raster");
    }
    // The window is cut as asked, also where it reaches past the raster (filled there): a small
    // raster and a large box would make a huge output, so its size is known before it is written.
    const shape = await rasterShape(source);
    const pixelWidth = Math.hypot(gt[1]!, gt[2]!);
    const pixelHeight = Math.hypot(gt[4]!, gt[5]!);
    const columns = Math.ceil((maxX - minX) / pixelWidth) + 1;
    const rows = Math.ceil((maxY - minY) / pixelHeight) + 1;
    const out = { ...shape, width: columns, height: rows };
    const limits = ctx.limits;
    const tighter =
      limits.maxOutputSize < limits.maxRasterBytes
        ? { limit: limits.maxOutputSize, key: 'max_output_size' }
        : { limit: limits.maxRasterBytes, key: 'max_raster_bytes' };
    checkRasterShape(out, limits, 'bbox', "Input 'bbox': the clipped raster would be", tighter);
    ctx.signal.throwIfAborted();
    ctx.progress(10, 'clipping');
    const file = path.join(ctx.workDir, 'clipped.tif');
    const clipped = await gdal.translateAsync(file, source, [
      '-of',
      'GTiff',
      '-projwin',
      String(minX),
      String(maxY),
      String(maxX),
      String(minY),
    ]);
    clipped.close();
    return { clipped: { kind: 'complex', file, format: ctx.outputs.clipped?.format ?? RASTER_FORMATS[0]! } };
  },
};

export default processor;
