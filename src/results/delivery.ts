import { readFile, stat } from 'node:fs/promises';
import { OwsError } from '../core/errors.ts';
import { isTextMimeType } from '../core/formats.ts';
import type { Job } from '../core/job.ts';
import { formatBytes } from '../core/limits.ts';
import { literalText } from '../core/literal.ts';
import type { Format, LiteralDataType, OutputDescription, TransmissionMode } from '../core/model.ts';
import type { BoundingBox, LiteralValue, StoredComplex, StoredReference } from '../core/values.ts';
import type { JobFiles } from '../jobs/files.ts';

/** How a bounding box is served as a file; each protocol binding brings its own (ows:BoundingBox XML, OGC JSON). */
export interface BoundingBoxEncoding {
  extension: string;
  mediaType: string;
  encode(bbox: BoundingBox): string;
}

interface Delivered {
  id: string;
  description: OutputDescription;
  transmission: TransmissionMode;
}

export type DeliveredOutput = Delivered &
  (
    | { kind: 'literal'; value: LiteralValue; dataType: LiteralDataType; text: string }
    | { kind: 'bbox'; value: BoundingBox }
    | { kind: 'complex'; stored: StoredComplex; requested?: Format }
    /** Held by a remote server (a provider's pass-through): only ever delivered by reference. */
    | { kind: 'reference'; stored: StoredReference }
  );

/** Inline content of a complex output: text as it is, anything binary (or asked for so) as base64. */
export interface InlineContent {
  format: Format;
  content: string;
  as: 'text' | 'base64';
}

/** A stored output as an HTTP body: text, or a file to stream. */
export interface ServedOutput {
  mediaType: string;
  body: string | { file: string };
  fileName: string;
}

const TEXT_PLAIN = 'text/plain; charset=utf-8';

/** An output the job holds only as a remote server's URL cannot be served here, only pointed to. */
const remoteOnly = (output: DeliveredOutput & { kind: 'reference' }) =>
  new OwsError(
    'NoApplicableCode',
    `Output '${output.id}' is held by a remote server, not by this one: ask for it by reference, or download it from ${output.stored.href}`,
    output.id,
  );

/** Media types a browser would run as a page or script: client content of these kinds is only ever downloaded. */
const ACTIVE =
  /^(text\/html|application\/xhtml\+xml|image\/svg\+xml|text\/xml|application\/xml|[^/]+\/[^;]*\+xml|text\/javascript|application\/javascript|application\/ecmascript|text\/xsl|application\/pdf)\b/i;

/**
 * Headers for serving client-controlled content from this server's origin: never sniffed, never
 * allowed to run anything (a sandboxing CSP), and downloaded rather than shown when the type is
 * one a browser would render as an active document.
 */
export function contentSafetyHeaders(
  mediaType: string,
  fileName: string,
  disposition: 'inline' | 'attachment' = 'inline',
): Record<string, string> {
  const kind = ACTIVE.test(mediaType.trim()) ? 'attachment' : disposition;
  return {
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy': "default-src 'none'; sandbox",
    'Content-Disposition': `${kind}; filename="${fileName.replace(/[^\w.-]/g, '_')}"`,
  };
}

/** Output descriptions read off stored results: for the jobs of a process that is no longer published. */
function storedDescriptions(results: NonNullable<Job['results']>): OutputDescription[] {
  return Object.entries(results).map(([id, stored]): OutputDescription => {
    switch (stored.kind) {
      case 'literal': {
        const v = stored.value;
        const dataType: LiteralDataType =
          v instanceof Date
            ? 'dateTime'
            : typeof v === 'number'
              ? Number.isInteger(v)
                ? 'integer'
                : 'double'
              : typeof v === 'boolean'
                ? 'boolean'
                : 'string';
        return { id, title: id, kind: 'literal', dataType };
      }
      case 'bbox':
        return { id, title: id, kind: 'bbox', crs: [stored.crs] };
      default:
        return { id, title: id, kind: 'complex', formats: [stored.format] };
    }
  });
}

/**
 * Which outputs of a job exist and how each is delivered (inline or by reference, the encoding of
 * inline binary data, literal serialisation, the URL of each stored output), and the files served
 * under the output URL. Both protocol front ends deliver results through this one object, so they
 * serve the same files the same way.
 */
export class ResultDelivery {
  readonly #files: JobFiles;
  readonly #outputUrl: string;
  readonly #bboxEncodings: readonly BoundingBoxEncoding[];
  readonly #describe: (processId: string) => OutputDescription[] | undefined;
  readonly #maxInlineBytes: number;

  constructor(options: {
    files: JobFiles;
    /** Public URL under which stored outputs are served, no trailing slash. */
    outputUrl: string;
    bboxEncodings: readonly BoundingBoxEncoding[];
    /** The output descriptions of a published process. */
    describe: (processId: string) => OutputDescription[] | undefined;
    /** Bytes of a stored file above which it is never read into a response (server.limits.max_inline_output_size). */
    maxInlineBytes: number;
  }) {
    this.#files = options.files;
    this.#outputUrl = options.outputUrl;
    this.#bboxEncodings = options.bboxEncodings;
    this.#describe = options.describe;
    this.#maxInlineBytes = options.maxInlineBytes;
  }

  /** The public URL of a file of a job's outputs. */
  href(jobId: string, file: string): string {
    return `${this.#outputUrl}/${jobId}/${encodeURIComponent(file)}`;
  }

