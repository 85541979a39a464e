/**
 * WPS 1.0.0 Execute towards a remote server: the request document built from validated inputs,
 * and the ExecuteResponse (or ExceptionReport) read back into a status and outputs.
 */
import { crsKey, matchCrs, parseCrs } from '../../core/crs.ts';
import { OWS_EXCEPTION_CODES, OwsError, type OwsExceptionCode } from '../../core/errors.ts';
import type { OutputRequest } from '../../core/execute.ts';
import { isXmlMimeType } from '../../core/formats.ts';
import { literalText } from '../../core/literal.ts';
import type { Format, InputDescription, ProcessDescription } from '../../core/model.ts';
import { complexBytes } from '../../core/processor.ts';
import type { BoundingBox, InputValue, JobInputs, PendingReference } from '../../core/values.ts';
import { codeReason } from '../http.ts';
import { attr, child, children, innerXml, isElement, NS, textOf, type XmlElement } from '../../wps/xml.ts';

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const cdata = (s: string) => `<![CDATA[${s.replace(/]]>/g, ']]]]><![CDATA[>')}]]>`;
const attrs = (pairs: Record<string, string | undefined>) =>
  Object.entries(pairs)
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => ` ${k}="${esc(v!)}"`)
    .join('');

/** WGS84 written latitude first (URN / http URI of EPSG 4326) or longitude first (EPSG:4326, CRS84). */
function latFirst(crs: string): boolean | undefined {
  const id = parseCrs(crs);
  if (!id || crsKey(crs) !== 'EPSG:4326') return undefined;
  return id.axisOrder === 'authority';
}

/**
 * A box in the remote's spelling of its CRS: the supported CRS that names the same one, with the
 * first two axes swapped when the two spellings put WGS84's axes in different orders
 * (`urn:ogc:def:crs:EPSG::4326` is latitude first, `EPSG:4326` longitude first as read here).
 */
export function boxForRemote(box: BoundingBox, supported: readonly string[]): BoundingBox {
  const crs = matchCrs(box.crs, supported) ?? box.crs;
  const [from, to] = [latFirst(box.crs), latFirst(crs)];
  const swap = (c: number[]) => (c.length >= 2 ? [c[1]!, c[0]!, ...c.slice(2)] : c);
  if (from !== undefined && to !== undefined && from !== to) {
    return { ...box, crs, lowerCorner: swap(box.lowerCorner), upperCorner: swap(box.upperCorner) };
  }
  return { ...box, crs };
}

async function dataXml(value: InputValue, input: InputDescription): Promise<string> {
  if (value.kind === 'literal') {
    const type = input.kind === 'literal' ? input.dataType : 'string';
    return `<wps:LiteralData${attrs({ uom: value.uom })}>${esc(literalText(value.value, type))}</wps:LiteralData>`;
  }
  if (value.kind === 'bbox') {
    const box = boxForRemote(value, input.kind === 'bbox' ? input.crs : []);
    return (
      `<wps:BoundingBoxData${attrs({ crs: box.crs, dimensions: String(box.dimensions) })}>` +
      `<ows:LowerCorner>${box.lowerCorner.join(' ')}</ows:LowerCorner>` +
      `<ows:UpperCorner>${box.upperCorner.join(' ')}</ows:UpperCorner></wps:BoundingBoxData>`
    );
  }
  const f = value.format;
  const head = (encoding: string | undefined) =>
    `<wps:ComplexData${attrs({ mimeType: f.mimeType, encoding, schema: f.schema })}>`;
  const bytes = value.text === undefined ? await complexBytes(value) : undefined;
  const text = value.text ?? (f.encoding === 'base64' ? undefined : decodeUtf8(bytes!));
  if (text === undefined) {
    return `${head('base64')}${Buffer.from(bytes!).toString('base64')}</wps:ComplexData>`;
  }
  if (isXmlMimeType(f.mimeType)) {
    // XML travels as XML (servers parse it as the element content); its declaration cannot.
    const body = text.replace(/^\uFEFF?\s*<\?xml[^>]*\?>/, '');
    return `${head(f.encoding)}${body}</wps:ComplexData>`;
  }
  return `${head(f.encoding)}${cdata(text)}</wps:ComplexData>`;
}

/**
 * A reference input sent as a reference (the provider's forward_references, plain GET references
 * only): the remote fetches it (wps:InputReferenceType).
 */
function referenceXml(ref: PendingReference): string {
  return `<wps:Reference${attrs({
    'xlink:href': ref.href,
    mimeType: ref.mimeType,
    encoding: ref.encoding,
    schema: ref.schema,
  })}/>`;
}

