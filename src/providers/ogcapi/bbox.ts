/**
 * Bounding boxes between this gateway's spellings and an OGC API - Processes server's. The gateway
 * reads the axis order off the spelling (short `EPSG:4326` and CRS84: longitude first; the URN and
 * http URI forms: the EPSG order, latitude first for geographic CRSs); OGC API sends CRS URIs, CRS84
 * (longitude/latitude) when it names none. Corners are swapped whenever the two spellings disagree.
 */
import { CRS84_URI, crsKey, crsUri, parseCrs } from '../../core/crs.ts';
import type { BoundingBox } from '../../core/values.ts';

/**
 * True when coordinates written in this spelling are latitude (northing) first: EPSG geographic
 * CRSs (codes 4000–4999) in the URN or URI spelling. Projected CRSs with northing first are not
 * known without a CRS database and are taken as easting first.
 */
export function isLatFirst(crs: string): boolean {
  const id = parseCrs(crs);
  if (!id || id.axisOrder !== 'authority' || id.authority !== 'EPSG') return false;
  const code = Number(id.code);
  return Number.isInteger(code) && code >= 4000 && code <= 4999;
}

const swap = (corner: number[]): number[] =>
  corner.length >= 2 ? [corner[1]!, corner[0]!, ...corner.slice(2)] : [...corner];

/** The corners in x-first order. */
function xFirst(box: BoundingBox): { lower: number[]; upper: number[] } {
  return isLatFirst(box.crs)
    ? { lower: swap(box.lowerCorner), upper: swap(box.upperCorner) }
    : { lower: [...box.lowerCorner], upper: [...box.upperCorner] };
}

/**
 * A local box as OGC API JSON (bbox.yaml) in a CRS URI the remote lists (`remoteUris`, in the
 * remote's order of preference; x-first spellings such as CRS84 preferred among equals). A CRS
 * the remote does not list is sent as its URI and left to the remote to refuse.
 */
export function toRemoteBbox(
  box: BoundingBox,
  remoteUris: readonly string[],
): { bbox: number[]; crs: string } {
  const key = crsKey(box.crs);
  const candidates = remoteUris.filter((u) => crsKey(u) === key);
  const uri =
    candidates.find((u) => !isLatFirst(u)) ??
    candidates[0] ??
    (key === 'EPSG:4326' ? CRS84_URI : crsUri(box.crs));
  const { lower, upper } = xFirst(box);
  const [lo, up] = isLatFirst(uri) ? [swap(lower), swap(upper)] : [lower, upper];
  return { bbox: [...lo, ...up], crs: uri };
}

/**
 * An OGC API box (`crs` absent = CRS84) as a local one, spelled as the model spells CRSs (short,
 * x first: `EPSG:4326` for CRS84) so that it reads like the boxes of local processes; a spelling
 * the gateway does not parse is kept as it is, with its corners.
 */
export function fromRemoteBbox(corners: number[], crs: string | undefined): BoundingBox {
  const uri = crs ?? CRS84_URI;
  const half = corners.length / 2;
  let lower = corners.slice(0, half);
  let upper = corners.slice(half);
  const id = parseCrs(uri);
  if (isLatFirst(uri)) [lower, upper] = [swap(lower), swap(upper)];
  return {
    kind: 'bbox',
    lowerCorner: lower,
    upperCorner: upper,
    crs: id ? crsKey(uri) : uri,
    dimensions: half,
  };
}
