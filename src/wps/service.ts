import { invalidParameter, OwsError } from '../core/errors.ts';
import type { CacheDirectives, RawOutputRequest, RequestedMode } from '../core/execute.ts';
import { isXmlMimeType } from '../core/formats.ts';
import type { Job } from '../core/job.ts';
import type { ProcessDescription } from '../core/model.ts';
import { wpsEndpoint } from '../config/public-url.ts';
import type { Gateway } from '../gateway.ts';
import { contentSafetyHeaders, type BoundingBoxEncoding, type ResultDelivery } from '../results/delivery.ts';
import { DocumentCache } from '../util/document-cache.ts';
import { toRawInputs } from './inputs.ts';
import {
  boundingBoxDocument,
  capabilities,
  executeResponse,
  looksLikeXml,
  processDescriptions,
  type LineageInput,
  type LineageOutput,
  type RenderedOutput,
  type WpsStatus,
} from './render.ts';
import type {
  DescribeProcessRequest,
  ExecuteWpsRequest,
  GetCapabilitiesRequest,
  OutputDefinition,
  WpsInput,
  WpsRequest,
} from './requests.ts';

/** What the WPS binding stores with a job it creates (the rest of the job is protocol-neutral). */
export interface WpsJobOptions {
  protocol: 'wps';
  store: boolean;
  status: boolean;
  raw: boolean;
  language: string;
  /** Outputs asked for with asReference="true". */
  asReference: string[];
  lineage?: { inputs: LineageInput[]; outputs: LineageOutput[] };
}

/** What the HTTP request around a WPS request says beyond it (the Cache-Control header). */
export interface WpsRequestContext {
  cache?: CacheDirectives;
}

export interface WpsReply {
  status: number;
  contentType: string;
  /** Text or bytes, or a stored file to stream. */
  body: string | Uint8Array | { file: string };
  headers?: Record<string, string>;
  /** The entity tag of a cacheable document (a matching If-None-Match gets 304). */
  etag?: string;
}

/** A cached metadata document: XML text with its entity tag. */
export type CachedReply = WpsReply & { body: string; etag: string };

export const XML = 'text/xml';

const xmlReply = (body: string, status = 200): WpsReply => ({ status, contentType: XML, body });

/** WPS 1.0.0 over the shared core: requests in, documents out. No business rules live here. */
export class WpsService {
  readonly #gateway: Gateway;
  readonly #delivery: ResultDelivery;
  /** Capabilities and process descriptions, rendered once per registry generation and variant. */
  readonly #documents = new DocumentCache();
  readonly wpsUrl: string;

  constructor(gateway: Gateway, delivery: ResultDelivery) {
    this.#gateway = gateway;
    this.#delivery = delivery;
    const server = gateway.config.server;
    this.wpsUrl = wpsEndpoint(server);
  }

  get defaultLanguage(): string {
    return this.#gateway.config.server.languages[0]!;
  }

  statusUrl(jobId: string): string {
    return `${this.wpsUrl}/status/${jobId}.xml`;
  }

