/**
 * Scenario 7: the cost of the robustness work, each as an after/before ratio measured in one run,
 * each script in its own process (bench/scenarios/robustness/):
 * - GDAL isolation: GDAL jobs in supervised child processes against the one piscina thread they
 *   replaced (warm tasks one at a time and PARALLEL at a time);
 * - XSD validation (VERYSTRICT XML) against the STRICT well-formedness check, 1 MiB of KML;
 * - the reference policy: a reference fetched through src/references/fetch.ts against a plain fetch().
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Context, Scenario } from '../lib/context.ts';
import { ROOT } from '../lib/peers.ts';
import { mib, ms, ratio } from '../lib/table.ts';

const run = promisify(execFile);

async function script<T>(name: string, vars: Record<string, string>): Promise<T> {
  const { stdout } = await run(process.execPath, [path.join(ROOT, 'bench/scenarios/robustness', name)], {
    env: { ...process.env, ...vars },
    timeout: 600_000,
    maxBuffer: 1 << 20,
  });
  const last = stdout.trim().split('\n').pop()!;
  return JSON.parse(last) as T;
}

interface Isolation {
  rounds: number;
  parallel: number;
  rows: Array<{
    design: string;
    process: string;
    coldMs: number;
    sequentialMs: number;
    concurrentMs: number;
  }>;
  rssBytes: Record<string, number>;
  childStartMs: number;
}

export const robustness: Scenario = {
  id: '7',
  title: '7. Cost of the robustness work (after ÷ before)',
  async run(ctx: Context) {
    const quick = ctx.knobs.quick;
    const pool = String(ctx.settings.pool);
    const rows: string[][] = [];
    const data: Record<string, unknown> = {};
    const failures: string[] = [];
    const attempt = async (name: string, f: () => Promise<void>) => {
      try {
        await f();
      } catch (e) {
        failures.push(`${name}: ${(e as Error).message.split('\n')[0]}`);
      }
    };
    await attempt('GDAL isolation', async () => {
      const iso = await script<Isolation>('gdal-isolation.ts', {
        ROUNDS: quick ? '10' : '40',
        PARALLEL: pool,
      });
      data.gdalIsolation = iso;
      const get = (design: string, process: string) =>
        iso.rows.find((r) => r.design === design && r.process === process)!;
      for (const process of [...new Set(iso.rows.map((r) => r.process))]) {
        const [before, after] = [get('thread', process), get('child', process)];
        rows.push(
          [
            `GDAL isolation: ${process}, warm, one at a time`,
            'one piscina thread',
            ms(before.sequentialMs),
            'a child process per job slot',
            ms(after.sequentialMs),
            ratio(after.sequentialMs, before.sequentialMs),
          ],
          [
            `GDAL isolation: ${process}, warm, ${iso.parallel} at a time (per task)`,
            'one piscina thread',
            ms(before.concurrentMs),
            'a child process per job slot',
            ms(after.concurrentMs),
            ratio(after.concurrentMs, before.concurrentMs),
          ],
        );
      }
      const [b, a] = [
        iso.rows.find((r) => r.design === 'thread')!,
        iso.rows.find((r) => r.design === 'child')!,
      ];
      rows.push([
        'GDAL isolation: cold first task',
        'one piscina thread',
        ms(b.coldMs),
        'a child process',
        ms(a.coldMs),
        ratio(a.coldMs, b.coldMs),
      ]);
      rows.push([
        'GDAL isolation: memory',
        'thread (RSS added)',
        mib(iso.rssBytes.thread ?? NaN),
        `children (PSS, ${iso.parallel})`,
        mib(iso.rssBytes.child ?? NaN),
        ratio(iso.rssBytes.child ?? NaN, iso.rssBytes.thread ?? NaN),
      ]);
    });
    await attempt('XSD validation', async () => {
      const xsd = await script<{ bytes: number; xsdMs: number; wellFormedMs: number; compileMs: number }>(
        'xsd.ts',
        {
          ROUNDS: quick ? '5' : '15',
        },
      );
      data.xsd = xsd;
      rows.push([
        `XSD validation of ${mib(xsd.bytes)} of KML (schema compiled once: ${ms(xsd.compileMs)})`,
        'STRICT well-formedness',
        ms(xsd.wellFormedMs),
        'VERYSTRICT XSD validation',
        ms(xsd.xsdMs),
        ratio(xsd.xsdMs, xsd.wellFormedMs),
      ]);
    });
    await attempt('reference policy', async () => {
      const ref = await script<{ bytes: number; plainMs: number; policyMs: number }>('reference-policy.ts', {
        ROUNDS: quick ? '200' : '1000',
      });
      data.referencePolicy = ref;
      rows.push([
        `reference input of ${ref.bytes / 1024} KiB over loopback`,
        'plain fetch()',
        ms(ref.plainMs),
        'through the reference policy',
        ms(ref.policyMs),
        ratio(ref.policyMs, ref.plainMs),
      ]);
    });
    ctx.report.add({
      id: this.id,
      title: this.title,
      notes: [
        'Medians; each figure pair measured in the same process and run. ' +
          (failures.length ? `Not measured: ${failures.join('; ')}.` : ''),
      ],
      columns: ['what', 'before', 'time', 'after', 'time', 'after ÷ before'],
      rows,
      targets: [],
      data,
    });
  },
};
