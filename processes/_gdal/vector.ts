import { constants } from 'node:fs';
import path from 'node:path';
import type * as Gdal from 'gdal-async';
import { invalidParameter, OwsError } from '../../src/core/errors.ts';
import type { Format } from '../../src/core/model.ts';
import { complexBytes, complexText, type ProcessContext } from '../../src/core/processor.ts';
import type { ComplexResult, ComplexValue } from '../../src/core/values.ts';
import { archiveSizeRefusal } from './archive.ts';
import { DRIVERS, VECTOR_FORMATS, vectorKind, type VectorKind } from './formats.ts';
import { loadGdal } from './gdal.ts';
import { geojsonFileRefusal } from './geojson-guard.ts';
import { geojsonWriter } from './geojson-writer.ts';
import { stageInput } from './sandbox.ts';

export interface VectorSource {
  dataset: Gdal.Dataset;
  layer: Gdal.Layer;
  /** The layer's CRS; data that carries none (WKT too) is read as OGC:CRS84 (WGS84, longitude first). */
  srs: Gdal.SpatialReference;
}

const unreadable = (locator: string, format: Format, why: string) =>
  invalidParameter(locator, `Input '${locator}': the data cannot be read as ${format.mimeType} (${why})`);

/** Opens vector input data with the driver of its declared format (a GeoJSON declared as GML fails). */
export async function openVector(
  value: ComplexValue,
  locator: string,
  ctx: ProcessContext,
): Promise<VectorSource> {
  const gdal = await loadGdal();
  const kind = vectorKind(value.format.mimeType);
  if (!kind)
    throw invalidParameter(locator, `Input '${locator}': ${value.format.mimeType} is not a vector format`);
  if (kind === 'wkt') {
    const wkt = (await complexText(value)).trim();
    let geometry: Gdal.Geometry;
    try {
      geometry = await gdal.Geometry.fromWKTAsync(wkt);
    } catch (e) {
      throw unreadable(locator, value.format, (e as Error).message);
    }
    // CRS84: WGS84 with longitude first, the order WKT coordinates are read in.
    const srs = gdal.SpatialReference.fromUserInput('OGC:CRS84');
    const dataset = gdal.open('wkt', 'w', 'Memory');
    const layer = await dataset.layers.createAsync('wkt', srs, geometry.wkbType);
    const feature = new gdal.Feature(layer);
    feature.setGeometry(geometry);
    await layer.features.addAsync(feature);
    return { dataset, layer, srs };
  }
  const driver = DRIVERS[kind];
  // A private copy in a folder of its own; /vsizip/ finds the end of the archive path by its .zip.
  const file = await stageInput(
    { ...(value.file !== undefined ? { file: value.file } : {}), bytes: () => complexBytes(value) },
    ctx.workDir,
    kind === 'shapefile' ? 'zip' : driver.extension,
  );
  if (kind === 'geojson') {
    const refusal = await geojsonFileRefusal(file);
    if (refusal) throw unreadable(locator, value.format, refusal);
  }
  const name = kind === 'shapefile' ? `/vsizip/${file}` : file;
  if (kind === 'shapefile') {
    const refusal = archiveRefusal(gdal, name);
    if (refusal) throw unreadable(locator, value.format, refusal);
    // Before GDAL reads a byte of any member: what the archive expands to.
    const size = await archiveSizeRefusal(file, ctx.limits, ctx.signal);
    if (size?.tooLarge) {
      throw new OwsError(
        'FileSizeExceeded',
        `Input '${locator}': the zipped Shapefile is refused: ${size.reason}`,
        locator,
      );
    }
    if (size) throw unreadable(locator, value.format, size.reason);
  }
  let dataset: Gdal.Dataset;
  try {
    // Only the drivers of the declared format: never VRT or another format that names other files.
    dataset = await gdal.openAsync(name, 'r', driver.read);
  } catch (e) {
    throw unreadable(locator, value.format, (e as Error).message);
  }
  if ((await dataset.layers.countAsync()) === 0) throw unreadable(locator, value.format, 'it has no layer');
  const layer = await dataset.layers.getAsync(0);
  // No CRS (a Shapefile without .prj, GML without srsName): CRS84, as for WKT. Not EPSG:4326, whose
  // latitude-first axis order made reproject swap the coordinates of such data.
  const srs = layer.srs ?? gdal.SpatialReference.fromUserInput('OGC:CRS84');
  return { dataset, layer, srs };
}

