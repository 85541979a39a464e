import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { invalidParameter, OwsError } from '../core/errors.ts';
import type { RawOutputRequest, RequestedMode } from '../core/execute.ts';
import { isTextMimeType, isXmlMimeType } from '../core/formats.ts';
import type { Job } from '../core/job.ts';
import type { ProcessDescription } from '../core/model.ts';
import type { Gateway } from '../gateway.ts';
import { toRawInputs } from './inputs.ts';
import {
  boundingBoxDocument,
  capabilities,
  executeResponse,
  literalText,
  looksLikeXml,
  processDescriptions,
  type LineageInput,
  type LineageOutput,
  type RenderedOutput,
  type WpsStatus,
} from './render.ts';
import type { ExecuteWpsRequest, OutputDefinition, WpsInput, WpsRequest } from './requests.ts';

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

export interface WpsReply {
  status: number;
  contentType: string;
  /** Text or bytes, or a stored file to stream. */
  body: string | Uint8Array | { file: string };
  headers?: Record<string, string>;
}

export const XML = 'text/xml';

const xmlReply = (body: string, status = 200): WpsReply => ({ status, contentType: XML, body });

/** WPS 1.0.0 over the shared core: requests in, documents out. No business rules live here. */
export class WpsService {
  readonly #gateway: Gateway;
  readonly wpsUrl: string;

  constructor(gateway: Gateway) {
    this.#gateway = gateway;
    const server = gateway.config.server;
    this.wpsUrl = `${server.url}${server.wpsPath === '/' ? '' : server.wpsPath}`;
  }

  get defaultLanguage(): string {
    return this.#gateway.config.server.languages[0]!;
  }

  statusUrl(jobId: string): string {
    return `${this.wpsUrl}/status/${jobId}.xml`;
  }

