import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { decodeBase64 } from '../../core/base64.ts';
import { OwsError } from '../../core/errors.ts';
import { extensionFor } from '../../core/formats.ts';
import type { Format, OutputDescription } from '../../core/model.ts';
import { abortableDelay } from '../../core/processor.ts';
import type { JobInputs, OutputValue, StoredReference } from '../../core/values.ts';
import { parseXml, type XmlElement } from '../../wps/xml.ts';
import { statusReason, type RemoteHttp } from '../http.ts';
import type {
  Discovery,
  ProviderConfig,
  ProviderDeps,
  ProviderFactory,
  RemoteExecuteContext,
  RemoteOutputs,
  RemoteProcess,
  RemoteProvider,
  SkippedProcess,
} from '../provider.ts';
import { capabilitiesProcessIds, describeProcess, processDescriptionElements } from './describe.ts';
import { executeDocument, readExecuteResponse, type RemoteOutput, type RemoteStatus } from './execute.ts';

/** Identifiers asked per DescribeProcess request. */
const DESCRIBE_BATCH = 20;
/** Status requests that may fail in a row (a restart of the remote, a dropped connection) before the job fails. */
const POLL_ATTEMPTS = 3;
/** The largest inline ExecuteResponse read (when complex outputs come inline). */
const MAX_INLINE_RESPONSE = 64 * 1024 * 1024;

/**
 * A WPS 1.0.0 server as a provider: GetCapabilities + DescribeProcess (KVP GET) for discovery,
 * Execute as an XML POST, asynchronous (storeExecuteResponse + status, polling statusLocation)
 * whenever the process supports it. WPS 1.0.0 has no dismiss: a dismissed job stops polling and
 * the remote job is left to finish on its own.
 */
export class WpsProvider implements RemoteProvider {
  readonly config: ProviderConfig;
  readonly #http: RemoteHttp;

  constructor(config: ProviderConfig, deps: ProviderDeps) {
    this.config = config;
    this.#http = deps.http;
  }