/** Archive members GDAL lists, at most this many (a zipped Shapefile holds a few files). */
const MAX_MEMBERS = 1000;
const { S_IFMT, S_IFDIR } = constants;

/**
 * Why a zip archive is refused: a member whose name is absolute or climbs out (`..`), or too many
 * members. /vsizip/ reads members from the archive only, never from the disk, so this is a second
 * wall, and it keeps such archives away from every later step.
 */
function archiveRefusal(gdal: typeof Gdal, archive: string): string | undefined {
  const pending = [archive];
  let seen = 0;
  while (pending.length > 0) {
    const dir = pending.pop()!;
    let names: string[];
    try {
      names = gdal.fs.readDir(dir);
    } catch {
      return 'it is not a zip archive';
    }
    for (const member of names) {
      if (++seen > MAX_MEMBERS) return `it has more than ${MAX_MEMBERS} members`;
      if (member === '..' || member === '.' || /^[\\/]|^[a-z]:/i.test(member) || member.includes('\\'))
        return `its member '${member}' has an absolute or parent path`;
      const child = `${dir}/${member}`;
      if ((gdal.fs.stat(child).mode & S_IFMT) === S_IFDIR) pending.push(child);
    }
  }
  return undefined;
}

/**
 * How long a synchronous feature loop runs before it gives the event loop a turn: Node frees the
 * memory of buffers GDAL returned (WKB) only then, so a long turn holds more of it.
 */
const TURN_MS = 10;

/**
 * Visits every feature of a layer, in order, with synchronous GDAL calls: a GDAL job has its child
 * process to itself (src/jobs/child-runner.ts), so a synchronous call blocks nothing else and saves
 * the thread-pool round trip of its async form (which cost more than the work for small features).
 * Reports progress in 20 steps, gives the event loop a turn every 10 ms (an abort from the parent
 * comes in, progress goes out, buffers are freed) and stops with the abort reason when aborted. With
 * `range`, only the features of those positions (0-based, end excluded) are visited (a chunk of a
 * fanned-out job).
 */
export async function eachFeature(
  source: VectorSource,
  ctx: ProcessContext,
  visit: (feature: Gdal.Feature) => void,
  progress: { from: number; to: number; label: string } = { from: 0, to: 90, label: 'features' },
  range?: { start: number; end: number },
): Promise<void> {
  const features = source.layer.features;
  const total = range ? range.end - range.start : features.count();
  const step = Math.max(1, Math.ceil(total / 20));
  let done = 0;
  let turn = performance.now();
  ctx.signal.throwIfAborted();
  /** Whether this turn has lasted TURN_MS (checked without a promise: the loop stays synchronous). */
  const due = () => performance.now() - turn > TURN_MS;
  /** Gives the event loop a turn; throws once aborted. */
  const pause = async () => {
    await new Promise(setImmediate);
    ctx.signal.throwIfAborted();
    turn = performance.now();
  };
  let f = features.first();
  // No driver-independent way to start at a position: the features before it are read and skipped
  // (with turns too: a late chunk of a large layer skips for as long as it works).
  for (let skip = range?.start ?? 0; f && skip > 0; skip--) {
    f = features.next();
    if (skip % 16 === 0 && due()) await pause();
  }
  for (; f && (range === undefined || done < total); f = features.next()) {
    visit(f);
    if (++done % step === 0 || done === total) {
      ctx.progress(
        progress.from + ((progress.to - progress.from) * done) / Math.max(total, 1),
        `${done} of ${total} ${progress.label}`,
      );
    }
    // Every feature: one may take long (a buffer of a large polygon), 16 of them far longer.
    if (due()) await pause();
  }
  ctx.signal.throwIfAborted();
}

/** Where a processor writes its output features, one at a time. */
export interface VectorSink {
  /** Adds a feature with `geometry` and the attributes of `from` (a feature of `fieldsFrom`), if given. */
  add(geometry: Gdal.Geometry, from?: Gdal.Feature): void;
  /** Closes the output and returns it as complex output `name`. */
  finish(): Promise<ComplexResult>;
}

