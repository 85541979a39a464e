/**
 * The piscina worker entry: loads a processor module, runs it with a context wired to the task's
 * message port, and stores its outputs. Runs in a worker thread, never in the main thread.
 */
import { pathToFileURL } from 'node:url';
import { OwsError } from '../core/errors.ts';
import type { ProcessContext, Processor } from '../core/processor.ts';
import { storageError } from './files.ts';
import { storeOutputs } from './outputs.ts';
import type { ControlMessage, LogLevel, WorkerMessage, WorkerResult, WorkerTask } from './task.ts';

const processors = new Map<string, Promise<Processor>>();

function loadProcessor(modulePath: string): Promise<Processor> {
  let loaded = processors.get(modulePath);
  if (!loaded) {
    loaded = import(pathToFileURL(modulePath).href).then(
      (m: { default?: Processor; processor?: Processor }) => (m.default ?? m.processor)!,
    );
    processors.set(modulePath, loaded);
  }
  return loaded;
}

export default async function runTask(task: WorkerTask): Promise<WorkerResult> {
  const { port } = task;
  const controller = new AbortController();
  port.on('message', (message: ControlMessage) => {
    if (message.type === 'abort') controller.abort(OwsError.fromJSON(message.reason));
  });
  const post = (message: WorkerMessage) => port.postMessage(message);
  const log = (level: LogLevel) => (message: string) => post({ type: 'log', level, message });
  let lastPercent = -1;
  const ctx: ProcessContext = {
    jobId: task.jobId,
    workDir: task.workDir,
    signal: controller.signal,
    outputs: task.outputs,
    progress(percent, message) {
      const p = Math.max(0, Math.min(100, Math.floor(Number.isFinite(percent) ? percent : 0)));
      lastPercent = Math.max(lastPercent, p);
      post(
        message === undefined
          ? { type: 'progress', percent: lastPercent }
          : { type: 'progress', percent: lastPercent, message },
      );
    },
    logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
    limits: task.limits,
  };
  try {
    const processor = await loadProcessor(task.modulePath);
    const produced = await processor.execute(task.inputs, ctx);
    controller.signal.throwIfAborted();
    const outputs = await storeOutputs(
      produced,
      task.outputDescriptions,
      task.outputs,
      task.outputDir,
      task.limits,
    );
    return { ok: true, outputs };
  } catch (error) {
    const reason = controller.signal.aborted ? controller.signal.reason : storageError(error, 'the job');
    return { ok: false, error: OwsError.from(reason).toJSON() };
  } finally {
    post({ type: 'done' });
    port.close();
  }
}
