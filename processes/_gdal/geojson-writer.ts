/**
 * A GeoJSON FeatureCollection written to a file as the features come, with the coordinates turned
 * into text here rather than by GDAL's GeoJSON driver: the driver builds a json-c tree per feature
 * and formats every coordinate through it, which took about 90 % of a buffer job (measured: 3 to 4
 * times slower than reading the geometry as WKB and formatting it in JavaScript).
 *
 * What GDAL decides stays GDAL's: the collection's header (`name`, and `crs` as the driver writes it
 * for the layer's CRS) comes from the driver itself, and so does the JSON type of every field
 * (booleans are integer fields with a subtype gdal-async does not expose: the driver is asked once).
 * Layers with fields this writer does not render exactly as GDAL does (dates, times, binary, 64-bit
 * integers, which JavaScript numbers may round) are left to GDAL's writer (`geojsonWriter` returns
 * undefined, as are integer lists, which may be boolean lists); so are geometries other than the
 * seven GeoJSON types, empty ones and ones with non-finite coordinates (each written by the driver
 * into /vsimem and copied from there).
 *
 * Differences from GDAL's output: compact JSON, numbers in the shortest form that reads back to the
 * same double (GDAL writes 15 significant digits), and null attributes left out as unset ones are
 * (as the earlier in-memory path did).
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import type * as Gdal from 'gdal-async';

type Kind = 'number' | 'boolean' | 'string' | 'numbers' | 'strings';

/** How each field of a layer is written, by gdal-async field type (undefined: not by this writer). */
const KINDS: Readonly<Record<string, Kind>> = {
  integer: 'number',
  real: 'number',
  string: 'string',
  // Not integer lists: they may be boolean lists, which the probe cannot tell (gdal-async sets no list).
  'real[]': 'numbers',
  'string[]': 'strings',
};

interface Field {
  /** `"name":`, ready to write. */
  key: string;
  kind: Kind;
}

/** Writes `features` of a layer (same fields as `fields`) into a GeoJSON file. */
export interface GeoJsonWriter {
  add(geometry: Gdal.Geometry, from?: Gdal.Feature): void;
  close(): void;
}

const VSIMEM = '/vsimem/geojson-writer-probe.geojson';
const BUFFER_SIZE = 1 << 20;

/**
 * What GDAL's driver writes for a layer named `name` in `srs` with these fields: the text before the
 * first feature, and the JSON type of each field (one feature, integer fields set to 1).
 */
function probe(
  gdal: typeof Gdal,
  name: string,
  srs: Gdal.SpatialReference | null,
  fields: Gdal.FieldDefn[],
): { header: string; booleans: Set<string> } {
  const dataset = gdal.open(VSIMEM, 'w', 'GeoJSON');
  try {
    const layer = dataset.layers.create(name, srs, gdal.wkbUnknown);
    for (const field of fields) layer.fields.add(field);
    const feature = new gdal.Feature(layer);
    fields.forEach((field, i) => {
      if (field.type === 'integer') feature.fields.set(i, 1);
    });
    layer.features.add(feature);
  } finally {
    dataset.close();
  }
  const text = gdal.vsimem.release(VSIMEM).toString('utf8');
  const start = text.indexOf('"features": [');
  if (start < 0) throw new Error('GDAL wrote GeoJSON without a "features" member');
  const header = text.slice(0, start) + '"features": [\n';
  const written = (JSON.parse(text) as { features: Array<{ properties: Record<string, unknown> }> })
    .features[0]!.properties;
  const booleans = new Set<string>();
  for (const [key, value] of Object.entries(written)) if (typeof value === 'boolean') booleans.add(key);
  return { header, booleans };
}

/**
 * A writer for a GeoJSON layer named `name` in `srs` whose features carry the fields of
 * `fieldsFrom` (in that order), or undefined when a field type needs GDAL's own writer.
 */
