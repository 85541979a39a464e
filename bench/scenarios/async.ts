/**
 * Scenario 4: asynchronous hello-world. JOBS (default 1,000; QUICK 300) jobs submitted at
 * concurrency 64 through WPS (storeExecuteResponse=true&status=true; gateway and PyWPS) and
 * OGC API (Prefer: respond-async; gateway), then polled to completion by 8 paced pollers:
 * accepted/s (the submission phase), completed/s (first submission to the last job's end, from the
 * server's own timestamps: WPS Status creationTime of the final document, OGC API `finished`), lost
 * (accepted, never seen succeeded). Submission and drain are each bounded by ASYNC_SECONDS.
 */
import { env, type Context, type Scenario } from '../lib/context.ts';
import { boundedLoop, TaskError } from '../lib/loop.ts';
import { errorText, num, ratio, type Target } from '../lib/table.ts';

const SUBMITTERS = 64;
const POLLERS = 8;

/** A final state with the server's time of the end (ms since the epoch), or undefined while running. */
type Final = { state: 'succeeded' | 'failed'; at: number } | undefined;

const timeOr = (iso: string | undefined) => {
  const t = iso === undefined ? NaN : Date.parse(iso);
  return Number.isFinite(t) ? t : Date.now();
};

interface Protocol {
  submit(signal: AbortSignal): Promise<string>;
  /** The job's final state, or undefined while it is not final. */
  poll(url: string, signal: AbortSignal): Promise<Final>;
  /** How precise the end times `poll` gives are: spans shorter than this are counted as this long. */
  resolutionMs: number;
}

/**
 * WPS status documents give whole seconds (creationTime). `jobs`: the gateway's OGC API jobs
 * resource, where the same job (one job system) has its end to the millisecond: asked once the
 * status document says the job ended.
 */
const wpsProtocol = (wps: string, jobs?: string): Protocol => ({
  resolutionMs: jobs ? 1 : 1000,
  async submit(signal) {
    const r = await fetch(
      `${wps}?service=WPS&version=1.0.0&request=Execute&identifier=hello-world&DataInputs=name=World&storeExecuteResponse=true&status=true`,
      { signal },
    );
    const text = await r.text();
    if (!r.ok) throw new TaskError(/ServerBusy/.test(text) ? 'ServerBusy' : String(r.status));
    if (/ExceptionReport/.test(text))
      throw new TaskError(/exceptionCode="(\w+)"/.exec(text)?.[1] ?? 'exception');
    const location = /statusLocation="([^"]+)"/.exec(text)?.[1];
    if (!location) throw new TaskError('no statusLocation');
    return location.replace(/&amp;/g, '&');
  },
  async poll(url, signal) {
    const r = await fetch(url, { signal });
    const text = await r.text();
    if (!r.ok) return r.status === 404 ? undefined : { state: 'failed', at: Date.now() };
    const ended = /ProcessSucceeded/.test(text)
      ? 'succeeded'
      : /ProcessFailed|ExceptionReport/.test(text)
        ? 'failed'
        : undefined;
    if (!ended) return undefined;
    let at = timeOr(/creationTime="([^"]+)"/.exec(text)?.[1]);
    const id = /\/([0-9a-f-]{36})\.xml/.exec(url)?.[1];
    if (jobs && id) {
      const job = await fetch(`${jobs}/${id}`, { headers: { Accept: 'application/json' }, signal });
      if (job.ok) at = timeOr(((await job.json()) as { finished?: string }).finished);
      else await job.arrayBuffer();
    }
    return { state: ended, at };
  },
});

const oapProtocol = (base: string): Protocol => ({
  resolutionMs: 1,
  async submit(signal) {
    const r = await fetch(`${base}/processes/hello-world/execution`, {
      method: 'POST',
      body: JSON.stringify({ inputs: { name: 'World' } }),
      headers: { 'Content-Type': 'application/json', Prefer: 'respond-async' },
      signal,
    });
    await r.arrayBuffer();
    if (r.status !== 201) throw new TaskError(String(r.status));
    const location = r.headers.get('location');
    if (!location) throw new TaskError('no Location');
    return new URL(location, base).href;
  },
  async poll(url, signal) {
    const r = await fetch(url, { headers: { Accept: 'application/json' }, signal });
    if (!r.ok) {
      await r.arrayBuffer();
      return { state: 'failed', at: Date.now() };
    }
    const { status, finished } = (await r.json()) as { status: string; finished?: string };
    if (status === 'successful') return { state: 'succeeded', at: timeOr(finished) };
    if (status === 'failed' || status === 'dismissed') return { state: 'failed', at: timeOr(finished) };
    return undefined;
  },
});

export interface AsyncFigures {
  submitted: number;
  accepted: number;
  refused: Record<string, number>;
  acceptedPerSecond: number;
  succeeded: number;
  failed: number;
  lost: number;
  completedPerSecond: number;
  seconds: number;
}

