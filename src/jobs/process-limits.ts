/**
 * Per-process limits on top of the global ones: at most so many jobs of a process running at once
 * (applied by the store's claim, count and claim in one statement, so exact whoever claims) and
 * at most so many waiting (checked at admission, which is serialized).
 */
import { OwsError } from '../core/errors.ts';
import type { JobStore } from './store.ts';

export interface ProcessLimit {
  maxRunning?: number;
  maxQueued?: number;
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

  /**
   * Throws ServerBusy when `processId` has its bound of waiting jobs. With a running cap, as the
   * global bound: running + waiting may reach maxRunning + maxQueued; without, waiting ≤ maxQueued.
   */
  async admit(store: JobStore, processId: string): Promise<void> {
    const limit = this.#limits.get(processId);
    if (limit?.maxQueued === undefined) return;
    const [waiting, running] = await Promise.all([
      store.countByStatus('accepted', processId),
      limit.maxRunning === undefined ? 0 : store.countByStatus('running', processId),
    ]);
    if (waiting + running >= limit.maxQueued + (limit.maxRunning ?? 0)) {
      throw new OwsError(
        'ServerBusy',
        `Process '${processId}' is busy: ${running} of its jobs running and ${waiting} waiting (at most ${limit.maxQueued})`,
      );
    }
  }
}
