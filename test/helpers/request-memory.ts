/**
 * How far a fresh server's main process grows while it takes one large complex input on one of
 * the request paths (bench/request-memory.ts, test/load/request-memory.test.ts): after a small
 * warm-up request on the same path, its peak resident size (VmHWM) is reset (`/proc/PID/clear_refs`,
 * Linux) and its resident size read; then the large request runs; growth = VmHWM − that idle size.
 * The GeoJSON goes to `feature-count`, the GeoTIFF (base64) to `raster-stats`: a GDAL child does
 * the work, so what is measured is the request handling.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import path from 'node:path';
import { processMemory, startServerProcess } from './server-process.ts';

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
export function geotiff(dir: string, bytes: number): Buffer {
  const file = path.join(dir, `raster-${bytes}.tif`);
  const side = Math.round(Math.sqrt(bytes / 4));
  execFileSync('gdal_create', [
    ...['-of', 'GTiff', '-outsize', String(side), String(side), '-bands', '1', '-ot', 'Float32'],
    ...['-burn', '1', '-a_srs', 'EPSG:4326', '-a_ullr', '0', '10', '10', '0', file],
  ]);
  return readFileSync(file);
}

export interface Case {
  process: string;
  /** The request for the data (its text, as the client sends it). */
  request(data: string): { url: string; type: string; body: string };
}

/** The base64 lines of WPS (76 characters, as MIME writes them). */
const mimeLines = (b64: string) => b64.replace(/.{76}/g, '$&\n');

export const REQUEST_PATHS: Record<string, Case> = {
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

export type RequestPath = keyof typeof REQUEST_PATHS;

export interface Measured {
  status: number;
  /** The answer's text (the first 300 characters). */
  answer: string;
  bodyBytes: number;
  /** Peak resident size during the request over the idle size, in bytes. */
  growth: number;
}

/**
 * Starts a fresh server with the path's process, warms it up with `small` data and measures the
 * request with `data` (the text the client sends: GeoJSON, or base64 for the binary paths).
 */
export async function measureRequest(name: string, small: string, data: string): Promise<Measured> {
  const c = REQUEST_PATHS[name];
  if (!c) throw new Error(`unknown path ${name}`);
  const server = await startServerProcess({
    processes: [c.process],
    prefix: 'request-memory-',
    server: ['  max_request_size: 256mb', '  max_single_input_size: 256mb'].join('\n'),
    manager: { parallel_processes: 1, sync_job_execution_timeout_seconds: 600 },
  });
  try {
    const pid = server.child.pid!;
    const warm = c.request(small);
    const w = await post(server.address + warm.url, warm.type, warm.body);
    if (w.status !== 200) throw new Error(`${name} warm-up: ${w.status} ${w.text.slice(0, 300)}`);
    const big = c.request(data);
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    const idle = processMemory(pid).rss;
    const r = await post(server.address + big.url, big.type, big.body);
    const growth = processMemory(pid).peak - idle;
    return { status: r.status, answer: r.text.slice(0, 300), bodyBytes: Buffer.byteLength(big.body), growth };
  } finally {
    await server.stop();
  }
}
