import type * as Gdal from 'gdal-async';
import { parseCrs } from '../../src/core/crs.ts';
import { invalidParameter } from '../../src/core/errors.ts';
import type { BoundingBox } from '../../src/core/values.ts';

/** The CRSs bounding boxes are offered in; the first is the default. */
export const BBOX_CRS = ['EPSG:4326', 'EPSG:3857'];
/** Points per edge when densifying, so that curved edges in the target CRS are enveloped. */
const EDGE_POINTS = 21;

const authorityYx = (srs: Gdal.SpatialReference) =>
  srs.EPSGTreatsAsLatLong() || srs.EPSGTreatsAsNorthingEasting();

/**
 * A CRS spelling as GDAL sees it, and whether coordinates written in that spelling are y first:
 * the URN and URI forms follow the authority's axis order, the short form and CRS84 are x first.
 */
export function srsFor(
  crs: string | Gdal.SpatialReference,
  gdal: typeof Gdal,
  locator: string,
): { srs: Gdal.SpatialReference; yx: boolean } {
  if (typeof crs !== 'string') return { srs: crs, yx: false };
  const id = parseCrs(crs);
  if (!id) throw invalidParameter(locator, `'${crs}' is not a CRS identifier`);
  let srs: Gdal.SpatialReference;
  try {
    srs =
      id.authority === 'OGC' && id.code === 'CRS84'
        ? gdal.SpatialReference.fromEPSG(4326)
        : gdal.SpatialReference.fromUserInput(`${id.authority}:${id.code}`);
  } catch {
    throw invalidParameter(locator, `'${crs}' is not a CRS GDAL knows`);
  }
  return { srs, yx: authorityYx(srs) && id.axisOrder === 'authority' };
}

/**
 * The envelope of `box` transformed into `target` (a CRS spelling, or a GDAL CRS whose coordinates
 * are x first), its edges densified. Corners are written in the target spelling's axis order.
 */
export function transformBox(
  box: BoundingBox,
  target: string | Gdal.SpatialReference,
  gdal: typeof Gdal,
): BoundingBox {
  const from = srsFor(box.crs, gdal, 'bbox');
  const to = srsFor(target, gdal, 'target_crs');
  const [x0, y0] = from.yx
    ? [box.lowerCorner[1]!, box.lowerCorner[0]!]
    : [box.lowerCorner[0]!, box.lowerCorner[1]!];
  const [x1, y1] = from.yx
    ? [box.upperCorner[1]!, box.upperCorner[0]!]
    : [box.upperCorner[0]!, box.upperCorner[1]!];
  const transformation = new gdal.CoordinateTransformation(from.srs, to.srs);
  // gdal-async's CRS objects (from EPSG codes and from datasets alike) work in the authority's axis order.
  const inYx = authorityYx(from.srs);
  const outYx = authorityYx(to.srs);
  let [minX, minY, maxX, maxY] = [Infinity, Infinity, -Infinity, -Infinity];
  for (let i = 0; i < EDGE_POINTS; i++) {
    const f = i / (EDGE_POINTS - 1);
    const points: Array<[number, number]> = [
      [x0 + (x1 - x0) * f, y0],
      [x0 + (x1 - x0) * f, y1],
      [x0, y0 + (y1 - y0) * f],
      [x1, y0 + (y1 - y0) * f],
    ];
    for (const [x, y] of points) {
      const p = inYx ? transformation.transformPoint(y, x) : transformation.transformPoint(x, y);
      const [tx, ty] = outYx ? [p.y, p.x] : [p.x, p.y];
      if (!Number.isFinite(tx) || !Number.isFinite(ty)) continue;
      [minX, minY, maxX, maxY] = [
        Math.min(minX, tx),
        Math.min(minY, ty),
        Math.max(maxX, tx),
        Math.max(maxY, ty),
      ];
    }
  }
  if (!Number.isFinite(minX))
    throw invalidParameter('bbox', 'The bounding box cannot be transformed into the target CRS');
  const [lower, upper] = to.yx
    ? [
        [minY, minX],
        [maxY, maxX],
      ]
    : [
        [minX, minY],
        [maxX, maxY],
      ];
  return {
    kind: 'bbox',
    lowerCorner: lower,
    upperCorner: upper,
    crs: typeof target === 'string' ? target : box.crs,
    dimensions: 2,
  };
}
