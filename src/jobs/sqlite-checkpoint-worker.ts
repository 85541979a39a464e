/**
 * The worker thread of src/jobs/sqlite-checkpointer.ts: copies the write-ahead log of a SQLite file
 * into the database with PASSIVE checkpoints on its own connection. A passive checkpoint never
 * waits for the writer: the server's commits go on meanwhile, and the copying and the flushes to
 * disk are made here.
 *
 * Passes follow each other every BUSY_PASS_MS while there is log to copy (each flushes to disk
 * twice: not in a tight loop), every `intervalMs` when there was none. Once the log holds
 * `restartFrames` more than when it was last finished, the thread, just after a pass (little is left
 * to copy), says it is 'ready' and waits for 'finish': the server holds its commits and asks for the
 * pass that copies the rest, after which its next commit starts the log over.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { CheckpointPass, CheckpointerData, CheckpointerMessage } from './sqlite-checkpointer.ts';

const { file, intervalMs, restartFrames } = workerData as CheckpointerData;
const port = parentPort!;
const BUSY_PASS_MS = 10;
const db = new Database(file, { fileMustExist: true });
// Never waits for a lock (a passive checkpoint does not ask for the writer's anyway).
db.pragma('busy_timeout = 0');
// Flushes the log to disk before copying it and the database after, as the server's connection would.
db.pragma('synchronous = NORMAL');

function pass(): CheckpointPass {
  try {
    const [row] = db.pragma('wal_checkpoint(PASSIVE)') as Array<{
      busy: number;
      log: number;
      checkpointed: number;
    }>;
    return { log: row!.log, checkpointed: row!.checkpointed, busy: row!.busy !== 0 };
  } catch (error) {
    return {
      log: 0,
      checkpointed: 0,
      busy: true,
      error: error instanceof Error ? error.message : String(error),
    };
  }
}

const post = (message: CheckpointerMessage) => port.postMessage(message);
let timer: NodeJS.Timeout | undefined;
let copied = -1;
/** Frames in the log after the last finishing pass, and the count at which the next is asked for. */
let finished = 0;
let restartAt = restartFrames;

function periodic(): void {
  timer = undefined;
  const result = pass();
  if (result.log < finished) restartAt = restartFrames; // started over since
  if (result.log >= restartAt && !result.busy) {
    post({ kind: 'ready' });
    return; // until 'finish'
  }
  const progressed = result.checkpointed !== copied;
  copied = result.checkpointed;
  timer = setTimeout(periodic, progressed && !result.busy ? BUSY_PASS_MS : intervalMs);
}

timer = setTimeout(periodic, intervalMs);
port.on('message', (message: 'finish' | 'close') => {
  if (message === 'finish') {
    const result = pass();
    finished = result.log;
    // When a reader of another connection kept the log from starting over: tried again once it grew as much.
    restartAt = result.log + restartFrames;
    post({ kind: 'finished', pass: result });
    if (timer === undefined) timer = setTimeout(periodic, 0);
  } else {
    clearTimeout(timer);
    db.close();
    port.close();
  }
});
