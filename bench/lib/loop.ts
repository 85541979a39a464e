/**
 * A load loop driven from Node, bounded in count and in time: `concurrency` workers take task
 * numbers until `count` are taken or `seconds` have passed; each task has its own timeout.
 * What each task answers is recorded: latency, and ok or an error kind.
 */
export interface LoopOptions {
  concurrency: number;
  count: number;
  seconds: number;
}

export interface LoopFigures {
  started: number;
  ok: number;
  /** error kind → count */
  errors: Record<string, number>;
  /** Latencies of the tasks that succeeded, ms, ascending. */
  latencies: number[];
  elapsedMs: number;
  /** The time bound cut the loop short. */
  timedOut: boolean;
}

/** A failure with a kind for the tables ('503', 'timeout', 'lost', …). */
export class TaskError extends Error {
  readonly kind: string;
  constructor(kind: string, message = kind) {
    super(message);
    this.kind = kind;
  }
}

const kindOf = (e: unknown): string => {
  if (e instanceof TaskError) return e.kind;
  if (e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError')) return 'timeout';
  const cause = (e as { cause?: { code?: string } }).cause;
  return cause?.code ?? (e instanceof Error ? e.name : 'error');
};

export async function boundedLoop(
  options: LoopOptions,
  task: (i: number, signal: AbortSignal) => Promise<void>,
): Promise<LoopFigures> {
  const t0 = performance.now();
  const deadline = t0 + options.seconds * 1000;
  const figures: LoopFigures = {
    started: 0,
    ok: 0,
    errors: {},
    latencies: [],
    elapsedMs: 0,
    timedOut: false,
  };
  const worker = async () => {
    while (figures.started < options.count) {
      const now = performance.now();
      if (now >= deadline) {
        figures.timedOut = true;
        return;
      }
      const i = figures.started++;
      const signal = AbortSignal.timeout(Math.max(1, Math.ceil(deadline - now)));
      const t = performance.now();
      try {
        await task(i, signal);
        figures.ok++;
        figures.latencies.push(performance.now() - t);
      } catch (e) {
        const kind = kindOf(e);
        figures.errors[kind] = (figures.errors[kind] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, worker));
  figures.elapsedMs = performance.now() - t0;
  figures.latencies.sort((a, b) => a - b);
  return figures;
}

/** The q-quantile (0..1) of ascending values (NaN for none). */
export const quantile = (sorted: number[], q: number): number =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

export const median = (xs: number[]): number =>
  quantile(
    [...xs].sort((a, b) => a - b),
    0.5,
  );

/** fetch that throws a TaskError naming the status for answers other than 2xx. */
export async function fetchOk(url: string, init: RequestInit = {}): Promise<Response> {
  const r = await fetch(url, init);
  if (!r.ok) {
    await r.arrayBuffer().catch(() => undefined);
    throw new TaskError(String(r.status));
  }
  return r;
}
