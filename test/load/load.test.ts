/**
 * Load, loopback only and bounded in time and count: 50 times as many concurrent clients as the pool
 * has slots send a mix of capabilities, descriptions, synchronous and asynchronous executions and
 * status polls through WPS 1.0.0 and OGC API - Processes to a real server process. Every request is
 * answered (success, or a 503 refusal: a WPS ServerBusy report, an OGC API exception with
 * Retry-After), the jobs waiting and running never exceed the configured bound, the server's memory
 * stays bounded and every accepted job becomes final. bench/load.ts runs the same for longer.
 */
import { describe, expect, it } from 'vitest';
import { figuresLine, KINDS, runLoad } from '../helpers/load.ts';

const PARALLEL = 2;
const MAX_QUEUED = 10;
const CONNECTIONS = 50 * PARALLEL;
const SECONDS = 10;
const MAX_REQUESTS = 30_000;
const DRAIN_SECONDS = 8;
/** Measured: about 135 MiB at the start, 255-265 MiB at the peak (Node 24, 2 worker threads). */
const PEAK_RSS_BOUND = 400 * 1024 * 1024;

describe('load: 50× the pool size, both protocols', () => {
  it(
    'answers every request, keeps the queue within its bound and memory bounded, and finishes every accepted job',
    async () => {
      const f = await runLoad({
        seconds: SECONDS,
        maxRequests: MAX_REQUESTS,
        connections: CONNECTIONS,
        parallel: PARALLEL,
        maxQueued: MAX_QUEUED,
        drainSeconds: DRAIN_SECONDS,
      });
      console.log(`load figures: ${figuresLine(f)}`);

      // Every request answered: a success or a proper refusal, never a connection error, a timeout,
      // another 5xx or a malformed answer.
      expect(f.problems, f.problemSamples.join('\n')).toEqual({});
      const statuses = new Set(Object.values(f.answers).flatMap((row) => Object.keys(row)));
      expect([...statuses].filter((s) => !['200', '201', '503'].includes(s))).toEqual([]);

      // The queue within its bound, seen often enough to mean something; and it was reached.
      expect(f.health.failures).toBe(0);
      expect(f.health.samples).toBeGreaterThan(4 * SECONDS);
      expect(f.health.maxRunning).toBeLessThanOrEqual(PARALLEL);
      expect(f.health.maxActive).toBeLessThanOrEqual(PARALLEL + MAX_QUEUED);
      expect(f.health.maxActive).toBeGreaterThanOrEqual(MAX_QUEUED);

      // The load did overload the pool in both protocols, and every kind of request was sent.
      for (const kind of KINDS) expect(f.answers[kind], kind).toBeDefined();
      expect(f.requests).toBeGreaterThan(20 * CONNECTIONS);
      expect(f.refused.wps).toBeGreaterThan(CONNECTIONS);
      expect(f.refused.oaproc).toBeGreaterThan(CONNECTIONS);
      for (const kind of ['wps-sync-kvp', 'wps-sync-xml', 'oap-sync-hello', 'oap-sync-sleep'] as const)
        expect(f.answers[kind]!['200'], `${kind} succeeded at least once`).toBeGreaterThan(0);
      expect(f.accepted.wps).toBeGreaterThan(0);
      expect(f.accepted.oaproc).toBeGreaterThan(0);

      // Memory bounded.
      expect(f.memory.peakBytes).toBeLessThan(PEAK_RSS_BOUND);

      // Every accepted job final (and these sleeps all succeed); nothing left waiting or running.
      expect(f.final).toEqual({ successful: f.accepted.wps + f.accepted.oaproc });
      expect(f.health.activeAfter).toBe(0);
    },
    (SECONDS + DRAIN_SECONDS + 30) * 1000,
  );
});