  language(requested: string | undefined): string {
    if (!requested) return this.defaultLanguage;
    const match = this.#gateway.config.server.languages.find(
      (l) => l.toLowerCase() === requested.toLowerCase(),
    );
    if (!match) {
      throw invalidParameter(
        'language',
        `Language '${requested}' is not supported (supported: ${this.#gateway.config.server.languages.join(', ')})`,
      );
    }
    return match;
  }

  async handle(request: WpsRequest, context: WpsRequestContext = {}): Promise<WpsReply> {
    if (request.operation !== 'Execute') return this.metadata(request);
    return this.#execute(request, this.language(request.language), context);
  }

  /**
   * GetCapabilities and DescribeProcess, from the cache (synchronous: the metadata fast path
   * answers with it before routing). A bad language or an unknown identifier throws an OwsError.
   */
  metadata(request: GetCapabilitiesRequest | DescribeProcessRequest): CachedReply {
    const lang = this.language(request.language);
    const registry = this.#gateway.registry;
    if (request.operation === 'GetCapabilities') {
      return this.#cached(`GetCapabilities\0${lang}`, () =>
        capabilities(
          this.#gateway.config,
          registry.list().map((e) => e.description),
          lang,
          { wps: this.wpsUrl },
        ),
      );
    }
    const all = request.identifiers.some((i) => i.toUpperCase() === 'ALL');
    // Each process described once, however often it is named: a request of a few kilobytes naming one
    // process a thousand times would otherwise be answered (and cached) with megabytes.
    const identifiers = [...new Set(request.identifiers)];
    const key = `DescribeProcess\0${lang}\0${all ? '' : identifiers.join('\0')}`;
    return this.#cached(key, () => {
      const descriptions = all
        ? registry.list().map((e) => e.description)
        : identifiers.map((id) => registry.get(id).description);
      return processDescriptions(descriptions, lang);
    });
  }

  /** A metadata document from the cache (rendered on a miss; an unknown identifier throws and is not cached). */
  #cached(key: string, render: () => string): CachedReply {
    const { body, etag } = this.#documents.get(this.#gateway.registry.generation, key, render);
    return { status: 200, contentType: XML, body, etag };
  }

  /**
   * Submits the job and answers once it is done (synchronous) or accepted. Not itself async: it
   * hands the request to the job manager and keeps nothing of it, so that the request's data (a
   * large complex input) is no longer held here once the manager has written it to disk.
   */
  #execute(request: ExecuteWpsRequest, lang: string, context: WpsRequestContext): Promise<WpsReply> {
    const { description } = this.#gateway.registry.get(request.identifier);
    const form = request.responseForm;
    if (form?.kind === 'document' && form.status && !form.store) {
      throw invalidParameter('status', 'status="true" requires storeExecuteResponse="true"');
    }
    const store = form?.kind === 'document' && form.store;
    const mode: RequestedMode = store ? 'async' : 'sync';
    const definitions = form === undefined ? [] : form.kind === 'raw' ? [form.output] : form.outputs;
    const options: WpsJobOptions = {
      protocol: 'wps',
      store,
      status: form?.kind === 'document' && form.status,
      raw: form?.kind === 'raw',
      language: lang,
      asReference: definitions.filter((d) => d.asReference).map((d) => d.id),
    };
    if (form?.kind === 'document' && form.lineage)
      options.lineage = lineage(request.inputs, definitions, description);
    const inputs = toRawInputs(request.inputs, description.inputs);
    const outputs =
      definitions.length > 0
        ? Object.fromEntries(definitions.map((d) => [d.id, outputRequest(d)]))
        : undefined;
    const job = this.#gateway.jobs.execute({
      processId: description.id,
      inputs,
      ...(outputs ? { outputs } : {}),
      mode,
      binding: { ...options },
      ...(context.cache ? { cache: context.cache } : {}),
    });
    return this.#reply(job, options.raw ? definitions[0]! : undefined);
  }

  /** The answer to an Execute: the raw output `raw` asked for, else the ExecuteResponse. */
  async #reply(submitted: Promise<Job>, raw: OutputDefinition | undefined): Promise<WpsReply> {
    const job = await submitted;
    if (raw) return this.#rawOutput(job, raw);
    return xmlReply(await this.renderJob(job));
  }

  async #rawOutput(job: Job, definition: OutputDefinition): Promise<WpsReply> {
    if (job.status !== 'successful') {
      const error = job.error ?? {
        code: 'NoApplicableCode' as const,
        message: job.message ?? `The job ${job.status}`,
      };
      throw OwsError.fromJSON(error);
    }
    const output = this.#delivery.outputs(job).find((o) => o.id === definition.id);
    if (!output) throw new OwsError('NoApplicableCode', `The process produced no output '${definition.id}'`);
    if (output.kind === 'complex' && definition.encoding?.toLowerCase() === 'base64') {
      const inline = await this.#delivery.inline(job.id, output);
      return {
        status: 200,
        contentType: output.stored.format.mimeType,
        body: inline.as === 'base64' ? inline.content : Buffer.from(inline.content).toString('base64'),
        headers: contentSafetyHeaders(output.stored.format.mimeType, output.stored.file, 'attachment'),
      };
    }
    const served = this.#delivery.body(job.id, output, BBOX_XML.extension);
    return {
      status: 200,
      contentType: served.mediaType,
      body: served.body,
      headers: contentSafetyHeaders(served.mediaType, served.fileName, 'attachment'),
    };
  }

  /** The ExecuteResponse for a job in its current state (sync answers and status documents alike). */
  async renderJob(job: Job): Promise<string> {
    const entry = this.#gateway.registry.find(job.processId);
    const process: ProcessDescription = entry?.description ?? {
      id: job.processId,
      version: '0',
      title: job.processId,
      inputs: [],
      outputs: [],
      jobControlOptions: [],
      outputTransmission: [],
    };
    const options =
      job.request.binding?.protocol === 'wps' ? (job.request.binding as unknown as WpsJobOptions) : undefined;
    const asyncJob = job.mode === 'async';
    let status = wpsStatus(job, options?.status ?? true);
    let outputs: RenderedOutput[] | undefined;
    if (job.status === 'successful') {
      try {
        outputs = await this.#renderedOutputs(job);
      } catch (thrown) {
        // A synchronous client gets the exception (an output too large to inline tells it to ask for
        // a reference); a status document always renders, here as ProcessFailed carrying it.
        if (!asyncJob || !(thrown instanceof OwsError)) throw thrown;
        status = { kind: 'ProcessFailed', error: thrown.toJSON() };
      }
    }
    return executeResponse({
      process,
      serviceInstance: `${this.wpsUrl}?service=WPS&request=GetCapabilities`,
      ...(asyncJob ? { statusLocation: this.statusUrl(job.id) } : {}),
      lang: options?.language ?? this.defaultLanguage,
      creationTime: job.finished ?? new Date(),
      status,
      ...(options?.lineage ? { lineage: options.lineage } : {}),
      ...(outputs ? { outputs } : {}),
    });
  }

  async #renderedOutputs(job: Job): Promise<RenderedOutput[]> {
    const rendered: RenderedOutput[] = [];
    for (const output of this.#delivery.outputs(job)) {
      const { description } = output;
      if (output.transmission === 'reference' || output.kind === 'reference') {
        rendered.push({
          description,
          reference: this.#delivery.reference(job.id, output, BBOX_XML.extension),
        });
      } else if (output.kind === 'literal') {
        rendered.push({ description, literal: output.value, dataType: output.dataType });
      } else if (output.kind === 'bbox') {
        rendered.push({ description, bbox: output.value });
      } else {
        const inline = await this.#delivery.inline(job.id, output);
        if (inline.as === 'base64') {
          rendered.push({
            description,
            complex: { format: inline.format, content: inline.content, as: 'base64' },
          });
        } else {
          const text = inline.content.replace(/^\s*<\?xml[^>]*\?>/, '');
          // The renderer embeds it as elements when well-formed, else as CDATA.
          const xml = isXmlMimeType(inline.format.mimeType) && looksLikeXml(text);
          rendered.push({
            description,
            complex: { format: inline.format, content: xml ? text.trim() : text, as: xml ? 'xml' : 'cdata' },
          });
        }
      }
    }
    return rendered;
  }
}

