/**
 * A real PyWPS 4.5 server as a remote provider: its processes served through our OGC API -
 * Processes (list, describe, execute sync and async, progress, results, dismiss), with the answers
 * compared with what PyWPS itself answers to the same request.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execute, request } from '../helpers/oaproc-http.ts';
import { providerYaml, startPywps, type PywpsServer } from '../helpers/pywps.ts';
import { all, doc, one, startWpsServer, text, type WpsServer } from '../helpers/wps.ts';

let pywps: PywpsServer;
let gw: WpsServer;

beforeAll(async () => {
  pywps = await startPywps();
  gw = await startWpsServer({ extraResources: providerYaml(pywps.url) });
}, 60_000);
afterAll(async () => {
  await gw?.close();
  await pywps?.close();
});

/** What PyWPS itself answers to a KVP Execute: its outputs by id (literal text, or complex data text). */
async function pywpsDirect(id: string, dataInputs: string): Promise<Record<string, string>> {
  const res = await fetch(
    `${pywps.url}?service=WPS&version=1.0.0&request=Execute&identifier=${id}&DataInputs=${encodeURIComponent(dataInputs)}`,
  );
  const root = doc(await res.text());
  const outputs: Record<string, string> = {};
  for (const out of all(root, 'Output')) {
    const data = all(out, 'Data')[0];
    if (data) outputs[text(one(out, 'Identifier')).trim()] = text(data).trim();
  }
  return outputs;
}

