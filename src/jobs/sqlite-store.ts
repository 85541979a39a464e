import Database from 'better-sqlite3';
import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { OwsErrorJson } from '../core/errors.ts';
import {
  canTransition,
  JOB_STATUSES,
  QUEUED_STATUS,
  REPORTING_STATUSES,
  statusesLeadingTo,
  TERMINAL_STATUSES,
  type Job,
  type JobStatus,
} from '../core/job.ts';
import { encode } from './codec.ts';
import { type JobRow, toJob } from './rows.ts';
import { lockInstance, type InstanceLock } from './instance-lock.ts';
import type { StoreFault } from './resilient-store.ts';
import { processBusy } from './process-limits.ts';
import { WalCheckpointer } from './sqlite-checkpointer.ts';
import {
  RESULT_CACHE_PENDING_SCHEMA,
  RESULT_CACHE_SCHEMA,
  SqliteResultCache,
} from './sqlite-result-cache.ts';
import {
  JOB_TYPE,
  QueueFullError,
  type Admission,
  type CacheClaim,
  type CacheEntry,
  type ExpiryRule,
  type JobFilter,
  type JobPatch,
  type JobReport,
  type JobStore,
  type NewJob,
} from './store.ts';

const SCHEMA_VERSION = 4;

const MIGRATIONS: Record<number, string> = {
  1: `
    CREATE TABLE jobs (
      id          TEXT PRIMARY KEY,
      process_id  TEXT NOT NULL,
      status      TEXT NOT NULL,
      mode        TEXT NOT NULL,
      progress    INTEGER NOT NULL DEFAULT 0,
      message     TEXT,
      created     INTEGER NOT NULL,
      started     INTEGER,
      finished    INTEGER,
      updated     INTEGER NOT NULL,
      request     TEXT NOT NULL,
      results     TEXT,
      error       TEXT
    );
    CREATE INDEX jobs_status_created ON jobs (status, created);
    CREATE INDEX jobs_created ON jobs (created);
  `,
  // The job-list filters: by process, by when a running job started, by how long a finished one took.
  2: `
    CREATE INDEX jobs_process_created ON jobs (process_id, created);
    CREATE INDEX jobs_status_started ON jobs (status, started);
    CREATE INDEX jobs_status_duration ON jobs (status, (finished - started));
  `,
  // Attempts and cache origin of a job; per-process caps count by (status, process); the result cache.
  3: `
    ALTER TABLE jobs ADD COLUMN execution TEXT;
    CREATE INDEX jobs_status_process ON jobs (status, process_id);
    ${RESULT_CACHE_SCHEMA}
  `,
  // Keys of the result cache being computed (concurrent identical requests run once).
  4: RESULT_CACHE_PENDING_SCHEMA,
};

const PATCH_COLUMNS: Record<keyof JobPatch, (v: never) => unknown> = {
  progress: (v: number) => Math.max(0, Math.min(100, Math.round(v))),
  message: (v: string) => v,
  started: (v: Date) => v.getTime(),
  finished: (v: Date) => v.getTime(),
  results: (v: unknown) => encode(v),
  error: (v: unknown) => encode(v),
  execution: (v: unknown) => encode(v),
};

const placeholders = (values: readonly unknown[]) => values.map(() => '?').join(', ');

/**
 * The row a write `… RETURNING *` gives back. Always run to completion with all(): get() leaves
 * the statement open after its first row, and an open statement holds a read snapshot until it is
 * garbage collected, which keeps every checkpoint from resetting the write-ahead log (it grew by
 * hundreds of megabytes a minute under load).
 */
function returning(statement: Database.Statement, ...params: unknown[]): JobRow | undefined {
  return (statement.all(...params) as JobRow[])[0];
}

/**
 * The job a new row holds, built from what was inserted (as toJob would read it back: times to the
 * millisecond, absent fields left out), without reading the row back or decoding its JSON again.
 */
