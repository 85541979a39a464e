import type { Format } from './model.ts';

/** `Text/XML ;subtype=gml/3.1.1` → `text/xml; subtype=gml/3.1.1`: parameters kept, case of the type folded. */
export function normalizeMimeType(mimeType: string): string {
  const [type = '', ...params] = mimeType.split(';').map((p) => p.trim());
  const normalizedParams = params
    .filter((p) => p !== '')
    .map((p) => {
      const eq = p.indexOf('=');
      return eq < 0 ? p.toLowerCase() : `${p.slice(0, eq).trim().toLowerCase()}=${p.slice(eq + 1).trim()}`;
    });
  return [type.toLowerCase(), ...normalizedParams].join('; ');
}

export const sameMimeType = (a: string, b: string): boolean => normalizeMimeType(a) === normalizeMimeType(b);

/** base64 is a transport encoding any format may be sent in; other encodings must match when declared. */
function encodingFits(requested: string | undefined, format: Format): boolean {
  if (!requested) return true;
  const r = requested.trim().toLowerCase();
  if (r === 'base64') return true;
  return !format.encoding || format.encoding.toLowerCase() === r;
}

/**
 * Picks the supported format a request denotes: by mime type (default format when none is given),
 * then encoding, then schema when several formats share the mime type.
 */
export function matchFormat(
  supported: readonly Format[],
  wanted: { mimeType?: string; encoding?: string; schema?: string },
): Format | undefined {
  if (!wanted.mimeType) {
    const first = supported[0];
    return first && encodingFits(wanted.encoding, first) ? first : undefined;
  }
  const candidates = supported.filter(
    (f) => sameMimeType(f.mimeType, wanted.mimeType!) && encodingFits(wanted.encoding, f),
  );
  if (wanted.schema) return candidates.find((f) => f.schema === wanted.schema) ?? candidates[0];
  return candidates[0];
}

const EXTENSIONS: Array<[RegExp, string]> = [
  [/^application\/(geo\+)?json/, 'json'],
  [/^application\/gml\+xml|subtype=gml/, 'gml'],
  [/^application\/vnd\.google-earth\.kml\+xml/, 'kml'],
  [/^application\/x-zipped-shp|^application\/zip/, 'zip'],
  [/^application\/wkt/, 'wkt'],
  [/^image\/tiff|geotiff/, 'tif'],
  [/^image\/png/, 'png'],
  [/^image\/jpeg/, 'jpg'],
  [/^application\/x-netcdf|netcdf/, 'nc'],
  [/^text\/csv|application\/csv/, 'csv'],
  [/^text\/html/, 'html'],
  [/^text\/plain/, 'txt'],
  [/xml/, 'xml'],
];

/** A file extension for outputs served by path (`…/{output}.{ext}`); `bin` when unknown. */
export function extensionFor(mimeType: string): string {
  const m = normalizeMimeType(mimeType);
  return EXTENSIONS.find(([re]) => re.test(m))?.[1] ?? 'bin';
}

export const isJsonMimeType = (mimeType: string): boolean =>
  /^application\/([\w.-]+\+)?json\b/.test(normalizeMimeType(mimeType));

export const isXmlMimeType = (mimeType: string): boolean =>
  /^(text|application)\/([\w.-]+\+)?xml\b/.test(normalizeMimeType(mimeType));

export const isTextMimeType = (mimeType: string): boolean =>
  isJsonMimeType(mimeType) ||
  isXmlMimeType(mimeType) ||
  /^text\//.test(normalizeMimeType(mimeType)) ||
  /^application\/wkt\b/.test(normalizeMimeType(mimeType));