  outputHref(jobId: string, file: string): string {
    return `${this.#gateway.config.server.outputUrl}/${jobId}/${file}`;
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

  async handle(request: WpsRequest): Promise<WpsReply> {
    const lang = this.language(request.language);
    const registry = this.#gateway.registry;
    switch (request.operation) {
      case 'GetCapabilities':
        return xmlReply(
          capabilities(
            this.#gateway.config,
            registry.list().map((e) => e.description),
            lang,
            { wps: this.wpsUrl },
          ),
        );
      case 'DescribeProcess': {
        const all = request.identifiers.some((i) => i.toUpperCase() === 'ALL');
        const descriptions = all
          ? registry.list().map((e) => e.description)
          : request.identifiers.map((id) => registry.get(id).description);
        return xmlReply(processDescriptions(descriptions, lang));
      }
      case 'Execute':
        return this.#execute(request, lang);
    }
  }

  async #execute(request: ExecuteWpsRequest, lang: string): Promise<WpsReply> {
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
    const job = await this.#gateway.jobs.execute({
      processId: description.id,
      inputs,
      ...(outputs ? { outputs } : {}),
      mode,
      binding: { ...options },
    });
    if (options.raw) return this.#rawOutput(job, definitions[0]!, description);
    return xmlReply(await this.renderJob(job));
  }

  async #rawOutput(
    job: Job,
    definition: OutputDefinition,
    description: ProcessDescription,
  ): Promise<WpsReply> {
    if (job.status !== 'successful') {
      const error = job.error ?? {
        code: 'NoApplicableCode' as const,
        message: job.message ?? `The job ${job.status}`,
      };
      throw OwsError.fromJSON(error);
    }
    const stored = job.results?.[definition.id];
    if (!stored) throw new OwsError('NoApplicableCode', `The process produced no output '${definition.id}'`);
    const output = description.outputs.find((o) => o.id === definition.id)!;
    if (stored.kind === 'literal') {
      const text = literalText(stored.value, output.kind === 'literal' ? output.dataType : 'string');
      return {
        status: 200,
        contentType: 'text/plain; charset=utf-8',
        body: text,
        headers: disposition(`${definition.id}.txt`),
      };
    }
    if (stored.kind === 'bbox') {
      return {
        status: 200,
        contentType: XML,
        body: boundingBoxDocument(stored),
        headers: disposition(`${definition.id}.xml`),
      };
    }
    const file = this.#gateway.files.outputFile(job.id, stored.file)!;
    const base64 = definition.encoding?.toLowerCase() === 'base64';
    return {
      status: 200,
      contentType: stored.format.mimeType,
      body: base64 ? (await readFile(file)).toString('base64') : { file },
      headers: disposition(stored.file),
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
    return executeResponse({
      process,
      serviceInstance: `${this.wpsUrl}?service=WPS&request=GetCapabilities`,
      ...(asyncJob ? { statusLocation: this.statusUrl(job.id) } : {}),
      lang: options?.language ?? this.defaultLanguage,
      creationTime: job.finished ?? new Date(),
      status: wpsStatus(job, options?.status ?? true),
      ...(options?.lineage ? { lineage: options.lineage } : {}),
      ...(job.status === 'successful' ? { outputs: await this.#renderedOutputs(job, process, options) } : {}),
    });
  }

  async #renderedOutputs(
    job: Job,
    process: ProcessDescription,
    options: WpsJobOptions | undefined,
  ): Promise<RenderedOutput[]> {
    const rendered: RenderedOutput[] = [];
    for (const description of process.outputs) {
      const stored = job.results?.[description.id];
      if (!stored) continue;
      const request = job.request.outputs[description.id];
      const byReference =
        options?.asReference.includes(description.id) ?? request?.transmission === 'reference';
      if (stored.kind === 'literal') {
        const dataType = description.kind === 'literal' ? description.dataType : 'string';
        rendered.push(
          byReference
            ? {
                description,
                reference: {
                  href: this.outputHref(job.id, `${description.id}.txt`),
                  format: { mimeType: 'text/plain' },
                },
              }
            : { description, literal: stored, dataType },
        );
      } else if (stored.kind === 'bbox') {
        rendered.push(
          byReference
            ? {
                description,
                reference: {
                  href: this.outputHref(job.id, `${description.id}.xml`),
                  format: { mimeType: 'text/xml' },
                },
              }
            : { description, bbox: stored },
        );
      } else if (byReference) {
        rendered.push({
          description,
          reference: { href: this.outputHref(job.id, stored.file), format: stored.format },
        });
      } else {
        const bytes = await readFile(this.#gateway.files.outputFile(job.id, stored.file)!);
        const wantsBase64 = request?.format?.encoding?.toLowerCase() === 'base64';
        if (wantsBase64 || !isTextMimeType(stored.format.mimeType)) {
          rendered.push({
            description,
            complex: { format: stored.format, content: Buffer.from(bytes).toString('base64'), as: 'base64' },
          });
        } else {
          const text = new TextDecoder().decode(bytes).replace(/^\s*<\?xml[^>]*\?>/, '');
          // The renderer embeds it as elements when well-formed, else as CDATA.
          const xml = isXmlMimeType(stored.format.mimeType) && looksLikeXml(text);
          rendered.push({
            description,
            complex: { format: stored.format, content: xml ? text.trim() : text, as: xml ? 'xml' : 'cdata' },
          });
        }
      }
    }
    return rendered;
  }

  /** A stored output file or a literal/bounding-box output served by reference. */
  async output(jobId: string, file: string): Promise<WpsReply | undefined> {
    const job = await this.#gateway.jobs.find(jobId);
    if (!job?.results || this.#gateway.files.outputFile(jobId, file) === undefined) return undefined;
    for (const [id, stored] of Object.entries(job.results)) {
      if (stored.kind === 'complex' && stored.file === file) {
        return {
          status: 200,
          contentType: stored.format.mimeType,
          body: { file: this.#gateway.files.outputFile(jobId, file)! },
          headers: disposition(file, 'inline'),
        };
      }
      const description = this.#gateway.registry
        .find(job.processId)
        ?.description.outputs.find((o) => o.id === id);
      if (stored.kind === 'literal' && file === `${id}.txt`) {
        const type = description?.kind === 'literal' ? description.dataType : 'string';
        return {
          status: 200,
          contentType: 'text/plain; charset=utf-8',
          body: literalText(stored.value, type),
        };
      }
      if (stored.kind === 'bbox' && file === `${id}.xml`) {
        return { status: 200, contentType: XML, body: boundingBoxDocument(stored) };
      }
    }
    return undefined;
  }
}

function disposition(file: string, kind: 'attachment' | 'inline' = 'attachment'): Record<string, string> {
  return { 'Content-Disposition': `${kind}; filename="${path.basename(file).replace(/"/g, '')}"` };
}

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
      return { kind: 'ProcessSucceeded', message: 'Process succeeded' };
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
