/**
 * What GDAL may reach: nothing on the network and no file outside the job's folder, whatever the
 * data names. Three layers, each checked by test/geo/gdal-sandbox.test.ts:
 * - configuration set once, before GDAL opens anything (`SANDBOX_CONFIG`);
 * - every file GDAL opens is a private copy in a fresh folder of the job's work directory
 *   (`stageInput`), opened with the one driver family of its declared format (never VRT);
 * - data-level refusals where a driver follows links no option turns off (GeoJSON linked CRSs,
 *   see geojson-guard.ts).
 */
import { constants, createWriteStream } from 'node:fs';
import { link, lstat, mkdir, open, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type * as Gdal from 'gdal-async';

/** An address nothing listens on: every HTTP(S) request GDAL makes goes there and is refused at once. */
export const DEAD_PROXY = '127.0.0.1:1';

/**
 * GDAL configuration options for untrusted data (names as GDAL 3.6 reads them). The proxy is the
 * catch-all; the driver options close the known paths by themselves, so that a host listed in the
 * environment's NO_PROXY (which libcurl honours over any proxy) is not reachable either.
 */
export const SANDBOX_CONFIG: Readonly<Record<string, string>> = {
  // Catch-all: HTTP and HTTPS go through a proxy that refuses the connection, quickly.
  GDAL_HTTP_PROXY: DEAD_PROXY,
  GDAL_HTTPS_PROXY: DEAD_PROXY,
  GDAL_HTTP_CONNECTTIMEOUT: '1',
  GDAL_HTTP_TIMEOUT: '2',
  GDAL_HTTP_MAX_RETRY: '0',
  // /vsicurl/ (and the /vsis3/… family built on it) opens no file name: no name ends so.
  CPL_VSIL_CURL_ALLOWED_EXTENSIONS: '.gateway-network-disabled',
  // GML: no download of the WFS DescribeFeatureType named in xsi:schemaLocation (default YES),
  // no xlink:href resolution (the default, made explicit).
  GML_DOWNLOAD_WFS_SCHEMA: 'NO',
  GML_SKIP_RESOLVE_ELEMS: 'ALL',
  // LIBKML: no fetching of styles named by URL (the default, made explicit).
  LIBKML_RESOLVE_STYLE: 'NO',
  // No probing of sibling files (.aux.xml, .ovr, .IMD, world files…): the folder is taken as empty,
  // and no .aux.xml is read or written.
  GDAL_DISABLE_READDIR_ON_OPEN: 'EMPTY_DIR',
  GDAL_PAM_ENABLED: 'NO',
  // VRT is never an allowed driver; should it be, it runs no Python.
  GDAL_VRT_ENABLE_PYTHON: 'NO',
};

/** Sets `SANDBOX_CONFIG` (process-wide in GDAL) and reads it back, so a silent failure cannot pass. */
export function applySandbox(gdal: typeof Gdal): void {
  for (const [key, value] of Object.entries(SANDBOX_CONFIG)) {
    gdal.config.set(key, value);
    if (gdal.config.get(key) !== value) throw new Error(`GDAL configuration ${key} could not be set`);
  }
}

/** Whether `file` (after resolution) lies strictly inside `dir`. */
export function isInside(dir: string, file: string): boolean {
  const relative = path.relative(path.resolve(dir), path.resolve(file));
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
}

let staged = 0;

const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * Places an input into a fresh folder of its own inside the job's work directory, under a name of
 * ours (`input.<extension>`), and returns that path: GDAL then sees only this file, whatever the
 * input's origin, and no sibling a client could have named. Only regular files are taken (a FIFO
 * or a device would block or stream forever). A file is hard-linked when it can be (same file
 * system: no copy of a large raster, read by every step of a fanned-out job), else copied. Only
 * files the server wrote come here (inputs spilled to the job's work folder, whether sent inline or
 * fetched, `file:` references included: src/jobs/files.ts; outputs drawn on the job map), and GDAL
 * opens every staged input read-only (openVector, openStagedRaster): no step can change the file
 * behind the link.
 */
export async function stageInput(
  source: { file?: string; bytes: () => Promise<Uint8Array | string> },
  workDir: string,
  extension: string,
): Promise<string> {
  const dir = path.join(workDir, `gdal-${process.pid}-${++staged}`);
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `input.${extension}`);
  if (!isInside(workDir, file)) throw new Error(`GDAL input path outside the work directory: ${file}`);
  if (source.file !== undefined) {
    // The file as opened (never through a symbolic link, never blocking on a FIFO) is the one
    // checked, linked and copied: a path swapped meanwhile is refused, not followed.
    const refused = () => new Error(`GDAL input is not a regular file: ${source.file}`);
    const handle = await open(source.file, OPEN_FLAGS).catch((e: NodeJS.ErrnoException) => {
      throw e.code === 'ELOOP' ? refused() : e;
    });
    try {
      const info = await handle.stat();
      if (!info.isFile()) throw refused();
      const linked = await link(source.file, file).then(
        () => true,
        () => false, // another file system, or links not allowed: copied
      );
      if (linked) {
        // link() does not follow a symbolic link; whatever the path names now must be the file opened.
        const now = await lstat(file);
        if (!now.isFile() || now.ino !== info.ino || now.dev !== info.dev) {
          await unlink(file);
          throw refused();
        }
      } else {
        await pipeline(handle.createReadStream({ autoClose: false, start: 0 }), createWriteStream(file));
      }
    } finally {
      await handle.close();
    }
  } else {
    await writeFile(file, await source.bytes());
  }
  return file;
}
