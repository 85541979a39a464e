/**
 * How far the server's main process grows while it takes one large complex input, on each path a
 * client can send one: OGC API execute with the data as a JSON string, as a JSON object (qualified
 * value) and as base64, and WPS Execute (XML POST) with the data in CDATA and as base64 (76-character
 * lines). Each path gets a fresh server process (test/helpers/request-memory.ts says how it is
 * measured). The base64 paths carry a GeoTIFF whose base64 text is as long as the GeoJSON.
 *
 *   node bench/request-memory.ts [N=100000 polygons] [PATHS=oaproc-string,oaproc-object,oaproc-base64,wps-cdata,wps-base64]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { geotiff, measureRequest, REQUEST_PATHS } from '../test/helpers/request-memory.ts';
import { generatePolygons } from './gdal-floor.ts';

const MIB = 1024 * 1024;
const n = Number(process.argv[2] ?? 100_000);
const paths = (process.argv[3] ?? Object.keys(REQUEST_PATHS).join(',')).split(',');

const dir = mkdtempSync(path.join(tmpdir(), 'request-memory-'));
try {
  const geojson = generatePolygons(n);
  const small = generatePolygons(10);
  const tiff = geotiff(dir, Math.round((geojson.length * 3) / 4)).toString('base64');
  const smallTiff = geotiff(dir, 4096).toString('base64');
  console.log(`| path | data MB | body MB | status | main process: peak − idle MB | growth / data |`);
  console.log(`|---|---|---|---|---|---|`);
  for (const name of paths) {
    const binary = REQUEST_PATHS[name]?.process === 'raster-stats';
    const data = binary ? tiff : geojson;
    const m = await measureRequest(name, binary ? smallTiff : small, data);
    const status = m.status === 200 ? '200' : `${m.status} ${m.answer.slice(0, 120).replace(/\s+/g, ' ')}`;
    console.log(
      `| ${name} | ${(data.length / MIB).toFixed(1)} | ${(m.bodyBytes / MIB).toFixed(1)} | ${status} | ${(m.growth / MIB).toFixed(0)} | ${(m.growth / data.length).toFixed(2)} |`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
