import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { OwsError } from '../core/errors.ts';
import type { JobStatus } from '../core/job.ts';
import { formatBytes } from '../core/limits.ts';
import type { Logger } from '../util/logger.ts';
import { isJobId, type JobFiles } from './files.ts';
import type { JobStore } from './store.ts';

/**
 * Bytes of the files under `dir` (0 when it does not exist); symbolic links are counted, never
 * followed. A file with several hard links (a GDAL input staged by link, processes/_gdal/sandbox.ts)
 * is counted once per `seen` (shared by the folders of one measurement).
 */
export async function folderSize(dir: string, seen: Set<string> = new Set()): Promise<number> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  let total = 0;
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) total += await folderSize(full, seen);
    else
      total += await lstat(full).then(
        (s) => {
          if (s.nlink < 2) return s.size;
          const id = `${s.dev}:${s.ino}`;
          if (seen.has(id)) return 0;
          seen.add(id);
          return s.size;
        },
        () => 0,
      );
  }
  return total;
}

const FINISHED: JobStatus[] = ['successful', 'failed', 'dismissed'];
/** Finished jobs looked at per round of removal. */
const BATCH = 50;

/**
 * The disk quota of the job folders (outputs and work files of every job; `server.limits.max_storage_size`).
 * After a job has stored its outputs, `admit` makes sure everything fits: finished jobs are removed,
 * oldest first, until it does; when even that is not enough the job fails with NotEnoughStorage.
 *
 * Usage is kept as an upper bound (the last full measurement plus each admitted job's folders) and
 * measured again, by walking the job folders, only when that bound says the quota is exceeded:
 * folders removed meanwhile (retention, dismissal) only make the bound pessimistic.
 */
export class DiskQuota {
  readonly #store: JobStore;
  readonly #files: JobFiles;
  readonly #log: Logger;
  readonly #maxBytes: number;
  #usage: number | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(deps: { store: JobStore; files: JobFiles; logger: Logger }, maxBytes: number) {
    this.#store = deps.store;
    this.#files = deps.files;
    this.#log = deps.logger;
    this.#maxBytes = maxBytes;
  }

  /** Bytes of one job's folders. */
  async jobSize(id: string): Promise<number> {
    const seen = new Set<string>();
    return (
      (await folderSize(this.#files.outputDir(id), seen)) + (await folderSize(this.#files.workDir(id), seen))
    );
  }

  /** Bytes of every job folder, measured now. */
  async measure(): Promise<number> {
    let total = 0;
    const seen = new Set<string>();
    // The output area may lie inside the work area (the default): job folders only, each once.
    for (const root of new Set([this.#files.outputRoot, this.#files.workRoot])) {
      let names: string[];
      try {
        names = await readdir(root);
      } catch {
        continue;
      }
      for (const name of names) if (isJobId(name)) total += await folderSize(path.join(root, name), seen);
    }
    return total;
  }

  /**
   * Called once job `id` has stored its outputs (its folders count): resolves when everything
   * fits in the quota, removing old finished jobs as needed; throws NotEnoughStorage otherwise.
   * Calls run one at a time.
   */
  admit(id: string): Promise<void> {
    const run = this.#queue.then(() => this.#admit(id));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #admit(id: string): Promise<void> {
    if (this.#maxBytes <= 0) return;
    const own = await this.jobSize(id);
    if (own > this.#maxBytes) {
      // Removing every other job would not be enough: none is removed.
      throw new OwsError(
        'NotEnoughStorage',
        `The ${formatBytes(own)} this job produced (with its work files) is more than the server's whole storage quota of ${formatBytes(this.#maxBytes)} (server.limits.max_storage_size); ask for less`,
      );
    }
    if (this.#usage === undefined) this.#usage = await this.measure();
    else this.#usage += own;
    if (this.#usage <= this.#maxBytes) return;
    this.#usage = await this.measure();
    let removed = 0;
    while (this.#usage > this.#maxBytes) {
      const oldest = await this.#oldestFinished();
      const before = removed;
      for (const job of oldest) {
        if (this.#usage <= this.#maxBytes) break;
        const size = await this.jobSize(job);
        if (!(await this.#store.delete(job))) continue;
        await Promise.all([this.#files.removeOutputs(job), this.#files.removeWork(job)]);
        this.#usage -= size;
        removed++;
      }
      if (removed === before) break; // nothing left to remove
    }
    if (removed > 0) {
      this.#log.info(
        { removed, usage: this.#usage, quota: this.#maxBytes },
        'removed the oldest finished jobs to stay within the disk quota',
      );
    }
    if (this.#usage > this.#maxBytes) {
      // What this job wrote is removed by the caller; it is no longer counted.
      this.#usage -= own;
      throw new OwsError(
        'NotEnoughStorage',
        `The server has no room for the ${formatBytes(own)} this job produced: its storage quota of ${formatBytes(this.#maxBytes)} is in use by jobs still running or waiting (server.limits.max_storage_size); try again later`,
      );
    }
  }

  /** Ids of the oldest finished jobs (at most one batch), oldest first. */
  async #oldestFinished(): Promise<string[]> {
    const { total } = await this.#store.list({ statuses: FINISHED, limit: 1 });
    if (total === 0) return [];
    const { jobs } = await this.#store.list({
      statuses: FINISHED,
      limit: BATCH,
      offset: Math.max(0, total - BATCH),
    });
    return jobs
      .sort((a, b) => (a.finished ?? a.updated).getTime() - (b.finished ?? b.updated).getTime())
      .map((j) => j.id);
  }
}
