/**
 * The long soak: synchronous hello-world over WPS at full speed through a real server process for
 * SECONDS (default 180), with the default job cap unless MAX_JOBS is set. Prints requests, the
 * largest write-ahead log, output folders and job rows seen (test/jobs/soak.test.ts is the short,
 * asserted version in the test suite).
 *
 *   node bench/soak.ts            [SECONDS=180 CONNECTIONS=16 MAX_JOBS=100000]
 */
import { runSoak } from '../test/helpers/soak.ts';

const seconds = Number(process.env.SECONDS ?? 180);
const connections = Number(process.env.CONNECTIONS ?? 16);
const manager: Record<string, number> = process.env.MAX_JOBS
  ? { max_jobs: Number(process.env.MAX_JOBS) }
  : {};
const figures = await runSoak({ seconds, connections, manager });
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
process.stdout.write(
  [
    `soak: ${figures.requests} requests in ${figures.seconds} s (${figures.requestsPerSecond}/s), ${figures.ok} ok, errors ${JSON.stringify(figures.errors)}`,
    `write-ahead log: max ${mib(figures.walMaxBytes)}, at the end ${mib(figures.walEndBytes)}; database ${mib(figures.dbBytes)}`,
    `output folders: max ${figures.outputFoldersMax}, at the end ${figures.outputFolders}; work folders at the end ${figures.workFolders}`,
    `job rows: max ${figures.jobRowsMax}, at the end ${figures.jobRows}`,
  ].join('\n') + '\n',
);
