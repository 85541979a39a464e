/**
 * Scenario 6: memory. The peak resident memory of the gateway (VmHWM of the server process, and the
 * peak of the server with its GDAL children sampled through the whole run), and the resident memory
 * of a fresh gateway before and after STORE_JOBS (default 10,000; QUICK 3,000) finished jobs are
 * in its store (synchronous hello-world, WPS KVP, concurrency 16).
 */
import { env, type Context, type Scenario } from '../lib/context.ts';
import { boundedLoop, fetchOk } from '../lib/loop.ts';
import { startGateway } from '../lib/peers.ts';
import { memoryOf, stop, treeRss } from '../lib/processes.ts';
import { errorText, mib, num } from '../lib/table.ts';
import { jobCount } from './sync-hello.ts';

/** The run-wide peak of the gateway with its children, sampled by the runner. */
export const runPeak = { read: (): number => NaN };

export const memory: Scenario = {
  id: '6',
  title: '6. Memory',
  async run(ctx: Context) {
    const { gateway, settings } = ctx;
    const jobs = env.number('STORE_JOBS', ctx.knobs.quick ? 3000 : 10_000);
    const hwm = memoryOf(gateway.pid).hwm;
    const fresh = await startGateway(settings, { name: 'gateway-memory' });
    try {
      const url = `${fresh.wps}?service=WPS&version=1.0.0&request=Execute&identifier=hello-world&DataInputs=name=World&RawDataOutput=echo`;
      await boundedLoop({ concurrency: 4, count: 100, seconds: 30 }, async (_i, signal) => {
        await (await fetchOk(url, { signal })).arrayBuffer();
      });
      await new Promise((r) => setTimeout(r, 1000));
      const before = treeRss(fresh.pid);
      const loop = await boundedLoop({ concurrency: 16, count: jobs, seconds: 180 }, async (_i, signal) => {
        await (await fetchOk(url, { signal })).arrayBuffer();
      });
      await new Promise((r) => setTimeout(r, 1000));
      const after = treeRss(fresh.pid);
      const stored = await jobCount(fresh.base);
      ctx.report.add({
        id: this.id,
        title: this.title,
        notes: [
          `Peak: VmHWM of the main gateway's server process at this point of the run, and the peak of the server with its GDAL children sampled every 200 ms since it started. ` +
            `Store: a fresh gateway, ${num(jobs)} synchronous hello-world jobs (concurrency 16), resident memory 1 s after the last (no forced GC).`,
        ],
        columns: ['figure', 'value'],
        rows: [
          ['peak RSS, server process (VmHWM)', mib(hwm)],
          ['peak RSS, server + GDAL children (sampled)', mib(runPeak.read())],
          ['fresh server, 100 jobs in the store', mib(before)],
          [`fresh server, ${num(stored)} jobs in the store`, mib(after)],
          ['growth per stored job', `${num((after - before) / Math.max(1, stored - 100), 0)} bytes`],
          ['errors while filling the store', errorText(loop.errors)],
        ],
        targets: [],
        data: {
          hwm,
          sampledPeak: runPeak.read(),
          before,
          after,
          stored,
          loop: { ...loop, latencies: undefined },
        },
      });
    } finally {
      await stop(fresh.child);
    }
  },
};
