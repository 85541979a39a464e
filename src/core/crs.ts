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
