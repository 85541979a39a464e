/**
 * The `ogcapi-processes` provider: an OGC API - Processes 1.0 server's processes as processes of
 * this gateway. Discovery reads `/processes` (paged) and each `/processes/{id}`; execution sends one
 * execute request, asynchronous on the remote when it offers async-execute, polls `/jobs/{id}`
 * (progress and message mirrored), reads `/jobs/{id}/results` and fetches results given by link.
 * A local dismiss (or time-out, or shutdown) dismisses the remote job, best effort.
 */
import path from 'node:path';
import { OwsError } from '../../core/errors.ts';
import type { JobControlOption, TransmissionMode } from '../../core/model.ts';
import { abortableDelay } from '../../core/processor.ts';
import type { JobInputs } from '../../core/values.ts';
import type { RemoteHttp } from '../http.ts';
import type {
  Discovery,
  ProviderConfig,
  ProviderFactory,
  RemoteExecuteContext,
  RemoteOutputs,
  RemoteProvider,
  SkippedProcess,
} from '../provider.ts';
import { OgcApiClient, type RemoteStatus } from './client.ts';
import { describeRemoteProcess, type RemoteProcess } from './describe.ts';
import { executeRequestJson, outputsFromDocument, type MappedOutput } from './mapping.ts';

/** Poll failures in a row (connection refused, a timeout, a bad document) after which the job fails. */
const POLL_FAILURES = 3;
/** Descriptions read at once during a discovery. */
const DESCRIBE_CONCURRENCY = 4;

const JOB_CONTROL: ReadonlySet<string> = new Set(['sync-execute', 'async-execute', 'dismiss']);

export class OgcApiProvider implements RemoteProvider {
  readonly config: ProviderConfig;
  readonly #http: RemoteHttp;
  readonly #client: OgcApiClient;
  /** What the last discovery found, by remote id (what execution needs beyond the core model). */
  #processes = new Map<string, RemoteProcess>();

  constructor(config: ProviderConfig, http: RemoteHttp) {
    this.config = config;
    this.#http = http;
    this.#client = new OgcApiClient(http, { providerId: config.id, url: config.url });
  }

