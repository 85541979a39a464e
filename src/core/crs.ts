/**
 * CRS identifiers in the spellings real clients send. Short `EPSG:4326` and OGC `CRS84` are read
 * as longitude/latitude; the URN and http URI forms follow the authority's axis order.
 */
export interface CrsId {
  authority: string;
  code: string;
  /** 'authority' when the spelling follows the authority's axis order (URN/URI forms). */
  axisOrder: 'authority' | 'xy';
}

const PATTERNS: Array<[RegExp, CrsId['axisOrder']]> = [
  [/^urn:ogc:def:crs:([a-z]+):[^:]*:([\w.-]+)$/i, 'authority'],
  [/^urn:x-ogc:def:crs:([a-z]+):[^:]*:([\w.-]+)$/i, 'authority'],
  [/^https?:\/\/www\.opengis\.net\/def\/crs\/([a-z]+)\/[^/]+\/([\w.-]+)$/i, 'authority'],
  [/^https?:\/\/www\.opengis\.net\/gml\/srs\/([a-z]+)\.xml#([\w.-]+)$/i, 'xy'],
  [/^([a-z]+):([\w.-]+)$/i, 'xy'],
];

export function parseCrs(crs: string): CrsId | undefined {
  const s = crs.trim();
  for (const [re, axisOrder] of PATTERNS) {
    const m = re.exec(s);
    if (m) {
      const authority = m[1]!.toUpperCase();
      const code = m[2]!.toUpperCase();
      // CRS84 is longitude/latitude in every spelling.
      return { authority, code, axisOrder: authority === 'OGC' ? 'xy' : axisOrder };
    }
  }
  return undefined;
}

/** A spelling-independent key: `EPSG:4326`; the trimmed text for unknown forms. OGC CRS84 is WGS84 too. */
export function crsKey(crs: string): string {
  const id = parseCrs(crs);
  if (!id) return crs.trim();
  return id.authority === 'OGC' && id.code === 'CRS84' ? 'EPSG:4326' : `${id.authority}:${id.code}`;
}

/** The supported CRS (as written in the description) that `crs` denotes, if any. */
export function matchCrs(crs: string, supported: readonly string[]): string | undefined {
  const key = crsKey(crs);
  return supported.find((s) => s === crs) ?? supported.find((s) => crsKey(s) === key);
}

export const CRS84_URI = 'http://www.opengis.net/def/crs/OGC/1.3/CRS84';
export const CRS84H_URI = 'http://www.opengis.net/def/crs/OGC/0/CRS84h';

/**
 * The OGC http URI of a CRS (`EPSG:3857` → `http://www.opengis.net/def/crs/EPSG/0/3857`, CRS84 →
 * the OGC 1.3 URI); unknown spellings are returned trimmed. The URI of an EPSG CRS follows the
 * authority's axis order, so `EPSG:4326` (read as longitude/latitude) and its URI name the same CRS
 * with different axis orders: use {@link crsUris} to publish a CRS list.
 */
export function crsUri(crs: string): string {
  const id = parseCrs(crs);
  if (!id) return crs.trim();
  if (id.authority === 'OGC' && id.code === 'CRS84') return CRS84_URI;
  if (id.authority === 'OGC' && id.code === 'CRS84H') return CRS84H_URI;
  return `http://www.opengis.net/def/crs/${id.authority}/0/${id.code}`;
}

/**
 * The URIs under which clients of a URI-only protocol can send a list of supported CRS. WGS84 is
 * offered as CRS84 (longitude/latitude, the OGC API default) and as EPSG 4326 (latitude/longitude);
 * CRS84 comes first when the default (first) CRS is WGS84.
 */
export function crsUris(supported: readonly string[]): string[] {
  const uris: string[] = [];
  for (const crs of supported) {
    const wgs84 = crsKey(crs) === 'EPSG:4326';
    for (const uri of wgs84 ? [CRS84_URI, crsUri('EPSG:4326')] : [crsUri(crs)]) {
      if (!uris.includes(uri)) uris.push(uri);
    }
  }
  return uris;
}

/**
 * A URI naming `crs` in the axis order its coordinates are written in, for labelling a box this
 * server produced: WGS84 read as longitude/latitude (short `EPSG:4326`, CRS84) is CRS84, since the
 * EPSG 4326 URI means latitude first; everything else is its {@link crsUri}.
 */
export function crsUriAsWritten(crs: string): string {
  const id = parseCrs(crs);
  if (id && id.axisOrder === 'xy' && crsKey(crs) === 'EPSG:4326') return CRS84_URI;
  return crsUri(crs);
}
