/**
 * Writes the progress reports of one job attempt to the store: one at a time, in order, the newest
 * replacing any still waiting, and at most one every `intervalMs`. A processor may report far more
 * often than anyone can look (a buffer of 1,000 features: 20 reports in 60 ms); each write is a
 * store commit and an update to every listener, which cost the server more than the rest of such a
 * job's bookkeeping. A report made within the interval after a write waits for its end (or for a
 * newer one), so that the store is never more than `intervalMs` behind the job.
 */
export class ProgressWriter<R> {
  readonly #write: (report: R) => Promise<void>;
  readonly #intervalMs: number;
  #latest: R | undefined;
  #writing: Promise<void> | undefined;
  #lastWrite = -Infinity;
  #closed = false;
  /** Ends the wait for the interval early (on close). */
  #wake: (() => void) | undefined;

  /** `write` must not throw (a report that cannot be written is the caller's to log and skip). */
  constructor(write: (report: R) => Promise<void>, intervalMs: number) {
    this.#write = write;
    this.#intervalMs = intervalMs;
  }

  report(report: R): void {
    if (this.#closed) return;
    this.#latest = report;
    this.#writing ??= this.#flush();
  }

  /**
   * Stops writing: a report still waiting is dropped (what ends the attempt supersedes it). Resolves
   * once the write under way, if any, is done, so that none lands after what the caller writes next.
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#latest = undefined;
    this.#wake?.();
    await this.#writing;
  }

  async #flush(): Promise<void> {
    while (this.#latest !== undefined && !this.#closed) {
      const wait = this.#lastWrite + this.#intervalMs - performance.now();
      if (wait > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, wait);
          this.#wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.#wake = undefined;
        continue;
      }
      const report = this.#latest;
      this.#latest = undefined;
      this.#lastWrite = performance.now();
      await this.#write(report);
    }
    this.#writing = undefined;
  }
}
