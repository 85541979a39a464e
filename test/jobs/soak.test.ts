/**
 * Sustained load through the real HTTP server (a separate process): synchronous hello-world at full
 * speed. The write-ahead log, the output area and the job table must stay bounded. The figures are
 * printed for the record; bench/soak.ts runs the same for longer.
 */
import { describe, expect, it } from 'vitest';
import { runSoak } from '../helpers/soak.ts';

const SECONDS = 15;
const MAX_JOBS = 100;
/**
 * The log starts over every 12 MiB (checkpoint thread), is cut back to 16 MiB (journal_size_limit)
 * when it has grown past that, holds the commits above 20 MiB and is checkpointed inline above 64.
 */
const WAL_BOUND = 24 * 1024 * 1024;

describe('soak: synchronous executions at full speed', () => {
  it(
    `keeps the write-ahead log small, creates no empty folders and keeps the job table near ${MAX_JOBS} jobs`,
    async () => {
      const figures = await runSoak({
        seconds: SECONDS,
        connections: 16,
        manager: { max_jobs: MAX_JOBS, parallel_processes: 2 },
      });
      console.log(`soak figures: ${JSON.stringify(figures)}`);
      expect(figures.errors).toEqual({});
      expect(figures.ok).toBe(figures.requests);
      // Enough load for the cap to matter several times over.
      expect(figures.requests).toBeGreaterThan(3 * MAX_JOBS);
      expect(figures.walMaxBytes).toBeLessThan(WAL_BOUND);
      expect(figures.outputFoldersMax).toBe(0);
      expect(figures.workFolders).toBe(0);
      // The cap is kept by trims that run after every max(50, max_jobs / 20) job ends, leaving room
      // for them: on a starved machine the jobs ending while a trim runs can pass it for a moment
      // (153 seen with two test suites on 2 cores). Bounded, and back under the cap at the end.
      expect(figures.jobRowsMax).toBeLessThanOrEqual(2 * MAX_JOBS);
      expect(figures.jobRows).toBeLessThanOrEqual(MAX_JOBS);
      expect(figures.jobRows).toBeGreaterThan(0);
    },
    (SECONDS + 30) * 1000,
  );
});