  #fail(message: string): OwsError {
    return new OwsError('NoApplicableCode', `Provider '${this.config.id}': ${message}`);
  }

  async discover(signal: AbortSignal): Promise<Discovery> {
    const summaries = await this.#client.listProcesses(signal);
    const allow = this.config.processes ? new Set(this.config.processes) : undefined;
    const ids = [...new Set(summaries.map((s) => s.id as string))].filter((id) => !allow || allow.has(id));
    const found = new Map<string, RemoteProcess>();
    const skipped: SkippedProcess[] = [];
    let next = 0;
    const worker = async () => {
      while (next < ids.length) {
        const remoteId = ids[next++]!;
        let document: unknown;
        try {
          document = await this.#client.describe(remoteId, signal);
        } catch (error) {
          if (signal.aborted) throw error;
          skipped.push({ remoteId, reason: (error as Error).message });
          continue;
        }
        const result = describeRemoteProcess(document);
        if (!result.ok) skipped.push({ remoteId, reason: `not expressible: ${result.reason}` });
        else if (result.process.remoteId !== remoteId)
          skipped.push({
            remoteId,
            reason: `its description names another id ('${result.process.remoteId}')`,
          });
        else found.set(remoteId, result.process);
      }
    };
    await Promise.all(Array.from({ length: Math.min(DESCRIBE_CONCURRENCY, ids.length) }, worker));
    this.#processes = found;
    return {
      // In the remote's order; the description states what the remote itself supports.
      processes: ids
        .filter((id) => found.has(id))
        .map((remoteId) => {
          const p = found.get(remoteId)!;
          const control = p.remoteJobControl.filter((o): o is JobControlOption => JOB_CONTROL.has(o));
          const transmission = p.remoteTransmission.filter(
            (t): t is TransmissionMode => t === 'value' || t === 'reference',
          );
          return {
            remoteId,
            description: {
              ...p.description,
              jobControlOptions: control.length > 0 ? control : ['sync-execute'],
              outputTransmission: transmission.length > 0 ? transmission : ['value'],
            },
          };
        }),
      skipped,
    };
  }

  async execute(remoteId: string, inputs: JobInputs, ctx: RemoteExecuteContext): Promise<RemoteOutputs> {
    const process = this.#processes.get(remoteId);
    if (!process) throw this.#fail(`the remote no longer offers process '${remoteId}'`);
    // Outputs the remote only gives by reference are asked for so, and fetched; with pass-through,
    // complex outputs the client wants by reference are asked by reference too, and not fetched.
    const canRefer = process.remoteTransmission.includes('reference');
    const referenceOnly = canRefer && !process.remoteTransmission.includes('value');
    const byReference = new Set(
      Object.keys(ctx.outputs).filter((id) => referenceOnly || (canRefer && this.#passesThrough(id, ctx))),
    );
    const body = await executeRequestJson(process, inputs, ctx.outputs, { referenceOutputs: byReference });
    const async = process.remoteJobControl.includes('async-execute');
    ctx.logger.debug(`executing ${remoteId} on ${this.config.url} (${async ? 'async' : 'sync'})`);
    const outcome = await this.#client.execute(remoteId, body, async, ctx.signal);
    let document: unknown;
    switch (outcome.kind) {
      case 'document':
        document = outcome.document;
        break;
      case 'raw': {
        // A server that answers raw despite `response: document`: one output is all it can be.
        const ids = Object.keys(ctx.outputs);
        const output = process.description.outputs.find((o) => o.id === ids[0]);
        if (ids.length !== 1 || output?.kind !== 'complex')
          throw this.#fail(`answered ${outcome.contentType} instead of a results document`);
        return {
          [ids[0]!]: { kind: 'complex', format: { mimeType: outcome.contentType }, bytes: outcome.bytes },
        };
      }
      case 'job':
        document = await this.#followJob(outcome.jobId, outcome.status, ctx);
        break;
    }
    const mapped = outputsFromDocument(process, document, ctx.outputs);
    return this.#resolve(mapped, ctx);
  }

  /** Polls a remote job to its end; resolves with its results document, or throws its failure. */
  async #followJob(
    jobId: string,
    first: RemoteStatus | undefined,
    ctx: RemoteExecuteContext,
  ): Promise<unknown> {
    const every = this.config.pollIntervalSeconds * 1000;
    let status = first;
    let failures = 0;
    try {
      for (;;) {
        if (status) {
          if (status.progress !== undefined || status.message !== undefined)
            ctx.progress(status.progress ?? 0, status.message);
          if (status.status === 'successful') break;
          if (status.status === 'failed') throw await this.#jobFailure(jobId, status, ctx.signal);
          if (status.status === 'dismissed')
            throw this.#fail(`the remote job ${jobId} was dismissed on the remote`);
        }
        await abortableDelay(every, ctx.signal);
        try {
          status = await this.#client.status(jobId, ctx.signal);
          failures = 0;
        } catch (error) {
          if (ctx.signal.aborted) throw error;
          if (++failures >= POLL_FAILURES) throw error;
          ctx.logger.warn(`status of remote job ${jobId}: ${(error as Error).message}`);
          status = undefined;
        }
      }
      return await this.#client.results(jobId, ctx.signal);
    } catch (error) {
      if (ctx.signal.aborted) {
        await this.#dismiss(jobId, ctx);
        throw OwsError.from(ctx.signal.reason);
      }
      throw error;
    }
  }

  /** The remote's failure: its status message, and the exception its results give when it has one. */
  async #jobFailure(jobId: string, status: RemoteStatus, signal: AbortSignal): Promise<OwsError> {
    const told = status.message;
    try {
      await this.#client.results(jobId, signal);
    } catch (error) {
      if (error instanceof OwsError && !signal.aborted) {
        // The exception of the results, with the status message when it says more.
        const extra = told && !error.message.includes(told) ? ` (${told})` : '';
        return new OwsError(error.code, `${error.message}${extra}`, error.locator, error.reason);
      }
    }
    return this.#fail(`the remote job ${jobId} failed${told ? `: ${told}` : ''}`);
  }

  /** Dismisses a remote job after a local dismiss, time-out or shutdown; best effort, bounded. */
  async #dismiss(jobId: string, ctx: RemoteExecuteContext): Promise<void> {
    try {
      await this.#client.dismiss(jobId, AbortSignal.timeout(this.#http.timeoutMs));
      ctx.logger.info(`dismissed remote job ${jobId}`);
    } catch (error) {
      ctx.logger.warn(`could not dismiss remote job ${jobId}: ${(error as Error).message}`);
    }
  }

  /** Whether output `id` is handed to the client as the remote's URL when the remote gives one. */
  #passesThrough(id: string, ctx: RemoteExecuteContext): boolean {
    return (
      this.config.passThroughReferences &&
      ctx.outputs[id]?.transmission === 'reference' &&
      ctx.description.outputs.find((o) => o.id === id)?.kind === 'complex'
    );
  }

  /**
   * Results given by link are fetched into the job's work folder (bounded by maxOutputSize), or
   * passed through as the remote's URL (pass_through_references, asked by reference).
   */
  async #resolve(mapped: Record<string, MappedOutput>, ctx: RemoteExecuteContext): Promise<RemoteOutputs> {
    const outputs: RemoteOutputs = {};
    let n = 0;
    for (const [id, value] of Object.entries(mapped)) {
      if (typeof value !== 'object' || value instanceof Date || value.kind !== 'remote-reference') {
        outputs[id] = value;
        continue;
      }
      const description = ctx.description.outputs.find((o) => o.id === id);
      if (description?.kind !== 'complex')
        throw this.#fail(`the remote gave the ${description?.kind ?? ''} output '${id}' by reference`);
      if (this.#passesThrough(id, ctx) && URL.canParse(value.href, this.config.url)) {
        const format = ctx.outputs[id]?.format ?? description.formats[0]!;
        outputs[id] = {
          kind: 'reference',
          href: new URL(value.href, this.config.url).href,
          format: { ...format, mimeType: value.type ?? format.mimeType },
        };
        continue;
      }
      const file = path.join(ctx.workDir, `remote-output-${n++}`);
      const fetched = await this.#http.download(value.href, file, {
        maxBytes: ctx.limits.maxOutputSize,
        signal: ctx.signal,
      });
      const mimeType =
        value.type ??
        fetched.contentType ??
        ctx.outputs[id]?.format?.mimeType ??
        description.formats[0]!.mimeType;
      const format = ctx.outputs[id]?.format ?? description.formats[0]!;
      outputs[id] = { kind: 'complex', format: { ...format, mimeType }, file };
    }
    return outputs;
  }
}

export const createOgcApiProvider: ProviderFactory = (config, deps) => new OgcApiProvider(config, deps.http);
