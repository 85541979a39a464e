/**
 * Jobs of OGC API - Processes over real HTTP: dismiss (a running job really stops and frees its
 * slot), cross-protocol visibility with WPS both ways, and the job list with `limit` paging.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOfficial } from '../helpers/oaproc-schemas.ts';
import { EXC, execute, pollJob, REL_RESULTS, request } from '../helpers/oaproc-http.ts';
import {
  doc,
  execute as wpsExecute,
  expectValid,
  get,
  kids,
  literalInput,
  one,
  post,
  startWpsServer,
  text,
  type WpsServer,
} from '../helpers/wps.ts';

let s: WpsServer;
/** Every job this file creates on `s`, whatever the protocol. */
const created = new Set<string>();

beforeAll(async () => {
  s = await startWpsServer({ manager: { parallel_processes: 1, max_queued_jobs: 10 } });
}, 30_000);
afterAll(() => s.close());

const asyncExecute = async (processId: string, body: unknown) => {
  const r = await execute(s.base, processId, body, { Prefer: 'respond-async' });
  expect(r.status, r.text).toBe(201);
  created.add(r.json.jobID);
  return r;
};

const outputsDir = (id: string) => path.join(s.dir, 'outputs', id);
const workDir = (id: string) => path.join(s.dir, 'work', id);

/** The WPS status document of a job: its status element and progress. */
async function wpsStatus(id: string): Promise<{ status: string; percent?: number; xml: string }> {
  const r = await get(`${s.wps}/status/${id}.xml`);
  expect(r.status, r.body).toBe(200);
  expectValid(r.body, 'execute');
  const status = kids(one(doc(r.body), 'Status'))[0]!;
  const percent = status.attrs.get('percentCompleted');
  return {
    status: status.local,
    ...(percent !== undefined ? { percent: Number(percent) } : {}),
    xml: r.body,
  };
}

const WPS_OF: Record<string, string> = {
  accepted: 'ProcessAccepted',
  running: 'ProcessStarted',
  successful: 'ProcessSucceeded',
  failed: 'ProcessFailed',
  dismissed: 'ProcessFailed',
};

/**
 * Reads a job through OGC API, WPS, then OGC API again: the WPS state must lie between the two
 * OGC API readings (same status as one of them; progress between theirs).
 */
async function sameMoment(id: string) {
  const before = (await request(`${s.base}/jobs/${id}`)).json;
  const wps = await wpsStatus(id);
  const after = (await request(`${s.base}/jobs/${id}`)).json;
  expect([WPS_OF[before.status], WPS_OF[after.status]]).toContain(wps.status);
  if (wps.status === 'ProcessStarted') {
    expect(wps.percent).toBeGreaterThanOrEqual(before.progress);
    expect(wps.percent).toBeLessThanOrEqual(after.progress);
  }
  return { before, wps, after };
}

