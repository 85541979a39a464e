/**
 * The job map's converted layers over real HTTP: a buffer job with a KML input and a GML output;
 * the job page lists both as layer URLs, and each URL answers the value as a GeoJSON
 * FeatureCollection in WGS 84 longitude/latitude, converted by GDAL on the GDAL child processes.
 * What is not a convertible layer of a known job answers 404.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '../../src/core/job.ts';
import { DEFAULT_LIMITS } from '../../src/core/limits.ts';
import { LayerConverter } from '../../src/html/layer-geojson.ts';
import { createLocalRunner } from '../../src/jobs/pool.ts';
import type { ResultDelivery } from '../../src/results/delivery.ts';
import { attr, parsePage } from '../helpers/html.ts';
import { execute, pollJob, request } from '../helpers/oaproc-http.ts';
import { startWpsServer, type WpsServer } from '../helpers/wps.ts';

/** The square of the input, in degrees (longitude 10–11, latitude 45–46), and the buffer distance. */
const SQUARE = { west: 10, south: 45, east: 11, north: 46 };
const DISTANCE = 0.2;
const KML = `<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark><name>square</name>
<Polygon><outerBoundaryIs><LinearRing><coordinates>
${SQUARE.west},${SQUARE.south} ${SQUARE.east},${SQUARE.south} ${SQUARE.east},${SQUARE.north} ${SQUARE.west},${SQUARE.north} ${SQUARE.west},${SQUARE.south}
</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark></Document></kml>`;

let s: WpsServer;
let jobId: string;

beforeAll(async () => {
  s = await startWpsServer({ processes: ['buffer'] });
  const created = await execute(
    s.base,
    'buffer',
    {
      inputs: {
        data: { value: KML, mediaType: 'application/vnd.google-earth.kml+xml' },
        distance: DISTANCE,
      },
      outputs: { buffered: { format: { mediaType: 'application/gml+xml' } } },
    },
    { Prefer: 'respond-async' },
  );
  expect(created.status, created.text).toBe(201);
  jobId = created.json.jobID;
  await pollJob(s.base, jobId, (st) => st === 'successful', 30_000);
}, 60_000);
afterAll(() => s?.close());

/** [west, south, east, north] of every position of a GeoJSON geometry. */
function bounds(coordinates: unknown): number[] {
  const positions: number[][] = [];
  const walk = (c: unknown) => {
    if (Array.isArray(c) && typeof c[0] === 'number') positions.push(c as number[]);
    else if (Array.isArray(c)) c.forEach(walk);
  };
  walk(coordinates);
  const xs = positions.map((p) => p[0]!);
  const ys = positions.map((p) => p[1]!);
  return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
}

describe('converted map layers', () => {
  it('the job page lists the KML input and the GML output as layer URLs', async () => {
    const page = await request(`${s.base}/jobs/${jobId}?f=html`);
    expect(page.status).toBe(200);
    const map = parsePage(page.text).byId('map')!;
    expect(JSON.parse(attr(map, 'data-layers')!)).toEqual([
      {
        role: 'input',
        id: 'data',
        kind: 'geojson',
        url: `${s.base}/jobs/${jobId}/layers/input/data/0.geojson`,
      },
      {
        role: 'output',
        id: 'buffered',
        kind: 'geojson',
        url: `${s.base}/jobs/${jobId}/layers/output/buffered.geojson`,
      },
    ]);
  });

  it('the KML input as GeoJSON: one polygon, the square, longitude first', async () => {
    const r = await request(`${s.base}/jobs/${jobId}/layers/input/data/0.geojson`);
    expect(r.status, r.text).toBe(200);
    expect(r.contentType).toBe('application/geo+json');
    expect(r.json.type).toBe('FeatureCollection');
    expect(r.json.features).toHaveLength(1);
    expect(r.json.features[0].geometry.type).toBe('Polygon');
    const [w, south, e, n] = bounds(r.json.features[0].geometry.coordinates);
    expect([w, south, e, n]).toEqual([SQUARE.west, SQUARE.south, SQUARE.east, SQUARE.north]);
  });

  it('the GML output as GeoJSON: one polygon, the square grown by the distance, longitude first', async () => {
    const r = await request(`${s.base}/jobs/${jobId}/layers/output/buffered.geojson`);
    expect(r.status, r.text).toBe(200);
    expect(r.contentType).toBe('application/geo+json');
    expect(r.json.type).toBe('FeatureCollection');
    expect(r.json.features).toHaveLength(1);
    expect(r.json.features[0].geometry.type).toBe('Polygon');
    const [w, south, e, n] = bounds(r.json.features[0].geometry.coordinates);
    expect(w).toBeCloseTo(SQUARE.west - DISTANCE, 3);
    expect(south).toBeCloseTo(SQUARE.south - DISTANCE, 3);
    expect(e).toBeCloseTo(SQUARE.east + DISTANCE, 3);
    expect(n).toBeCloseTo(SQUARE.north + DISTANCE, 3);
    // Cached: the same answer again.
    expect((await request(`${s.base}/jobs/${jobId}/layers/output/buffered.geojson`)).text).toBe(r.text);
  });

  it('404 for an unknown job, an unknown or non-vector value, a wrong role or index', async () => {
    for (const p of [
      `/jobs/00000000-0000-4000-8000-000000000000/layers/output/buffered.geojson`,
      `/jobs/${jobId}/layers/output/nothing.geojson`,
      `/jobs/${jobId}/layers/input/distance/0.geojson`,
      `/jobs/${jobId}/layers/input/data/1.geojson`,
      `/jobs/${jobId}/layers/input/data/x.geojson`,
      `/jobs/${jobId}/layers/output/buffered/1.geojson`,
      `/jobs/${jobId}/layers/other/buffered.geojson`,
      `/jobs/${jobId}/layers/output/buffered.json`,
    ]) {
      const r = await request(`${s.base}${p}`);
      expect(r.status, p).toBe(404);
    }
  });
});

describe('size cap', () => {
  it('GeoJSON larger than the cap is refused as too large (the route answers 413)', async () => {
    const runner = createLocalRunner({ parallel: 1, cancelGraceMs: 1000 });
    try {
      // Only an input is converted here: the delivery (outputs) is never asked.
      const converter = new LayerConverter(runner, {} as ResultDelivery, DEFAULT_LIMITS, 100);
      const job = {
        id: '00000000-0000-4000-8000-000000000001',
        request: {
          inputs: {
            data: [
              { kind: 'complex', format: { mimeType: 'application/vnd.google-earth.kml+xml' }, text: KML },
            ],
          },
        },
      } as unknown as Job;
      const result = await converter.geojson(job, 'input', 'data', 0);
      expect(result?.kind).toBe('too-large');
      const big = new LayerConverter(runner, {} as ResultDelivery, DEFAULT_LIMITS);
      expect((await big.geojson(job, 'input', 'data', 0))?.kind).toBe('geojson');
    } finally {
      await runner.close();
    }
  });
});
