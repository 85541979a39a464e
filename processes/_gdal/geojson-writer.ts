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
  // Everything goes into one reused byte buffer, written out when full: no text outlives its
  // feature, so the garbage stays young and cheap to collect.
  const buffer = Buffer.allocUnsafe(BUFFER_SIZE);
  let used = 0;
  const sink: Sink = {
    text(text) {
      if (used + text.length * 3 > BUFFER_SIZE) {
        writeSync(fd, buffer, 0, used);
        used = 0;
        if (text.length * 3 > BUFFER_SIZE) {
          writeSync(fd, text);
          return;
        }
      }
      used += buffer.write(text, used);
    },
    ascii(text) {
      if (used + text.length > BUFFER_SIZE) {
        writeSync(fd, buffer, 0, used);
        used = 0;
        if (text.length > BUFFER_SIZE) {
          writeSync(fd, text, null, 'latin1');
          return;
        }
      }
      used += buffer.write(text, used, 'latin1');
    },
  };
  sink.text(header);
  let first = true;
  return {
    add(geometry, from) {
      sink.text(
        `${first ? '' : ',\n'}{"type":"Feature","properties":${from ? properties(fields, from) : '{}'},"geometry":`,
      );
      writeGeometry(gdal, geometry, sink);
      sink.ascii('}');
      first = false;
    },
    close() {
      try {
        sink.ascii('\n]\n}\n');
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

/** Where GeoJSON text goes: `ascii` for text known to be ASCII (numbers, punctuation, type names). */
interface Sink {
  text(text: string): void;
  ascii(text: string): void;
}

/** `{"type":…,"coordinates":` (or `"geometries":`) for each WKB base type. */
const OPEN = ['', 'Point', 'LineString', 'Polygon', 'MultiPoint', 'MultiLineString', 'MultiPolygon'].map(
  (type) => `{"type":"${type}","coordinates":`,
);
OPEN.push('{"type":"GeometryCollection","geometries":');

/** Thrown inside the WKB reader for what GDAL should render itself. */
class NotPlain extends Error {}

/** The GeoJSON geometry object of a geometry: from its ISO WKB, else as GDAL's driver writes it. */
export function geometryJson(gdal: typeof Gdal, geometry: Gdal.Geometry): string {
  let out = '';
  const append = (text: string) => {
    out += text;
  };
  writeGeometry(gdal, geometry, { text: append, ascii: append });
  return out;
}

/** Writes the GeoJSON geometry object of a geometry (`null` for an empty point) to `sink`. */
function writeGeometry(gdal: typeof Gdal, geometry: Gdal.Geometry, sink: Sink): void {
  const reader = new WkbReader(geometry.toWKB('LSB', 'ISO'), sink);
  let empty: Emptiness;
  try {
    empty = reader.check();
  } catch (e) {
    if (!(e instanceof NotPlain)) throw e;
    sink.text(JSON.stringify(driverGeometry(gdal, geometry)));
    return;
  }
  if (empty === EMPTY_POINT) sink.ascii('null');
  else reader.write();
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

/** What a geometry's text is: coordinates, none (`[]`), or no geometry at all (an empty point). */
type Emptiness = typeof FULL | typeof EMPTY | typeof EMPTY_POINT;
const FULL = 0;
const EMPTY = 1;
const EMPTY_POINT = 2;

/** Positions turned into text by one JSON.stringify call, at most. */
const BATCH = 1024;

/** Position arrays ([x, y] and [x, y, z]) reused for every batch, made on first use. */
const positions: { 2?: number[][]; 3?: number[][] } = {};
const positionsOf = (arity: 2 | 3): number[][] =>
  (positions[arity] ??= Array.from({ length: BATCH }, () => (arity === 2 ? [0.5, 0.5] : [0.5, 0.5, 0.5])));

const negativeZero = (v: number): boolean => v === 0 && 1 / v < 0;

/**
 * Writes little-endian ISO WKB (as `toWKB('LSB', 'ISO')` gives it) as GeoJSON text. Empty
 * geometries as GDAL's driver writes them (an empty point is null, others have empty coordinates),
 * except inside a multi-geometry or collection, where GDAL writes an empty point as null (which
 * makes the whole geometry null or not GeoJSON) and an empty line or ring as `[]` (fewer positions
 * than GeoJSON allows): empty members and rings are left out, they add nothing.
 *
 * Two passes: `check` reads the whole geometry first, so that one GDAL must render (NotPlain: a
 * curve, a non-finite coordinate) is known before a byte is written (the text goes straight into
 * the writer's buffer, which may be written out at any point); `write` then writes it. Positions
 * become text through JSON.stringify, a batch at a time, from arrays reused for every batch: V8
 * writes each number into the result as `String(x)` does (the shortest text that reads back as the
 * same double), without a string per number, which took most of a buffer job's time. Except -0,
 * which JSON writes as 0: a position with a -0 is written by hand.
 */
class WkbReader {
  readonly #wkb: DataView;
  readonly #sink: Sink;
  #at = 0;

  constructor(wkb: Buffer, sink: Sink) {
    this.#wkb = new DataView(wkb.buffer, wkb.byteOffset, wkb.byteLength);
    this.#sink = sink;
  }

  /** Reads the whole geometry: throws NotPlain for what GDAL should render; says if it is empty. */
  check(): Emptiness {
    this.#at = 0;
    return this.#scan(0, true);
  }

  /** Writes the geometry (checked: plain, not an empty point) as a GeoJSON object. */
  write(): void {
    this.#at = 0;
    this.#geometry();
  }

  #uint32(): number {
    const v = this.#wkb.getUint32(this.#at, true);
    this.#at += 4;
    return v;
  }

  /** The header of the next geometry: its base type, ordinates per position and whether it has Z. */
  #header(): { base: number; dims: number; z: boolean } {
    if (this.#wkb.getUint8(this.#at) !== 1) throw new NotPlain();
    this.#at += 1;
    const type = this.#uint32();
    const base = type % 1000;
    const flavour = Math.floor(type / 1000); // 0 XY, 1 XYZ, 2 XYM, 3 XYZM
    if (base < 1 || base > 7 || flavour > 3) throw new NotPlain();
    return { base, dims: flavour === 0 ? 2 : flavour === 3 ? 4 : 3, z: flavour === 1 || flavour === 3 };
  }

  /**
   * Reads past the next geometry (of base type `expected`, unless 0) and says what its text is;
   * with `values`, throws NotPlain for a non-finite coordinate (else only headers are checked).
   */
  #scan(expected: number, values: boolean): Emptiness {
    const { base, dims, z } = this.#header();
    if (expected !== 0 && base !== expected) throw new NotPlain();
    switch (base) {
      case 1:
        return this.#scanPositions(1, dims, z, values, true) ? FULL : EMPTY_POINT;
      case 2:
        return this.#scanPositions(this.#uint32(), dims, z, values, false) ? FULL : EMPTY;
      case 3: {
        let empty = true;
        for (let r = this.#uint32(); r > 0; r--) {
          if (this.#scanPositions(this.#uint32(), dims, z, values, false)) empty = false;
        }
        return empty ? EMPTY : FULL;
      }
      default: {
        let empty = true;
        for (let n = this.#uint32(); n > 0; n--) {
          if (this.#scan(base === 7 ? 0 : base - 3, values) === FULL) empty = false;
        }
        return empty ? EMPTY : FULL;
      }
    }
  }

  /**
   * Reads past `n` positions of `dims` ordinates; false when there are none, or, for a `point`,
   * when its ordinates are all NaN (ISO WKB's empty point). With `values`, throws NotPlain for a
   * non-finite x, y or z (M is dropped, as GDAL does).
   */
  #scanPositions(n: number, dims: number, z: boolean, values: boolean, point: boolean): boolean {
    const wkb = this.#wkb;
    let at = this.#at;
    this.#at += n * dims * 8;
    if (point) {
      let nan = true;
      for (let k = 0; k < dims; k++) if (!Number.isNaN(wkb.getFloat64(at + 8 * k, true))) nan = false;
      if (nan) return false;
    }
    if (values) {
      const end = at + n * dims * 8;
      for (; at < end; at += dims * 8) {
        if (
          !Number.isFinite(wkb.getFloat64(at, true)) ||
          !Number.isFinite(wkb.getFloat64(at + 8, true)) ||
          (z && !Number.isFinite(wkb.getFloat64(at + 16, true)))
        )
          throw new NotPlain();
      }
    }
    return n > 0;
  }

  /** The next geometry as a GeoJSON object. */
  #geometry(): void {
    const { base, dims, z } = this.#header();
    this.#sink.ascii(OPEN[base]!);
    this.#body(base, dims, z);
    this.#sink.ascii('}');
  }

  /** The coordinates (or, for a collection, the member geometries) of the next geometry. */
  #body(base: number, dims: number, z: boolean): void {
    const sink = this.#sink;
    switch (base) {
      case 1: {
        const wkb = this.#wkb;
        const at = this.#at;
        this.#at += dims * 8;
        const x = wkb.getFloat64(at, true);
        const y = wkb.getFloat64(at + 8, true);
        sink.ascii(`[${number(x)},${number(y)}${z ? `,${number(wkb.getFloat64(at + 16, true))}` : ''}]`);
        return;
      }
      case 2:
        this.#positions(this.#uint32(), dims, z);
        return;
      case 3: {
        sink.ascii('[');
        let first = true;
        for (let r = this.#uint32(); r > 0; r--) {
          const n = this.#uint32();
          if (n === 0) continue;
          if (!first) sink.ascii(',');
          first = false;
          this.#positions(n, dims, z);
        }
        sink.ascii(']');
        return;
      }
      default: {
        sink.ascii('[');
        let first = true;
        for (let n = this.#uint32(); n > 0; n--) {
          const start = this.#at;
          if (this.#scan(0, false) !== FULL) continue; // empty members are left out
          this.#at = start;
          if (!first) sink.ascii(',');
          first = false;
          if (base === 7) this.#geometry();
          else {
            const member = this.#header();
            this.#body(member.base, member.dims, member.z);
          }
        }
        sink.ascii(']');
      }
    }
  }

  /** `[[x,y],…]` (with z: `[[x,y,z],…]`) for the next `n` positions of `dims` ordinates. */
  #positions(n: number, dims: number, z: boolean): void {
    const wkb = this.#wkb;
    const sink = this.#sink;
    const arity = z ? 3 : 2;
    const pool = positionsOf(arity);
    let at = this.#at;
    this.#at += n * dims * 8;
    let batched = 0;
    let written = false;
    /** Writes the positions batched so far, without the brackets of their array. */
    const flush = () => {
      if (batched === 0) return;
      const text = JSON.stringify(batched === BATCH ? pool : pool.slice(0, batched));
      if (written) sink.ascii(',');
      sink.ascii(text.slice(1, -1));
      written = true;
      batched = 0;
    };
    sink.ascii('[');
    for (let i = 0; i < n; i++, at += dims * 8) {
      const x = wkb.getFloat64(at, true);
      const y = wkb.getFloat64(at + 8, true);
      const zv = z ? wkb.getFloat64(at + 16, true) : 0;
      if (negativeZero(x) || negativeZero(y) || negativeZero(zv)) {
        flush();
        if (written) sink.ascii(',');
        sink.ascii(`[${number(x)},${number(y)}${z ? `,${number(zv)}` : ''}]`);
        written = true;
        continue;
      }
      const position = pool[batched]!;
      position[0] = x;
      position[1] = y;
      if (z) position[2] = zv;
      if (++batched === BATCH) flush();
    }
    flush();
    sink.ascii(']');
  }
}