describe('dismiss', () => {
  it('a running job: 200 dismissed at once, its task stops and a queued job starts in its slot', async (ctx) => {
    const sleeper = await asyncExecute('sleep', { inputs: { seconds: 10 } });
    const id = sleeper.json.jobID;
    const running = (await pollJob(s.base, id, (st) => st === 'running')).at(-1);
    // One slot: the next job waits.
    const queued = await asyncExecute('hello-world', { inputs: { name: 'next' } });
    expect((await request(`${s.base}/jobs/${queued.json.jobID}`)).json.status).toBe('accepted');

    const dismissedAt = Date.now();
    const r = await request(`${s.base}/jobs/${id}`, { method: 'DELETE' });
    expect(r.status, r.text).toBe(200);
    expect(r.contentType).toMatch(/^application\/json/);
    expect(r.json).toMatchObject({ jobID: id, processID: 'sleep', status: 'dismissed', type: 'process' });
    expectOfficial(ctx, r.json, 'statusInfo');
    expect(r.json.links.map((l: { rel: string }) => l.rel)).not.toContain(REL_RESULTS);

    // The queued job gets the slot well before the sleeper's 10 s would have ended.
    const done = (await pollJob(s.base, queued.json.jobID, (st) => st === 'successful', 6000)).at(-1);
    const startedAfter = Date.parse(done.started) - dismissedAt;
    const sleeperEnd = Date.parse(running.started) + 10_000;
    expect(startedAfter).toBeGreaterThanOrEqual(-50);
    expect(startedAfter).toBeLessThan(3000);
    expect(Date.parse(done.started)).toBeLessThan(sleeperEnd - 5000);

    // The dismissed job stays dismissed (both protocols), its files are gone, it has no results.
    const status = await request(`${s.base}/jobs/${id}`);
    expect(status.json.status).toBe('dismissed');
    expect((await wpsStatus(id)).status).toBe('ProcessFailed');
    expect(existsSync(outputsDir(id))).toBe(false);
    expect(existsSync(workDir(id))).toBe(false);
    const results = await request(`${s.base}/jobs/${id}/results`);
    expect(results.status).toBe(404);
    expectOfficial(ctx, results.json, 'exception');
  });

  it('a processor that ignores its abort signal is stopped all the same: its slot is freed', async (ctx) => {
    const stubborn = await asyncExecute('stubborn', { inputs: { seconds: 15 } });
    await pollJob(s.base, stubborn.json.jobID, (st) => st === 'running');
    const queued = await asyncExecute('hello-world', { inputs: { name: 'after stubborn' } });
    const t0 = Date.now();
    const r = await request(`${s.base}/jobs/${stubborn.json.jobID}`, { method: 'DELETE' });
    expect(r.json.status).toBe('dismissed');
    expectOfficial(ctx, r.json, 'statusInfo');
    // cancel_grace_seconds is 0.5: the thread is terminated after it, the queued job then runs.
    await pollJob(s.base, queued.json.jobID, (st) => st === 'successful', 8000);
    expect(Date.now() - t0).toBeLessThan(6000);
    expect((await request(`${s.base}/jobs/${stubborn.json.jobID}`)).json.status).toBe('dismissed');
  });

  it('a queued job: dismissed, and it never runs', async (ctx) => {
    const blocker = await asyncExecute('sleep', { inputs: { seconds: 1 } });
    const waiting = await asyncExecute('hello-world', { inputs: { name: 'never' } });
    const r = await request(`${s.base}/jobs/${waiting.json.jobID}`, { method: 'DELETE' });
    expect(r.status).toBe(200);
    expect(r.json.status).toBe('dismissed');
    expectOfficial(ctx, r.json, 'statusInfo');
    await pollJob(s.base, blocker.json.jobID, (st) => st === 'successful');
    await new Promise((res) => setTimeout(res, 200));
    const later = (await request(`${s.base}/jobs/${waiting.json.jobID}`)).json;
    expect(later.status).toBe('dismissed');
    expect(later.started).toBeUndefined();
  });

  it('a finished job: dismissed and removed with its stored outputs', async (ctx) => {
    const done = await asyncExecute('echo', {
      inputs: { stringInput: 'kept?', complexInput: { value: '<a/>', mediaType: 'text/xml' } },
      outputs: {
        stringInput: { transmissionMode: 'reference' },
        complexOutput: { transmissionMode: 'reference' },
      },
      response: 'document',
    });
    const id = done.json.jobID;
    await pollJob(s.base, id, (st) => st === 'successful');
    const results = (await request(`${s.base}/jobs/${id}/results`)).json;
    const hrefs = [results.stringInput.href, results.complexOutput.href] as string[];
    for (const href of hrefs) expect((await request(href)).status).toBe(200);
    expect(existsSync(outputsDir(id))).toBe(true);

    const r = await request(`${s.base}/jobs/${id}`, { method: 'DELETE' });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ jobID: id, status: 'dismissed' });
    expectOfficial(ctx, r.json, 'statusInfo');
    created.delete(id);

    for (const href of hrefs) expect((await request(href)).status, href).toBe(404);
    expect(existsSync(outputsDir(id))).toBe(false);
    for (const p of [`/jobs/${id}`, `/jobs/${id}/results`]) {
      const gone = await request(`${s.base}${p}`);
      expect(gone.status).toBe(404);
      expect(gone.json.type).toBe(`${EXC}no-such-job`);
    }
    expect((await get(`${s.wps}/status/${id}.xml`)).status).toBe(404);
    expect((await request(`${s.base}/jobs/${id}`, { method: 'DELETE' })).status).toBe(404);
  });
});

