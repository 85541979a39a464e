import { OwsError } from '../core/errors.ts';
import type { StoredOutputs } from '../core/values.ts';
import type { RemoteProvider } from '../providers/provider.ts';
import { storageError } from './files.ts';
import { storeOutputs } from './outputs.ts';
import type { RunnerKind, TaskControl, TaskRunner } from './pool.ts';
import type { TaskSpec } from './task.ts';

/** What the remote runner needs of the providers: the provider of an id, and a process's remote description. */
export interface RemoteLookup {
  provider(id: string): RemoteProvider | undefined;
  /** The description of a remote process under its remote ids, as discovered. */
  remoteDescription(
    provider: string,
    remoteId: string,
  ): import('../core/model.ts').ProcessDescription | undefined;
}

/**
 * Runs the jobs of remote providers' processes in the main thread: the work is the remote's, here
 * it is only I/O (requests, polling, downloads). The job manager's concurrency cap, time limit and
 * abort signal apply as to any job; the outputs the provider returns are stored like a local
 * processor's (same limits, same checks against the description).
 */
export class RemoteRunner implements TaskRunner {
  readonly #lookup: RemoteLookup;

  constructor(lookup: RemoteLookup) {
    this.#lookup = lookup;
  }

  unavailable(): Partial<Record<RunnerKind, string>> {
    return {};
  }

  async run(task: TaskSpec, _kind: RunnerKind, control: TaskControl): Promise<StoredOutputs> {
    const target = task.remote;
    if (!target) throw new OwsError('NoApplicableCode', 'Not a remote process');
    const provider = this.#lookup.provider(target.provider);
    const description = this.#lookup.remoteDescription(target.provider, target.remoteId);
    if (!provider || !description) {
      throw new OwsError(
        'NoApplicableCode',
        `Provider '${target.provider}' no longer offers process '${target.remoteId}'`,
      );
    }
    control.signal.throwIfAborted();
    let lastPercent = -1;
    const log =
      (level: 'debug' | 'info' | 'warn' | 'error') =>
      (message: string): void =>
        control.onLog(level, message);
    let produced;
    try {
      produced = await provider.execute(target.remoteId, task.inputs, {
        jobId: task.jobId,
        workDir: task.workDir,
        signal: control.signal,
        outputs: task.outputs,
        description,
        progress(percent, message) {
          const p = Math.max(0, Math.min(100, Math.floor(Number.isFinite(percent) ? percent : 0)));
          // Never backwards, and nothing new to say: nothing to record.
          if (p < lastPercent || (p === lastPercent && message === undefined)) return;
          lastPercent = p;
          control.onProgress(p, message);
        },
        logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
        limits: task.limits,
      });
    } catch (error) {
      if (control.signal.aborted) throw OwsError.from(control.signal.reason);
      throw OwsError.from(error);
    }
    control.signal.throwIfAborted();
    try {
      return await storeOutputs(produced, task.outputDescriptions, task.outputs, task.outputDir, task.limits);
    } catch (error) {
      throw storageError(error, 'the job');
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
