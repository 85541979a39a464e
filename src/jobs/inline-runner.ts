import { OwsError } from '../core/errors.ts';
import type { ProcessRuntime } from '../core/processor.ts';
import type { StoredOutputs } from '../core/values.ts';
import type { TaskControl, TaskRunner } from './pool.ts';
import type { TaskSpec } from './task.ts';
import { executeTask } from './worker.ts';

/**
 * Runs 'inline' processors in the server's main thread: no thread or process hop, for processors
 * that only compute a small result from their (literal) inputs, like hello-world. The price is
 * isolation: such a processor shares the event loop with every request, so it must return in
 * microseconds and never block. An abort (dismissal, job timeout, shutdown) ends the job at once
 * with its reason and the processor's late result is ignored; but a processor stuck in a
 * synchronous loop cannot be stopped at all: a processor that may run long, loop on its input or
 * allocate much must stay 'js' (a worker thread that can be terminated).
 */
export class InlineRunner implements TaskRunner {
  unavailable(): Partial<Record<ProcessRuntime, string>> {
    return {};
  }

  async run(task: TaskSpec, _runtime: ProcessRuntime, control: TaskControl): Promise<StoredOutputs> {
    control.signal.throwIfAborted();
    let onAbort: () => void = () => undefined;
    const aborted = new Promise<never>((_resolve, reject) => {
      onAbort = () => reject(OwsError.from(control.signal.reason));
      control.signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      const result = await Promise.race([
        executeTask(task, {
          post: (message) => {
            if (message.type === 'progress') control.onProgress(message.percent, message.message);
            else if (message.type === 'log') control.onLog(message.level, message.message);
          },
          onAbort: (listener) =>
            control.signal.addEventListener(
              'abort',
              () => listener(OwsError.from(control.signal.reason).toJSON()),
              { once: true },
            ),
        }),
        aborted,
      ]);
      if (!result.ok) throw OwsError.fromJSON(result.error);
      return result.outputs;
    } finally {
      control.signal.removeEventListener('abort', onAbort);
    }
  }

  async close(): Promise<void> {
    // Nothing runs apart from the main thread.
  }
}
