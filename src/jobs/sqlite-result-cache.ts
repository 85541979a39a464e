import type Database from 'better-sqlite3';
import { encode } from './codec.ts';
import { type CacheRow, toCacheEntry } from './rows.ts';
import type { JobStatus } from '../core/job.ts';
import type { CacheClaim, CacheEntry } from './store.ts';

/** The schema of the result cache (a migration of src/jobs/sqlite-store.ts). */
export const RESULT_CACHE_SCHEMA = `
  CREATE TABLE result_cache (
    key         TEXT PRIMARY KEY,
    process_id  TEXT NOT NULL,
    job_id      TEXT NOT NULL,
    results     TEXT NOT NULL,
    created     INTEGER NOT NULL,
    expires     INTEGER NOT NULL
  );
  CREATE INDEX result_cache_job ON result_cache (job_id);
  CREATE INDEX result_cache_expires ON result_cache (expires);
`;

/** Keys being computed: the job computing each (a later migration of src/jobs/sqlite-store.ts). */
export const RESULT_CACHE_PENDING_SCHEMA = `
  CREATE TABLE result_cache_pending (
    key         TEXT PRIMARY KEY,
    process_id  TEXT NOT NULL,
    job_id      TEXT NOT NULL,
    created     INTEGER NOT NULL
  );
  CREATE INDEX result_cache_pending_job ON result_cache_pending (job_id);
`;

/** The SQLite side of ResultCacheStore, on the job store's connection and its prepared statements. */
export class SqliteResultCache {
  readonly #db: Database.Database;
  readonly #sql: (text: string) => Database.Statement;

  constructor(db: Database.Database, sql: (text: string) => Database.Statement) {
    this.#db = db;
    this.#sql = sql;
  }

  get(key: string, now: Date): CacheEntry | undefined {
    const row = this.#sql('SELECT * FROM result_cache WHERE key = ? AND expires > ?').get(
      key,
      now.getTime(),
    ) as CacheRow | undefined;
    if (!row) return undefined;
    return toCacheEntry(row);
  }

  /** ResultCacheStore.cacheClaim, in one transaction. */
  claim(key: string, c: { processId: string; jobId: string; now: Date; takeHit: boolean }): CacheClaim {
    return this.#db.transaction((): CacheClaim => {
      const hit = c.takeHit ? this.get(key, c.now) : undefined;
      if (hit) return { hit };
      const pending = this.#sql('SELECT job_id FROM result_cache_pending WHERE key = ?').get(key) as
        { job_id: string } | undefined;
      if (pending && pending.job_id !== c.jobId) {
        const holder = this.#sql('SELECT status FROM jobs WHERE id = ?').get(pending.job_id) as
          { status: JobStatus } | undefined;
        // Only a job computing it now is waited for (see the PostgreSQL store's cacheClaim).
        if (holder?.status === 'running') return { waitFor: pending.job_id };
      }
      this.#sql(
        `INSERT INTO result_cache_pending (key, process_id, job_id, created) VALUES (?, ?, ?, ?)
           ON CONFLICT (key) DO UPDATE SET process_id = excluded.process_id, job_id = excluded.job_id,
             created = excluded.created`,
      ).run(key, c.processId, c.jobId, c.now.getTime());
      return { leader: true };
    })();
  }

  release(key: string, jobId: string): void {
    this.#sql('DELETE FROM result_cache_pending WHERE key = ? AND job_id = ?').run(key, jobId);
  }

  put(entry: CacheEntry): void {
    this.#db.transaction(() => {
      this.#put(entry);
      this.release(entry.key, entry.jobId);
    })();
  }

  #put(entry: CacheEntry): void {
    this.#sql(
      `INSERT INTO result_cache (key, process_id, job_id, results, created, expires) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET process_id = excluded.process_id, job_id = excluded.job_id,
           results = excluded.results, created = excluded.created, expires = excluded.expires`,
    ).run(
      entry.key,
      entry.processId,
      entry.jobId,
      encode(entry.results),
      entry.created.getTime(),
      entry.expires.getTime(),
    );
  }

  delete(rule: { expiredBy?: Date; jobIds?: readonly string[] }): number {
    let removed = 0;
    if (rule.expiredBy) {
      removed += this.#sql('DELETE FROM result_cache WHERE expires <= ?').run(
        rule.expiredBy.getTime(),
      ).changes;
    }
    const ids = rule.jobIds ?? [];
    for (let i = 0; i < ids.length; i += 500) {
      const batch = ids.slice(i, i + 500);
      removed += this.#sql(
        `DELETE FROM result_cache WHERE job_id IN (${batch.map(() => '?').join(', ')})`,
      ).run(...batch).changes;
      this.#sql(`DELETE FROM result_cache_pending WHERE job_id IN (${batch.map(() => '?').join(', ')})`).run(
        ...batch,
      );
    }
    return removed;
  }
}