export async function asyncRun(protocol: Protocol, jobs: number, seconds: number): Promise<AsyncFigures> {
  const pending: string[] = [];
  const t0 = Date.now();
  const submit = await boundedLoop({ concurrency: SUBMITTERS, count: jobs, seconds }, async (_i, signal) => {
    pending.push(await protocol.submit(signal));
  });
  let succeeded = 0;
  let failed = 0;
  let lastEnd = t0;
  const deadline = performance.now() + seconds * 1000;
  let polls = 0;
  const maxPolls = 1000 * Math.max(1, pending.length);
  await Promise.all(
    Array.from({ length: POLLERS }, async () => {
      // Bounded by the deadline and by a number of polls; each poll by its own timeout.
      while (pending.length > 0 && performance.now() < deadline && polls++ < maxPolls) {
        const url = pending.shift()!;
        let final: Final;
        try {
          final = await protocol.poll(url, AbortSignal.timeout(10_000));
        } catch {
          final = undefined;
        }
        if (!final) {
          pending.push(url);
          await new Promise((r) => setTimeout(r, 25));
          continue;
        }
        if (final.state === 'succeeded') succeeded++;
        else failed++;
        lastEnd = Math.max(lastEnd, final.at);
      }
    }),
  );
  const accepted = submit.ok;
  return {
    submitted: submit.started,
    accepted,
    refused: submit.errors,
    acceptedPerSecond: accepted / (submit.elapsedMs / 1000),
    succeeded,
    failed,
    lost: accepted - succeeded,
    completedPerSecond: succeeded / (Math.max(lastEnd - t0, protocol.resolutionMs) / 1000),
    seconds: (Date.now() - t0) / 1000,
  };
}

export const asyncJobs: Scenario = {
  id: '4',
  title: '4. Asynchronous hello-world',
  async run(ctx: Context) {
    const { gateway, pywps, knobs } = ctx;
    const jobs = env.number('JOBS', knobs.quick ? 300 : 1000);
    const seconds = env.number('ASYNC_SECONDS', knobs.quick ? 60 : 180);
    const runs: Array<[string, string, Protocol]> = [
      ['WPS storeExecuteResponse/status', 'gateway', wpsProtocol(gateway.wps, `${gateway.base}/jobs`)],
      ['WPS storeExecuteResponse/status', 'PyWPS', wpsProtocol(pywps.wps)],
      ['OGC API Prefer: respond-async', 'gateway', oapProtocol(gateway.base)],
    ];
    const figures: Record<string, AsyncFigures> = {};
    const rows: string[][] = [];
    for (const [api, server, protocol] of runs) {
      const f = await asyncRun(protocol, jobs, seconds);
      figures[`${server} ${api}`] = f;
      rows.push([
        api,
        server,
        `${f.accepted} / ${f.submitted}`,
        num(f.acceptedPerSecond),
        num(f.completedPerSecond),
        String(f.lost),
        String(f.failed),
        errorText(f.refused),
      ]);
    }
    const peer = figures['PyWPS WPS storeExecuteResponse/status']!;
    for (const row of rows) {
      const f = figures[`${row[1]} ${row[0]}`]!;
      row.push(row[1] === 'gateway' ? ratio(f.completedPerSecond, peer.completedPerSecond) : '');
    }
    const targets: Target[] = [];
    for (const [key, f] of Object.entries(figures)) {
      if (!key.startsWith('gateway')) continue;
      const api = key.slice('gateway '.length);
      targets.push(
        {
          name: `${api}: accepted/s`,
          goal: '≥ 1,000',
          measured: num(f.acceptedPerSecond),
          pass: f.acceptedPerSecond >= 1000,
        },
        {
          name: `${api}: completed/s vs PyWPS`,
          goal: '≥ 50×',
          measured:
            peer.completedPerSecond > 0
              ? ratio(f.completedPerSecond, peer.completedPerSecond)
              : `PyWPS completed none (ours ${num(f.completedPerSecond)}/s)`,
          pass: f.completedPerSecond >= 50 * peer.completedPerSecond,
        },
        {
          name: `${api}: lost`,
          goal: '0 (and all accepted)',
          measured: `${f.lost} lost, ${f.accepted} of ${f.submitted} accepted`,
          pass: f.lost === 0 && f.accepted === f.submitted,
        },
      );
    }
    ctx.report.add({
      id: this.id,
      title: this.title,
      notes: [
        `${jobs} jobs per row, submitted at concurrency ${SUBMITTERS}, then followed to completion by ${POLLERS} pollers; submission and drain each bounded by ${seconds} s. ` +
          "completed/s: from the first submission to the end of the last job by the server's timestamps (PyWPS: whole seconds, its status documents' creationTime, a span under 1 s counted as 1 s; the gateway: the job's `finished` to the millisecond, for WPS read from the same job's /jobs/{id} once its status document says it ended). " +
          `Both servers: pool ${ctx.settings.pool}, queue ${ctx.settings.queue}. Lost = accepted but not seen succeeded within the bound.`,
      ],
      columns: [
        'protocol',
        'server',
        'accepted',
        'accepted/s',
        'completed/s',
        'lost',
        'failed',
        'refused',
        '× PyWPS completed/s',
      ],
      rows,
      targets,
      data: figures,
    });
  },
};