function storedJob(
  job: NewJob,
  status: JobStatus,
  progress: number,
  updated: number,
  patch: Omit<JobPatch, 'progress'>,
): Job {
  const stored: Job = {
    id: job.id,
    processId: job.processId,
    status,
    mode: job.mode,
    progress,
    created: new Date(job.created.getTime()),
    updated: new Date(updated),
    request: job.request,
  };
  if (patch.message !== undefined) stored.message = patch.message;
  if (patch.started !== undefined) stored.started = new Date(patch.started.getTime());
  if (patch.finished !== undefined) stored.finished = new Date(patch.finished.getTime());
  if (patch.results !== undefined) stored.results = patch.results;
  if (patch.error !== undefined) stored.error = patch.error;
  if (patch.execution !== undefined) stored.execution = patch.execution;
  return stored;
}

/**
 * The WHERE clause of a job list, or undefined when no job can match. Every criterion is one an
 * index serves: process_id and status lead an index each, created has its own, a running job's
 * duration is a range on (status, started) and a finished job's one on (status, finished − started).
 */
export function whereClause(filter: JobFilter, now: Date): { clause: string; params: unknown[] } | undefined {
  const where: string[] = [];
  const params: unknown[] = [];
  const inList = (column: string, values: readonly string[] | undefined) => {
    if (values && values.length > 0) {
      where.push(`${column} IN (${placeholders(values)})`);
      params.push(...values);
    }
  };
  if (filter.types && filter.types.length > 0 && !filter.types.includes(JOB_TYPE)) return undefined;
  inList('process_id', filter.processIds);
  inList('status', filter.statuses);
  if (filter.createdFrom) {
    where.push('created >= ?');
    params.push(filter.createdFrom.getTime());
  }
  if (filter.createdTo) {
    where.push('created <= ?');
    params.push(filter.createdTo.getTime());
  }
  const { minDurationMs: min, maxDurationMs: max } = filter;
  if (min !== undefined || max !== undefined) {
    // Without a status filter, every status in which a job has (or had) a duration.
    const considered = filter.statuses && filter.statuses.length > 0 ? filter.statuses : JOB_STATUSES;
    const branches: string[] = [];
    const running = considered.filter((s) => REPORTING_STATUSES.includes(s));
    if (running.length > 0) {
      // now − started in [min, max]  ⇔  started in [now − max, now − min]
      const parts = [`status IN (${placeholders(running)})`, 'started IS NOT NULL'];
      params.push(...running);
      if (min !== undefined) {
        parts.push('started <= ?');
        params.push(now.getTime() - min);
      }
      if (max !== undefined) {
        parts.push('started >= ?');
        params.push(now.getTime() - max);
      }
      branches.push(`(${parts.join(' AND ')})`);
    }
    const ended = considered.filter((s) => TERMINAL_STATUSES.includes(s));
    if (ended.length > 0) {
      // The expression of the jobs_status_duration index, written exactly as it is indexed; NULL
      // (no match) for a job that never started.
      const parts = [`status IN (${placeholders(ended)})`];
      params.push(...ended);
      if (min !== undefined) {
        parts.push('(finished - started) >= ?');
        params.push(min);
      }
      if (max !== undefined) {
        parts.push('(finished - started) <= ?');
        params.push(max);
      }
      branches.push(`(${parts.join(' AND ')})`);
    }
    if (branches.length === 0) return undefined;
    where.push(`(${branches.join(' OR ')})`);
  }
  return { clause: where.length > 0 ? `WHERE ${where.join(' AND ')}` : '', params };
}

/** A claimed job leaves the queue for the state that runs it; the table must allow that move. */
const CLAIMED_STATUS: JobStatus = 'running';
if (
  !canTransition(QUEUED_STATUS, CLAIMED_STATUS) ||
  !REPORTING_STATUSES.every((s) => canTransition(s, 'failed'))
) {
  throw new Error('The job transition table no longer allows claiming a queued job or failing a running one');
}

/**
 * How long a statement waits for a lock held by another process before SQLITE_BUSY. better-sqlite3
 * waits synchronously, blocking the event loop: kept short, the waiting is done by the caller
 * asynchronously (src/jobs/resilient-store.ts).
 */
