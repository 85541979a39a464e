/**
 * The long load run: CONNECTIONS concurrent clients (default 50× the pool) send the mix of
 * test/helpers/load.ts (discovery, sync and async executions, status polls; WPS and OGC API) to a
 * real server process for SECONDS (default 60) or MAX_REQUESTS, then wait for every accepted job.
 * Prints a markdown table (test/load/load.test.ts is the short, asserted version in the test suite).
 *
 *   bash .ci/setup.sh node bench/load.ts   [SECONDS=60 MAX_REQUESTS=1000000 PARALLEL=2 MAX_QUEUED=10 CONNECTIONS=100]
 */
import { figuresTable, runLoad } from '../test/helpers/load.ts';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const parallel = env('PARALLEL', 2);
const maxQueued = env('MAX_QUEUED', 10);
const connections = env('CONNECTIONS', 50 * parallel);
const figures = await runLoad({
  seconds: env('SECONDS', 60),
  maxRequests: env('MAX_REQUESTS', 1_000_000),
  connections,
  parallel,
  maxQueued,
  drainSeconds: 60,
});
process.stdout.write(
  `## Load: ${connections} clients, pool of ${parallel}, at most ${maxQueued} waiting\n\n${figuresTable(figures)}\n`,
);
if (figures.problemSamples.length > 0)
  process.stdout.write(
    `\nProblems, for example:\n\n${figures.problemSamples.map((s) => `- ${s}`).join('\n')}\n`,
  );
