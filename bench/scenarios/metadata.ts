/**
 * Scenario 1: metadata. WPS GetCapabilities and DescribeProcess (gateway, PyWPS), OGC API GET
 * /processes and /processes/{id} (gateway), and the floors: bare node:http and bare koa answering a
 * fixed document of the size of our Capabilities (XML) and of our /processes (JSON).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Context, Scenario } from '../lib/context.ts';
import { startFloor, type Server } from '../lib/peers.ts';
import { stop } from '../lib/processes.ts';
import { errorText, ms, num, pct, ratio, type Target } from '../lib/table.ts';
import { errorsOf, interleaved, type LoadFigures, type WrkRequest } from '../lib/wrk.ts';

const CAPABILITIES = '?service=WPS&request=GetCapabilities';
const DESCRIBE = '?service=WPS&version=1.0.0&request=DescribeProcess&identifier=hello-world';

export const metadata: Scenario = {
  id: '1',
  title: '1. Metadata',
  async run(ctx: Context) {
    const { gateway, pywps, knobs } = ctx;
    const capabilities = Buffer.from(await (await fetch(`${gateway.wps}${CAPABILITIES}`)).arrayBuffer());
    const processes = Buffer.from(
      await (
        await fetch(`${gateway.base}/processes`, { headers: { Accept: 'application/json' } })
      ).arrayBuffer(),
    );
    const xmlFile = path.join(ctx.settings.dir, 'floor-capabilities.xml');
    const jsonFile = path.join(ctx.settings.dir, 'floor-processes.json');
    writeFileSync(xmlFile, capabilities);
    writeFileSync(jsonFile, processes);
    const floors: Server[] = [];
    try {
      floors.push(await startFloor('http', xmlFile, jsonFile), await startFloor('koa', xmlFile, jsonFile));
      const [nodeFloor, koaFloor] = floors as [Server, Server];
      const json = { Accept: 'application/json' };
      const rows: Array<{ name: string; targets: Array<[string, WrkRequest]>; floor: boolean }> = [
        {
          name: 'WPS GetCapabilities',
          floor: true,
          targets: [
            ['gateway', { url: `${gateway.wps}${CAPABILITIES}` }],
            ['PyWPS', { url: `${pywps.wps}${CAPABILITIES}` }],
            ['node:http', { url: `${nodeFloor.wps}${CAPABILITIES}` }],
            ['koa', { url: `${koaFloor.wps}${CAPABILITIES}` }],
          ],
        },
        {
          name: 'WPS DescribeProcess',
          floor: false,
          targets: [
            ['gateway', { url: `${gateway.wps}${DESCRIBE}` }],
            ['PyWPS', { url: `${pywps.wps}${DESCRIBE}` }],
          ],
        },
        {
          name: 'OGC API GET /processes',
          floor: true,
          targets: [
            ['gateway', { url: `${gateway.base}/processes`, headers: json }],
            ['node:http', { url: `${nodeFloor.base}/processes`, headers: json }],
            ['koa', { url: `${koaFloor.base}/processes`, headers: json }],
          ],
        },
        {
          name: 'OGC API GET /processes/hello-world',
          floor: false,
          targets: [['gateway', { url: `${gateway.base}/processes/hello-world`, headers: json }]],
        },
      ];
      const tableRows: string[][] = [];
      const targets: Target[] = [];
      const data: Record<string, Record<string, LoadFigures>> = {};
      for (const row of rows) {
        const figures = await interleaved(
          row.targets.map(([key, request]) => ({ key, request })),
          { seconds: knobs.duration, connections: knobs.connections, rounds: knobs.rounds },
        );
        data[row.name] = Object.fromEntries(figures);
        const ours = figures.get('gateway')!;
        const peer = figures.get('PyWPS');
        const koa = figures.get('koa');
        const bare = figures.get('node:http');
        for (const [key] of row.targets) {
          const f = figures.get(key)!;
          tableRows.push([
            row.name,
            key,
            num(f.okRps),
            ms(f.p50Ms),
            ms(f.p99Ms),
            errorText(errorsOf(f)),
            key === 'gateway' && peer ? ratio(f.okRps, peer.okRps) : '',
            koa ? pct(f.okRps, koa.okRps) : '',
            bare ? pct(f.okRps, bare.okRps) : '',
          ]);
        }
        if (peer)
          targets.push({
            name: `${row.name}: throughput vs PyWPS`,
            goal: '≥ 100×',
            measured: ratio(ours.okRps, peer.okRps),
            pass: ours.okRps >= 100 * peer.okRps,
          });
        if (koa)
          targets.push({
            name: `${row.name}: throughput vs bare koa`,
            goal: '≥ 60 %',
            measured: pct(ours.okRps, koa.okRps),
            pass: ours.okRps >= 0.6 * koa.okRps,
          });
      }
      ctx.report.add({
        id: this.id,
        title: this.title,
        notes: [
          `wrk -t1 -c${knobs.connections} -d${knobs.duration}s, ${knobs.rounds} interleaved round(s) (median kept) after a 1 s warm-up of each server. ` +
            `Floors answer a fixed document of the same size: ${capabilities.length} bytes (our Capabilities), ${processes.length} bytes (our /processes). ` +
            'req/s counts successful answers only.',
        ],
        columns: [
          'request',
          'server',
          'req/s',
          'p50',
          'p99',
          'errors',
          '× PyWPS',
          '% of koa floor',
          '% of node:http floor',
        ],
        rows: tableRows,
        targets,
        data: {
          documentBytes: { capabilities: capabilities.length, processes: processes.length },
          figures: data,
        },
      });
    } finally {
      for (const f of floors) await stop(f.child);
    }
  },
};
