/**
 * Per-process limits on top of the global ones: at most so many jobs of a process running at once
 * (applied by the store's claim, count and claim in one statement, so exact whoever claims) and
 * at most so many waiting (applied by the store's insert, count and insert in one step, so exact
 * for the whole cluster when instances share a store).
 */
import { OwsError } from '../core/errors.ts';

export interface ProcessLimit {
  maxRunning?: number;
  maxQueued?: number;
}

/** The queue bound of one process, as the store's insert applies it (NewJob.processBound). */
export interface ProcessBound {
  maxQueued: number;
  /** Its running cap, when it has one: running + waiting may then reach maxRunning + maxQueued. */
  maxRunning?: number;
}

/**
 * ServerBusy when a process with `running` jobs running and `waiting` waiting may not take one
 * more under `bound`; else undefined. With a running cap, as the global bound: running + waiting may
 * reach maxRunning + maxQueued; without, waiting ≤ maxQueued.
 */
export function processBusy(
  processId: string,
  bound: ProcessBound,
  waiting: number,
  running: number,
): OwsError | undefined {
  const full =
    bound.maxRunning === undefined
      ? waiting >= bound.maxQueued
      : waiting + running >= bound.maxQueued + bound.maxRunning;
  if (!full) return undefined;
  return new OwsError(
    'ServerBusy',
    `Process '${processId}' is busy: ${running} of its jobs running and ${waiting} waiting (at most ${bound.maxQueued})`,
  );
}

export class ProcessLimits {
  readonly #limits: ReadonlyMap<string, ProcessLimit>;
  readonly #caps: Readonly<Record<string, number>>;

  constructor(limits: Readonly<Record<string, ProcessLimit>>) {
    this.#limits = new Map(Object.entries(limits));
    this.#caps = Object.fromEntries(
      Object.entries(limits).flatMap(([id, l]) => (l.maxRunning === undefined ? [] : [[id, l.maxRunning]])),
    );
  }

  /** Process id → jobs of it running at most, for the store's claim. */
  get caps(): Readonly<Record<string, number>> {
    return this.#caps;
  }

  /** The queue bound of `processId` for the store's insert; undefined when it has none. */
  bound(processId: string): ProcessBound | undefined {
    const limit = this.#limits.get(processId);
    if (limit?.maxQueued === undefined) return undefined;
    return {
      maxQueued: limit.maxQueued,
      ...(limit.maxRunning !== undefined ? { maxRunning: limit.maxRunning } : {}),
    };
  }
}
