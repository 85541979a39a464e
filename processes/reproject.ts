import type * as Gdal from 'gdal-async';
import { invalidParameter } from '../src/core/errors.ts';
import { first, literal, type Processor } from '../src/core/processor.ts';
import { vectorInput, vectorOutput } from './_gdal/descriptions.ts';
import { loadGdal } from './_gdal/gdal.ts';
import { eachFeature, openVector, vectorSink } from './_gdal/vector.ts';

const processor: Processor = {
  runtime: 'gdal',
  description: {
    id: 'reproject',
    version: '1.0.0',
    title: 'Reproject',
    abstract: 'Transforms every feature into another CRS, keeping its attributes. Any EPSG code GDAL knows.',
    keywords: ['vector', 'reproject', 'CRS'],
    inputs: [
      vectorInput('The features to transform.'),
      {
        id: 'target_crs',
        kind: 'literal',
        title: 'Target CRS',
        abstract: 'Such as EPSG:3857.',
        dataType: 'string',
      },
    ],
    outputs: [vectorOutput('reprojected', 'Reprojected features', 'In the format asked for.')],
  },
  async execute(inputs, ctx) {
    const gdal = await loadGdal();
    const code = String(literal(inputs, 'target_crs')).trim();
    let target: Gdal.SpatialReference;
    const m = /^EPSG:(\d+)$/i.exec(code);
    try {
      if (!m) throw new Error('not an EPSG code');
      target = gdal.SpatialReference.fromEPSG(Number(m[1]));
    } catch {
      throw invalidParameter(
        'target_crs',
        `Input 'target_crs': '${code}' is not an EPSG code GDAL knows (e.g. EPSG:3857)`,
      );
    }
    const source = await openVector(first(inputs, 'data', 'complex')!, 'data', ctx);
    const transformation = new gdal.CoordinateTransformation(source.srs, target);
    // GDAL transforms into the authority's axis order; layers keep x = easting/longitude.
    const swap = target.EPSGTreatsAsLatLong() || target.EPSGTreatsAsNorthingEasting();
    const out = await vectorSink('reprojected', target, source.layer.geomType, ctx, source.layer);
    await eachFeature(source, ctx, (feature) => {
      const geometry = feature.getGeometry();
      if (!geometry) return;
      try {
        geometry.transform(transformation);
      } catch (e) {
        // A coordinate PROJ cannot take (1e999 in GML): GDAL's error has no message.
        throw invalidParameter(
          'data',
          `Input 'data': feature ${feature.fid} cannot be transformed to ${code}${(e as Error).message ? ` (${(e as Error).message})` : ''}`,
        );
      }
      if (swap) geometry.swapXY();
      out.add(geometry, feature);
    });
    return { reprojected: await out.finish() };
  },
};

export default processor;
