import { parseCrs } from '../src/core/crs.ts';
import { first, literal, type Processor } from '../src/core/processor.ts';
import { BBOX_CRS, transformBox } from './_gdal/bbox.ts';
import { loadGdal } from './_gdal/gdal.ts';

const processor: Processor = {
  runtime: 'gdal',
  // The CRS list is a resource option: `processor: {name: bbox-transform, crs: [EPSG:4326, EPSG:3857, …]}`.
  description: (options) => {
    const crs = options.crs ?? BBOX_CRS;
    if (!Array.isArray(crs) || crs.length === 0 || !crs.every((c) => typeof c === 'string' && parseCrs(c))) {
      throw new Error('crs must be a non-empty list of CRS identifiers such as EPSG:4326');
    }
    const list = crs as string[];
    return {
      id: 'bbox-transform',
      version: '1.0.0',
      title: 'Bounding box transform',
      abstract:
        'Transforms a bounding box into another CRS: the envelope of the box with densified edges. The short form EPSG:4326 and OGC CRS84 are longitude/latitude; the URN and http URI forms follow the EPSG axis order (latitude/longitude for EPSG:4326).',
      keywords: ['bbox', 'CRS', 'transform'],
      inputs: [
        { id: 'bbox', kind: 'bbox', title: 'Bounding box', crs: list },
        {
          id: 'target_crs',
          kind: 'literal',
          title: 'Target CRS',
          dataType: 'string',
          allowedValues: { values: list },
        },
      ],
      outputs: [{ id: 'bbox', kind: 'bbox', title: 'Transformed bounding box', crs: list }],
    };
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