describe('one job, two protocols', () => {
  it('a job created through WPS is at /jobs/{id} with the same id, state and progress', async (ctx) => {
    const r = await post(
      s.wps,
      wpsExecute(
        'sleep',
        literalInput('seconds', '2'),
        '<wps:ResponseForm><wps:ResponseDocument storeExecuteResponse="true" status="true"/></wps:ResponseForm>',
      ),
    );
    expect(r.status).toBe(200);
    const location = doc(r.body).attrs.get('statusLocation')!;
    const id = /\/status\/([0-9a-f-]{36})\.xml$/.exec(location)![1]!;
    created.add(id);

    const first = await request(`${s.base}/jobs/${id}`);
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ jobID: id, processID: 'sleep', type: 'process' });
    expectOfficial(ctx, first.json, 'statusInfo');
    expect(first.json.links.find((l: { rel: string }) => l.rel === 'alternate')?.href).toBe(location);

    await pollJob(s.base, id, (st) => st === 'running');
    let sawProgress = false;
    for (let i = 0; i < 8; i++) {
      const { before, wps, after } = await sameMoment(id);
      if (wps.status === 'ProcessStarted' && before.status === 'running' && after.progress > 0) {
        sawProgress = true;
        expectOfficial(ctx, after, 'statusInfo');
      }
      await new Promise((res) => setTimeout(res, 150));
    }
    expect(sawProgress).toBe(true);

    const final = (await pollJob(s.base, id, (st) => st === 'successful')).at(-1);
    expect(final.progress).toBe(100);
    expect((await wpsStatus(id)).status).toBe('ProcessSucceeded');

    // Results of a WPS job are a document.
    const results = await request(`${s.base}/jobs/${id}/results`);
    expect(results.status).toBe(200);
    expect(results.contentType).toMatch(/^application\/json/);
    expect(results.json).toEqual({ slept: { value: 2, uom: 's' } });
    expectOfficial(ctx, results.json, 'results');
  });

  it('WPS outputs by reference are hrefs in the results document, resolving to the same files', async (ctx) => {
    const r = await post(
      s.wps,
      wpsExecute(
        'hello-world',
        literalInput('name', 'WPS'),
        `<wps:ResponseForm><wps:ResponseDocument storeExecuteResponse="true" status="true">
           <wps:Output asReference="true"><ows:Identifier>echo</ows:Identifier></wps:Output>
         </wps:ResponseDocument></wps:ResponseForm>`,
      ),
    );
    const id = /\/status\/([0-9a-f-]{36})\.xml$/.exec(doc(r.body).attrs.get('statusLocation')!)![1]!;
    created.add(id);
    await pollJob(s.base, id, (st) => st === 'successful');
    const wps = await wpsStatus(id);
    const wpsHref = one(doc(wps.xml), 'Reference').attrs.get('href');
    const results = await request(`${s.base}/jobs/${id}/results`);
    expectOfficial(ctx, results.json, 'results');
    expect(results.json.echo).toEqual({ href: wpsHref, type: 'text/plain' });
    expect((await request(results.json.echo.href)).text).toBe('Hello WPS!');
  });

  it('a job created here has a valid WPS status document showing the same state and progress', async (ctx) => {
    const r = await asyncExecute('sleep', { inputs: { seconds: 2 } });
    const id = r.json.jobID;
    const alternate = r.json.links.find((l: { rel: string }) => l.rel === 'alternate');
    expect(alternate).toMatchObject({ href: `${s.wps}/status/${id}.xml`, type: 'text/xml' });
    expectOfficial(ctx, r.json, 'statusInfo');

    const initial = await wpsStatus(id);
    expect(['ProcessAccepted', 'ProcessStarted']).toContain(initial.status);
    expect(text(one(one(doc(initial.xml), 'Process'), 'Identifier'))).toBe('sleep');

    await pollJob(s.base, id, (st) => st === 'running');
    let sawProgress = false;
    for (let i = 0; i < 8; i++) {
      const { before, wps } = await sameMoment(id);
      if (wps.status === 'ProcessStarted' && before.status === 'running' && (wps.percent ?? 0) > 0)
        sawProgress = true;
      await new Promise((res) => setTimeout(res, 150));
    }
    expect(sawProgress).toBe(true);

    await pollJob(s.base, id, (st) => st === 'successful');
    const last = await wpsStatus(id);
    expect(last.status).toBe('ProcessSucceeded');
    const output = one(doc(last.xml), 'Output');
    expect(text(one(output, 'Identifier'))).toBe('slept');
    expect(text(one(output, 'LiteralData'))).toBe('2');
  });

  it('a running job created through WPS can be dismissed here; WPS then reports it failed', async (ctx) => {
    const r = await post(
      s.wps,
      wpsExecute(
        'sleep',
        literalInput('seconds', '5'),
        '<wps:ResponseForm><wps:ResponseDocument storeExecuteResponse="true" status="true"/></wps:ResponseForm>',
      ),
    );
    const id = /\/status\/([0-9a-f-]{36})\.xml$/.exec(doc(r.body).attrs.get('statusLocation')!)![1]!;
    created.add(id);
    await pollJob(s.base, id, (st) => st === 'running');
    const dismissed = await request(`${s.base}/jobs/${id}`, { method: 'DELETE' });
    expect(dismissed.status).toBe(200);
    expect(dismissed.json).toMatchObject({ jobID: id, status: 'dismissed' });
    expectOfficial(ctx, dismissed.json, 'statusInfo');
    const wps = await wpsStatus(id);
    expect(wps.status).toBe('ProcessFailed');
    expect(text(one(doc(wps.xml), 'ExceptionText'))).toMatch(/dismissed/);
  });

  it('a job dismissed here is a failed job in WPS; a failed one fails in both', async () => {
    const failing = await asyncExecute('fail', { inputs: { how: 'ows' } });
    await pollJob(s.base, failing.json.jobID, (st) => st === 'failed');
    const wps = await wpsStatus(failing.json.jobID);
    expect(wps.status).toBe('ProcessFailed');
    const exception = one(doc(wps.xml), 'Exception');
    expect(exception.attrs.get('exceptionCode')).toBe('InvalidParameterValue');
    expect(text(one(exception, 'ExceptionText'))).toBe('the data has no features');
  });
});