/**
 * A layer for output `name`, with the fields of `fieldsFrom` (if any), in the format the client
 * asked for (else the first vector format). GeoJSON, the default, is written straight to its file
 * as the features come, by geojson-writer.ts (else, for field types it leaves to GDAL, by GDAL's
 * driver); the other formats go through an in-memory layer translated at the end (`writeVector`:
 * KML is reprojected, WKT is one geometry).
 */
export async function vectorSink(
  name: string,
  srs: Gdal.SpatialReference,
  geometryType: number,
  ctx: ProcessContext,
  fieldsFrom?: Gdal.Layer,
): Promise<VectorSink> {
  const gdal = await loadGdal();
  const format: Format = ctx.outputs[name]?.format ?? VECTOR_FORMATS[0]!;
  const direct = vectorKind(format.mimeType) === 'geojson';
  const file = path.join(ctx.workDir, `${name}.${DRIVERS.geojson.extension}`);
  const writer = direct ? geojsonWriter(gdal, file, name, srs, fieldsFrom) : undefined;
  if (writer) {
    return {
      add: (geometry, from) => writer.add(geometry, from),
      finish: () => {
        writer.close();
        return Promise.resolve({ kind: 'complex', format, file });
      },
    };
  }
  const dataset = direct ? gdal.open(file, 'w', DRIVERS.geojson.write) : gdal.open(name, 'w', 'Memory');
  const layer = dataset.layers.create(name, srs, geometryType);
  if (fieldsFrom) for (const field of fieldsFrom.fields) layer.fields.add(field);
  return {
    add(geometry, from) {
      const feature = new gdal.Feature(layer);
      // GDAL copies the attributes itself: dates, times and 64-bit integers exactly (JavaScript
      // values of them would not go back: a date is refused, a 64-bit integer rounded).
      if (from) {
        feature.setFrom(from);
        // Null attributes are left unset, as geojson-writer.ts leaves them out.
        from.fields.toArray().forEach((v, i) => {
          if (v === null) feature.fields.set(i, null);
        });
      }
      feature.setGeometry(geometry);
      layer.features.add(feature);
    },
    async finish() {
      if (!direct) return writeVector({ dataset, layer }, name, ctx);
      dataset.close();
      return { kind: 'complex', format, file };
    },
  };
}

/**
 * Writes an in-memory layer as output `name`, in the format the client asked for (else the first
 * vector format), to a file in the work directory and returns it as a complex result. WKT holds
 * one geometry: a single feature's, else a collection.
 */
export async function writeVector(
  source: { dataset: Gdal.Dataset; layer: Gdal.Layer },
  name: string,
  ctx: ProcessContext,
): Promise<ComplexResult> {
  const format: Format = ctx.outputs[name]?.format ?? VECTOR_FORMATS[0]!;
  const gdal = await loadGdal();
  const kind: VectorKind = vectorKind(format.mimeType) ?? 'geojson';
  if (kind === 'wkt') {
    const geometries: Gdal.Geometry[] = [];
    for (let f = source.layer.features.first(); f; f = source.layer.features.next()) {
      const g = f.getGeometry();
      if (g) geometries.push(g);
    }
    let geometry: Gdal.Geometry;
    if (geometries.length === 1) geometry = geometries[0]!;
    else {
      const collection = new gdal.GeometryCollection();
      for (const g of geometries) collection.children.add(g);
      geometry = collection;
    }
    return { kind: 'complex', format, text: geometry.toWKT() };
  }
  const driver = DRIVERS[kind];
  const file = path.join(ctx.workDir, `${name}.${driver.extension}`);
  const options =
    kind === 'gml3' ? ['-dsco', 'FORMAT=GML3'] : kind === 'gml2' ? ['-dsco', 'FORMAT=GML2'] : [];
  // KML is longitude/latitude on WGS84 by definition.
  const reproject = kind === 'kml' ? ['-t_srs', 'EPSG:4326'] : [];
  const out = await gdal.vectorTranslateAsync(file, source.dataset, [
    '-f',
    driver.write,
    ...options,
    ...reproject,
    '-nln',
    name,
  ]);
  out.close();
  return { kind: 'complex', format, file };
}
