import Database from 'better-sqlite3';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';

/** Another server process already uses the job store. */
export class StoreInUseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreInUseError';
  }
}

export interface InstanceLock {
  release(): void;
}

interface Owner {
  pid: number;
  host: string;
  since: string;
}

function describeOwner(file: string): string {
  try {
    const owner = JSON.parse(readFileSync(file, 'utf8')) as Owner;
    return ` (pid ${owner.pid} on ${owner.host}, since ${owner.since})`;
  } catch {
    return '';
  }
}

/**
 * Claims a job store for this process, so that a second server on the same database is refused
 * instead of failing the first one's running jobs at its start-up recovery. The claim is an
 * exclusive SQLite lock on `<store>.lock`: an operating-system file lock that the kernel releases
 * when the process ends in any way (kill -9 included), so there is never a stale claim to clear.
 * Lock files on network file systems are not reliable: keep the store on a local disk.
 */
export function lockInstance(storeFile: string): InstanceLock {
  const lockFile = `${storeFile}.lock`;
  const ownerFile = `${storeFile}.owner`;
  const db = new Database(lockFile);
  try {
    db.pragma('busy_timeout = 0');
    db.pragma('locking_mode = EXCLUSIVE');
    // In exclusive locking mode the lock of the first write is kept until the connection closes.
    db.exec('BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS claim (pid INTEGER); COMMIT;');
  } catch (error) {
    db.close();
    if ((error as { code?: string }).code?.startsWith('SQLITE_BUSY')) {
      throw new StoreInUseError(
        `Another server is already using the job store ${storeFile}${describeOwner(ownerFile)}. ` +
          'Only one server may use a job store at a time (a store shared by several servers is not supported yet): ' +
          'stop the other server or configure a different store (server.manager.connection / [logging] database).',
      );
    }
    throw error;
  }
  const owner: Owner = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  writeFileSync(ownerFile, `${JSON.stringify(owner)}\n`);
  return {
    release() {
      if (!db.open) return;
      rmSync(ownerFile, { force: true });
      db.close();
    },
  };
}