  #kvp(params: Record<string, string>): URL {
    const url = new URL(this.config.url);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    return url;
  }

  /** Parses a remote XML document with the hardened parser; a malformed one is a clear failure. */
  #xml(body: Uint8Array, what: string): XmlElement {
    try {
      return parseXml(new TextDecoder().decode(body));
    } catch (error) {
      throw this.#malformed(what, (error as Error).message);
    }
  }

  #malformed(what: string, why: string): OwsError {
    return new OwsError(
      'NoApplicableCode',
      `Provider '${this.config.id}': the remote answered ${what} with a malformed document (${why})`,
    );
  }

  async discover(signal: AbortSignal): Promise<Discovery> {
    const caps = await this.#http.request(
      this.#kvp({ service: 'WPS', request: 'GetCapabilities', AcceptVersions: '1.0.0' }),
      { signal, accept: 'text/xml, application/xml' },
    );
    if (caps.status !== 200) {
      throw new OwsError(
        'NoApplicableCode',
        `Provider '${this.config.id}': GetCapabilities answered HTTP ${caps.status}`,
      );
    }
    let ids: string[];
    try {
      ids = capabilitiesProcessIds(this.#xml(caps.body, 'GetCapabilities'));
    } catch (error) {
      if (error instanceof OwsError) throw error;
      throw this.#malformed('GetCapabilities', (error as Error).message);
    }
    const allow = this.config.processes ? new Set(this.config.processes) : undefined;
    const wanted = allow ? ids.filter((id) => allow.has(id)) : ids;
    const processes: RemoteProcess[] = [];
    const skipped: SkippedProcess[] = [];
    for (let i = 0; i < wanted.length; i += DESCRIBE_BATCH) {
      const batch = wanted.slice(i, i + DESCRIBE_BATCH);
      let elements: XmlElement[];
      try {
        elements = await this.#describe(batch, signal);
      } catch (error) {
        if (signal.aborted || batch.length === 1) throw error;
        // One process the remote cannot describe spoils its batch: ask one by one.
        elements = [];
        for (const id of batch) {
          try {
            elements.push(...(await this.#describe([id], signal)));
          } catch (e) {
            if (signal.aborted) throw e;
            skipped.push({ remoteId: id, reason: (e as Error).message });
          }
        }
      }
      for (const el of elements) {
        const result = describeProcess(el);
        if ('reason' in result) skipped.push(result);
        else if (batch.includes(result.remoteId)) processes.push(result);
      }
    }
    return { processes, skipped };
  }

  async #describe(ids: string[], signal: AbortSignal): Promise<XmlElement[]> {
    const answer = await this.#http.request(
      this.#kvp({ service: 'WPS', version: '1.0.0', request: 'DescribeProcess', identifier: ids.join(',') }),
      { signal, accept: 'text/xml, application/xml' },
    );
    const root = this.#xml(answer.body, 'DescribeProcess');
    if (root.local === 'ExceptionReport') {
      throw new OwsError(
        'NoApplicableCode',
        `Provider '${this.config.id}': DescribeProcess failed (HTTP ${answer.status})`,
      );
    }
    try {
      return processDescriptionElements(root);
    } catch (error) {
      throw this.#malformed('DescribeProcess', (error as Error).message);
    }
  }

  async execute(remoteId: string, inputs: JobInputs, ctx: RemoteExecuteContext): Promise<RemoteOutputs> {
    const description = ctx.description;
    const async = description.jobControlOptions.includes('async-execute');
    const byReference = description.outputTransmission.includes('reference');
    const document = await executeDocument(description, inputs, ctx.outputs, {
      async,
      complexByReference: byReference,
    });
    const prefix = `Provider '${this.config.id}', process '${remoteId}'`;
    ctx.logger.info(`executing remote process ${remoteId} (${async ? 'asynchronously' : 'synchronously'})`);
    let status = await this.#exchange(
      this.config.url,
      { method: 'POST', body: document, contentType: 'text/xml; charset=utf-8' },
      ctx,
      prefix,
      'Execute',
    );
    let failures = 0;
    let location = 'statusLocation' in status ? status.statusLocation : undefined;
    while (status.state === 'accepted' || status.state === 'running' || status.state === 'paused') {
      if (!location) {
        throw new OwsError(
          'NoApplicableCode',
          `${prefix}: the remote accepted the job without a statusLocation`,
        );
      }
      ctx.progress(
        status.percent ?? 0,
        status.message ?? (status.state === 'accepted' ? 'Accepted by the remote' : undefined),
      );
      await abortableDelay(this.config.pollIntervalSeconds * 1000, ctx.signal);
      try {
        status = await this.#exchange(location, { method: 'GET' }, ctx, prefix, 'a status request');
        if ('statusLocation' in status && status.statusLocation) location = status.statusLocation;
        failures = 0;
      } catch (error) {
        if (ctx.signal.aborted) throw error;
        if (++failures >= POLL_ATTEMPTS) throw error;
        ctx.logger.warn(
          `status request failed (${failures} of ${POLL_ATTEMPTS}): ${(error as Error).message}`,
        );
      }
    }
    if (status.state === 'failed') throw status.error;
    if (status.state !== 'succeeded') throw new OwsError('NoApplicableCode', `${prefix}: no final status`);
    ctx.progress(100, status.message);
    return this.#outputs(status.outputs, ctx, prefix);
  }

  /** One request whose answer is an ExecuteResponse (or an ExceptionReport). */
  async #exchange(
    url: string,
    request: { method: 'GET' | 'POST'; body?: string; contentType?: string },
    ctx: RemoteExecuteContext,
    prefix: string,
    what: string,
  ): Promise<RemoteStatus> {
    const answer = await this.#http.request(url, {
      ...request,
      signal: ctx.signal,
      accept: 'text/xml, application/xml',
      // Complex outputs may come inline: up to what the job may store, within a bound.
      maxBytes: Math.min(ctx.limits.maxJobOutputSize, MAX_INLINE_RESPONSE),
    });
    let root: XmlElement;
    try {
      root = this.#xml(answer.body, what);
    } catch (error) {
      if (answer.status >= 400) {
        throw new OwsError(
          'NoApplicableCode',
          `${prefix}: ${what} answered HTTP ${answer.status}`,
          undefined,
          statusReason(answer.status),
        );
      }
      throw error;
    }
    try {
      return readExecuteResponse(root, prefix, answer.status);
    } catch (error) {
      throw this.#malformed(what, (error as Error).message);
    }
  }

  /** The remote's outputs as a local processor returns them; references are downloaded into the work folder. */
  async #outputs(
    outputs: Record<string, RemoteOutput>,
    ctx: RemoteExecuteContext,
    prefix: string,
  ): Promise<RemoteOutputs> {
    const result: RemoteOutputs = {};
    for (const id of Object.keys(ctx.outputs)) {
      const out = outputs[id];
      const description = ctx.description.outputs.find((o) => o.id === id);
      if (!out || !description) {
        throw new OwsError('NoApplicableCode', `${prefix}: the remote returned no output '${id}'`);
      }
      result[id] = await this.#output(id, out, description, ctx);
    }
    return result;
  }

  async #output(
    id: string,
    out: RemoteOutput,
    description: OutputDescription,
    ctx: RemoteExecuteContext,
  ): Promise<OutputValue | StoredReference> {
    const format = (given: Partial<Format>): Format => {
      const requested = ctx.outputs[id]?.format;
      const fallback = requested ?? (description.kind === 'complex' ? description.formats[0] : undefined);
      const mimeType = given.mimeType ?? fallback?.mimeType ?? 'application/octet-stream';
      const schema = given.schema ?? (given.mimeType ? undefined : fallback?.schema);
      return { mimeType, ...(schema ? { schema } : {}) };
    };
    switch (out.kind) {
      case 'literal':
        return out.uom
          ? { kind: 'literal', value: out.value, uom: out.uom }
          : { kind: 'literal', value: out.value };
      case 'bbox':
        return {
          kind: 'bbox',
          lowerCorner: out.lowerCorner,
          upperCorner: out.upperCorner,
          crs: out.crs ?? (description.kind === 'bbox' ? description.crs[0]! : 'EPSG:4326'),
          dimensions: out.dimensions,
        };
      case 'complex':
        if (out.base64 !== undefined)
          return { kind: 'complex', format: format(out.format), bytes: decodeBase64(out.base64, id) };
        return { kind: 'complex', format: format(out.format), text: out.text ?? '' };
      case 'reference': {
        const f = format(out.format);
        if (
          this.config.passThroughReferences &&
          description.kind === 'complex' &&
          ctx.outputs[id]?.transmission === 'reference'
        ) {
          // Handed to the client as the remote's URL: nothing is fetched.
          return { kind: 'reference', href: out.href, format: f };
        }
        const file = path.join(
          ctx.workDir,
          `remote-${id.replace(/[^\w.-]/g, '_')}.${extensionFor(f.mimeType)}`,
        );
        await this.#http.download(out.href, file, { maxBytes: ctx.limits.maxOutputSize, signal: ctx.signal });
        if (description.kind === 'literal') {
          return { kind: 'literal', value: (await readFile(file, 'utf8')).trim() };
        }
        return { kind: 'complex', format: f, file };
      }
    }
  }
}

export const createWpsProvider: ProviderFactory = (config, deps) => new WpsProvider(config, deps);
