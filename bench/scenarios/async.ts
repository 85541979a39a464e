/**
 * Scenario 4: asynchronous hello-world. JOBS (default 1,000; QUICK 300) jobs submitted at
 * concurrency 64 through WPS (storeExecuteResponse=true&status=true; gateway and PyWPS) and
 * OGC API (Prefer: respond-async; gateway), polled to completion by 16 pollers meanwhile:
 * accepted/s (submission phase), completed/s (first submission to last completion seen), lost
 * (accepted, never seen succeeded within the bound).
 */
import { env, type Context, type Scenario } from '../lib/context.ts';
import { boundedLoop, TaskError } from '../lib/loop.ts';
import { errorText, num, ratio, type Target } from '../lib/table.ts';

const SUBMITTERS = 64;
const POLLERS = 16;

type Final = 'succeeded' | 'failed' | undefined;

interface Protocol {
  submit(signal: AbortSignal): Promise<string>;
  /** The job's final state, or undefined while it is not final. */
  poll(url: string, signal: AbortSignal): Promise<Final>;
}

const wpsProtocol = (wps: string): Protocol => ({
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
    if (!r.ok) return r.status === 404 ? undefined : 'failed';
    if (/ProcessSucceeded/.test(text)) return 'succeeded';
    if (/ProcessFailed|ExceptionReport/.test(text)) return 'failed';
    return undefined;
  },
});

const oapProtocol = (base: string): Protocol => ({
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
      return 'failed';
    }
    const { status } = (await r.json()) as { status: string };
    return status === 'successful'
      ? 'succeeded'
      : status === 'failed' || status === 'dismissed'
        ? 'failed'
        : undefined;
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
  let submitting = true;
  let succeeded = 0;
  let failed = 0;
  let lastDone = 0;
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  const pollers = Array.from({ length: POLLERS }, async () => {
    // Bounded by the deadline; each poll by its own timeout.
    while (performance.now() < deadline && (submitting || pending.length > 0)) {
      const url = pending.shift();
      if (!url) {
        await new Promise((r) => setTimeout(r, 10));
        continue;
      }
      let state: Final;
      try {
        state = await protocol.poll(url, AbortSignal.timeout(10_000));
      } catch {
        state = undefined;
      }
      if (state === 'succeeded') succeeded++;
      else if (state === 'failed') failed++;
      if (state) lastDone = performance.now();
      else {
        pending.push(url);
        if (pending.length < POLLERS) await new Promise((r) => setTimeout(r, 10));
      }
    }
  });
  const submit = await boundedLoop({ concurrency: SUBMITTERS, count: jobs, seconds }, async (_i, signal) => {
    pending.push(await protocol.submit(signal));
  });
  submitting = false;
  await Promise.all(pollers);
  const accepted = submit.ok;
  return {
    submitted: submit.started,
    accepted,
    refused: submit.errors,
    acceptedPerSecond: accepted / (submit.elapsedMs / 1000),
    succeeded,
    failed,
    lost: accepted - succeeded,
    completedPerSecond: succeeded / (Math.max(lastDone - t0, 1) / 1000),
    seconds: (performance.now() - t0) / 1000,
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
      ['WPS storeExecuteResponse/status', 'gateway', wpsProtocol(gateway.wps)],
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
          measured: ratio(f.completedPerSecond, peer.completedPerSecond),
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
        `${jobs} jobs per row, submitted at concurrency ${SUBMITTERS} while ${POLLERS} pollers follow them to completion; bounded by ${seconds} s. ` +
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
