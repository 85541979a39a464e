/**
 * Scenario 5: the concurrency cap. CAP_JOBS (default 50; QUICK 20) one-second `sleep` jobs
 * submitted at once through OGC API (Prefer: respond-async) to the gateway with pool size P, polled
 * to completion; then each job's started/finished timestamps (GET /jobs/{id}) give the most jobs
 * running at once (must be P, never more) and the total (≈ jobs/P seconds).
 */
import { env, type Context, type Scenario } from '../lib/context.ts';
import { boundedLoop, fetchOk, TaskError } from '../lib/loop.ts';
import { errorText, type Target } from '../lib/table.ts';

interface Status {
  status: string;
  started?: string;
  finished?: string;
}

/** Most intervals overlapping at one instant (an end at t comes before a start at t). */
export function maxOverlap(intervals: Array<[number, number]>): number {
  const events = intervals.flatMap(([s, e]) => [
    [s, 1],
    [e, -1],
  ]) as Array<[number, number]>;
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let max = 0;
  for (const [, d] of events) max = Math.max(max, (now += d));
  return max;
}

export const cap: Scenario = {
  id: '5',
  title: '5. Concurrency cap',
  async run(ctx: Context) {
    const { gateway, settings } = ctx;
    const jobs = env.number('CAP_JOBS', ctx.knobs.quick ? 20 : 50);
    const expected = Math.ceil(jobs / settings.pool);
    const bound = expected * 3 + 30;
    const urls: string[] = [];
    const submit = await boundedLoop({ concurrency: jobs, count: jobs, seconds: 30 }, async (_i, signal) => {
      const r = await fetchOk(`${gateway.base}/processes/sleep/execution`, {
        method: 'POST',
        body: JSON.stringify({ inputs: { seconds: 1 } }),
        headers: { 'Content-Type': 'application/json', Prefer: 'respond-async' },
        signal,
      });
      await r.arrayBuffer();
      const location = r.headers.get('location');
      if (!location) throw new TaskError('no Location');
      urls.push(new URL(location, gateway.base).href);
    });
    const finals: Status[] = [];
    await boundedLoop({ concurrency: 8, count: urls.length, seconds: bound }, async (i, signal) => {
      for (;;) {
        const r = await fetchOk(urls[i]!, { headers: { Accept: 'application/json' }, signal });
        const s = (await r.json()) as Status;
        if (s.status === 'successful' || s.status === 'failed' || s.status === 'dismissed') {
          finals.push(s);
          return;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    });
    const intervals = finals
      .filter((s) => s.status === 'successful' && s.started && s.finished)
      .map((s) => [Date.parse(s.started!), Date.parse(s.finished!)] as [number, number]);
    const most = maxOverlap(intervals);
    const total = intervals.length
      ? (Math.max(...intervals.map(([, e]) => e)) - Math.min(...intervals.map(([s]) => s))) / 1000
      : NaN;
    const targets: Target[] = [
      {
        name: 'most jobs running at once',
        goal: `= ${settings.pool} (the pool size), never more`,
        measured: String(most),
        pass: most === settings.pool,
      },
      {
        name: `total time for ${jobs} one-second jobs`,
        goal: `≈ ${expected} s (within +25 %)`,
        measured: `${total.toFixed(2)} s`,
        pass: total >= expected * 0.95 && total <= expected * 1.25,
      },
      {
        name: 'all jobs succeeded',
        goal: `${jobs}`,
        measured: `${intervals.length} (submit errors: ${errorText(submit.errors)})`,
        pass: intervals.length === jobs,
      },
    ];
    ctx.report.add({
      id: this.id,
      title: this.title,
      notes: [
        `${jobs} asynchronous one-second sleep jobs submitted at once (OGC API), pool size P = ${settings.pool}; running intervals from each job's started/finished.`,
      ],
      columns: ['jobs', 'P', 'most running at once', 'total', 'expected'],
      rows: [[String(jobs), String(settings.pool), String(most), `${total.toFixed(2)} s`, `${expected} s`]],
      targets,
      data: { jobs, pool: settings.pool, most, total, expected, intervals },
    });
  },
};
