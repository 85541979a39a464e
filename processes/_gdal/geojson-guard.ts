/**
 * GDAL's GeoJSON reader fetches the URL of a linked CRS (`"crs": {"type": "link", "properties":
 * {"href": …}}`, GeoJSON 2008) with an HTTP GET, on the layer and on every geometry that carries a
 * `crs`, and no configuration option turns that off (a dead proxy does, except for hosts in the
 * environment's NO_PROXY). So such documents are refused before GDAL sees them.
 *
 * The check mirrors how GDAL matches: member names and the type are compared case-insensitively,
 * and json-c strings end at a NUL for GDAL's C string comparisons. Text that names `crs` anywhere
 * (in any case) or holds a `\u` escape is parsed, and refused when it is not strict JSON, so that
 * no leniency of json-c can hide a member from this check; other text cannot name the member.
 */

/** How GDAL compares a json-c string: as a C string (up to the first NUL), ignoring case. */
const cString = (s: string): string => {
  const nul = s.indexOf('\0');
  return (nul === -1 ? s : s.slice(0, nul)).toLowerCase();
};

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function isLinkedCrs(crs: unknown): boolean {
  if (!isObject(crs)) return false;
  return Object.entries(crs).some(
    ([key, value]) => cString(key) === 'type' && typeof value === 'string' && cString(value) === 'link',
  );
}

const CRS_OR_ESCAPE = /crs|\\u/i;

/**
 * Why the GeoJSON text cannot be given to GDAL (it is not JSON, or names a linked CRS somewhere),
 * or undefined when it can.
 */
export function geojsonRefusal(text: string): string | undefined {
  // No member can be named crs without those letters or a \u escape: GDAL gets the text as it is
  // (and says itself if it is not JSON), without a second parse here, which costs more time and
  // memory than GDAL's streaming read.
  if (!CRS_OR_ESCAPE.test(text)) return undefined;
  let linked = false;
  try {
    // The reviver visits every member of every object, depth first, without recursion of ours.
    JSON.parse(text.replace(/^\uFEFF/, ''), function (this: unknown, key: string, value: unknown) {
      if (cString(key) === 'crs' && isLinkedCrs(value)) linked = true;
      return value;
    });
  } catch (e) {
    return `it is not JSON: ${(e as Error).message}`;
  }
  return linked
    ? 'it names a linked CRS ("crs" of type "link"), which is never fetched; name the CRS instead'
    : undefined;
}
