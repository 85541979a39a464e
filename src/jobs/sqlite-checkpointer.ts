import { Worker } from 'node:worker_threads';

const WORKER = new URL('./sqlite-checkpoint-worker.ts', import.meta.url);

/** What the worker is started with. */
export interface CheckpointerData {
  file: string;
  intervalMs: number;
  /** The log is started over each time it has grown by this many frames. */
  restartFrames: number;
}

/** One checkpoint pass (PRAGMA wal_checkpoint): frames in the log, frames now in the database. */
export interface CheckpointPass {
  log: number;
  checkpointed: number;
  /** Another checkpoint was under way, or a reader kept frames from being copied. */
  busy: boolean;
  error?: string;
}

/** From the thread: ready for the finishing pass (see {@link WalCheckpointer}), or done with it. */
export type CheckpointerMessage = { kind: 'ready' } | { kind: 'finished'; pass: CheckpointPass };

/**
 * Checkpoints a SQLite file's write-ahead log in a worker thread with its own connection, so that
 * the server's thread (whose connection has wal_autocheckpoint off) neither copies pages nor waits
 * for the disk to flush them: SQLite's automatic checkpoint runs in the committing thread and, even
 * with synchronous=NORMAL, flushes the log and the database file to disk; under load that stalled
 * the event loop for milliseconds several times a second.
 *
 * The log starts over from its beginning only at a commit that finds it entirely copied, which a
 * passive checkpoint running beside a steady stream of commits never achieves: once the log has
 * grown by `restartFrames`, the thread says it is ready (`onReady`) right after a pass, and the
 * store holds its commits for the moment of one more pass ({@link finish}), which copies the little
 * written since (see SqliteJobStore).
 */
export class WalCheckpointer {
  readonly #worker: Worker;
  #finishing: Array<(pass: CheckpointPass) => void> = [];
  #failed = false;

  /** `onReady`: call {@link finish} (always); `onFail` once, if the thread dies (then checkpoint otherwise). */
  constructor(data: CheckpointerData, handlers: { onReady: () => void; onFail: (error: unknown) => void }) {
    this.#worker = new Worker(WORKER, { workerData: data });
    this.#worker.unref();
    this.#worker.on('message', (message: CheckpointerMessage) => {
      if (message.kind === 'ready') handlers.onReady();
      else this.#finishing.shift()?.(message.pass);
    });
    const fail = (error: unknown) => {
      if (this.#failed) return;
      this.#failed = true;
      for (const resolve of this.#finishing.splice(0)) resolve({ log: 0, checkpointed: 0, busy: true });
      handlers.onFail(error);
    };
    this.#worker.on('error', fail);
    this.#worker.on('exit', (code) => fail(new Error(`The checkpoint thread exited (${code})`)));
  }

  /** One pass now; settles with its outcome (never rejects: a dead thread reports busy). */
  finish(): Promise<CheckpointPass> {
    if (this.#failed) return Promise.resolve({ log: 0, checkpointed: 0, busy: true });
    return new Promise((resolve) => {
      this.#finishing.push(resolve);
      this.#worker.postMessage('finish');
    });
  }

  /** Stops the thread (its connection closed first). */
  async close(): Promise<void> {
    if (this.#failed) return;
    this.#failed = true;
    const exited = new Promise<void>((resolve) => this.#worker.once('exit', () => resolve()));
    this.#worker.postMessage('close');
    const timer = setTimeout(() => void this.#worker.terminate(), 1000);
    await exited;
    clearTimeout(timer);
    for (const resolve of this.#finishing.splice(0)) resolve({ log: 0, checkpointed: 0, busy: true });
  }
}