  /** The outputs of a successful job, in the order of the process description (none otherwise). */
  outputs(job: Job): DeliveredOutput[] {
    if (job.status !== 'successful' || !job.results) return [];
    // A process no longer published (a remote provider dropped it) still has its jobs' results.
    const descriptions = this.#describe(job.processId) ?? storedDescriptions(job.results);
    const delivered: DeliveredOutput[] = [];
    for (const description of descriptions) {
      const stored = job.results[description.id];
      if (!stored) continue;
      const request = job.request.outputs[description.id];
      const base = {
        id: description.id,
        description,
        transmission: request?.transmission ?? ('value' as const),
      };
      if (stored.kind === 'literal') {
        const dataType = description.kind === 'literal' ? description.dataType : 'string';
        delivered.push({
          ...base,
          kind: 'literal',
          value: stored,
          dataType,
          text: literalText(stored.value, dataType),
        });
      } else if (stored.kind === 'bbox') {
        delivered.push({ ...base, kind: 'bbox', value: stored });
      } else if (stored.kind === 'reference') {
        delivered.push({ ...base, transmission: 'reference', kind: 'reference', stored });
      } else {
        delivered.push({
          ...base,
          kind: 'complex',
          stored,
          ...(request?.format ? { requested: request.format } : {}),
        });
      }
    }
    return delivered;
  }

  /** Where an output is served: its href and media type (a bounding box in the given encoding). */
  reference(
    jobId: string,
    output: DeliveredOutput,
    bboxExtension = this.#bboxEncodings[0]?.extension,
  ): { href: string; format: Format } {
    switch (output.kind) {
      case 'literal':
        return { href: this.href(jobId, `${output.id}.txt`), format: { mimeType: 'text/plain' } };
      case 'bbox': {
        const encoding = this.#bboxEncodings.find((e) => e.extension === bboxExtension);
        if (!encoding) throw new Error(`No bounding box encoding '${bboxExtension ?? ''}'`);
        return {
          href: this.href(jobId, `${output.id}.${encoding.extension}`),
          format: { mimeType: encoding.mediaType },
        };
      }
      case 'complex':
        return { href: this.href(jobId, output.stored.file), format: output.stored.format };
      case 'reference':
        return { href: output.stored.href, format: output.stored.format };
    }
  }

  /**
   * The content of a complex output for inline delivery (inside a response document, or base64
   * encoded). A file above the inline limit is not read: FileSizeExceeded tells the client to ask
   * for it by reference, and where it is already.
   */
  async inline(jobId: string, output: Extract<DeliveredOutput, { kind: 'complex' }>): Promise<InlineContent> {
    const file = this.#files.outputFile(jobId, output.stored.file)!;
    const gone = () =>
      new OwsError('NoApplicableCode', `Output '${output.id}' is no longer stored`, output.id);
    const size = await stat(file).then(
      (s) => s.size,
      () => undefined,
    );
    if (size === undefined) throw gone();
    if (size > this.#maxInlineBytes) {
      throw new OwsError(
        'FileSizeExceeded',
        `Output '${output.id}' is ${formatBytes(size)}, more than the ${formatBytes(this.#maxInlineBytes)} that can be returned inline (server.limits.max_inline_output_size): ask for it by reference (WPS: asReference="true"; OGC API - Processes: "transmissionMode": "reference"), or download it from ${this.href(jobId, output.stored.file)}`,
        output.id,
      );
    }
    const bytes = await readFile(file).catch(() => {
      throw gone();
    });
    const format = output.stored.format;
    const wantsBase64 = output.requested?.encoding?.toLowerCase() === 'base64';
    if (wantsBase64 || !isTextMimeType(format.mimeType)) {
      return { format, content: Buffer.from(bytes).toString('base64'), as: 'base64' };
    }
    return { format, content: new TextDecoder().decode(bytes), as: 'text' };
  }

  /** The stored file of a complex output, to stream. */
  file(jobId: string, output: Extract<DeliveredOutput, { kind: 'complex' }>): string {
    return this.#files.outputFile(jobId, output.stored.file)!;
  }

  /** An output as a body of its own (raw delivery): a complex output's file, a literal's text, a box's encoding. */
  body(jobId: string, output: DeliveredOutput, bboxExtension?: string): ServedOutput {
    switch (output.kind) {
      case 'literal':
        return { mediaType: TEXT_PLAIN, body: output.text, fileName: `${output.id}.txt` };
      case 'bbox': {
        const encoding =
          this.#bboxEncodings.find((e) => e.extension === bboxExtension) ?? this.#bboxEncodings[0]!;
        return {
          mediaType: encoding.mediaType,
          body: encoding.encode(output.value),
          fileName: `${output.id}.${encoding.extension}`,
        };
      }
      case 'complex':
        return {
          mediaType: output.stored.format.mimeType,
          body: { file: this.file(jobId, output) },
          fileName: output.stored.file,
        };
      case 'reference':
        throw remoteOnly(output);
    }
  }

  /** The output served at `{outputUrl}/{jobId}/{file}`, or undefined (no such job, output or file). */
  async served(job: Job | undefined, file: string): Promise<ServedOutput | undefined> {
    if (!job || this.#files.outputFile(job.id, file) === undefined) return undefined;
    for (const output of this.outputs(job)) {
      if (output.kind === 'complex' && output.stored.file === file) return this.body(job.id, output);
      if (output.kind === 'literal' && file === `${output.id}.txt`) return this.body(job.id, output);
      if (output.kind === 'bbox') {
        const encoding = this.#bboxEncodings.find((e) => file === `${output.id}.${e.extension}`);
        if (encoding) return this.body(job.id, output, encoding.extension);
      }
    }
    return undefined;
  }
}