/** Text when the bytes are UTF-8 (without NUL); undefined for binary data (sent as base64). */
function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return text.includes('\u0000') ? undefined : text;
  } catch {
    return undefined;
  }
}

export interface ExecuteDocumentOptions {
  /** storeExecuteResponse="true" status="true": the remote answers at once and is polled. */
  async: boolean;
  /** Complex outputs asked by reference (the remote stores them; they are downloaded). */
  complexByReference: boolean;
}

/** The Execute request document (XML, POST) for a remote process. */
export async function executeDocument(
  description: ProcessDescription,
  inputs: JobInputs,
  outputs: Record<string, OutputRequest>,
  options: ExecuteDocumentOptions,
): Promise<string> {
  const parts: string[] = [];
  for (const [id, values] of Object.entries(inputs)) {
    const input = description.inputs.find((i) => i.id === id);
    if (!input) continue;
    for (const value of values) {
      const content =
        value.kind === 'reference'
          ? referenceXml(value)
          : `<wps:Data>${await dataXml(value, input)}</wps:Data>`;
      parts.push(`<wps:Input><ows:Identifier>${esc(id)}</ows:Identifier>${content}</wps:Input>`);
    }
  }
  const outs = Object.entries(outputs).map(([id, request]) => {
    const output = description.outputs.find((o) => o.id === id);
    const complex = output?.kind === 'complex';
    const format: Format | undefined = complex ? (request.format ?? output.formats[0]) : undefined;
    return `<wps:Output${attrs({
      asReference: complex ? String(options.complexByReference) : undefined,
      mimeType: format?.mimeType,
      encoding: format?.encoding,
      schema: format?.schema,
      uom: request.uom,
    })}><ows:Identifier>${esc(id)}</ows:Identifier></wps:Output>`;
  });
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<wps:Execute service="WPS" version="1.0.0" xmlns:wps="${NS.wps}" xmlns:ows="${NS.ows}" xmlns:xlink="${NS.xlink}">` +
    `<ows:Identifier>${esc(description.id)}</ows:Identifier>` +
    (parts.length ? `<wps:DataInputs>${parts.join('')}</wps:DataInputs>` : '') +
    `<wps:ResponseForm><wps:ResponseDocument${attrs({
      storeExecuteResponse: options.async ? 'true' : 'false',
      status: options.async ? 'true' : 'false',
      lineage: 'false',
    })}>${outs.join('')}</wps:ResponseDocument></wps:ResponseForm></wps:Execute>`
  );
}

/** An output of a remote ExecuteResponse, before anything is fetched. */
export type RemoteOutput =
  | { kind: 'literal'; value: string; uom?: string }
  | { kind: 'bbox'; lowerCorner: number[]; upperCorner: number[]; crs?: string; dimensions: number }
  | { kind: 'complex'; format: Partial<Format>; text?: string; base64?: string }
  | { kind: 'reference'; href: string; format: Partial<Format> };

export type RemoteStatus =
  | { state: 'accepted' | 'running' | 'paused'; percent?: number; message?: string; statusLocation?: string }
  | { state: 'succeeded'; message?: string; outputs: Record<string, RemoteOutput> }
  | { state: 'failed'; error: OwsError };

const asCode = (code: string | undefined): OwsExceptionCode =>
  (OWS_EXCEPTION_CODES as readonly string[]).includes(code ?? '')
    ? (code as OwsExceptionCode)
    : 'NoApplicableCode';

/** An ows:ExceptionReport (or wps:ExceptionReport inside ProcessFailed) → the remote's error. */
export function remoteException(report: XmlElement, prefix: string, httpStatus?: number): OwsError {
  const exception = report.children.find((c): c is XmlElement => isElement(c) && c.local === 'Exception');
  if (!exception) return new OwsError('NoApplicableCode', `${prefix}: the remote failed without saying why`);
  const code = attr(exception, 'exceptionCode');
  const texts = exception.children
    .filter((c): c is XmlElement => isElement(c) && c.local === 'ExceptionText')
    .map((t) => textOf(t).trim())
    .filter((t) => t !== '');
  const locator = attr(exception, 'locator');
  const known = asCode(code);
  const detail = texts.join('; ') || 'no exception text';
  return new OwsError(
    known,
    `${prefix}: ${known === code ? '' : `${code ?? 'unknown'}: `}${detail}`,
    locator && locator !== 'None' ? locator : undefined,
    codeReason(known, httpStatus),
  );
}

const corner = (el: XmlElement | undefined, what: string): number[] => {
  const values = (el ? textOf(el).trim() : '')
    .split(/\s+/)
    .filter((s) => s !== '')
    .map(Number);
  if (values.length === 0 || values.some((n) => !Number.isFinite(n)))
    throw new Error(`a bounding box output has an invalid ${what}`);
  return values;
};

function readOutput(el: XmlElement): RemoteOutput {
  const reference = child(el, NS.wps, 'Reference');
  if (reference) {
    const href = attr(reference, 'href', NS.xlink) ?? attr(reference, 'href');
    if (!href) throw new Error('an output reference has no href');
    return { kind: 'reference', href, format: formatOf(reference) };
  }
  const data = child(el, NS.wps, 'Data');
  if (!data) throw new Error('an output has neither Data nor Reference');
  const literal = child(data, NS.wps, 'LiteralData');
  if (literal) {
    const uom = attr(literal, 'uom');
    return { kind: 'literal', value: textOf(literal).trim(), ...(uom ? { uom } : {}) };
  }
  const box = child(data, NS.wps, 'BoundingBoxData') ?? child(data, NS.ows, 'BoundingBox');
  if (box) {
    const lowerCorner = corner(child(box, NS.ows, 'LowerCorner'), 'lower corner');
    const upperCorner = corner(child(box, NS.ows, 'UpperCorner'), 'upper corner');
    const crs = attr(box, 'crs');
    return {
      kind: 'bbox',
      lowerCorner,
      upperCorner,
      ...(crs && crs !== 'None' ? { crs } : {}),
      dimensions: Number(attr(box, 'dimensions') ?? lowerCorner.length) || lowerCorner.length,
    };
  }
  const complex = child(data, NS.wps, 'ComplexData');
  if (complex) {
    const format = formatOf(complex);
    const hasElements = complex.children.some(isElement);
    const content = hasElements ? innerXml(complex).trim() : textOf(complex);
    if (format.encoding?.toLowerCase() === 'base64') return { kind: 'complex', format, base64: content };
    return { kind: 'complex', format, text: hasElements ? content : content.trim() };
  }
  throw new Error('an output has data of an unknown kind');
}

function formatOf(el: XmlElement): Partial<Format> {
  const mimeType = attr(el, 'mimeType');
  const encoding = attr(el, 'encoding');
  const schema = attr(el, 'schema');
  return {
    ...(mimeType ? { mimeType } : {}),
    ...(encoding ? { encoding } : {}),
    ...(schema ? { schema } : {}),
  };
}

/**
 * Reads an ExecuteResponse (or an ExceptionReport) into a status. Throws an Error for a document
 * that is neither (the caller reports it as malformed).
 */
export function readExecuteResponse(root: XmlElement, prefix: string, httpStatus?: number): RemoteStatus {
  if (root.local === 'ExceptionReport' && root.ns === NS.ows) {
    return { state: 'failed', error: remoteException(root, prefix, httpStatus) };
  }
  if (root.ns !== NS.wps || root.local !== 'ExecuteResponse')
    throw new Error(`expected wps:ExecuteResponse, got ${root.name}`);
  const status = child(root, NS.wps, 'Status');
  if (!status) throw new Error('wps:ExecuteResponse without wps:Status');
  const state = status.children.find(isElement);
  if (!state) throw new Error('wps:Status is empty');
  const statusLocation = attr(root, 'statusLocation') || undefined;
  const message = textOf(state).trim() || undefined;
  const percentText = attr(state, 'percentCompleted');
  const percent = percentText === undefined ? undefined : Number(percentText);
  const progress = {
    ...(percent !== undefined && Number.isFinite(percent) ? { percent } : {}),
    ...(message ? { message } : {}),
    ...(statusLocation ? { statusLocation } : {}),
  };
  switch (state.local) {
    case 'ProcessAccepted':
      return { state: 'accepted', ...progress };
    case 'ProcessStarted':
      return { state: 'running', ...progress };
    case 'ProcessPaused':
      return { state: 'paused', ...progress };
    case 'ProcessFailed': {
      const report = state.children.find(
        (c): c is XmlElement => isElement(c) && c.local === 'ExceptionReport',
      );
      return {
        state: 'failed',
        error: report
          ? remoteException(report, prefix)
          : new OwsError('NoApplicableCode', `${prefix}: ${message ?? 'failed'}`),
      };
    }
    case 'ProcessSucceeded': {
      const outputs: Record<string, RemoteOutput> = {};
      const list = child(root, NS.wps, 'ProcessOutputs');
      for (const out of list ? children(list, NS.wps, 'Output') : []) {
        const id = child(out, NS.ows, 'Identifier');
        if (!id) throw new Error('an output has no identifier');
        outputs[textOf(id).trim()] = readOutput(out);
      }
      return { state: 'succeeded', ...(message ? { message } : {}), outputs };
    }
    default:
      throw new Error(`unknown status ${state.name}`);
  }
}
