import pg from 'pg';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { OwsError, type OwsErrorJson } from '../core/errors.ts';
import {
  QUEUED_STATUS,
  REPORTING_STATUSES,
  statusesLeadingTo,
  TERMINAL_STATUSES,
  type Job,
  type JobStatus,
} from '../core/job.ts';
import { redactUrl } from '../util/redact.ts';
import { encode } from './codec.ts';
import { type JobRow, toJob, type CacheRow, toCacheEntry } from './rows.ts';
import { processBusy } from './process-limits.ts';
import type { StoreFault } from './resilient-store.ts';
import { whereClause } from './sqlite-store.ts';
import {
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

/**
 * The schema, one migration per version, applied in order in one transaction each under an
 * advisory lock (several instances may start at once); `gateway_schema` records what is applied.
 * Times are milliseconds since the epoch (bigint), as in the SQLite store; `seq` orders jobs created
 * in the same millisecond, like SQLite's rowid.
 */
const MIGRATIONS: Record<number, string> = {
  1: `
    CREATE TABLE jobs (
      seq         bigserial UNIQUE,
      id          text PRIMARY KEY,
      process_id  text NOT NULL,
      status      text NOT NULL,
      mode        text NOT NULL,
      progress    integer NOT NULL DEFAULT 0,
      message     text,
      created     bigint NOT NULL,
      started     bigint,
      finished    bigint,
      updated     bigint NOT NULL,
      request     text NOT NULL,
      results     text,
      error       text,
      worker      text,
      lease_until bigint,
      attempts    integer NOT NULL DEFAULT 0
    );
    -- The queue (accepted, oldest first), status filters and counts.
    CREATE INDEX jobs_status_created ON jobs (status, created, seq);
    -- The unfiltered job list, newest first, and datetime filters.
    CREATE INDEX jobs_created ON jobs (created, seq);
    CREATE INDEX jobs_process_created ON jobs (process_id, created);
    -- Durations: of running jobs (now - started), of finished ones (finished - started).
    CREATE INDEX jobs_status_started ON jobs (status, started);
    CREATE INDEX jobs_status_duration ON jobs (status, (finished - started));
    -- Lease recovery: running jobs whose lease ran out.
    CREATE INDEX jobs_running_lease ON jobs (lease_until) WHERE status = 'running';

    CREATE TABLE workers (
      id       text PRIMARY KEY,
      role     text NOT NULL,
      host     text NOT NULL,
      pid      integer NOT NULL,
      started  bigint NOT NULL,
      seen     bigint NOT NULL,
      running  integer NOT NULL DEFAULT 0
    );

    -- Every new job and every status change is announced to the instances (LISTEN gateway_jobs).
    CREATE FUNCTION gateway_jobs_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('gateway_jobs', json_build_object(
        'id', NEW.id, 'status', NEW.status, 'mode', NEW.mode, 'worker', NEW.worker)::text);
      RETURN NULL;
    END $$;
    CREATE TRIGGER jobs_notify AFTER INSERT OR UPDATE OF status ON jobs
      FOR EACH ROW EXECUTE FUNCTION gateway_jobs_notify();
  `,
  // Attempts and cache origin of a job; per-process caps count by (status, process); the result cache.
  2: `
    ALTER TABLE jobs ADD COLUMN execution text;
    CREATE INDEX jobs_status_process ON jobs (status, process_id);
    CREATE TABLE result_cache (
      key         text PRIMARY KEY,
      process_id  text NOT NULL,
      job_id      text NOT NULL,
      results     text NOT NULL,
      created     bigint NOT NULL,
      expires     bigint NOT NULL
    );
    CREATE INDEX result_cache_job ON result_cache (job_id);
    CREATE INDEX result_cache_expires ON result_cache (expires);
  `,
  // Keys of the result cache being computed, with the job computing each: concurrent identical
  // requests on any instances run once.
  3: `
    CREATE TABLE result_cache_pending (
      key         text PRIMARY KEY,
      process_id  text NOT NULL,
      job_id      text NOT NULL,
      created     bigint NOT NULL
    );
    CREATE INDEX result_cache_pending_job ON result_cache_pending (job_id);
  `,
  // A job ended by another node (dismissed, failed on a sync timeout) keeps its lease until its own
  // node has stopped it: it still holds its slot in the caps meanwhile (see STOPPING).
  4: `
    UPDATE jobs SET lease_until = NULL WHERE status <> 'running' AND lease_until IS NOT NULL;
    CREATE INDEX jobs_stopping ON jobs (process_id, lease_until)
      WHERE lease_until IS NOT NULL AND status <> 'running';
  `,
};
export const PG_SCHEMA_VERSION = 4;
/** The channel the jobs table announces changes on: `{id, status, mode, worker}` as JSON. */
export const JOBS_CHANNEL = 'gateway_jobs';

/** Advisory lock keys (pg_advisory_xact_lock): migrations, the claim under a cap, bounded inserts. */
const LOCK_MIGRATE = 7_013_001;
const LOCK_CLAIM = 7_013_002;
const LOCK_ADMIT = 7_013_003;
/** A job whose worker died this many times is failed instead of run again (a job that kills its worker). */
export const MAX_ATTEMPTS = 3;
/** A node not seen for this many leases is gone: recovery deletes its row from the workers table. */
export const FORGET_NODE_LEASES = 10;

/** The database's clock in milliseconds: leases are set and checked on one clock, whatever the nodes' clocks say. */
const DB_NOW = `(extract(epoch from clock_timestamp()) * 1000)::bigint`;

/**
 * The jobs that hold a slot (of the cluster cap and of their process's cap), with a table alias
 * prefix: running ones, and those another node ended (dismissed, failed on a sync timeout) whose
 * processor is still stopping on their node. Such a job keeps its lease until that node has stopped
 * it (then the node clears it) or, if that node died, until the lease runs out (it is not renewed).
 */
const holdsSlot = (t = '') =>
  `(${t}status = 'running' OR (${t}lease_until IS NOT NULL AND ${t}status <> 'running' AND ${t}lease_until > ${DB_NOW}))`;

/**
 * PostgreSQL's text cannot hold NUL (U+0000), which JavaScript strings (and SQLite) can: no id or
 * name in the store contains one, so a lookup with one finds nothing (instead of failing the
 * query), and a job's message keeps the rest of its text (NUL shown as U+FFFD).
 */
const storable = (text: string): boolean => !text.includes('\0');
const withoutNul = (text: string): string => text.replaceAll('\0', '\uFFFD');

const PATCH_COLUMNS: Record<keyof JobPatch, (v: never) => unknown> = {
  progress: (v: number) => Math.max(0, Math.min(100, Math.round(v))),
  message: (v: string) => withoutNul(v),
  started: (v: Date) => v.getTime(),
  finished: (v: Date) => v.getTime(),
  results: (v: unknown) => encode(v),
  error: (v: unknown) => encode(v),
  execution: (v: unknown) => encode(v),
};

/** `?` placeholders (as src/jobs/sqlite-store.ts writes them) numbered for PostgreSQL from `first`. */
const numbered = (sql: string, first = 1) => {
  let n = first - 1;
  return sql.replace(/\?/g, () => `$${++n}`);
};

/** bigint (int8) and count(*) as numbers: milliseconds and counts stay far below 2^53. */
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === 20
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/** What went wrong in PostgreSQL, for the resilient wrapper: worth retrying, a full disk, or else. */
export function pgFault(error: unknown): StoreFault {
  if (error instanceof OwsError) return 'other';
  const code = (error as { code?: unknown }).code;
  if (code === '53100') return 'full'; // disk_full
  // Serialization failures, deadlocks, lock timeouts, a server starting or out of connections, and
  // a lost connection: all pass.
  if (
    typeof code === 'string' &&
    /^(40001|40P01|55P03|57P03|53300|08\w{3}|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE)$/.test(code)
  )
    return 'busy';
  if (
    error instanceof Error &&
    /Connection terminated|timeout exceeded when trying to connect/i.test(error.message)
  )
    return 'busy';
  return 'other';
}

export interface PgJobStoreOptions {
  /** postgresql://user:password@host:port/database */
  connection: string;
  /** This node's name in the store (who claimed a job, the workers table); default a new UUID. */
  nodeId?: string;
  /** What this node does, as the workers table shows it. */
  role?: string;
  /** Jobs running at once in the whole cluster; 0 = no cluster-wide cap. */
  maxRunning?: number;
  /**
   * Jobs waiting at most in the whole cluster: an insert beyond it is refused with ServerBusy,
   * atomically (an advisory lock orders concurrent inserts of all instances). Undefined: unbounded.
   */
  maxQueued?: number;
  /** How long a claimed job is leased to its node without a heartbeat. */
  leaseMs?: number;
  /** Connections of this instance (default 10). */
  poolSize?: number;
}

/** The shared job store cannot be opened at start-up (unreachable, refused, a newer schema). */
export class StoreOpenError extends Error {
  override name = 'StoreOpenError';
}

/** A node seen in the workers table. */
export interface WorkerRow {
  id: string;
  role: string;
  host: string;
  pid: number;
  started: Date;
  seen: Date;
  running: number;
}

/**
 * The shared store of a cluster: PostgreSQL, used by any number of gateway instances at once.
 *
 * The queue is the jobs table: a claim takes the oldest accepted job with `FOR UPDATE SKIP LOCKED`
 * (concurrent claims of other nodes skip it instead of waiting) and, under a cluster-wide cap,
 * counts the running jobs in the same transaction under an advisory lock. A claimed job is leased
 * to its node (`worker`, `lease_until` on the database's clock), renewed by heartbeats
 * ({@link renewLeases}); a lease that ran out is recovered by any node ({@link recoverExpired}).
 * Status changes of a job this node claimed are written only while the job is still its own, so a
 * node that lost its lease can never overwrite the outcome of the run that replaced it.
 */
export class PgJobStore implements JobStore {
  readonly pool: pg.Pool;
  readonly nodeId: string;
  readonly #options: Required<Omit<PgJobStoreOptions, 'maxQueued' | 'nodeId'>> & { maxQueued?: number };
  /** Jobs this node claimed and has not finished (their writes are guarded by ownership). */
  readonly #mine = new Set<string>();
  readonly #beforeClose: Array<() => Promise<void>> = [];
  #closed = false;

  private constructor(options: PgJobStoreOptions) {
    this.nodeId = options.nodeId ?? randomUUID();
    this.#options = {
      connection: options.connection,
      role: options.role ?? 'all',
      maxRunning: options.maxRunning ?? 0,
      leaseMs: options.leaseMs ?? 30_000,
      poolSize: options.poolSize ?? 10,
      ...(options.maxQueued === undefined ? {} : { maxQueued: options.maxQueued }),
    };
    this.pool = new pg.Pool({
      connectionString: options.connection,
      max: this.#options.poolSize,
      connectionTimeoutMillis: 10_000,
      application_name: `wps-oaproc-gateway ${this.nodeId}`,
      types,
    });
    // An idle connection that breaks (server restart) is dropped by the pool; the next call reconnects.
    this.pool.on('error', () => undefined);
  }

  /**
   * Connects and brings the schema up to date; a store it cannot open is a {@link StoreOpenError}
   * (what the connection string names, never its password).
   */
  static async open(options: PgJobStoreOptions): Promise<PgJobStore> {
    let store: PgJobStore | undefined;
    try {
      store = new PgJobStore(options);
      await store.#migrate();
    } catch (error) {
      await store?.pool.end().catch(() => undefined);
      throw new StoreOpenError(
        `Cannot open the PostgreSQL job store ${redactUrl(options.connection)}: ${
          error instanceof Error ? error.message : String(error)
        }`,
        { cause: error },
      );
    }
    return store;
  }

  get leaseMs(): number {
    return this.#options.leaseMs;
  }

  /** Runs `fn` before the pool closes (the cluster node stops its heartbeats and listener). */
  beforeClose(fn: () => Promise<void>): void {
    this.#beforeClose.push(fn);
  }

  async #tx<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async #migrate(): Promise<void> {
    await this.#tx(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [LOCK_MIGRATE]);
      await c.query(
        'CREATE TABLE IF NOT EXISTS gateway_schema (version integer PRIMARY KEY, applied timestamptz NOT NULL DEFAULT now())',
      );
      const { rows } = await c.query<{ v: number | null }>('SELECT max(version) AS v FROM gateway_schema');
      const current = rows[0]?.v ?? 0;
      if (current > PG_SCHEMA_VERSION) {
        throw new Error(
          `Job store schema version ${current} is newer than this server's (${PG_SCHEMA_VERSION})`,
        );
      }
      for (let v = current + 1; v <= PG_SCHEMA_VERSION; v++) {
        await c.query(MIGRATIONS[v]!);
        await c.query('INSERT INTO gateway_schema (version) VALUES ($1)', [v]);
      }
    });
  }

  /**
   * The queue bounds of an insertion, checked in its transaction under one advisory lock that
   * orders the bounded inserts of all instances (the counts and the insert are one step for the
   * whole cluster): the process's (`processBound`), the caller's (`admission`: accepted plus
   * running at most, QueueFullError) and this store's own cluster bound (`maxQueued`).
   */
  async #admit(c: pg.ClientBase, job: NewJob, admission: Admission | undefined): Promise<void> {
    const bound = this.#options.maxQueued;
    if (bound === undefined && !job.processBound && !admission) return;
    await c.query('SELECT pg_advisory_xact_lock($1)', [LOCK_ADMIT]);
    if (job.processBound) {
      const { rows } = await c.query<{ waiting: number; running: number }>(
        `SELECT count(*) FILTER (WHERE status = $1) AS waiting, count(*) FILTER (WHERE status = 'running') AS running
         FROM jobs WHERE status IN ($1, 'running') AND process_id = $2`,
        [QUEUED_STATUS, job.processId],
      );
      const busy = processBusy(job.processId, job.processBound, rows[0]!.waiting, rows[0]!.running);
      if (busy) throw busy;
    }
    if (bound === undefined && !admission) return;
    const { rows } = await c.query<{ waiting: number; running: number }>(
      `SELECT count(*) FILTER (WHERE status = $1) AS waiting, count(*) FILTER (WHERE status = 'running') AS running
       FROM jobs WHERE status IN ($1, 'running')`,
      [QUEUED_STATUS],
    );
    const { waiting, running } = rows[0]!;
    if (admission && waiting + running >= admission.maxActive) throw new QueueFullError(running, waiting);
    const cap = this.#options.maxRunning;
    // With a cluster cap, as one instance counts (running + waiting against cap + queue);
    // without one, the waiting jobs alone against the queue bound.
    if (bound !== undefined && (cap > 0 ? waiting + running >= cap + bound : waiting >= bound)) {
      throw new OwsError(
        'ServerBusy',
        `The server is busy: ${running} jobs running and ${waiting} waiting in the cluster (at most ${bound})`,
      );
    }
  }

  async insert(job: NewJob, admission?: Admission): Promise<Job> {
    const t = job.created.getTime();
    return this.#tx(async (c) => {
      // A synchronous client waits on the connection and has no answer if the server goes down:
      // its job need not wait for the disk (an asynchronous one is committed durably).
      if (job.mode !== 'async') await c.query('SET LOCAL synchronous_commit = off');
      await this.#admit(c, job, admission);
      const { rows } = await c.query<JobRow>(
        `INSERT INTO jobs (id, process_id, status, mode, progress, created, updated, request)
         VALUES ($1, $2, $3, $4, 0, $5, $5, $6) RETURNING *`,
        [job.id, job.processId, QUEUED_STATUS, job.mode, t, encode(job.request)],
      );
      return toJob(rows[0]!);
    });
  }

  async get(id: string): Promise<Job | undefined> {
    if (!storable(id)) return undefined;
    const { rows } = await this.pool.query<JobRow>('SELECT * FROM jobs WHERE id = $1', [id]);
    return rows[0] && toJob(rows[0]);
  }

  async list(filter: JobFilter, now = new Date()): Promise<{ jobs: Job[]; total: number }> {
    if (filter.processIds?.length) {
      const processIds = filter.processIds.filter(storable);
      if (processIds.length === 0) return { jobs: [], total: 0 };
      filter = { ...filter, processIds };
    }
    const where = whereClause(filter, now);
    if (!where) return { jobs: [], total: 0 };
    const clause = numbered(where.clause);
    const n = where.params.length;
    const [count, page] = await Promise.all([
      this.pool.query<{ n: number }>(`SELECT count(*) AS n FROM jobs ${clause}`, where.params),
      filter.limit === 0
        ? undefined
        : this.pool.query<JobRow>(
            `SELECT * FROM jobs ${clause} ORDER BY created DESC, seq DESC LIMIT $${n + 1} OFFSET $${n + 2}`,
            [...where.params, filter.limit ?? 10, filter.offset ?? 0],
          ),
    ]);
    return { jobs: page ? page.rows.map(toJob) : [], total: count.rows[0]!.n };
  }

  /** The one guarded UPDATE: every write to a job's status or progress goes through it. */
  async #update(
    id: string,
    patch: JobPatch & { status?: JobStatus },
    from: readonly JobStatus[],
  ): Promise<Job | undefined> {
    if (from.length === 0 || !storable(id)) return undefined;
    const sets = ['updated = $1'];
    const params: unknown[] = [Date.now()];
    for (const [key, value] of Object.entries(patch) as Array<[keyof JobPatch | 'status', never]>) {
      if (value === undefined) continue;
      params.push(key === 'status' ? value : PATCH_COLUMNS[key](value));
      sets.push(`${key} = $${params.length}`);
    }
    // Whether the job gives up its slot (see holdsSlot): a successful end, and a failure its own node
    // records, come when its processor has stopped; a dismissal (by any node), or a failure another
    // node records (a sync timeout), while it may still run: the slot is given up when its node
    // records the end of the run (refused then, see below) or when the lease runs out.
    if (patch.status === 'successful') {
      sets.push('lease_until = NULL');
    } else if (patch.status === 'failed') {
      params.push(this.nodeId);
      sets.push(`lease_until = CASE WHEN worker = $${params.length} THEN NULL ELSE lease_until END`);
    }
    params.push(id, [...from]);
    let guard = '';
    // The outcome of a run this node claimed (any status change but a client's dismissal): written
    // only while the job still runs here under a lease that has not run out. A node that lost the
    // job (paused, cut off from the store: recovered, queued again, maybe claimed by another node)
    // records nothing, even once it notices (#mine keeps the job until its run's outcome is written
    // or refused). A progress report (only the node running a job reports): only while the job is
    // not another node's; a job put into `running` by hand has no worker.
    const outcome = patch.status !== undefined && patch.status !== 'dismissed' && this.#mine.has(id);
    const owned = outcome || patch.status === undefined;
    if (owned) {
      params.push(this.nodeId);
      guard = outcome
        ? ` AND status = 'running' AND worker = $${params.length} AND lease_until >= ${DB_NOW}`
        : ` AND (status <> 'running' OR worker IS NULL OR worker = $${params.length})`;
    }
    const { rows } = await this.pool.query<JobRow>(
      `UPDATE jobs SET ${sets.join(', ')} WHERE id = $${params.length - (owned ? 2 : 1)} AND status = ANY($${params.length - (owned ? 1 : 0)})${guard} RETURNING *`,
      params,
    );
    const row = rows[0];
    if (outcome || (row && patch.status !== undefined && TERMINAL_STATUSES.includes(row.status))) {
      this.#mine.delete(id);
    }
    if (!row && patch.status !== undefined && TERMINAL_STATUSES.includes(patch.status)) {
      // The end of a run that another node ended meanwhile: its processor has stopped here, so the
      // job gives up the slot it held.
      await this.pool.query(
        `UPDATE jobs SET lease_until = NULL
         WHERE id = $1 AND worker = $2 AND status <> 'running' AND lease_until IS NOT NULL`,
        [id, this.nodeId],
      );
    }
    return row && toJob(row);
  }

  transition(id: string, to: JobStatus, patch: JobPatch = {}): Promise<Job | undefined> {
    return this.#update(id, { ...patch, status: to }, statusesLeadingTo(to));
  }

  report(id: string, progress: JobReport): Promise<Job | undefined> {
    return this.#update(id, progress, REPORTING_STATUSES);
  }

  async claimNext(now: Date, caps: Readonly<Record<string, number>> = {}): Promise<Job | undefined> {
    const cap = this.#options.maxRunning;
    const capped = Object.keys(caps).length > 0;
    // Per-process caps: a capped process's job is passed over while that many of its jobs run.
    const capClause = capped
      ? `AND (NOT jsonb_exists($5::jsonb, q.process_id) OR
           (SELECT count(*) FROM jobs r WHERE r.process_id = q.process_id AND ${holdsSlot('r.')})
             < (($5::jsonb) ->> q.process_id)::int)`
      : '';
    // The start time is taken when the claim is made (after waiting for the claim lock): a job's
    // timestamps must not overlap the jobs whose end it waited for. Never before the job was
    // created: a claim asked for at t may take a job that another instance inserted just after t.
    const claim = async (c: pg.ClientBase, t: number) => {
      const { rows } = await c.query<JobRow>(
        `WITH next AS (
           SELECT id FROM jobs q WHERE q.status = $1 ${capClause}
           ORDER BY q.created, q.seq LIMIT 1 FOR UPDATE SKIP LOCKED)
         UPDATE jobs j SET status = 'running', started = GREATEST($2::bigint, j.created),
           updated = GREATEST($2::bigint, j.created), worker = $3,
           lease_until = ${DB_NOW} + $4, attempts = j.attempts + 1
         FROM next WHERE j.id = next.id RETURNING j.*`,
        [QUEUED_STATUS, t, this.nodeId, this.#options.leaseMs, ...(capped ? [JSON.stringify(caps)] : [])],
      );
      return rows[0];
    };
    // Counting and claiming are one step in the cluster (an advisory lock orders the claims of all
    // nodes) whenever a count decides: the cluster-wide cap or a per-process cap.
    const row =
      cap > 0 || capped
        ? await this.#tx(async (c) => {
            await c.query('SELECT pg_advisory_xact_lock($1)', [LOCK_CLAIM]);
            if (cap > 0) {
              const { rows } = await c.query<{ n: number }>(
                `SELECT count(*) AS n FROM jobs WHERE ${holdsSlot()}`,
              );
              if (rows[0]!.n >= cap) return undefined;
            }
            return claim(c, Math.max(now.getTime(), Date.now()));
          })
        : await claim(this.pool as unknown as pg.ClientBase, now.getTime());
    if (!row) return undefined;
    this.#mine.add(row.id);
    return toJob(row);
  }

  async countByStatus(status: JobStatus, processId?: string): Promise<number> {
    const { rows } =
      processId === undefined
        ? await this.pool.query<{ n: number }>('SELECT count(*) AS n FROM jobs WHERE status = $1', [status])
        : await this.pool.query<{ n: number }>(
            'SELECT count(*) AS n FROM jobs WHERE status = $1 AND process_id = $2',
            [status, processId],
          );
    return rows[0]!.n;
  }

  // ---- ResultCacheStore ----

  async cacheGet(
    key: string,
    now: Date,
    client: pg.ClientBase = this.#client(),
  ): Promise<CacheEntry | undefined> {
    const { rows } = await client.query<CacheRow>(
      'SELECT * FROM result_cache WHERE key = $1 AND expires > $2',
      [key, now.getTime()],
    );
    const row = rows[0];
    if (!row) return undefined;
    return toCacheEntry(row);
  }

  #client(): pg.ClientBase {
    return this.pool as unknown as pg.ClientBase;
  }

  /**
   * One transaction: the pending mark is inserted (or found and locked) first, and the entry read
   * after; the leader's cachePut writes the entry and removes its mark in one transaction, so a
   * claim that finds no mark of the leader finds its entry (each statement sees what was committed
   * before it began).
   */
  async cacheClaim(
    key: string,
    claim: { processId: string; jobId: string; now: Date; takeHit: boolean },
  ): Promise<CacheClaim> {
    return this.#tx(async (c) => {
      const t = claim.now.getTime();
      for (;;) {
        const inserted = await c.query(
          `INSERT INTO result_cache_pending (key, process_id, job_id, created) VALUES ($1, $2, $3, $4)
           ON CONFLICT (key) DO NOTHING`,
          [key, claim.processId, claim.jobId, t],
        );
        const hit = claim.takeHit ? await this.cacheGet(key, claim.now, c) : undefined;
        if (hit) {
          if (inserted.rowCount) {
            await c.query('DELETE FROM result_cache_pending WHERE key = $1 AND job_id = $2', [
              key,
              claim.jobId,
            ]);
          }
          return { hit };
        }
        if (inserted.rowCount) return { leader: true };
        const { rows } = await c.query<{ job_id: string }>(
          'SELECT job_id FROM result_cache_pending WHERE key = $1 FOR UPDATE',
          [key],
        );
        const holder = rows[0]?.job_id;
        if (holder === undefined) continue; // released meanwhile: claim it afresh
        if (holder !== claim.jobId) {
          const job = await c.query<{ status: JobStatus }>('SELECT status FROM jobs WHERE id = $1', [holder]);
          const status = job.rows[0]?.status;
          if (status === 'running') return { waitFor: holder };
        }
        // Its own mark (run again after its node died); that of a job that ended without filling
        // the entry, or is gone; or of one queued again (its node died: waiting for it could hold
        // every slot while it waits for one): taken over.
        await c.query(
          'UPDATE result_cache_pending SET job_id = $2, process_id = $3, created = $4 WHERE key = $1',
          [key, claim.jobId, claim.processId, t],
        );
        return { leader: true };
      }
    });
  }

  async cacheRelease(key: string, jobId: string): Promise<void> {
    await this.pool.query('DELETE FROM result_cache_pending WHERE key = $1 AND job_id = $2', [key, jobId]);
  }

  async cachePut(entry: CacheEntry): Promise<void> {
    await this.#tx(async (c) => {
      await this.#cachePut(c, entry);
      await c.query('DELETE FROM result_cache_pending WHERE key = $1 AND job_id = $2', [
        entry.key,
        entry.jobId,
      ]);
    });
  }

  async #cachePut(c: pg.ClientBase, entry: CacheEntry): Promise<void> {
    await c.query(
      `INSERT INTO result_cache (key, process_id, job_id, results, created, expires) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (key) DO UPDATE SET process_id = EXCLUDED.process_id, job_id = EXCLUDED.job_id,
         results = EXCLUDED.results, created = EXCLUDED.created, expires = EXCLUDED.expires`,
      [
        entry.key,
        entry.processId,
        entry.jobId,
        encode(entry.results),
        entry.created.getTime(),
        entry.expires.getTime(),
      ],
    );
  }

  async cacheDelete(rule: { expiredBy?: Date; jobIds?: readonly string[] }): Promise<number> {
    let removed = 0;
    if (rule.expiredBy) {
      removed +=
        (await this.pool.query('DELETE FROM result_cache WHERE expires <= $1', [rule.expiredBy.getTime()]))
          .rowCount ?? 0;
    }
    if (rule.jobIds && rule.jobIds.length > 0) {
      removed +=
        (await this.pool.query('DELETE FROM result_cache WHERE job_id = ANY($1)', [[...rule.jobIds]]))
          .rowCount ?? 0;
      await this.pool.query('DELETE FROM result_cache_pending WHERE job_id = ANY($1)', [[...rule.jobIds]]);
    }
    return removed;
  }

  async insertEnded(
    job: NewJob,
    to: 'successful' | 'failed',
    patch: JobPatch,
    admission?: Admission,
  ): Promise<Job> {
    // Inserted in its final state in one transaction: no node ever sees it queued or running (the
    // insert's notification is delivered at commit), it holds no lease and takes no slot or place.
    return this.#tx(async (c) => {
      if (job.mode !== 'async') await c.query('SET LOCAL synchronous_commit = off');
      await this.#admit(c, job, admission);
      const t = job.created.getTime();
      const { progress = to === 'successful' ? 100 : 0, ...rest } = patch;
      const columns = ['id', 'process_id', 'status', 'mode', 'progress', 'created', 'updated', 'request'];
      const params: unknown[] = [
        job.id,
        job.processId,
        to,
        job.mode,
        PATCH_COLUMNS.progress(progress as never),
        t,
        Date.now(),
        encode(job.request),
      ];
      for (const [key, value] of Object.entries(rest) as Array<[keyof JobPatch, never]>) {
        if (value === undefined) continue;
        columns.push(key);
        params.push(PATCH_COLUMNS[key](value));
      }
      const { rows } = await c.query<JobRow>(
        `INSERT INTO jobs (${columns.join(', ')}) VALUES (${params.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING *`,
        params,
      );
      return toJob(rows[0]!);
    });
  }

  /**
   * Shared by every node: a starting node must not fail the jobs other nodes run. Jobs of a node
   * that died are recovered when their lease runs out ({@link recoverExpired}); nothing to do here.
   */
  async failRunning(_error: OwsErrorJson, _now: Date): Promise<string[]> {
    return [];
  }

  /**
   * Renews the leases of the jobs this node runs and records that it is alive; returns the ids among
   * `ids` that are still this node's running jobs (the others were dismissed, failed by another
   * node, or recovered: their processors must stop).
   */
  async renewLeases(ids: readonly string[]): Promise<Set<string>> {
    const [renewed] = await Promise.all([
      ids.length === 0
        ? Promise.resolve({ rows: [] as Array<{ id: string }> })
        : this.pool.query<{ id: string }>(
            `UPDATE jobs SET lease_until = ${DB_NOW} + $1
             WHERE id = ANY($2) AND status = 'running' AND worker = $3 RETURNING id`,
            [this.#options.leaseMs, [...ids], this.nodeId],
          ),
      this.pool.query(
        `INSERT INTO workers (id, role, host, pid, started, seen, running)
         VALUES ($1, $2, $3, $4, ${DB_NOW}, ${DB_NOW}, $5)
         ON CONFLICT (id) DO UPDATE SET seen = EXCLUDED.seen, running = EXCLUDED.running`,
        [this.nodeId, this.#options.role, hostname(), process.pid, ids.length],
      ),
    ]);
    // The lost ones stay in #mine: the late outcome of their runs must still be refused.
    return new Set(renewed.rows.map((r) => r.id));
  }

  /** The jobs among `ids` that another node took over or recovered (their `worker` is not this node). */
  async takenOver(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const { rows } = await this.pool.query<{ id: string }>(
      'SELECT id FROM jobs WHERE id = ANY($1) AND worker IS DISTINCT FROM $2',
      [[...ids], this.nodeId],
    );
    return new Set(rows.map((r) => r.id));
  }

  /**
   * Jobs whose lease ran out (their node died or lost the database): those of `idempotent` processes
   * go back to the queue (at their place: by creation time) unless they already took
   * {@link MAX_ATTEMPTS} nodes down; the others fail with `error`. Nodes not seen for
   * {@link FORGET_NODE_LEASES} leases are deleted from the workers table. Safe to run on every node
   * at once.
   */
  async recoverExpired(
    idempotent: readonly string[],
    error: OwsErrorJson,
  ): Promise<{ requeued: string[]; failed: string[]; forgotten: string[] }> {
    const t = Date.now();
    const gone = await this.pool.query<{ id: string }>(
      `DELETE FROM workers WHERE seen < ${DB_NOW} - $1 RETURNING id`,
      [FORGET_NODE_LEASES * this.#options.leaseMs],
    );
    const { rows } = await this.pool.query<{ id: string; status: JobStatus }>(
      `WITH expired AS (
         SELECT id, process_id = ANY($1) AND attempts < $2 AS again FROM jobs
         WHERE status = 'running' AND lease_until < ${DB_NOW} FOR UPDATE SKIP LOCKED)
       UPDATE jobs j SET
         status = CASE WHEN e.again THEN $3 ELSE 'failed' END,
         started = CASE WHEN e.again THEN NULL ELSE j.started END,
         finished = CASE WHEN e.again THEN NULL ELSE $4::bigint END,
         progress = CASE WHEN e.again THEN 0 ELSE j.progress END,
         message = CASE WHEN e.again THEN 'Queued again: the node running it stopped' ELSE $5 END,
         error = CASE WHEN e.again THEN NULL ELSE $6 END,
         worker = NULL, lease_until = NULL, updated = $4::bigint
       FROM expired e WHERE j.id = e.id RETURNING j.id, j.status`,
      [[...idempotent], MAX_ATTEMPTS, QUEUED_STATUS, t, error.message, encode(error)],
    );
    return {
      requeued: rows.filter((r) => r.status === QUEUED_STATUS).map((r) => r.id),
      failed: rows.filter((r) => r.status === 'failed').map((r) => r.id),
      forgotten: gone.rows.map((r) => r.id),
    };
  }

  /** The nodes that sent a heartbeat within `withinMs` (on the database's clock), newest first. */
  async workers(withinMs: number): Promise<WorkerRow[]> {
    const { rows } = await this.pool.query<{
      id: string;
      role: string;
      host: string;
      pid: number;
      started: number;
      seen: number;
      running: number;
    }>(`SELECT * FROM workers WHERE seen >= ${DB_NOW} - $1 ORDER BY seen DESC`, [withinMs]);
    return rows.map((r) => ({ ...r, started: new Date(r.started), seen: new Date(r.seen) }));
  }

  async deleteExpired(rule: ExpiryRule, limit: number): Promise<string[]> {
    const terminal = [...TERMINAL_STATUSES];
    const aged = await this.pool.query<{ id: string }>(
      `DELETE FROM jobs WHERE id IN (
         SELECT id FROM jobs WHERE status = ANY($1)
         AND (COALESCE(finished, updated) < $2 OR (mode = 'sync' AND COALESCE(finished, updated) < $3))
         LIMIT $4 FOR UPDATE SKIP LOCKED) RETURNING id`,
      [terminal, rule.finishedBefore.getTime(), rule.syncFinishedBefore.getTime(), limit],
    );
    const ids = aged.rows.map((r) => r.id);
    const room = limit - ids.length;
    if (room <= 0) return ids;
    const total = (await this.pool.query<{ n: number }>('SELECT count(*) AS n FROM jobs')).rows[0]!.n;
    const excess = Math.min(total - rule.maxJobs, room);
    if (excess <= 0) return ids;
    const oldest = await this.pool.query<{ id: string }>(
      `DELETE FROM jobs WHERE id IN (
         SELECT id FROM jobs WHERE status = ANY($1) ORDER BY created, seq LIMIT $2 FOR UPDATE SKIP LOCKED)
       RETURNING id`,
      [terminal, excess],
    );
    return [...ids, ...oldest.rows.map((r) => r.id)];
  }

  async existing(ids: readonly string[]): Promise<Set<string>> {
    const lookup = ids.filter(storable);
    if (lookup.length === 0) return new Set();
    const { rows } = await this.pool.query<{ id: string }>('SELECT id FROM jobs WHERE id = ANY($1)', [
      lookup,
    ]);
    return new Set(rows.map((r) => r.id));
  }

  async delete(id: string): Promise<boolean> {
    if (!storable(id)) return false;
    return ((await this.pool.query('DELETE FROM jobs WHERE id = $1', [id])).rowCount ?? 0) > 0;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const fn of this.#beforeClose) await fn().catch(() => undefined);
    await this.pool.query('DELETE FROM workers WHERE id = $1', [this.nodeId]).catch(() => undefined);
    await this.pool.end();
  }
}
