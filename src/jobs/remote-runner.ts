import { OwsError } from '../core/errors.ts';
import type { OutputRequest } from '../core/execute.ts';
import type { ComplexOutputDescription, Format, OutputDescription } from '../core/model.ts';
import type { ProcessOutputs, StoredOutputs, StoredReference } from '../core/values.ts';
import type { RemoteOutputs, RemoteProvider } from '../providers/provider.ts';
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
 * processor's (same limits, same checks against the description), except those it passes through
 * as the remote's URLs, which are kept as such (checked: a complex output asked by reference, an
 * absolute http(s) URL).
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
    let produced: RemoteOutputs;
    try {
      produced = await provider.execute(target.remoteId, target.inputs ?? task.inputs, {
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
    const checked = declaredOutputs(produced, task.outputDescriptions, task.outputs, target, (m) =>
      control.onLog('warn', m),
    );
    const { local, passed } = splitOutputs(checked, task.outputDescriptions, task.outputs, target.provider);
    let stored: StoredOutputs;
    try {
      stored = await storeOutputs(local, task.outputDescriptions, task.outputs, task.outputDir, task.limits);
    } catch (error) {
      throw storageError(error, 'the job');
    }
    // In the order the client asked for them.
    const results: StoredOutputs = {};
    for (const id of Object.keys(task.outputs)) {
      const value = passed[id] ?? stored[id];
      if (value) results[id] = value;
    }
    return results;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** A media type safe to store and to serve in a header: type/subtype, parameters without control characters. */
// eslint-disable-next-line no-control-regex -- control characters are what is refused
const MEDIA_TYPE = /^[\w.+-]+\/[\w.+-]+(?:[ \t]*;[^\u0000-\u001f\u007f]*)?$/;
// eslint-disable-next-line no-control-regex -- control characters are what is refused
const CONTROL = /[\u0000-\u001f\u007f]/;
const baseType = (mimeType: string) => mimeType.split(';')[0]!.trim().toLowerCase();

/**
 * What a remote returned, held to what its description promised: every requested output present
 * (a remote that says "succeeded" without them failed), and complex data in a format the output
 * declares. A media type the output does not declare (or that is not a media type at all: a
 * header injection) is replaced by the format the client asked for (else the default), and logged.
 */
export function declaredOutputs(
  produced: RemoteOutputs,
  descriptions: readonly OutputDescription[],
  requested: Record<string, OutputRequest>,
  target: { provider: string; remoteId: string },
  warn: (message: string) => void,
): RemoteOutputs {
  const checked: RemoteOutputs = {};
  for (const id of Object.keys(requested)) {
    const value = produced[id];
    if (value === undefined || value === null) {
      throw new OwsError(
        'NoApplicableCode',
        `Provider '${target.provider}', process '${target.remoteId}': the remote returned no output '${id}'`,
      );
    }
    const description = descriptions.find((d) => d.id === id);
    checked[id] =
      description?.kind === 'complex' ? complexFormat(value, description, requested[id], warn) : value;
  }
  return checked;
}

function complexFormat(
  value: RemoteOutputs[string],
  description: ComplexOutputDescription,
  request: OutputRequest | undefined,
  warn: (message: string) => void,
): RemoteOutputs[string] {
  // Complex data stored here and references passed through: both carry a media type clients see.
  if (
    typeof value !== 'object' ||
    value instanceof Date ||
    (value.kind !== 'complex' && value.kind !== 'reference') ||
    !value.format
  )
    return value;
  const given = value.format;
  const fallback: Format = request?.format ?? description.formats[0]!;
  const declared = MEDIA_TYPE.test(given.mimeType)
    ? (description.formats.find((f) => f.mimeType.toLowerCase() === given.mimeType.toLowerCase()) ??
      description.formats.find((f) => baseType(f.mimeType) === baseType(given.mimeType)))
    : undefined;
  if (declared) {
    const clean = (v: string | undefined) => (v !== undefined && !CONTROL.test(v) ? v : undefined);
    const schema = clean(given.schema) ?? declared.schema;
    const encoding = clean(given.encoding);
    return {
      ...value,
      format: {
        mimeType: declared.mimeType,
        ...(schema ? { schema } : {}),
        ...(encoding ? { encoding } : {}),
      },
    };
  }
  warn(
    `output '${description.id}': the remote returned the media type ${JSON.stringify(given.mimeType)}, which the output does not declare; stored as ${fallback.mimeType}`,
  );
  const { encoding: _encoding, ...rest } = fallback;
  return { ...value, format: rest };
}

const isReference = (value: RemoteOutputs[string]): value is StoredReference =>
  typeof value === 'object' && !(value instanceof Date) && value.kind === 'reference';

/**
 * The outputs to store here, and those passed through as the remote's URLs. A URL is only passed
 * through for a complex output the client asked for by reference, and only an absolute http(s) URL
 * (clients follow it; nothing else may reach them).
 */
function splitOutputs(
  produced: RemoteOutputs,
  descriptions: readonly OutputDescription[],
  requested: Record<string, OutputRequest>,
  provider: string,
): { local: ProcessOutputs; passed: Record<string, StoredReference> } {
  const local: ProcessOutputs = {};
  const passed: Record<string, StoredReference> = {};
  for (const [id, value] of Object.entries(produced)) {
    if (!isReference(value)) {
      local[id] = value;
      continue;
    }
    const output = descriptions.find((o) => o.id === id);
    const url = URL.canParse(value.href) ? new URL(value.href) : undefined;
    if (
      output?.kind !== 'complex' ||
      requested[id]?.transmission !== 'reference' ||
      (url?.protocol !== 'http:' && url?.protocol !== 'https:')
    ) {
      throw new OwsError(
        'NoApplicableCode',
        `Provider '${provider}': output '${id}' cannot be passed through as '${value.href}'`,
        id,
        'permanent',
      );
    }
    passed[id] = { kind: 'reference', href: url.href, format: value.format };
  }
  return { local, passed };
}
