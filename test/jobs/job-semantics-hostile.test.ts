/**
 * Job semantics under attack (issue 14): cache keys that must not collide, the cache with dismissed
 * jobs on either side of a hit, identical requests whose first job is dismissed, and a per-process
 * cap that a dismissed (still stopping) job keeps holding.
 */
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProcessDescription } from '../../src/core/model.ts';
import type { JobInputs } from '../../src/core/values.ts';
import { cacheKey } from '../../src/jobs/result-cache.ts';
import { execute, pollJob, request } from '../helpers/oaproc-http.ts';
import { FIXTURES } from '../helpers/gateway.ts';
import { startWpsServer, type WpsServer } from '../helpers/wps.ts';

const DESCRIPTION: ProcessDescription = {
  id: 'p',
  version: '1.0.0',
  title: 'P',
  jobControlOptions: ['async-execute'],
  outputTransmission: ['value', 'reference'],
  inputs: [],
  outputs: [],
} as unknown as ProcessDescription;
const POLICY = { ttlMs: 60_000, immutableUrls: [] };
const keyOf = (inputs: JobInputs, outputs: Record<string, unknown> = {}) =>
  cacheKey(DESCRIPTION, { inputs, outputs } as Parameters<typeof cacheKey>[1], POLICY);
const lit = (value: string | number, uom?: string) => ({
  kind: 'literal' as const,
  value,
  ...(uom ? { uom } : {}),
});

describe('result cache keys', () => {
  it('numbers JSON cannot tell apart (NaN, INF, -INF, -0) get their own keys', async () => {
    const keys = await Promise.all([NaN, Infinity, -Infinity, -0, 0].map((n) => keyOf({ x: [lit(n)] })));
    expect(new Set(keys).size).toBe(5);
    // The string 'NaN' is not the number NaN.
    expect(await keyOf({ x: [lit('NaN')] })).not.toBe(await keyOf({ x: [lit(NaN)] }));
  });

  it('requests that differ in uom, format, encoding, order of repeated values or requested outputs do not share a key', async () => {
    const complex = (mimeType: string, encoding?: string) => ({
      kind: 'complex' as const,
      format: { mimeType, ...(encoding ? { encoding } : {}) },
      text: '{"a":1}',
    });
    const keys = await Promise.all([
      keyOf({ x: [lit(1, 'm')] }),
      keyOf({ x: [lit(1, 'ft')] }),
      keyOf({ x: [lit(1)] }),
      keyOf({ x: [lit(1), lit(2)] }),
      keyOf({ x: [lit(2), lit(1)] }),
      keyOf({ c: [complex('application/json')] }),
      keyOf({ c: [complex('application/geo+json')] }),
      keyOf({ c: [complex('application/json', 'utf-8')] }),
      keyOf({ x: [lit(1)] }, { o: { transmission: 'value' } }),
      keyOf({ x: [lit(1)] }, { o: { transmission: 'reference' } }),
      keyOf({ x: [lit(1)] }, { o: { transmission: 'value', format: { mimeType: 'text/plain' } } }),
    ]);
    expect(new Set(keys).size).toBe(keys.length);
    // The same request, members in another order: the same key.
    expect(await keyOf({ x: [lit(1)], y: [lit(2)] })).toBe(await keyOf({ y: [lit(2)], x: [lit(1)] }));
  });
});

let s: WpsServer;
const run = Date.now().toString(36);
const fixture = (name: string) => path.join(FIXTURES, 'processes', `${name}.ts`);

beforeAll(async () => {
  s = await startWpsServer({
    processes: ['hello-world'],
    manager: { parallel_processes: 3, max_queued_jobs: 20, cancel_grace_seconds: 1 },
    extraResources: [
      '  counted:',
      '    type: process',
      `    processor: {name: ${fixture('counted')}}`,
      '    cache: {ttl_seconds: 60}',
      '  capped:',
      '    type: process',
      `    processor: {name: ${fixture('stubborn')}}`,
      '    max_running_jobs: 1',
      '    max_queued_jobs: 2',
    ],
  });
}, 30_000);
afterAll(() => s?.close());