describe('job list', () => {
  it('lists the jobs of both protocols, and pages with limit and next links', async (ctx) => {
    expect(created.size).toBeGreaterThanOrEqual(6);
    const whole = await request(`${s.base}/jobs?limit=1000`);
    expect(whole.status).toBe(200);
    expectOfficial(ctx, whole.json, 'jobList');
    const ids = whole.json.jobs.map((j: { jobID: string }) => j.jobID);
    expect(new Set(ids)).toEqual(created);
    for (const job of whole.json.jobs) expect(job.processID).toBeTruthy();

    const seen: string[] = [];
    let url: string | undefined = `${s.base}/jobs?limit=2`;
    let pages = 0;
    while (url) {
      const page = await request(url);
      expect(page.status, url).toBe(200);
      expectOfficial(ctx, page.json, 'jobList');
      expect(page.json.jobs.length).toBeLessThanOrEqual(2);
      expect(page.json.jobs.length).toBeGreaterThan(0);
      const links = page.json.links as Array<{ rel: string; href: string }>;
      expect(links.find((l) => l.rel === 'self')).toBeTruthy();
      seen.push(...page.json.jobs.map((j: { jobID: string }) => j.jobID));
      url = links.find((l) => l.rel === 'next')?.href;
      if (url) expect(url.startsWith(`${s.base}/jobs?`)).toBe(true);
      expect(++pages).toBeLessThan(50);
    }
    expect(seen).toEqual(ids);
    expect(pages).toBe(Math.ceil(ids.length / 2));
  });
});
