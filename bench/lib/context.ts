/** What every scenario gets from the runner: the settings, the servers, the knobs, the report. */
import type { Server, Settings } from './peers.ts';
import type { Report } from './table.ts';

export interface Knobs {
  quick: boolean;
  /** wrk seconds per measurement. */
  duration: number;
  /** wrk connections. */
  connections: number;
  /** Interleaved rounds per wrk measurement (the median is kept). */
  rounds: number;
}

export interface Context {
  settings: Settings;
  knobs: Knobs;
  gateway: Server;
  pywps: Server;
  report: Report;
}

export interface Scenario {
  id: string;
  title: string;
  run(ctx: Context): Promise<void>;
}

const numberEnv = (name: string, fallback: number): number => {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name}=${v}: a number is expected`);
  return n;
};

export const env = { number: numberEnv };
