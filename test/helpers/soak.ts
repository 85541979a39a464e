/**
 * Sustained load on a real server process: synchronous hello-world executions over WPS (KVP GET) at
 * full speed from `connections` concurrent clients, sampling the store's write-ahead log and the
 * output folder while it runs. Shared by test/jobs/soak.test.ts (bounded) and bench/soak.ts (long).
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { startServerProcess } from './server-process.ts';

export interface SoakOptions {
  seconds: number;
  connections: number;
  /** server.manager keys (max_jobs, sync_retention_seconds, ...). */
  manager?: Record<string, string | number | boolean>;
}

export interface SoakFigures {
  seconds: number;
  requests: number;
  ok: number;
  /** Answers other than 200, by status. */
  errors: Record<string, number>;
  requestsPerSecond: number;
  walMaxBytes: number;
  walEndBytes: number;
  dbBytes: number;
  outputFolders: number;
  outputFoldersMax: number;
  workFolders: number;
  jobRows: number;
  jobRowsMax: number;
}

const size = (file: string) => {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
};
const count = (dir: string) => {
  try {
    return readdirSync(dir).length;
  } catch {
    return 0;
  }
};

export async function runSoak(options: SoakOptions): Promise<SoakFigures> {
  const server = await startServerProcess({ prefix: 'gw-soak-', manager: options.manager ?? {} });
  try {
    const { address, dir } = server;
    const db = path.join(dir, 'jobs.sqlite');
    const outputs = path.join(dir, 'outputs');
    const reader = new Database(db, { readonly: true, fileMustExist: true });
    const rows = () => (reader.prepare('SELECT count(*) AS n FROM jobs').get() as { n: number }).n;
    let walMaxBytes = 0;
    let outputFoldersMax = 0;
    let jobRowsMax = 0;
    const sample = () => {
      walMaxBytes = Math.max(walMaxBytes, size(`${db}-wal`));
      outputFoldersMax = Math.max(outputFoldersMax, count(outputs));
      jobRowsMax = Math.max(jobRowsMax, rows());
    };
    const sampler = setInterval(sample, 250);

    const url = `${address}/wps?service=WPS&version=1.0.0&request=Execute&identifier=hello-world&DataInputs=name=soak`;
    const errors: Record<string, number> = {};
    let requests = 0;
    let ok = 0;
    const t0 = performance.now();
    const end = t0 + options.seconds * 1000;
    const client = async () => {
      while (performance.now() < end) {
        requests++;
        try {
          const res = await fetch(url);
          const body = await res.text();
          if (res.status === 200 && body.includes('Hello soak!')) ok++;
          else errors[String(res.status)] = (errors[String(res.status)] ?? 0) + 1;
        } catch (error) {
          const kind = (error as Error).message;
          errors[kind] = (errors[kind] ?? 0) + 1;
        }
      }
    };
    await Promise.all(Array.from({ length: options.connections }, client));
    const elapsed = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    sample();
    const figures: SoakFigures = {
      seconds: Math.round(elapsed * 10) / 10,
      requests,
      ok,
      errors,
      requestsPerSecond: Math.round(requests / elapsed),
      walMaxBytes,
      walEndBytes: size(`${db}-wal`),
      dbBytes: size(db),
      outputFolders: count(outputs),
      outputFoldersMax,
      workFolders: count(path.join(dir, 'work')),
      jobRows: rows(),
      jobRowsMax,
    };
    reader.close();
    return figures;
  } finally {
    await server.stop();
  }
}
