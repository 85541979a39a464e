import { invalidParameter, OwsError } from './errors.ts';
import { matchFormat } from './formats.ts';
import type { Format, ProcessDescription, TransmissionMode } from './model.ts';
import type { JobInputs, RawInputs } from './values.ts';

export type ExecutionMode = 'sync' | 'async';

/**
 * What the client asked for. 'default' = no preference (OGC API: sync when allowed);
 * 'prefer-async' = OGC API `Prefer: respond-async` (a preference the server may ignore).
 */
export type RequestedMode = 'sync' | 'async' | 'prefer-async' | 'default';

export interface RawOutputRequest {
  mimeType?: string;
  encoding?: string;
  schema?: string;
  uom?: string;
  transmission?: TransmissionMode;
}

/** Per-protocol extras that ride along with a job (WPS lineage, OAProc response=raw, …); opaque to core. */
export type BindingOptions = { protocol: string } & Record<string, unknown>;

export interface RawExecuteRequest {
  processId: string;
  inputs: RawInputs;
  /** Undefined = every output, in its default format. */
  outputs?: Record<string, RawOutputRequest>;
  mode: RequestedMode;
  binding?: BindingOptions;
  /** What the client said about the result cache (HTTP Cache-Control); absent = use it. */
  cache?: CacheDirectives;
}

/** `Cache-Control: no-cache` = not served from the cache; `no-store` = neither served from nor stored in it. */
export interface CacheDirectives {
  noCache?: boolean;
  noStore?: boolean;
}

export interface OutputRequest {
  format?: Format;
  uom?: string;
  transmission?: TransmissionMode;
}

export interface ExecuteRequest {
  processId: string;
  /** Validated values, and references that are fetched when the job runs. */
  inputs: JobInputs;
  outputs: Record<string, OutputRequest>;
  /** False when the client named no outputs (and so gets them all). */
  outputsSelected: boolean;
  binding?: BindingOptions;
  cache?: CacheDirectives;
}

/** Decides sync or async from what the process allows and what the client asked for. */
export function resolveExecutionMode(
  description: ProcessDescription,
  requested: RequestedMode,
): ExecutionMode {
  const sync = description.jobControlOptions.includes('sync-execute');
  const async = description.jobControlOptions.includes('async-execute');
  const refuse = (mode: string) =>
    new OwsError(
      mode === 'asynchronous' ? 'StorageNotSupported' : 'OperationNotSupported',
      `Process '${description.id}' does not support ${mode} execution`,
      undefined,
      'execution-mode-not-allowed',
    );
  switch (requested) {
    case 'sync':
      if (!sync) throw refuse('synchronous');
      return 'sync';
    case 'async':
      if (!async) throw refuse('asynchronous');
      return 'async';
    case 'prefer-async':
      return async ? 'async' : 'sync';
    case 'default':
      return sync ? 'sync' : 'async';
  }
}

/** Checks the requested outputs against the description; no request means every output. */
export function resolveOutputs(
  description: ProcessDescription,
  requested: Record<string, RawOutputRequest> | undefined,
): Record<string, OutputRequest> {
  const result: Record<string, OutputRequest> = {};
  if (!requested) {
    for (const output of description.outputs) {
      result[output.id] = output.kind === 'complex' && output.formats[0] ? { format: output.formats[0] } : {};
    }
    return result;
  }
  for (const [id, want] of Object.entries(requested)) {
    const output = description.outputs.find((o) => o.id === id);
    if (!output) throw invalidParameter(id, `Process '${description.id}' has no output '${id}'`);
    const resolved: OutputRequest = {};
    if (want.transmission) {
      if (!description.outputTransmission.includes(want.transmission)) {
        throw new OwsError(
          'StorageNotSupported',
          `Output '${id}' cannot be delivered by ${want.transmission}`,
          id,
        );
      }
      resolved.transmission = want.transmission;
    }
    if (output.kind === 'complex') {
      const format = matchFormat(output.formats, want);
      if (!format) {
        throw invalidParameter(
          id,
          `Output '${id}': format ${want.mimeType ?? ''}${want.encoding ? ` (${want.encoding})` : ''} is not supported (supported: ${output.formats.map((f) => f.mimeType).join(', ')})`,
        );
      }
      resolved.format =
        want.encoding?.toLowerCase() === 'base64' ? { ...format, encoding: 'base64' } : format;
    } else if (output.kind === 'literal' && want.uom) {
      if (!output.uoms || !output.uoms.supported.includes(want.uom)) {
        throw invalidParameter(id, `Output '${id}': unit of measure '${want.uom}' is not supported`);
      }
      resolved.uom = want.uom;
    }
    result[id] = resolved;
  }
  return result;
}
