/**
 * Web Mercator (EPSG:3857) from its definition, independent of PROJ/GDAL: the spherical Mercator
 * formulas on a sphere of the WGS84 semi-major axis, x = R·λ, y = R·ln tan(π/4 + φ/2).
 */
export const MERCATOR_RADIUS = 6378137;

const rad = (degrees: number) => (degrees * Math.PI) / 180;

/** EPSG:3857 easting and northing (metres) of a longitude and latitude (degrees). */
export function mercator(lon: number, lat: number): [number, number] {
  return [MERCATOR_RADIUS * rad(lon), MERCATOR_RADIUS * Math.log(Math.tan(Math.PI / 4 + rad(lat) / 2))];
}
