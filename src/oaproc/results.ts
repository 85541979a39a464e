import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { crsUriAsWritten } from '../core/crs.ts';
import { isJsonMimeType } from '../core/formats.ts';
import type { Job } from '../core/job.ts';
import type { BoundingBox, LiteralScalar } from '../core/values.ts';
import {
  contentSafetyHeaders,
  type BoundingBoxEncoding,
  type DeliveredOutput,
  type ResultDelivery,
} from '../results/delivery.ts';
import type { OaprocJobOptions, ResponseType } from './execute-request.ts';
import { REL } from './links.ts';

/** A response of the results part of the API, before it meets koa. */
export interface ResultsReply {
  status: number;
  headers: Record<string, string | string[]>;
  /** A JSON value (sent as application/json), text or bytes, or a stream. */
  body?: { json: unknown } | string | Buffer | Readable;
}

/** bbox.yaml: the corners in one array, the CRS as a URI. */
export const bboxJson = (bbox: BoundingBox) => ({
  bbox: [...bbox.lowerCorner, ...bbox.upperCorner],
  crs: crsUriAsWritten(bbox.crs),
});

/** Bounding boxes served as files by this binding. */
export const BBOX_JSON: BoundingBoxEncoding = {
  extension: 'json',
  mediaType: 'application/json',
  encode: (bbox) => JSON.stringify(bboxJson(bbox)),
};

const literalJson = (value: LiteralScalar): string | number | boolean =>
  value instanceof Date ? value.toISOString() : value;

/** How the client asked for the results: raw or document (a WPS job's results are a document). */
export function responseType(job: Job): ResponseType {
  const binding = job.request.binding;
  return binding?.protocol === 'oaproc' ? (binding as OaprocJobOptions).response : 'document';
}

/** An output in a results document (results.yaml: a value, a qualified value or a link). */
async function documentValue(job: Job, output: DeliveredOutput, delivery: ResultDelivery): Promise<unknown> {
  if (output.transmission === 'reference' || output.kind === 'reference') {
    // A remote server's URL when the job holds the output as one (a provider's pass-through).
    const ref = delivery.reference(job.id, output, BBOX_JSON.extension);
    return { href: ref.href, type: ref.format.mimeType };
  }
  switch (output.kind) {
    case 'literal':
      return output.value.uom
        ? { value: literalJson(output.value.value), uom: output.value.uom }
        : literalJson(output.value.value);
    case 'bbox':
      return bboxJson(output.value);
    case 'complex': {
      const inline = await delivery.inline(job.id, output);
      const { mimeType, encoding, schema } = inline.format;
      let value: unknown = inline.content;
      if (inline.as === 'text' && isJsonMimeType(mimeType)) {
        try {
          value = JSON.parse(inline.content);
        } catch {
          value = inline.content;
        }
      }
      return {
        value,
        mediaType: mimeType,
        ...(inline.as === 'base64' ? { encoding: 'base64' } : encoding ? { encoding } : {}),
        ...(schema ? { schema } : {}),
      };
    }
  }
}

/** The bare value of one output (raw response), with its media type. */
function rawValue(
  job: Job,
  output: DeliveredOutput,
  delivery: ResultDelivery,
  prefersJson: boolean,
): { mediaType: string; body: string | Readable } {
  if (output.kind === 'literal' && prefersJson) {
    return { mediaType: 'application/json', body: JSON.stringify(literalJson(output.value.value)) };
  }
  const served = delivery.body(job.id, output, BBOX_JSON.extension);
  return {
    mediaType: served.mediaType,
    body: typeof served.body === 'string' ? served.body : createReadStream(served.body.file),
  };
}

const linkHeader = (href: string, id: string, type: string) =>
  `<${href}>; rel="${REL.results}"; type="${type}"; title="${id.replace(/"/g, '')}"`;

/** multipart/related (RFC 2387): one part per output, `Content-ID` = the output id. */
function multipart(
  job: Job,
  outputs: DeliveredOutput[],
  delivery: ResultDelivery,
  prefersJson: boolean,
): ResultsReply {
  const boundary = `gateway-${randomUUID()}`;
  const first = outputs[0]!;
  const rootType =
    first.transmission === 'reference'
      ? delivery.reference(job.id, first, BBOX_JSON.extension).format.mimeType
      : first.kind === 'literal' && prefersJson
        ? 'application/json'
        : delivery.body(job.id, first, BBOX_JSON.extension).mediaType;
  async function* parts(): AsyncGenerator<Buffer | string> {
    for (const output of outputs) {
      yield `--${boundary}\r\nContent-ID: <${output.id}>\r\n`;
      if (output.transmission === 'reference') {
        const ref = delivery.reference(job.id, output, BBOX_JSON.extension);
        yield `Content-Type: ${ref.format.mimeType}\r\nContent-Location: ${ref.href}\r\n\r\n\r\n`;
        continue;
      }
      const { mediaType, body } = rawValue(job, output, delivery, prefersJson);
      yield `Content-Type: ${mediaType}\r\n\r\n`;
      if (typeof body === 'string') yield body;
      else for await (const chunk of body) yield chunk as Buffer;
      yield '\r\n';
    }
    yield `--${boundary}--\r\n`;
  }
  return {
    status: 200,
    headers: {
      'Content-Type': `multipart/related; boundary=${boundary}; type="${rootType.replace(/"/g, '')}"`,
      ...contentSafetyHeaders('multipart/related', 'results'),
    },
    body: Readable.from(parts()),
  };
}

/** results.yaml: every output of a successful job, by value or by reference as the request asked. */
export async function resultsDocument(job: Job, delivery: ResultDelivery): Promise<Record<string, unknown>> {
  const document: Record<string, unknown> = {};
  for (const output of delivery.outputs(job))
    document[output.id] = await documentValue(job, output, delivery);
  return document;
}

/**
 * The results of a successful job as OGC API - Processes 1.0 serves them (the response matrix of
 * clause 7): a document (200 JSON), one raw value (200 in its media type), several raw values or
 * a mix (200 multipart/related), raw references only (204 with one Link header per output).
 */
export async function resultsReply(
  job: Job,
  delivery: ResultDelivery,
  prefersJson: boolean,
): Promise<ResultsReply> {
  const outputs = delivery.outputs(job);
  if (responseType(job) === 'document') {
    return { status: 200, headers: {}, body: { json: await resultsDocument(job, delivery) } };
  }
  if (outputs.length > 0 && outputs.every((o) => o.transmission === 'reference')) {
    return {
      status: 204,
      headers: {
        Link: outputs.map((o) => {
          const ref = delivery.reference(job.id, o, BBOX_JSON.extension);
          return linkHeader(ref.href, o.id, ref.format.mimeType);
        }),
      },
    };
  }
  if (outputs.length === 1) {
    const output = outputs[0]!;
    const { mediaType, body } = rawValue(job, output, delivery, prefersJson);
    // Client content from this server's origin: never sniffed or run, active types downloaded.
    const fileName = output.kind === 'complex' ? output.stored.file : output.id;
    return {
      status: 200,
      headers: { 'Content-Type': mediaType, ...contentSafetyHeaders(mediaType, fileName) },
      body,
    };
  }
  if (outputs.length === 0) return { status: 204, headers: {} };
  return multipart(job, outputs, delivery, prefersJson);
}