const submit = async (processId: string, inputs: Record<string, unknown>) => {
  const r = await execute(s.base, processId, { inputs, response: 'document' }, { Prefer: 'respond-async' });
  expect(r.status, r.text).toBe(201);
  return r.json as { jobID: string; status: string; cache?: { hit: boolean; sourceJobID: string } };
};
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- statusInfo JSON
const done = async (id: string): Promise<any> =>
  (await pollJob(s.base, id, (st) => ['successful', 'failed', 'dismissed'].includes(st), 20_000)).at(-1);
const resultOf = async (id: string) => {
  const r = await request(`${s.base}/jobs/${id}/results`);
  expect(r.status, r.text).toBe(200);
  const file = r.json.file as { href?: string; value?: string };
  const content = file.href ? (await request(file.href)).text : file.value;
  return { result: r.json.result as string, file: content };
};
const dismiss = (id: string) => request(`${s.base}/jobs/${id}`, { method: 'DELETE' });

describe('the result cache with dismissed jobs', () => {
  it('dismissing the source job leaves its cache hits whole, and the next request runs afresh', async () => {
    const value = `source-${run}`;
    const source = await submit('counted', { text: value });
    expect((await done(source.jobID)).status).toBe('successful');
    const fresh = await resultOf(source.jobID);
    const hit = await submit('counted', { text: value });
    expect(hit.cache?.sourceJobID).toBe(source.jobID);
    expect((await dismiss(source.jobID)).status).toBe(200);
    expect(await resultOf(hit.jobID)).toEqual(fresh);
    const after = await submit('counted', { text: value });
    expect(after.cache).toBeUndefined();
    await done(after.jobID);
    expect((await resultOf(after.jobID)).result).not.toBe(fresh.result);
    // Dismissing a hit job leaves its source whole.
    const hit2 = await submit('counted', { text: value });
    expect(hit2.cache?.sourceJobID).toBe(after.jobID);
    const expected = await resultOf(after.jobID);
    expect((await dismiss(hit2.jobID)).status).toBe(200);
    expect(await resultOf(after.jobID)).toEqual(expected);
  }, 30_000);

  it('an identical request waiting for a job that is dismissed runs itself, and ends', async () => {
    const value = `leader-${run}`;
    const leader = await submit('counted', { text: value, delayMs: 800 });
    await delay(100);
    const waiter = await submit('counted', { text: value, delayMs: 800 });
    await delay(150);
    expect((await dismiss(leader.jobID)).status).toBe(200);
    const info = await done(waiter.jobID);
    expect(info.status).toBe('successful');
    expect(info.cache).toBeUndefined();
    expect((await done(leader.jobID)).status).toBe('dismissed');
  }, 30_000);
});

describe('per-process caps with dismissed jobs', () => {
  it('a dismissed job that is still stopping keeps its share of the cap', async () => {
    const first = await submit('capped', { seconds: 3 });
    await pollJob(s.base, first.jobID, (st) => st === 'running', 10_000);
    expect((await dismiss(first.jobID)).status).toBe(200);
    const dismissedAt = Date.now();
    const second = await submit('capped', { seconds: 0.1 });
    // Another process is not held back meanwhile.
    const hello = await submit('hello-world', { name: 'x' });
    expect((await done(hello.jobID)).status).toBe('successful');
    const info = await done(second.jobID);
    expect(info.status).toBe('successful');
    // The stubborn processor ignores its abort: it stops when its thread is ended, after the cancel grace.
    expect(Date.parse(info.started) - dismissedAt).toBeGreaterThanOrEqual(800);
  }, 30_000);

  it('the queue bound of a process is exact under concurrent submissions', async () => {
    const replies = await Promise.all(
      Array.from({ length: 10 }, () =>
        execute(s.base, 'capped', { inputs: { seconds: 0.3 } }, { Prefer: 'respond-async' }),
      ),
    );
    const accepted = replies.filter((r) => r.status === 201);
    expect(accepted).toHaveLength(3);
    expect(replies.filter((r) => r.status === 503)).toHaveLength(7);
    for (const r of accepted) expect((await done(r.json.jobID as string)).status).toBe('successful');
  }, 30_000);
});
