/**
 * Entry of a child process that runs tasks for the server, one at a time, on its main thread (GDAL
 * processors: gdal-async loads in one thread per process, so here it loads in this one). The
 * parent (child-runner.ts) sends `run` and `abort` over IPC; progress, logs and the result go
 * back the same way. The parent may kill this process at any time: that is how a task stuck in a
 * native call is stopped.
 *
 * The process ends with its parent: on IPC disconnect, and, should the main thread be stuck when
 * the parent dies (a busy native call cannot see the disconnect), a watchdog thread notices the
 * new parent id and kills the process.
 */
import { Worker } from 'node:worker_threads';
import { OwsError, type OwsErrorJson } from '../core/errors.ts';
import type { ChildMessage, ParentMessage, TaskSpec } from './task.ts';
import { executeTask } from './worker.ts';

if (!process.send) throw new Error('child-host.ts must be started with an IPC channel (fork)');

const WATCHDOG = `
const { workerData } = require('node:worker_threads');
setInterval(() => { if (process.ppid !== workerData) process.kill(process.pid, 'SIGKILL'); }, 500);
`;
new Worker(WATCHDOG, { eval: true, workerData: process.ppid }).unref();

process.on('disconnect', () => process.exit(0));
// Signals sent to the whole process group (Ctrl-C, a service manager's SIGTERM) are the server's
// to act on: it drains, then stops its children itself.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => undefined);

const send = (message: ChildMessage) => {
  if (process.connected) process.send!(message);
};

let abortCurrent: ((reason: OwsErrorJson) => void) | undefined;

async function run(task: TaskSpec): Promise<void> {
  const result = await executeTask(task, {
    post: send,
    onAbort: (listener) => (abortCurrent = listener),
  });
  abortCurrent = undefined;
  try {
    send({ type: 'result', result });
  } catch (error) {
    // Outputs that cannot cross the IPC channel fail their task, not the child.
    send({ type: 'result', result: { ok: false, error: OwsError.from(error).toJSON() } });
  }
}

process.on('message', (message: ParentMessage) => {
  if (message.type === 'abort') abortCurrent?.(message.reason);
  else if (message.type === 'run') void run(message.task);
});

send({ type: 'ready' });
