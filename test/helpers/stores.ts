/**
 * Every job store, for tests that must hold on each (describe.each(STORE_KINDS)): the embedded
 * SQLite store in a temporary folder, and the PostgreSQL store on a real server started for the
 * test file (a fresh database per test).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { JobStatus } from '../../src/core/job.ts';
import { PgJobStore, type PgJobStoreOptions } from '../../src/jobs/pg-store.ts';
import { SqliteJobStore } from '../../src/jobs/sqlite-store.ts';
import type { JobStore } from '../../src/jobs/store.ts';
import { startPostgres, type PostgresServer } from './postgres.ts';

export interface StoreKind {
  name: string;
  /** Shared by several instances: jobs left running are recovered by lease, not failed at start-up. */
  shared: boolean;
  setUp(): Promise<void>;
  tearDown(): Promise<void>;
  /** A new, empty store. */
  open(): Promise<JobStore>;
  close(): Promise<void>;
  /** Puts a job into a status (and start and end times) behind the store's back. */
  force(id: string, status: JobStatus, times?: { started?: Date; finished?: Date }): Promise<void>;
}

export function sqliteKind(): StoreKind {
  let dir: string | undefined;
  let store: SqliteJobStore | undefined;
  return {
    name: 'SQLite',
    shared: false,
    setUp: async () => undefined,
    tearDown: async () => undefined,
    async open() {
      dir = mkdtempSync(path.join(tmpdir(), 'gw-store-'));
      store = new SqliteJobStore(path.join(dir, 'jobs.sqlite'));
      return store;
    },
    async close() {
      await store?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
    async force(id, status, times = {}) {
      const db = new Database(path.join(dir!, 'jobs.sqlite'));
      db.prepare('UPDATE jobs SET status = ?, started = ?, finished = ? WHERE id = ?').run(
        status,
        times.started?.getTime() ?? null,
        times.finished?.getTime() ?? null,
        id,
      );
      db.close();
    },
  };
}

/** The PostgreSQL kind; `server()` is the running server once set up (for tests of its own). */
export function postgresKind(options: Omit<PgJobStoreOptions, 'connection'> = {}): StoreKind & {
  server(): PostgresServer;
  url(): string;
} {
  let server: PostgresServer | undefined;
  let url = '';
  let stores: PgJobStore[] = [];
  return {
    name: 'PostgreSQL',
    shared: true,
    async setUp() {
      server = await startPostgres();
    },
    async tearDown() {
      await server?.stop();
    },
    async open() {
      url = await server!.createDatabase();
      const store = await PgJobStore.open({ connection: url, ...options });
      stores.push(store);
      return store;
    },
    async close() {
      await Promise.all(stores.map((s) => s.close()));
      stores = [];
    },
    async force(id, status, times = {}) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query('UPDATE jobs SET status = $1, started = $2, finished = $3 WHERE id = $4', [
          status,
          times.started?.getTime() ?? null,
          times.finished?.getTime() ?? null,
          id,
        ]);
      } finally {
        await client.end();
      }
    },
    server: () => server!,
    url: () => url,
  };
}

export const STORE_KINDS: StoreKind[] = [sqliteKind(), postgresKind()];

/**
 * Every job store as a gateway's configuration selects it (`server.manager`), for tests that run a
 * whole gateway on each: SQLite in the gateway's folder (the default), and PostgreSQL on a real
 * server started for the test file (a fresh database per gateway, unless the same one is asked for).
 */
export interface GatewayStoreKind {
  name: string;
  /** Shared by several instances: jobs left running are recovered by lease, not failed at start-up. */
  shared: boolean;
  setUp(): Promise<void>;
  tearDown(): Promise<void>;
  /**
   * `server.manager` keys for a new, empty store of this kind (`same`: the store of the previous
   * call, as a restarted server finds it). SQLite: none (the file in the gateway's folder).
   */
  manager(same?: boolean): Promise<Record<string, string | number>>;
}

export function sqliteGatewayStore(): GatewayStoreKind {
  return {
    name: 'SQLite',
    shared: false,
    setUp: async () => undefined,
    tearDown: async () => undefined,
    manager: async () => ({}),
  };
}

/** Leases and polling short enough for tests of what a restart or a dead node leaves behind. */
export const TEST_LEASE_SECONDS = 1;

export function postgresGatewayStore(): GatewayStoreKind {
  let server: PostgresServer | undefined;
  let url = '';
  return {
    name: 'PostgreSQL',
    shared: true,
    async setUp() {
      server = await startPostgres();
    },
    async tearDown() {
      await server?.stop();
    },
    async manager(same = false) {
      if (!same || !url) url = await server!.createDatabase();
      return {
        name: 'PostgreSQL',
        connection: url,
        lease_seconds: TEST_LEASE_SECONDS,
        poll_seconds: 0.2,
      };
    },
  };
}

export const GATEWAY_STORES: GatewayStoreKind[] = [sqliteGatewayStore(), postgresGatewayStore()];