/** Bounding boxes served as files by this binding: an ows:BoundingBox document. */
export const BBOX_XML: BoundingBoxEncoding = {
  extension: 'xml',
  mediaType: XML,
  encode: boundingBoxDocument,
};

function outputRequest(d: OutputDefinition): RawOutputRequest {
  return {
    ...(d.mimeType ? { mimeType: d.mimeType } : {}),
    ...(d.encoding ? { encoding: d.encoding } : {}),
    ...(d.schema ? { schema: d.schema } : {}),
    ...(d.uom ? { uom: d.uom } : {}),
    transmission: d.asReference ? 'reference' : 'value',
  };
}

function wpsStatus(job: Job, reportProgress: boolean): WpsStatus {
  switch (job.status) {
    case 'accepted':
      return { kind: 'ProcessAccepted', message: 'Process accepted' };
    case 'running':
      return reportProgress
        ? { kind: 'ProcessStarted', message: job.message ?? 'Process started', percent: job.progress }
        : { kind: 'ProcessAccepted', message: 'Process accepted' };
    case 'successful':
      // The job's own message: it says when the results were served from the result cache.
      return { kind: 'ProcessSucceeded', message: job.message ?? 'Process succeeded' };
    case 'failed':
      return {
        kind: 'ProcessFailed',
        error: job.error ?? { code: 'NoApplicableCode', message: job.message ?? 'Process failed' },
      };
    case 'dismissed':
      return { kind: 'ProcessFailed', error: { code: 'NoApplicableCode', message: 'The job was dismissed' } };
  }
}