async function pollUntilDone(location: string, seen: number[] = [], messages: string[] = []) {
  for (let i = 0; i < 200; i++) {
    const s = await request(location);
    if (typeof s.json?.progress === 'number') seen.push(s.json.progress as number);
    if (typeof s.json?.message === 'string') messages.push(s.json.message as string);
    if (['successful', 'failed', 'dismissed'].includes(s.json?.status as string)) return s.json;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('job did not finish');
}

describe('a PyWPS server through our OGC API - Processes', () => {
  it('lists its processes under the provider prefix, and /health reports the provider', async () => {
    const list = await request(`${gw.base}/processes?limit=100`);
    const ids = (list.json.processes as Array<{ id: string }>).map((p) => p.id);
    expect(ids).toEqual(
      expect.arrayContaining(['pywps.say_hello', 'pywps.geojson', 'pywps.slow', 'pywps.fail', 'pywps.bbox']),
    );
    expect(ids).toContain('hello-world'); // local processes stay
    const health = await request(`${gw.base}/health`);
    expect(health.json.providers).toEqual([
      expect.objectContaining({ id: 'pywps', type: 'wps', state: 'up', processes: 5, skipped: [] }),
    ]);
  });

  it('describes literals (types, ranges, allowed values, UOMs, defaults), complex formats and bbox CRSs', async () => {
    const hello = (await request(`${gw.base}/processes/pywps.say_hello`)).json;
    expect(hello.version).toBe('1.2');
    expect(hello.jobControlOptions).toEqual(['sync-execute', 'async-execute', 'dismiss']);
    expect(hello.inputs.name.schema.type).toBe('string');
    expect(hello.inputs.times.schema).toMatchObject({ type: 'integer', minimum: 1, maximum: 5, default: 1 });
    expect(hello.inputs.times.minOccurs).toBe(0);
    expect(hello.inputs.greeting.schema.enum).toEqual(['Hello', 'Hi']);
    const geo = (await request(`${gw.base}/processes/pywps.geojson`)).json;
    const types = JSON.stringify(geo.inputs.features.schema);
    expect(types).toContain('application/geo+json');
    expect(types).toContain('application/gml+xml');
    const bbox = (await request(`${gw.base}/processes/pywps.bbox`)).json;
    expect(JSON.stringify(bbox.inputs.area.schema)).toContain('3857');
  });

  it('executes a literal process synchronously, with the answer PyWPS gives itself', async () => {
    const reply = await execute(gw.base, 'pywps.say_hello', {
      inputs: { name: 'Ada', times: 2, greeting: 'Hi' },
      response: 'document',
    });
    expect(reply.status).toBe(200);
    const direct = await pywpsDirect('say_hello', 'name=Ada;times=2;greeting=Hi');
    expect(reply.json.message).toBe(direct.message);
    expect(reply.json.message).toBe('Hi Ada! Hi Ada!');
    expect(reply.json.length).toBe(Number(direct.length));
  });

  it('refuses inputs against the remote description before anything is sent (range)', async () => {
    const reply = await execute(gw.base, 'pywps.say_hello', { inputs: { name: 'Ada', times: 9 } });
    expect(reply.status).toBe(400);
  });

  it('moves GeoJSON features like PyWPS does', async () => {
    const features = {
      type: 'FeatureCollection',
      features: [{ type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: [1, 2] } }],
    };
    const reply = await execute(gw.base, 'pywps.geojson', {
      inputs: { features: { value: features, mediaType: 'application/geo+json' }, dx: 10, dy: -1 },
      outputs: { moved: {}, format: {} },
      response: 'document',
    });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json.moved.mediaType).toBe('application/geo+json');
    const moved = reply.json.moved.value;
    expect(moved.features[0].geometry.coordinates).toEqual([11, 1]);
    const direct = await pywpsDirect(
      'geojson',
      `features=${JSON.stringify(features)}@mimeType=application/geo+json;dx=10;dy=-1`,
    );
    expect(moved).toEqual(JSON.parse(direct.moved!));
    expect(reply.json.format).toBe('application/geo+json');
  });

  it('passes GML as XML', async () => {
    const gml = '<gml:Point xmlns:gml="http://www.opengis.net/gml"><gml:pos>1 2</gml:pos></gml:Point>';
    const reply = await execute(gw.base, 'pywps.geojson', {
      inputs: { features: { value: gml, mediaType: 'application/gml+xml' } },
      outputs: { format: {} },
      response: 'document',
    });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json.format).toBe('application/gml+xml');
  });

  it('passes a bounding box in its CRS and reads the box back', async () => {
    const reply = await execute(gw.base, 'pywps.bbox', {
      inputs: { area: { bbox: [1, 2, 3, 5], crs: 'http://www.opengis.net/def/crs/EPSG/0/3857' } },
      response: 'document',
    });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json.size).toBe(6);
    expect(reply.json.same.bbox).toEqual([1, 2, 3, 5]);
  });

  it('runs asynchronously on the remote, mirroring its progress, then serves the results', async () => {
    const reply = await execute(
      gw.base,
      'pywps.slow',
      { inputs: { steps: 4, delay: 0.4 } },
      { Prefer: 'respond-async' },
    );
    expect(reply.status).toBe(201);
    const location = reply.headers.get('location')!;
    const progress: number[] = [];
    const messages: string[] = [];
    const final = await pollUntilDone(location, progress, messages);
    expect(final.status).toBe('successful');
    expect(progress.some((p) => p > 0 && p < 100)).toBe(true);
    expect(messages.some((m) => /step \d of 4/.test(m))).toBe(true);
    const results = await request(`${location}/results`, { headers: { Accept: 'application/json' } });
    expect(results.json).toBe('slept 4 steps');
  });

  it('a remote failure is a failed job with the remote exception text and code', async () => {
    const sync = await execute(gw.base, 'pywps.fail', { inputs: {} });
    expect(sync.status).toBeGreaterThanOrEqual(400);
    expect(sync.text).toContain('the remote process failed on purpose');
    const reply = await execute(gw.base, 'pywps.fail', { inputs: {} }, { Prefer: 'respond-async' });
    const final = await pollUntilDone(reply.headers.get('location')!);
    expect(final.status).toBe('failed');
    expect(final.message).toContain('the remote process failed on purpose');
  });

  it('dismisses a running remote job', async () => {
    const reply = await execute(
      gw.base,
      'pywps.slow',
      { inputs: { steps: 10, delay: 0.5 } },
      { Prefer: 'respond-async' },
    );
    const location = reply.headers.get('location')!;
    for (let i = 0; i < 50; i++) {
      if ((await request(location)).json.status === 'running') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const dismissed = await request(location, { method: 'DELETE' });
    expect(dismissed.status).toBe(200);
    expect(dismissed.json.status).toBe('dismissed');
    expect((await request(location)).json.status).toBe('dismissed');
  });
});