const BUSY_TIMEOUT_MS = 10;
/** The write-ahead log is truncated back to this size whenever it is reset. */
const JOURNAL_SIZE_LIMIT = 16 * 1024 * 1024;
/** Above this size, the log is checkpointed and truncated (checked every CHECKPOINT_INTERVAL_MS). */
const WAL_MAX_BYTES = 64 * 1024 * 1024;
const CHECKPOINT_INTERVAL_MS = 5000;
/**
 * Once the log file has reached this size, checkpoints move to a thread of their own (see
 * WalCheckpointer; the size is checked every WAL_CHECK_COMMITS commits): a store that is written
 * little (a test, a quiet server) keeps SQLite's automatic checkpoints and no thread.
 */
const WAL_THREAD_FROM_BYTES = 1024 * 1024;
const WAL_CHECK_COMMITS = 4;
/** Idle passes of the checkpoint thread are this far apart. */
const WAL_PASS_MS = 50;
/** The log is started over (commits held for one finishing pass) each time it has grown by this. */
const WAL_RESTART_BYTES = 12 * 1024 * 1024;
/**
 * A log file this large means the thread cannot keep up (the disk is slower than the commits): the
 * commits are held until it has copied it all (and the file is cut back to JOURNAL_SIZE_LIMIT).
 */
const WAL_HOLD_FROM_BYTES = JOURNAL_SIZE_LIMIT + 4 * 1024 * 1024;
/** Commits are held at most this long for a finishing pass. */
const WAL_HOLD_MAX_MS = 200;

/** What went wrong in SQLite, for the resilient wrapper: a lock to wait out, a full disk, or else. */
export function sqliteFault(error: unknown): StoreFault {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string') return 'other';
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return 'busy';
  if (code === 'SQLITE_FULL') return 'full';
  return 'other';
}

/** Prepared statements kept at most (job lists with many filters make many distinct ones). */
const STATEMENT_CACHE_SIZE = 256;

/** How a write joins the group commit. */
interface WriteOptions {
  /** Holds an accepted asynchronous job: committed with synchronous=FULL (see SqliteJobStore). */
  durable?: boolean;
  /**
   * Writes with one statement at most, and is refused (if at all) by that statement or before it:
   * SQLite undoes a failed statement by itself, so such a write needs no savepoint of its own.
   */
  atomic?: boolean;
}

/** A write waiting for the next group commit, and how its caller is told the outcome. */
interface PendingWrite {
  run: () => unknown;
  durable: boolean;
  atomic: boolean;
  resolve: (value: never) => void;
  reject: (error: unknown) => void;
}

/**
 * The embedded default store: one SQLite file in WAL mode, used by one server process at a time
 * (see src/jobs/instance-lock.ts).
 *
 * Group commit: the writes that arrive within one turn of the event loop are run in order in one
 * transaction (each that writes more than one statement in its own savepoint, so that one refused
 * write does not undo the others) and committed together; each promise settles only after that
 * commit. A caller is therefore told of a write only once it is committed, and many concurrent
 * requests share one commit (and one flush).
 *
 * Checkpoints: once the store is written much, the log is copied into the database by a thread of
 * its own (src/jobs/sqlite-checkpointer.ts), not by SQLite's automatic checkpoints in this thread,
 * which stalled the event loop on every flush to disk.
 *
 * Durability: a commit that holds an accepted asynchronous job is made with synchronous=FULL (the
 * log is flushed to disk before any id in it is returned), so such a job survives a process crash
 * and a power loss. Every other commit (synchronous jobs, progress, state changes) uses
 * synchronous=NORMAL: it survives a process crash; a power loss may undo the last ones, and a job
 * then restarts from an earlier state.
 */
export class SqliteJobStore implements JobStore {
  readonly #db: Database.Database;
  readonly #file: string;
  readonly #lock: InstanceLock | undefined;
  readonly #checkpointer: NodeJS.Timeout | undefined;
  readonly #cache: SqliteResultCache;
  readonly #statements = new Map<string, Database.Statement>();
  /** The statements of the group commit, prepared once. */
  readonly #tx: Record<
    'begin' | 'commit' | 'rollback' | 'savepoint' | 'release' | 'undo' | 'syncFull' | 'syncNormal',
    Database.Statement
  >;
  #pending: PendingWrite[] = [];
  #flushScheduled = false;
  /** Commits since the log size was last looked at (to start the checkpoint thread). */
  #commitsUnchecked = 0;
  #walThread: WalCheckpointer | undefined;
  /** Commits are held while the checkpoint thread finishes copying the log (see #restartLog). */
  #held: symbol | undefined;
  /** The log file size above which the commits are held until the thread has caught up. */
  #holdFromBytes = WAL_HOLD_FROM_BYTES;
  /** Accepted plus running jobs during the commit being made (see insert), counted at most once per commit. */
  #batchActive: { bound: number; count: number } | undefined;

