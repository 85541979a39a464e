import { first, literal, type Processor } from '../src/core/processor.ts';
import { BBOX_CRS, transformBox } from './_gdal/bbox.ts';
import { loadGdal } from './_gdal/gdal.ts';

const processor: Processor = {
  runtime: 'gdal',
  description: {
    id: 'bbox-transform',
    version: '1.0.0',
    title: 'Bounding box transform',
    abstract:
      'Transforms a bounding box into another CRS: the envelope of the box with densified edges. The short form EPSG:4326 and OGC CRS84 are longitude/latitude; the URN and http URI forms follow the EPSG axis order (latitude/longitude for EPSG:4326).',
    keywords: ['bbox', 'CRS', 'transform'],
    inputs: [
      { id: 'bbox', kind: 'bbox', title: 'Bounding box', crs: BBOX_CRS },
      {
        id: 'target_crs',
        kind: 'literal',
        title: 'Target CRS',
        dataType: 'string',
        allowedValues: { values: BBOX_CRS },
      },
    ],
    outputs: [{ id: 'bbox', kind: 'bbox', title: 'Transformed bounding box', crs: BBOX_CRS }],
  },
  async execute(inputs, ctx) {
    const gdal = await loadGdal();
    const box = first(inputs, 'bbox', 'bbox')!;
    const targetCrs = String(literal(inputs, 'target_crs'));
    const transformed = transformBox(box, targetCrs, gdal);
    ctx.progress(100, 'transformed');
    return { bbox: transformed };
  },
};

export default processor;
