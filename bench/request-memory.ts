/**
 * How far the server's main process grows while it takes one large complex input, on each path a
 * client can send one: OGC API execute with the data as a JSON string, as a JSON object (qualified
 * value) and as base64, and WPS Execute (XML POST) with the data in CDATA and as base64. Each path
 * gets a fresh server process; after a small warm-up request on the same path its peak resident
 * size (VmHWM) is reset (`/proc/PID/clear_refs`, Linux) and its resident size read, then the large
 * request runs; growth = VmHWM − that idle size. The GeoJSON goes to `feature-count` (a GDAL child
 * does the counting: only the request handling counts here), the GeoTIFF to `raster-stats`.
 *
 *   node bench/request-memory.ts [N=100000 polygons] [PATHS=oaproc-string,oaproc-object,oaproc-base64,wps-cdata,wps-base64]
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { processMemory, startServerProcess } from '../test/helpers/server-process.ts';
import { generatePolygons } from './gdal-floor.ts';

const MIB = 1024 * 1024;
const n = Number(process.argv[2] ?? 100_000);
const paths = (process.argv[3] ?? 'oaproc-string,oaproc-object,oaproc-base64,wps-cdata,wps-base64').split(
  ',',
);

/** POSTs a body; resolves with the status and the answer's text. */
function post(url: string, contentType: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { 'content-type': contentType } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const wpsExecute = (identifier: string, input: string, complex: string, output: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>
<wps:Execute service="WPS" version="1.0.0" xmlns:wps="http://www.opengis.net/wps/1.0.0" xmlns:ows="http://www.opengis.net/ows/1.1">
  <ows:Identifier>${identifier}</ows:Identifier>
  <wps:DataInputs><wps:Input><ows:Identifier>${input}</ows:Identifier><wps:Data>${complex}</wps:Data></wps:Input></wps:DataInputs>
  <wps:ResponseForm><wps:RawDataOutput><ows:Identifier>${output}</ows:Identifier></wps:RawDataOutput></wps:ResponseForm>
</wps:Execute>`;

/** A GeoTIFF of about `bytes` bytes (uncompressed Float32), made by gdal_create. */
function geotiff(dir: string, bytes: number): Buffer {
  const file = path.join(dir, `raster-${bytes}.tif`);
  const side = Math.round(Math.sqrt(bytes / 4));
  execFileSync('gdal_create', [
    ...['-of', 'GTiff', '-outsize', String(side), String(side), '-bands', '1', '-ot', 'Float32'],
    ...['-burn', '1', '-a_srs', 'EPSG:4326', '-a_ullr', '0', '10', '10', '0', file],
  ]);
  return readFileSync(file);
}

interface Case {
  process: string;
  /** The request for the data (its text, as the client sends it). */
  request(data: string): { url: string; type: string; body: string };
}

/** The base64 lines of WPS (76 characters, as MIME writes them). */
const mimeLines = (b64: string) => b64.replace(/.{76}/g, '$&\n');

const CASES: Record<string, Case> = {
  'oaproc-string': {
    process: 'feature-count',
    request: (geojson) => ({
      url: '/processes/feature-count/execution',
      type: 'application/json',
      body: JSON.stringify({ inputs: { data: { value: geojson, mediaType: 'application/geo+json' } } }),
    }),
  },
  'oaproc-object': {
    process: 'feature-count',
    request: (geojson) => ({
      url: '/processes/feature-count/execution',
      type: 'application/json',
      body: `{"inputs":{"data":{"value":${geojson},"mediaType":"application/geo+json"}}}`,
    }),
  },
  'oaproc-base64': {
    process: 'raster-stats',
    request: (b64) => ({
      url: '/processes/raster-stats/execution',
      type: 'application/json',
      body: JSON.stringify({
        inputs: { raster: { value: b64, mediaType: 'image/tiff; application=geotiff' } },
      }),
    }),
  },
  'wps-cdata': {
    process: 'feature-count',
    request: (geojson) => ({
      url: '/wps',
      type: 'text/xml',
      body: wpsExecute(
        'feature-count',
        'data',
        `<wps:ComplexData mimeType="application/geo+json"><![CDATA[${geojson}]]></wps:ComplexData>`,
        'count',
      ),
    }),
  },
  'wps-base64': {
    process: 'raster-stats',
    request: (b64) => ({
      url: '/wps',
      type: 'text/xml',
      body: wpsExecute(
        'raster-stats',
        'raster',
        `<wps:ComplexData mimeType="image/tiff; application=geotiff" encoding="base64">${mimeLines(b64)}</wps:ComplexData>`,
        'stats',
      ),
    }),
  },
};

const dir = mkdtempSync(path.join(tmpdir(), 'request-memory-'));
try {
  const geojson = generatePolygons(n);
  const small = generatePolygons(10);
  const tiff = geotiff(dir, Math.round((geojson.length * 3) / 4)).toString('base64');
  const smallTiff = geotiff(dir, 4096).toString('base64');
  console.log(`| path | data MB | body MB | status | main process: peak − idle MB | growth / data |`);
  console.log(`|---|---|---|---|---|---|`);
  for (const name of paths) {
    const c = CASES[name];
    if (!c) throw new Error(`unknown path ${name}`);
    const binary = c.process === 'raster-stats';
    const data = binary ? tiff : geojson;
    const server = await startServerProcess({
      processes: [c.process],
      prefix: 'request-memory-',
      server: ['  max_request_size: 256mb', '  max_single_input_size: 256mb'].join('\n'),
      manager: { parallel_processes: 1, sync_job_execution_timeout_seconds: 600 },
    });
    try {
      const pid = server.child.pid!;
      const warm = c.request(binary ? smallTiff : small);
      const w = await post(server.address + warm.url, warm.type, warm.body);
      if (w.status !== 200) throw new Error(`${name} warm-up: ${w.status} ${w.text.slice(0, 300)}`);
      const big = c.request(data);
      writeFileSync(`/proc/${pid}/clear_refs`, '5');
      const idle = processMemory(pid).rss;
      const r = await post(server.address + big.url, big.type, big.body);
      const growth = processMemory(pid).peak - idle;
      console.log(
        `| ${name} | ${(data.length / MIB).toFixed(1)} | ${(big.body.length / MIB).toFixed(1)} | ${r.status}${r.status === 200 ? '' : ` ${r.text.slice(0, 120).replace(/\s+/g, ' ')}`} | ${(growth / MIB).toFixed(0)} | ${(growth / data.length).toFixed(2)} |`,
      );
    } finally {
      await server.stop();
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
