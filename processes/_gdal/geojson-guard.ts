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
import { open, readFile } from 'node:fs/promises';

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

/** Bytes of a file scanned at a time by geojsonFileRefusal (a young-generation string each). */
const SCAN_CHUNK = 64 * 1024;

/**
 * Whether a file's text may name `crs` or hold a `\u` escape, read in small pieces: those are ASCII
 * characters, and UTF-8 never uses ASCII bytes inside a multi-byte character, so the bytes read as
 * Latin-1 match where the text would. A piece keeps the last 2 characters of the one before (a
 * match may straddle them).
 */
async function mayNameCrs(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.allocUnsafeSlow(SCAN_CHUNK);
    let carry = '';
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, SCAN_CHUNK, null);
      if (bytesRead === 0) return false;
      const piece = carry + buffer.toString('latin1', 0, bytesRead);
      if (CRS_OR_ESCAPE.test(piece)) return true;
      carry = piece.slice(-2);
    }
  } finally {
    await handle.close();
  }
}

/**
 * geojsonRefusal for a UTF-8 file, which is read whole only when it may name a CRS: a GeoJSON
 * file is otherwise scanned in pieces of 64 KiB, never held in memory (a 25 MB input read as one
 * string cost its bytes and the string, twice its size, in each GDAL process opening it).
 */
export async function geojsonFileRefusal(file: string): Promise<string | undefined> {
  if (!(await mayNameCrs(file))) return undefined;
  return geojsonRefusal(await readFile(file, 'utf8'));
}