/** The DataInputs and OutputDefinitions echoed when lineage="true". */
function lineage(inputs: WpsInput[], outputs: OutputDefinition[], description: ProcessDescription) {
  const titleOf = (id: string) => description.inputs.find((i) => i.id === id)?.title;
  const lineageInputs: LineageInput[] = inputs.map(({ id, value }): LineageInput => {
    const title = titleOf(id);
    const base = title ? { id, title } : { id };
    switch (value.type) {
      case 'reference':
        return {
          ...base,
          reference: {
            href: value.href,
            method: value.method,
            ...(value.mimeType ? { mimeType: value.mimeType } : {}),
            ...(value.encoding ? { encoding: value.encoding } : {}),
            ...(value.schema ? { schema: value.schema } : {}),
          },
        };
      case 'literal':
        return {
          ...base,
          literal: {
            value: value.value,
            ...(value.uom ? { uom: value.uom } : {}),
            ...(value.dataType ? { dataType: value.dataType } : {}),
          },
        };
      case 'complex': {
        const binary = typeof value.data !== 'string';
        return {
          ...base,
          complex: {
            data: binary ? Buffer.from(value.data).toString('base64') : (value.data as string),
            ...(value.mimeType ? { mimeType: value.mimeType } : {}),
            ...(binary ? { encoding: 'base64' } : value.encoding ? { encoding: value.encoding } : {}),
            ...(value.schema ? { schema: value.schema } : {}),
          },
        };
      }
      case 'bbox':
        return {
          ...base,
          bbox: {
            lowerCorner: value.lowerCorner,
            upperCorner: value.upperCorner,
            ...(value.crs ? { crs: value.crs } : {}),
            ...(value.dimensions ? { dimensions: value.dimensions } : {}),
          },
        };
      case 'kvp': {
        const kind = description.inputs.find((i) => i.id === id)?.kind;
        if (kind === 'bbox') {
          const parts = value.value.split(',');
          const half = parts.length >= 6 && !Number.isNaN(Number(parts[5])) ? 3 : 2;
          return {
            ...base,
            bbox: {
              lowerCorner: parts.slice(0, half).join(' '),
              upperCorner: parts.slice(half, half * 2).join(' '),
              ...(parts[half * 2] ? { crs: parts[half * 2]! } : {}),
            },
          };
        }
        if (kind === 'complex') {
          return {
            ...base,
            complex: {
              data: value.value,
              ...(value.attrs.mimetype ? { mimeType: value.attrs.mimetype } : {}),
            },
          };
        }
        return {
          ...base,
          literal: { value: value.value, ...(value.attrs.uom ? { uom: value.attrs.uom } : {}) },
        };
      }
    }
  });
  const lineageOutputs: LineageOutput[] = outputs.map((o) => {
    const title = description.outputs.find((d) => d.id === o.id)?.title;
    return { ...o, ...(title ? { title } : {}) };
  });
  return { inputs: lineageInputs, outputs: lineageOutputs };
}