export function geojsonWriter(
  gdal: typeof Gdal,
  file: string,
  name: string,
  srs: Gdal.SpatialReference | null,
  fieldsFrom?: Gdal.Layer,
): GeoJsonWriter | undefined {
  const defs: Gdal.FieldDefn[] = fieldsFrom ? fieldsFrom.fields.map((f) => f) : [];
  if (defs.some((f) => KINDS[f.type] === undefined)) return undefined;
  const { header, booleans } = probe(gdal, name, srs, defs);
  const fields: Field[] = defs.map((f) => {
    const kind = KINDS[f.type]!;
    return {
      key: `${JSON.stringify(f.name)}:`,
      kind: booleans.has(f.name) ? 'boolean' : kind,
    };
  });

  const fd = openSync(file, 'w');
  // Each feature goes into one reused byte buffer, written out when full: no text outlives its
  // feature, so the garbage stays young and cheap to collect.
  const buffer = Buffer.allocUnsafe(BUFFER_SIZE);
  let used = 0;
  const write = (text: string) => {
    if (used + text.length * 3 > BUFFER_SIZE) {
      writeSync(fd, buffer, 0, used);
      used = 0;
      if (text.length * 3 > BUFFER_SIZE) {
        writeSync(fd, text);
        return;
      }
    }
    used += buffer.write(text, used);
  };
  write(header);
  let first = true;
  return {
    add(geometry, from) {
      write(
        `${first ? '' : ',\n'}{"type":"Feature","properties":${from ? properties(fields, from) : '{}'},"geometry":${geometryJson(gdal, geometry)}}`,
      );
      first = false;
    },
    close() {
      try {
        write('\n]\n}\n');
        writeSync(fd, buffer, 0, used);
      } finally {
        closeSync(fd);
      }
    },
  };
}

function properties(fields: Field[], feature: Gdal.Feature): string {
  const values = feature.fields.toArray() as unknown[];
  let out = '{';
  for (let i = 0; i < fields.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) continue;
    const { key, kind } = fields[i]!;
    let text: string | undefined;
    switch (kind) {
      case 'number':
        if (Number.isFinite(v)) text = number(v as number);
        break;
      case 'boolean':
        text = v ? 'true' : 'false';
        break;
      case 'string':
        text = jsonLike(v as string) ?? JSON.stringify(v);
        break;
      case 'numbers':
        // Not JSON.stringify: -0 kept; a non-finite member is null (GDAL writes Infinity: not JSON).
        text = `[${(v as number[]).map((x) => (Number.isFinite(x) ? number(x) : 'null')).join(',')}]`;
        break;
      default:
        text = JSON.stringify(v);
    }
    if (text !== undefined) out += (out.length > 1 ? ',' : '') + key + text;
  }
  return out + '}';
}

/** A finite number as JSON, -0 kept (GDAL writes -0.0; `String(-0)` is "0"). */
const number = (v: number): string => (v === 0 && 1 / v < 0 ? '-0' : String(v));

/**
 * A string that GDAL's driver writes as JSON rather than as a string: one that starts with `{` and
 * ends with `}`, or `[` and `]`, and parses (GDAL 3.6 does so for every string field, e.g. objects
 * of GeoJSON properties read back as strings). Written as it is (it parsed: valid JSON, and its
 * numbers keep every digit, as json-c keeps them).
 */
function jsonLike(v: string): string | undefined {
  const first = v.charCodeAt(0);
  const last = v.charCodeAt(v.length - 1);
  if (!((first === 0x7b && last === 0x7d) || (first === 0x5b && last === 0x5d))) return undefined;
  try {
    JSON.parse(v);
    return v;
  } catch {
    return undefined;
  }
}

const TYPES = [
  '',
  'Point',
  'LineString',
  'Polygon',
  'MultiPoint',
  'MultiLineString',
  'MultiPolygon',
  'GeometryCollection',
];

const wrap = (base: number, body: string): string =>
  base === 7
    ? `{"type":"GeometryCollection","geometries":${body}}`
    : `{"type":"${TYPES[base]}","coordinates":${body}}`;

/** Thrown inside the WKB reader for what GDAL should render itself. */
class NotPlain extends Error {}

/** The GeoJSON geometry object of a geometry: from its ISO WKB, else as GDAL's driver writes it. */
export function geometryJson(gdal: typeof Gdal, geometry: Gdal.Geometry): string {
  try {
    return new WkbReader(geometry.toWKB('LSB', 'ISO')).geometry() ?? 'null';
  } catch (e) {
    if (!(e instanceof NotPlain)) throw e;
  }
  return JSON.stringify(driverGeometry(gdal, geometry));
}

/**
 * What GDAL's GeoJSON driver writes for a geometry: curves linearized, empty geometries as it
 * renders them (a one-feature file in /vsimem; only for geometries the reader above leaves alone).
 */
function driverGeometry(gdal: typeof Gdal, geometry: Gdal.Geometry): unknown {
  const dataset = gdal.open(VSIMEM, 'w', 'GeoJSON');
  try {
    const layer = dataset.layers.create('g', null, gdal.wkbUnknown);
    const feature = new gdal.Feature(layer);
    feature.setGeometry(geometry);
    layer.features.add(feature);
  } finally {
    dataset.close();
  }
  const text = gdal.vsimem.release(VSIMEM).toString('utf8');
  return (JSON.parse(text) as { features: Array<{ geometry: unknown }> }).features[0]!.geometry ?? null;
}

