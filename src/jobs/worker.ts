/**
 * Runs one task: loads a processor module, runs it with a context wired to a link back to the main
 * side (progress, logs one way, abort the other), and stores its outputs. `executeTask` is shared by
 * the piscina worker thread (the default export, over a MessagePort) and the child process host
 * (child-host.ts, over IPC), and by the inline runner (inline-runner.ts) in the main thread for
 * processors that opted in with `runtime: 'inline'`.
 */
import { writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { OwsError, type OwsErrorJson } from '../core/errors.ts';
import type { ProcessContext, Processor } from '../core/processor.ts';
import type { ProcessOutputs } from '../core/values.ts';
import { storageError } from './files.ts';
import { storeOutputs } from './outputs.ts';
import type { ControlMessage, LogLevel, TaskSpec, WorkerMessage, WorkerResult, WorkerTask } from './task.ts';

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

/** How a running task talks to the side that started it. */
export interface TaskLink {
  post(message: WorkerMessage): void;
  /** Registers what to do when the main side asks the task to stop (called once, before anything runs). */
  onAbort(listener: (reason: OwsErrorJson) => void): void;
}

/** Runs one task to its end; never throws (a failure is a result). Posts 'done' last. */
export async function executeTask(task: TaskSpec, link: TaskLink): Promise<WorkerResult> {
  const controller = new AbortController();
  link.onAbort((reason) => controller.abort(OwsError.fromJSON(reason)));
  const log = (level: LogLevel) => (message: string) => link.post({ type: 'log', level, message });
  let lastPercent = -1;
  const ctx: ProcessContext = {
    jobId: task.jobId,
    workDir: task.workDir,
    signal: controller.signal,
    outputs: task.outputs,
    progress(percent, message) {
      const p = Math.max(0, Math.min(100, Math.floor(Number.isFinite(percent) ? percent : 0)));
      lastPercent = Math.max(lastPercent, p);
      link.post(
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
    const produced = await runStep(processor, task, ctx);
    controller.signal.throwIfAborted();
    if (produced === undefined) return { ok: true, outputs: {} };
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
    link.post({ type: 'done' });
  }
}

/**
 * Runs the processor's part of a task: `execute`, or a fan-out step (src/jobs/fan-out.ts). A split
 * or chunk step writes its JSON to the file the task names and produces no outputs (undefined).
 */
async function runStep(
  processor: Processor,
  task: TaskSpec,
  ctx: ProcessContext,
): Promise<ProcessOutputs | undefined> {
  const { step, inputs } = task;
  if (step === undefined) return processor.execute(inputs, ctx);
  const steps = processor.fanOut;
  if (!steps) throw new Error(`Processor ${task.modulePath} declares no fan-out`);
  const save = async (file: string, value: unknown) => {
    ctx.signal.throwIfAborted();
    await writeFile(file, JSON.stringify(value ?? null));
    return undefined;
  };
  switch (step.kind) {
    case 'split': {
      const chunks = await steps.split(inputs, ctx, step.slots);
      if (chunks === undefined || chunks.length < 2) return processor.execute(inputs, ctx);
      return save(step.planFile, chunks);
    }
    case 'chunk':
      return save(step.partFile, await steps.chunk(inputs, step.chunk, ctx));
    case 'merge':
      return steps.merge(inputs, step.parts, ctx);
  }
}

/** The piscina worker entry: one task over its MessagePort. */
export default async function runTask(task: WorkerTask): Promise<WorkerResult> {
  const { port, ...spec } = task;
  try {
    return await executeTask(spec, {
      post: (message) => port.postMessage(message),
      onAbort: (listener) =>
        port.on('message', (message: ControlMessage) => {
          if (message.type === 'abort') listener(message.reason);
        }),
    });
  } finally {
    port.close();
  }
}