  constructor(file: string) {
    this.#file = file;
    if (file !== ':memory:') {
      mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
      this.#lock = lockInstance(file);
    }
    try {
      this.#db = new Database(file);
      this.#db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      this.#db.pragma('journal_mode = WAL');
      this.#db.pragma('synchronous = NORMAL');
      this.#db.pragma(`journal_size_limit = ${JOURNAL_SIZE_LIMIT}`);
      this.#migrate();
      this.#cache = new SqliteResultCache(this.#db, (text) => this.#sql(text));
      const prepare = (sql: string) => this.#db.prepare(sql);
      this.#tx = {
        begin: prepare('BEGIN IMMEDIATE'),
        commit: prepare('COMMIT'),
        rollback: prepare('ROLLBACK'),
        savepoint: prepare('SAVEPOINT write'),
        release: prepare('RELEASE write'),
        undo: prepare('ROLLBACK TO write'),
        syncFull: prepare('PRAGMA synchronous = FULL'),
        syncNormal: prepare('PRAGMA synchronous = NORMAL'),
      };
    } catch (error) {
      this.#lock?.release();
      throw error;
    }
    if (file !== ':memory:') {
      this.#checkpointer = setInterval(() => this.checkpoint(), CHECKPOINT_INTERVAL_MS);
      this.#checkpointer.unref();
    }
  }

  /** Bytes in the write-ahead log file now (0 for an in-memory store). */
  walBytes(): number {
    if (this.#file === ':memory:') return 0;
    try {
      return statSync(`${this.#file}-wal`).size;
    } catch {
      return 0;
    }
  }

  /** Where the log is checkpointed now: by SQLite in this thread, or by a thread of its own. */
  checkpointing(): 'inline' | 'thread' {
    return this.#walThread ? 'thread' : 'inline';
  }

  /**
   * Copies the log into the database and truncates it once it is over its bound. Automatic
   * checkpoints are passive and may never catch up under a steady stream of writes; this one
   * waits for nothing (the busy timeout is short) and is simply tried again later when busy.
   */
  checkpoint(force = false): void {
    if (!this.#db.open || (!force && this.walBytes() <= WAL_MAX_BYTES)) return;
    try {
      this.#db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      // Locked by another process: the next round tries again.
    }
  }

  #migrate(): void {
    const current = this.#db.pragma('user_version', { simple: true }) as number;
    if (current > SCHEMA_VERSION) {
      throw new Error(`Job store schema version ${current} is newer than this server's (${SCHEMA_VERSION})`);
    }
    for (let v = current + 1; v <= SCHEMA_VERSION; v++) {
      this.#db.transaction(() => {
        this.#db.exec(MIGRATIONS[v]!);
        this.#db.pragma(`user_version = ${v}`);
      })();
    }
  }

  /** A prepared statement, prepared once per distinct SQL text. */
  #sql(text: string): Database.Statement {
    let statement = this.#statements.get(text);
    if (!statement) {
      if (this.#statements.size >= STATEMENT_CACHE_SIZE) this.#statements.clear();
      statement = this.#db.prepare(text);
      this.#statements.set(text, statement);
    }
    return statement;
  }

  /** Queues a write for the next group commit; settles once it is committed (or refused). */
  #write<T>(run: () => T, options: WriteOptions = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({
        run,
        durable: options.durable ?? false,
        atomic: options.atomic ?? false,
        resolve: resolve as (value: never) => void,
        reject,
      });
      this.#scheduleFlush();
    });
  }

  #scheduleFlush(): void {
    if (!this.#flushScheduled && !this.#held) {
      this.#flushScheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  /** Commits the writes queued so far in one transaction, in order. */
  #flush(): void {
    this.#flushScheduled = false;
    if (this.#held) return; // flushed when the finishing pass is over
    const batch = this.#pending;
    this.#pending = [];
    this.#batchActive = undefined;
    if (batch.length === 0) return;
    if (!this.#db.open) {
      for (const op of batch) op.reject(new Error('The job store is closed'));
      return;
    }
    const durable = batch.some((op) => op.durable);
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    // Statements prepared once and run directly (no transaction function per commit and per write).
    const tx = this.#tx;
    try {
      if (durable) tx.syncFull.run();
      tx.begin.run();
      for (const op of batch) {
        const savepoint = batch.length > 1 && !op.atomic;
        if (savepoint) tx.savepoint.run();
        try {
          outcomes.push({ ok: true, value: op.run() });
          if (savepoint) tx.release.run();
        } catch (error) {
          // A locked or full database fails the whole commit (every write is then retried), as
          // does any error that ended the transaction; a write alone in its commit fails it too.
          if (batch.length === 1 || sqliteFault(error) !== 'other' || !this.#db.inTransaction) throw error;
          // One refused write (a full queue) leaves the others in.
          if (savepoint) {
            tx.undo.run();
            tx.release.run();
          }
          outcomes.push({ ok: false, error });
        }
      }
      tx.commit.run();
    } catch (error) {
      if (this.#db.inTransaction) tx.rollback.run();
      for (const op of batch) op.reject(error);
      return;
    } finally {
      if (durable) tx.syncNormal.run();
    }
    if (++this.#commitsUnchecked >= WAL_CHECK_COMMITS) this.#checkWal();
    batch.forEach((op, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) op.resolve(outcome.value as never);
      else op.reject(outcome.error);
    });
  }

  /** Starts the checkpoint thread once the log has grown enough for checkpoints to matter. */
  #checkWal(): void {
    this.#commitsUnchecked = 0;
    if (this.#file === ':memory:') return;
    const bytes = this.walBytes();
    if (this.#walThread) {
      if (bytes <= JOURNAL_SIZE_LIMIT) {
        this.#holdFromBytes = WAL_HOLD_FROM_BYTES; // started over and cut back
      } else if (bytes > this.#holdFromBytes && !this.#held) {
        // Not again before it has grown as much more: a reader of another connection that keeps the
        // log from starting over must not have every commit held.
        this.#holdFromBytes = bytes + WAL_RESTART_BYTES;
        this.#restartLog();
      }
      return;
    }
    if (bytes < WAL_THREAD_FROM_BYTES) return;
    const pageBytes = this.#db.pragma('page_size', { simple: true }) as number;
    try {
      this.#walThread = new WalCheckpointer(
        {
          file: this.#file,
          intervalMs: WAL_PASS_MS,
          restartFrames: Math.ceil(WAL_RESTART_BYTES / (pageBytes + 24)), // a frame: a page and a header
        },
        {
          onReady: () => this.#restartLog(),
          onFail: () => {
            // Back to checkpoints in this thread.
            this.#walThread = undefined;
            if (this.#db.open) this.#db.pragma('wal_autocheckpoint = 1000');
            this.#release();
          },
        },
      );
    } catch {
      return; // no thread: SQLite's automatic checkpoints go on
    }
    this.#db.pragma('wal_autocheckpoint = 0');
  }

  /**
   * Holds the commits while the checkpoint thread copies what remains of the log: the next commit
   * then finds it all copied and starts it over from its beginning (bounding the log file). Nothing
   * waits in this thread: requests go on being served, their writes queue up and are committed
   * together as soon as the pass is over (or after WAL_HOLD_MAX_MS at most).
   */
  #restartLog(): void {
    if (!this.#walThread) return;
    const hold = Symbol('hold');
    this.#held = hold;
    const timer = setTimeout(() => this.#release(hold), WAL_HOLD_MAX_MS);
    void this.#walThread.finish().then(() => {
      clearTimeout(timer);
      this.#release(hold);
    });
  }

  /** Ends the hold (only `hold`, when given: not a later one), and commits what waited. */
  #release(hold?: symbol): void {
    if (!this.#held || (hold && this.#held !== hold)) return;
    this.#held = undefined;
    if (this.#pending.length > 0) this.#scheduleFlush();
  }

  /** Accepted plus running jobs, counted up to `bound` at most (an index range, cut short). */
  #activeUpTo(bound: number): number {
    return (
      this.#sql(`SELECT count(*) AS n FROM (SELECT 1 FROM jobs WHERE status IN (?, ?) LIMIT ?)`).get(
        QUEUED_STATUS,
        CLAIMED_STATUS,
        bound,
      ) as { n: number }
    ).n;
  }

  #count(status: JobStatus): number {
    return (this.#sql('SELECT count(*) AS n FROM jobs WHERE status = ?').get(status) as { n: number }).n;
  }

  /**
   * The queue bounds of an insertion, checked in its transaction (see JobStore.insert): the
   * process's (`processBound`: its jobs counted now) and the global one (`admission`: counted once
   * per commit, cut short at the bound, then kept up to date by the insertions of this commit; jobs
   * that end in the same commit make room only in the next).
   */
  #admit(job: NewJob, admission: Admission | undefined): void {
    const bound = job.processBound;
    if (bound) {
      const { waiting, running } = this.#sql(
        `SELECT count(*) FILTER (WHERE status = ?) AS waiting, count(*) FILTER (WHERE status = ?) AS running
         FROM jobs WHERE status IN (?, ?) AND process_id = ?`,
      ).get(QUEUED_STATUS, CLAIMED_STATUS, QUEUED_STATUS, CLAIMED_STATUS, job.processId) as {
        waiting: number;
        running: number;
      };
      const busy = processBusy(job.processId, bound, waiting, running);
      if (busy) throw busy;
    }
    if (admission) {
      if (this.#batchActive?.bound !== admission.maxActive) {
        this.#batchActive = { bound: admission.maxActive, count: this.#activeUpTo(admission.maxActive) };
      }
      if (this.#batchActive.count >= admission.maxActive) {
        throw new QueueFullError(this.#count(CLAIMED_STATUS), this.#count(QUEUED_STATUS));
      }
    }
  }

  insert(job: NewJob, admission?: Admission): Promise<Job> {
    const t = job.created.getTime();
    const request = encode(job.request);
    // An asynchronous client is given the job's id to come back with: it must survive a power loss.
    // A synchronous client waits on the connection, and has no answer if the server goes down.
    return this.#write(
      () => {
        this.#admit(job, admission);
        this.#sql(
          `INSERT INTO jobs (id, process_id, status, mode, progress, created, updated, request)
           VALUES (?, ?, ?, ?, 0, ?, ?, ?)`,
        ).run(job.id, job.processId, QUEUED_STATUS, job.mode, t, t, request);
        if (this.#batchActive) this.#batchActive.count++;
        // The row is what was just given: not read back (nor its JSON decoded again).
        return storedJob(job, QUEUED_STATUS, 0, t, {});
      },
      { durable: job.mode === 'async', atomic: true },
    );
  }

  insertEnded(
    job: NewJob,
    to: 'successful' | 'failed',
    patch: JobPatch,
    admission?: Admission,
  ): Promise<Job> {
    const t = job.created.getTime();
    const request = encode(job.request);
    // Inserted in its final state in one statement of the group commit: no dispatcher ever sees it
    // queued, nobody sees it running, and it takes no place in the bounds it is checked against.
    return this.#write(
      () => {
        this.#admit(job, admission);
        const { progress = to === 'successful' ? 100 : 0, ...rest } = patch;
        const percent = PATCH_COLUMNS.progress(progress as never) as number;
        const updated = Date.now();
        const columns = ['id', 'process_id', 'status', 'mode', 'progress', 'created', 'updated', 'request'];
        const params: unknown[] = [job.id, job.processId, to, job.mode, percent, t, updated, request];
        for (const [key, value] of Object.entries(rest) as Array<[keyof JobPatch, never]>) {
          if (value === undefined) continue;
          columns.push(key);
          params.push(PATCH_COLUMNS[key](value));
        }
        this.#sql(`INSERT INTO jobs (${columns.join(', ')}) VALUES (${placeholders(columns)})`).run(
          ...params,
        );
        return storedJob(job, to, percent, updated, rest);
      },
      { durable: job.mode === 'async', atomic: true },
    );
  }

  async get(id: string): Promise<Job | undefined> {
    const row = this.#sql('SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined;
    return row && toJob(row);
  }

  async list(filter: JobFilter, now = new Date()): Promise<{ jobs: Job[]; total: number }> {
    const where = whereClause(filter, now);
    if (!where) return { jobs: [], total: 0 };
    const { clause, params } = where;
    const total = (this.#sql(`SELECT count(*) AS n FROM jobs ${clause}`).get(...params) as { n: number }).n;
    const rows = this.#sql(
      `SELECT * FROM jobs ${clause} ORDER BY created DESC, rowid DESC LIMIT ? OFFSET ?`,
    ).all(...params, filter.limit ?? 10, filter.offset ?? 0) as JobRow[];
    return { jobs: rows.map(toJob), total };
  }

  /** The one guarded UPDATE: every write to a job's status or progress goes through it. */
  #update(id: string, patch: JobPatch & { status?: JobStatus }, from: readonly JobStatus[]): Job | undefined {
    if (from.length === 0) return undefined;
    const sets = ['updated = ?'];
    const params: unknown[] = [Date.now()];
    for (const [key, value] of Object.entries(patch) as Array<[keyof JobPatch | 'status', never]>) {
      if (value === undefined) continue;
      sets.push(`${key} = ?`);
      params.push(key === 'status' ? value : PATCH_COLUMNS[key](value));
    }
    params.push(id, ...from);
    const row = returning(
      this.#sql(
        `UPDATE jobs SET ${sets.join(', ')} WHERE id = ? AND status IN (${from.map(() => '?').join(', ')}) RETURNING *`,
      ),
      ...params,
    );
    return row && toJob(row);
  }

  transition(id: string, to: JobStatus, patch: JobPatch = {}): Promise<Job | undefined> {
    return this.#write(() => this.#update(id, { ...patch, status: to }, statusesLeadingTo(to)), {
      atomic: true,
    });
  }

  report(id: string, progress: JobReport): Promise<Job | undefined> {
    return this.#write(() => this.#update(id, progress, REPORTING_STATUSES), { atomic: true });
  }

  claimNext(now: Date, caps: Readonly<Record<string, number>> = {}): Promise<Job | undefined> {
    const t = now.getTime();
    // Per-process caps: a capped process's job is taken only while fewer of its jobs run (one
    // statement; the claims of one commit run in turn, each seeing those before it).
    const capped = Object.entries(caps);
    const capClause =
      capped.length === 0
        ? ''
        : `AND (q.process_id NOT IN (${placeholders(capped)}) OR
             (SELECT count(*) FROM jobs r WHERE r.status = ? AND r.process_id = q.process_id) <
             CASE q.process_id ${capped.map(() => 'WHEN ? THEN ?').join(' ')} END)`;
    const capParams =
      capped.length === 0 ? [] : [...capped.map(([id]) => id), CLAIMED_STATUS, ...capped.flat()];
    return this.#write(
      () => {
        const row = returning(
          this.#sql(
            // Never started before it was created (a claim asked for at t may run after later inserts).
            `UPDATE jobs SET status = ?, started = MAX(?, created), updated = MAX(?, created)
           WHERE id = (SELECT id FROM jobs q WHERE q.status = ? ${capClause} ORDER BY q.created, q.rowid LIMIT 1)
           RETURNING *`,
          ),
          CLAIMED_STATUS,
          t,
          t,
          QUEUED_STATUS,
          ...capParams,
        );
        return row && toJob(row);
      },
      { atomic: true },
    );
  }

  async countByStatus(status: JobStatus, processId?: string): Promise<number> {
    if (processId === undefined) return this.#count(status);
    return (
      this.#sql('SELECT count(*) AS n FROM jobs WHERE status = ? AND process_id = ?').get(
        status,
        processId,
      ) as {
        n: number;
      }
    ).n;
  }

  // ---- ResultCacheStore (src/jobs/sqlite-result-cache.ts); its writes join the group commit ----

  async cacheGet(key: string, now: Date): Promise<CacheEntry | undefined> {
    return this.#cache.get(key, now);
  }

  cacheClaim(
    key: string,
    claim: { processId: string; jobId: string; now: Date; takeHit: boolean },
  ): Promise<CacheClaim> {
    // Its own transaction (a savepoint in the commit).
    return this.#write(() => this.#cache.claim(key, claim), { atomic: true });
  }

  cacheRelease(key: string, jobId: string): Promise<void> {
    return this.#write(() => this.#cache.release(key, jobId), { atomic: true });
  }

  cachePut(entry: CacheEntry): Promise<void> {
    return this.#write(() => this.#cache.put(entry), { atomic: true });
  }

  cacheDelete(rule: { expiredBy?: Date; jobIds?: readonly string[] }): Promise<number> {
    return this.#write(() => this.#cache.delete(rule));
  }

  failRunning(error: OwsErrorJson, now: Date): Promise<string[]> {
    const t = now.getTime();
    return this.#write(() => this.#failRunning(error, t), { atomic: true });
  }

  #failRunning(error: OwsErrorJson, t: number): string[] {
    const rows = this.#sql(
      `UPDATE jobs SET status = 'failed', message = ?, error = ?, finished = ?, updated = ?
         WHERE status IN (${REPORTING_STATUSES.map(() => '?').join(', ')}) RETURNING id`,
    ).all(error.message, encode(error), t, t, ...REPORTING_STATUSES) as Array<{ id: string }>;
    return rows.map((r) => r.id);
  }

  deleteExpired(rule: ExpiryRule, limit: number): Promise<string[]> {
    return this.#write(() => this.#deleteExpired(rule, limit));
  }

  #deleteExpired(rule: ExpiryRule, limit: number): string[] {
    const terminal = `status IN (${placeholders(TERMINAL_STATUSES)})`;
    const aged = this.#sql(
      `DELETE FROM jobs WHERE rowid IN (
           SELECT rowid FROM jobs WHERE ${terminal}
           AND (COALESCE(finished, updated) < ? OR (mode = 'sync' AND COALESCE(finished, updated) < ?))
           LIMIT ?) RETURNING id`,
    ).all(
      ...TERMINAL_STATUSES,
      rule.finishedBefore.getTime(),
      rule.syncFinishedBefore.getTime(),
      limit,
    ) as Array<{ id: string }>;
    const ids = aged.map((r) => r.id);
    const room = limit - ids.length;
    if (room <= 0) return ids;
    const total = (this.#sql('SELECT count(*) AS n FROM jobs').get() as { n: number }).n;
    const excess = Math.min(total - rule.maxJobs, room);
    if (excess <= 0) return ids;
    const oldest = this.#sql(
      `DELETE FROM jobs WHERE rowid IN (
           SELECT rowid FROM jobs WHERE ${terminal} ORDER BY created, rowid LIMIT ?) RETURNING id`,
    ).all(...TERMINAL_STATUSES, excess) as Array<{ id: string }>;
    return [...ids, ...oldest.map((r) => r.id)];
  }

  async existing(ids: readonly string[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (let i = 0; i < ids.length; i += 500) {
      const batch = ids.slice(i, i + 500);
      const rows = this.#sql(`SELECT id FROM jobs WHERE id IN (${placeholders(batch)})`).all(
        ...batch,
      ) as Array<{ id: string }>;
      for (const r of rows) found.add(r.id);
    }
    return found;
  }

  delete(id: string): Promise<boolean> {
    return this.#write(() => this.#sql('DELETE FROM jobs WHERE id = ?').run(id).changes > 0, {
      atomic: true,
    });
  }

  async close(): Promise<void> {
    clearInterval(this.#checkpointer);
    const thread = this.#walThread;
    this.#walThread = undefined;
    await thread?.close();
    this.#held = undefined;
    this.#flush(); // what is queued is committed before the database closes
    if (this.#db.open) {
      this.checkpoint(true);
      this.#db.close();
    }
    this.#lock?.release();
  }
}
