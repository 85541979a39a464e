/**
 * A synchronous-only OGC API server (a tiny node:http one, so that what the gateway sends can be
 * read): no `Prefer: respond-async`, one execute request whose body is checked, results given as a
 * link (downloaded) and as a latitude-first EPSG 4326 box (served as CRS84, longitude first).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { execute, request } from '../helpers/oaproc-http.ts';
import { startWpsServer, type WpsServer } from '../helpers/wps.ts';

const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
const EPSG4326 = 'http://www.opengis.net/def/crs/EPSG/0/4326';

let server: Server;
let local: WpsServer;
const received: Array<{ headers: Record<string, unknown>; body: unknown }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = req.url ?? '';
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (url === '/api/processes') return json(200, { processes: [{ id: 'q' }] });
    if (url === '/api/processes/q')
      return json(200, {
        id: 'q',
        title: 'Q',
        jobControlOptions: ['sync-execute'],
        outputTransmission: ['value', 'reference'],
        inputs: {
          area: {
            schema: {
              format: 'ogc-bbox',
              type: 'object',
              properties: { bbox: { type: 'array' }, crs: { enum: [EPSG4326] } },
            },
          },
          n: { schema: { type: 'integer', minimum: 1 } },
        },
        outputs: {
          picture: { schema: { type: 'string', contentEncoding: 'binary', contentMediaType: 'image/png' } },
          area: { schema: { allOf: [{ format: 'ogc-bbox' }, { $ref: 'bbox.yaml' }] } },
          n: { schema: { type: 'integer' } },
        },
      });
    if (url === '/files/picture.png') {
      res.writeHead(200, { 'Content-Type': 'image/png' });
      return res.end(PNG);
    }
    if (url === '/api/processes/q/execution' && req.method === 'POST') {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        received.push({ headers: req.headers, body: JSON.parse(body) as unknown });
        json(200, {
          picture: { href: `${base}/files/picture.png`, type: 'image/png' },
          area: { bbox: [45, 5, 46, 6], crs: EPSG4326 },
          n: 7,
        });
      });
      return;
    }
    json(404, { type: 'about:blank', title: 'Not Found', status: 404, detail: `no ${url}` });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
  local = await startWpsServer({
    processes: ['hello-world'],
    extraResources: [
      'providers:',
      '  - id: sync',
      '    type: ogcapi-processes',
      `    url: ${url}`,
      '    allowed_hosts: [127.0.0.1]',
      '    id_prefix: s_',
    ],
  });
}, 30_000);
afterAll(async () => {
  await local?.close();
  server?.closeAllConnections();
  server?.close();
});

it('runs a synchronous-only remote in one request; links are downloaded, boxes come back longitude first', async () => {
  // The gateway still offers asynchronous execution: the local job waits on the remote's answer.
  const r = await execute(
    local.base,
    's_q',
    { inputs: { area: { bbox: [5, 45, 6, 46] }, n: 3 }, response: 'document' },
    { Prefer: 'respond-async' },
  );
  expect(r.status, r.text).toBe(201);
  let status = '';
  for (let i = 0; i < 100 && status !== 'successful' && status !== 'failed'; i++) {
    status = (await request(`${local.base}/jobs/${r.json.jobID}`)).json.status;
    await new Promise((res) => setTimeout(res, 50));
  }
  expect(status).toBe('successful');
  expect(received).toHaveLength(1);
  expect(received[0]!.headers.prefer).toBeUndefined();
  // CRS84 (longitude first) in, the remote's only CRS (the latitude-first EPSG URI) out.
  expect(received[0]!.body).toEqual({
    inputs: { area: { bbox: [45, 5, 46, 6], crs: EPSG4326 }, n: 3 },
    outputs: {
      picture: { transmissionMode: 'value', format: { mediaType: 'image/png' } },
      area: { transmissionMode: 'value' },
      n: { transmissionMode: 'value' },
    },
    response: 'document',
  });
  const results = (await request(`${local.base}/jobs/${r.json.jobID}/results`)).json;
  expect(results.n).toBe(7);
  expect(results.area).toEqual({ bbox: [5, 45, 6, 46], crs: 'http://www.opengis.net/def/crs/OGC/1.3/CRS84' });
  expect(Buffer.from(results.picture.value as string, 'base64')).toEqual(PNG);
  expect(results.picture.mediaType).toBe('image/png');
});

it('refuses a box in a CRS the remote does not list, before the remote is asked', async () => {
  const before = received.length;
  const r = await execute(local.base, 's_q', {
    inputs: { area: { bbox: [0, 0, 1, 1], crs: 'http://www.opengis.net/def/crs/EPSG/0/3857' }, n: 1 },
  });
  expect(r.status).toBe(400);
  expect(r.json.detail).toMatch(/CRS .* is not supported/);
  expect(received.length).toBe(before);
});
