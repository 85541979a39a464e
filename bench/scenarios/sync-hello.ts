/**
 * Scenario 2: synchronous hello-world. WPS KVP with RawDataOutput, WPS XML POST with
 * ResponseDocument (gateway and PyWPS), OGC API execute POST /processes/hello-world/execution
 * (gateway). wrk drives the POSTs through a Lua script. Every job must still be recorded: the
 * gateway's job count (GET /jobs numberMatched) must grow by at least the successful answers.
 */
import type { Context, Scenario } from '../lib/context.ts';
import { errorText, ms, num, ratio, type Target } from '../lib/table.ts';
import { errorsOf, interleaved, type LoadFigures, type WrkRequest } from '../lib/wrk.ts';

const KVP =
  '?service=WPS&version=1.0.0&request=Execute&identifier=hello-world&DataInputs=name=World&RawDataOutput=echo';

export const EXECUTE_XML = `<?xml version="1.0" encoding="UTF-8"?>
<wps:Execute service="WPS" version="1.0.0" xmlns:wps="http://www.opengis.net/wps/1.0.0" xmlns:ows="http://www.opengis.net/ows/1.1">
  <ows:Identifier>hello-world</ows:Identifier>
  <wps:DataInputs>
    <wps:Input><ows:Identifier>name</ows:Identifier><wps:Data><wps:LiteralData>World</wps:LiteralData></wps:Data></wps:Input>
  </wps:DataInputs>
  <wps:ResponseForm><wps:ResponseDocument><wps:Output><ows:Identifier>echo</ows:Identifier></wps:Output></wps:ResponseDocument></wps:ResponseForm>
</wps:Execute>`;

/** The gateway's job count (every protocol, every state). */
export async function jobCount(base: string): Promise<number> {
  const r = await fetch(`${base}/jobs?limit=1`, { headers: { Accept: 'application/json' } });
  const body = (await r.json()) as { numberMatched?: number };
  return body.numberMatched ?? NaN;
}

export const syncHello: Scenario = {
  id: '2',
  title: '2. Synchronous hello-world',
  async run(ctx: Context) {
    const { gateway, pywps, knobs } = ctx;
    const xml = { 'Content-Type': 'text/xml' };
    const rows: Array<[string, Array<[string, WrkRequest]>]> = [
      [
        'WPS KVP, RawDataOutput',
        [
          ['gateway', { url: `${gateway.wps}${KVP}` }],
          ['PyWPS', { url: `${pywps.wps}${KVP}` }],
        ],
      ],
      [
        'WPS XML POST, ResponseDocument',
        [
          ['gateway', { url: gateway.wps, method: 'POST', body: EXECUTE_XML, headers: xml }],
          ['PyWPS', { url: pywps.wps, method: 'POST', body: EXECUTE_XML, headers: xml }],
        ],
      ],
      [
        'OGC API POST /processes/hello-world/execution',
        [
          [
            'gateway',
            {
              url: `${gateway.base}/processes/hello-world/execution`,
              method: 'POST',
              body: JSON.stringify({ inputs: { name: 'World' } }),
              headers: { 'Content-Type': 'application/json' },
            },
          ],
        ],
      ],
    ];
    const tableRows: string[][] = [];
    const targets: Target[] = [];
    const data: Record<string, Record<string, LoadFigures>> = {};
    const jobsBefore = await jobCount(gateway.base);
    let ourRequests = 0;
    for (const [name, list] of rows) {
      const figures = await interleaved(
        list.map(([key, request]) => ({ key, request })),
        { seconds: knobs.duration, connections: knobs.connections, rounds: knobs.rounds },
      );
      data[name] = Object.fromEntries(figures);
      const ours = figures.get('gateway')!;
      const peer = figures.get('PyWPS');
      for (const [key] of list) {
        const f = figures.get(key)!;
        tableRows.push([
          name,
          key,
          num(f.okRps),
          ms(f.p50Ms),
          ms(f.p99Ms),
          errorText(errorsOf(f)),
          key === 'gateway' && peer ? ratio(f.okRps, peer.okRps) : '',
          key === 'gateway' && peer ? ratio(peer.p99Ms, f.p99Ms) : '',
        ]);
      }
      if (peer) {
        targets.push(
          {
            name: `${name}: throughput vs PyWPS`,
            goal: '≥ 100×',
            measured: ratio(ours.okRps, peer.okRps),
            pass: ours.okRps >= 100 * peer.okRps,
          },
          {
            name: `${name}: p99 vs PyWPS's`,
            goal: '≤ 1/20',
            measured: `1/${(peer.p99Ms / ours.p99Ms).toFixed(1)}`,
            pass: ours.p99Ms * 20 <= peer.p99Ms,
          },
        );
      }
      ourRequests += ours.requests;
    }
    // Every successful answer of the kept rounds and the others was a recorded job: compare the
    // growth of the store with the requests of the kept rounds (a lower bound of all requests made).
    const recorded = (await jobCount(gateway.base)) - jobsBefore;
    targets.push({
      name: 'every synchronous job recorded',
      goal: 'jobs recorded ≥ requests answered (kept rounds)',
      measured: `${recorded} jobs recorded, ${ourRequests} requests in the kept rounds`,
      pass: recorded >= ourRequests,
    });
    ctx.report.add({
      id: this.id,
      title: this.title,
      notes: [
        `wrk -t1 -c${knobs.connections} -d${knobs.duration}s, ${knobs.rounds} interleaved round(s), POST bodies through a Lua script. ` +
          `Both servers: pool ${ctx.settings.pool}, queue ${ctx.settings.queue}. req/s counts successful answers only (PyWPS refuses a synchronous request with ServerBusy when parallelprocesses are busy).`,
      ],
      columns: ['request', 'server', 'req/s', 'p50', 'p99', 'errors', '× PyWPS req/s', 'PyWPS p99 ÷ ours'],
      rows: tableRows,
      targets,
      data: { figures: data, jobsRecorded: recorded },
    });
  },
};