/**
 * Reads little-endian ISO WKB (as `toWKB('LSB', 'ISO')` gives it) into GeoJSON text. Empty
 * geometries as GDAL's driver writes them (an empty point is null, others have empty coordinates),
 * except inside a multi-geometry or collection, where GDAL writes an empty point as null (which
 * makes the whole geometry null or not GeoJSON) and an empty line or ring as `[]` (fewer positions
 * than GeoJSON allows): empty members and rings are left out, they add nothing.
 */
class WkbReader {
  #wkb: Buffer;
  #at = 0;
  /** An aligned copy of the coordinates being read (WKB doubles are not 8-byte aligned). */
  static #scratch = new Float64Array(4096);

  constructor(wkb: Buffer) {
    this.#wkb = wkb;
  }

  #uint32(): number {
    const v = this.#wkb.readUInt32LE(this.#at);
    this.#at += 4;
    return v;
  }

  /**
   * `[x,y]` or `[x,y,z]` for each of `n` points of `dims` ordinates (M is dropped, as GDAL does);
   * undefined for a `point` whose ordinates are all NaN (ISO WKB's empty point).
   */
  #points(n: number, dims: number, z: boolean, point = false): string | undefined {
    const size = n * dims;
    if (WkbReader.#scratch.length < size) WkbReader.#scratch = new Float64Array(size * 2);
    const d = WkbReader.#scratch;
    new Uint8Array(d.buffer, 0, size * 8).set(this.#wkb.subarray(this.#at, this.#at + size * 8));
    this.#at += size * 8;
    if (point && d.subarray(0, dims).every(Number.isNaN)) return undefined;
    let out = '[';
    for (let i = 0, k = 0; i < n; i++, k += dims) {
      const x = d[k]!;
      const y = d[k + 1]!;
      if (!Number.isFinite(x) || !Number.isFinite(y)) throw new NotPlain();
      out += `${i ? ',[' : '['}${x === 0 ? number(x) : x},${y === 0 ? number(y) : y}`;
      if (z) {
        const zv = d[k + 2]!;
        if (!Number.isFinite(zv)) throw new NotPlain();
        out += `,${zv === 0 ? number(zv) : zv}`;
      }
      out += ']';
    }
    return `${out}]`;
  }

  /**
   * The coordinates (or, for a collection, the member geometries) of the next geometry; undefined
   * for an empty point.
   */
  #body(base: number, dims: number, z: boolean): string | undefined {
    switch (base) {
      case 1:
        return this.#points(1, dims, z, true)?.slice(1, -1);
      case 2:
        return this.#points(this.#uint32(), dims, z)!;
      case 3: {
        const rings: string[] = [];
        for (let r = this.#uint32(); r > 0; r--) {
          const n = this.#uint32();
          if (n > 0) rings.push(this.#points(n, dims, z)!);
        }
        return `[${rings.join(',')}]`;
      }
      default: {
        const parts: string[] = [];
        for (let n = this.#uint32(); n > 0; n--) {
          const part = base === 7 ? this.#collected() : this.#member(base - 3);
          if (part !== undefined) parts.push(part);
        }
        return `[${parts.join(',')}]`;
      }
    }
  }

  /** A member of a multi-geometry, read without its wrapper; undefined when it is empty. */
  #member(expected: number): string | undefined {
    const { base, dims, z } = this.#header();
    if (base !== expected) throw new NotPlain();
    const body = this.#body(base, dims, z);
    return body === '[]' ? undefined : body;
  }

  /** A member of a geometry collection; undefined when it is empty. */
  #collected(): string | undefined {
    const { base, dims, z } = this.#header();
    const body = this.#body(base, dims, z);
    return body === undefined || body === '[]' ? undefined : wrap(base, body);
  }

  #header(): { base: number; dims: number; z: boolean } {
    if (this.#wkb[this.#at] !== 1) throw new NotPlain();
    this.#at += 1;
    const type = this.#uint32();
    const base = type % 1000;
    const flavour = Math.floor(type / 1000); // 0 XY, 1 XYZ, 2 XYM, 3 XYZM
    if (base < 1 || base > 7 || flavour > 3) throw new NotPlain();
    return { base, dims: flavour === 0 ? 2 : flavour === 3 ? 4 : 3, z: flavour === 1 || flavour === 3 };
  }

  /** The next geometry as a GeoJSON object; undefined for an empty point (a null geometry). */
  geometry(): string | undefined {
    const { base, dims, z } = this.#header();
    const body = this.#body(base, dims, z);
    return body === undefined ? undefined : wrap(base, body);
  }
}
