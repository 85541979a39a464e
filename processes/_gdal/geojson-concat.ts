import { createReadStream, createWriteStream } from 'node:fs';
import { open, rename, truncate } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';

/**
 * GDAL's GeoJSON writer puts a header, then one feature per line separated by ",\n", then this
 * footer (an empty layer: header + footer). The header names the layer and its CRS: the same for
 * every chunk of a job.
 */
const FEATURES_OPEN = '"features": [\n';
const FOOTER = '\n]\n}\n';
/** A header is a few hundred bytes (the CRS may be a long WKT name); it is looked for in this many. */
const HEADER_MAX = 64 * 1024;

/** The header of a GeoJSON file written by GDAL, the byte ranges of its features, and its size. */
async function layout(file: string): Promise<{ header: string; start: number; end: number }> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const head = Buffer.alloc(Math.min(size, HEADER_MAX));
    await handle.read(head, 0, head.length, 0);
    const at = head.indexOf(FEATURES_OPEN);
    const tail = Buffer.alloc(Math.min(size, FOOTER.length));
    await handle.read(tail, 0, tail.length, size - tail.length);
    if (at < 0 || tail.toString('latin1') !== FOOTER) {
      throw new Error(`${file} is not laid out as GDAL's GeoJSON writer lays out a FeatureCollection`);
    }
    const start = at + FEATURES_OPEN.length;
    return { header: head.subarray(0, start).toString('utf8'), start, end: size - FOOTER.length };
  } finally {
    await handle.close();
  }
}

/**
 * Joins GeoJSON FeatureCollections written for the same layer (chunks of one job, in order) into
 * `target`, byte for byte what is written when all their features go into one layer: one header,
 * the features of each in turn separated by ",\n", one footer. The first file becomes the target
 * (its footer cut, the others' features appended: it is not copied). Refuses files laid out
 * otherwise or with different headers (another layer name or CRS).
 */
export async function concatGeoJson(files: readonly string[], target: string): Promise<void> {
  const parts = await Promise.all(files.map(layout));
  const [head, ...rest] = parts;
  if (head === undefined) throw new Error('no GeoJSON to join');
  for (const [i, part] of parts.entries()) {
    if (part.header !== head.header) throw new Error(`${files[i]} has another layer header than ${files[0]}`);
  }
  await rename(files[0]!, target);
  await truncate(target, head.end);
  const out = createWriteStream(target, { flags: 'a' });
  const write = (text: string) =>
    new Promise<void>((resolve, reject) => out.write(text, (e) => (e ? reject(e) : resolve())));
  try {
    let empty = head.end <= head.start;
    for (const [i, part] of rest.entries()) {
      if (part.end <= part.start) continue; // an empty chunk
      if (!empty) await write(',\n');
      empty = false;
      await pipeline(createReadStream(files[i + 1]!, { start: part.start, end: part.end - 1 }), out, {
        end: false,
      });
    }
    await write(FOOTER);
  } finally {
    await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  }
}
