import { invalidParameter, missingParameter, OwsError } from '../core/errors.ts';
import { decodeBase64 } from '../core/base64.ts';
import { KvpParams, parseKvpList, type KvpEntry } from './kvp.ts';
import type {
  OutputDefinition,
  ReferenceInput,
  ResponseForm,
  WpsInput,
  WpsInputValue,
  WpsRequest,
} from './requests.ts';
import {
  attr,
  child,
  children,
  childAny,
  innerXml,
  isElement,
  NS,
  parseXml,
  textOf,
  type XmlElement,
} from './xml.ts';

export const WPS_VERSION = '1.0.0';
const OPERATIONS = ['GetCapabilities', 'DescribeProcess', 'Execute'] as const;

function checkService(service: string | undefined): void {
  if (service === undefined || service.trim() === '')
    throw missingParameter('service', 'Parameter service is required');
  if (service.trim().toUpperCase() !== 'WPS')
    throw invalidParameter('service', `Service '${service}' is not WPS`);
}

function operation(request: string | undefined): (typeof OPERATIONS)[number] {
  if (request === undefined || request.trim() === '')
    throw missingParameter('request', 'Parameter request is required');
  const op = OPERATIONS.find((o) => o.toLowerCase() === request.trim().toLowerCase());
  if (!op) throw new OwsError('OperationNotSupported', `Operation '${request}' is not supported`, request);
  return op;
}

function checkVersion(version: string | undefined): void {
  if (version === undefined || version.trim() === '')
    throw missingParameter('version', 'Parameter version is required');
  if (version.trim() !== WPS_VERSION) {
    throw invalidParameter('version', `Version '${version}' is not supported (supported: ${WPS_VERSION})`);
  }
}

function checkAcceptVersions(versions: string[] | undefined): void {
  if (versions && versions.length > 0 && !versions.includes(WPS_VERSION)) {
    throw new OwsError(
      'VersionNegotiationFailed',
      `None of the versions ${versions.join(', ')} is supported (supported: ${WPS_VERSION})`,
    );
  }
}

const bool = (value: string | undefined, name: string): boolean => {
  if (value === undefined) return false;
  const v = value.trim().toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw invalidParameter(name, `${name} must be true or false, not '${value}'`);
};

// ---- KVP -------------------------------------------------------------------------------------------

function kvpOutput(entry: KvpEntry, parameter: string): OutputDefinition {
  const out: OutputDefinition = { id: entry.id };
  const a = entry.attrs;
  if (a.mimetype) out.mimeType = a.mimetype;
  if (a.encoding) out.encoding = a.encoding;
  if (a.schema) out.schema = a.schema;
  if (a.uom) out.uom = a.uom;
  if (a.asreference !== undefined) out.asReference = bool(a.asreference, parameter);
  return out;
}

function kvpInput(entry: KvpEntry): WpsInput {
  const a = entry.attrs;
  if (a.href !== undefined) {
    const ref: ReferenceInput = { type: 'reference', href: a.href, method: 'GET', headers: [] };
    if (a.method) ref.method = a.method.toUpperCase() === 'POST' ? 'POST' : 'GET';
    if (a.mimetype) ref.mimeType = a.mimetype;
    if (a.encoding) ref.encoding = a.encoding;
    if (a.schema) ref.schema = a.schema;
    return { id: entry.id, value: ref };
  }
  return { id: entry.id, value: { type: 'kvp', value: entry.value, attrs: a } };
}

export function parseKvpRequest(query: string): WpsRequest {
  const p = new KvpParams(query);
  checkService(p.get('service'));
  const op = operation(p.get('request'));
  const language = p.get('language');
  const common = language ? { language } : {};
  if (op === 'GetCapabilities') {
    const accept = p
      .get('acceptversions')
      ?.split(',')
      .map((v) => v.trim())
      .filter(Boolean);
    checkAcceptVersions(accept);
    return { operation: op, ...common, ...(accept ? { acceptVersions: accept } : {}) };
  }
  checkVersion(p.get('version'));
  const identifier = p.get('identifier');
  if (!identifier) throw missingParameter('identifier', 'Parameter identifier is required');
  if (op === 'DescribeProcess') {
    return {
      operation: op,
      ...common,
      identifiers: identifier
        .split(',')
        .map((i) => i.trim())
        .filter(Boolean),
    };
  }
  const inputs = p.list('datainputs') ? parseKvpList(p.list('datainputs')!, 'DataInputs').map(kvpInput) : [];
  const document = p.list('responsedocument');
  const raw = p.list('rawdataoutput');
  if (document && raw) {
    throw invalidParameter('RawDataOutput', 'ResponseDocument and RawDataOutput cannot be used together');
  }
  let responseForm: ResponseForm | undefined;
  if (raw) {
    const outputs = parseKvpList(raw, 'RawDataOutput');
    if (outputs.length !== 1)
      throw invalidParameter('RawDataOutput', 'RawDataOutput names exactly one output');
    responseForm = { kind: 'raw', output: kvpOutput(outputs[0]!, 'RawDataOutput') };
  } else if (document || p.get('storeexecuteresponse') || p.get('status') || p.get('lineage')) {
    responseForm = {
      kind: 'document',
      outputs: document
        ? parseKvpList(document, 'ResponseDocument').map((e) => kvpOutput(e, 'ResponseDocument'))
        : [],
      store: bool(p.get('storeexecuteresponse'), 'storeExecuteResponse'),
      status: bool(p.get('status'), 'status'),
      lineage: bool(p.get('lineage'), 'lineage'),
    };
  }
  return { operation: op, ...common, identifier, inputs, ...(responseForm ? { responseForm } : {}) };
}

// ---- XML -------------------------------------------------------------------------------------------

const identifierOf = (el: XmlElement, where: string): string => {
  const id = child(el, NS.ows, 'Identifier');
  const text = id ? textOf(id).trim() : '';
  if (!text) throw missingParameter('Identifier', `${where}: ows:Identifier is required`);
  return text;
};

const optional = (el: XmlElement, name: string, ns?: string): Record<string, string> => {
  const v = attr(el, name, ns);
  return v === undefined || v === '' ? {} : { [name]: v };
};

function complexContent(el: XmlElement, id: string): string | Uint8Array {
  if (attr(el, 'encoding')?.toLowerCase() === 'base64') return decodeBase64(textOf(el), id);
  if (el.children.some(isElement)) return innerXml(el).trim();
  const cdata = el.children.filter((c) => 'cdata' in c);
  if (cdata.length > 0) {
    // CDATA sections hold the data; whitespace around them is layout.
    return el.children.map((c) => ('cdata' in c ? c.cdata : 'text' in c ? c.text.trim() : '')).join('');
  }
  return textOf(el).trim();
}

function xmlInput(input: XmlElement): WpsInput {
  const id = identifierOf(input, 'wps:Input');
  const reference = childAny(input, 'Reference');
  if (reference) {
    const href = attr(reference, 'href', NS.xlink) ?? attr(reference, 'href');
    if (!href) throw missingParameter(id, `Input '${id}': wps:Reference needs xlink:href`);
    const ref: ReferenceInput = {
      type: 'reference',
      href,
      method: attr(reference, 'method')?.toUpperCase() === 'POST' ? 'POST' : 'GET',
      headers: children(reference, NS.wps, 'Header').map((h) => [
        attr(h, 'key') ?? '',
        attr(h, 'value') ?? '',
      ]),
      ...optional(reference, 'mimeType'),
      ...optional(reference, 'encoding'),
      ...optional(reference, 'schema'),
    };
    const body = child(reference, NS.wps, 'Body');
    if (body) ref.body = body.children.some(isElement) ? innerXml(body).trim() : textOf(body);
    const bodyRef = child(reference, NS.wps, 'BodyReference');
    const bodyHref = bodyRef && (attr(bodyRef, 'href', NS.xlink) ?? attr(bodyRef, 'href'));
    if (bodyHref) ref.bodyReference = bodyHref;
    return { id, value: ref };
  }
  const data = childAny(input, 'Data');
  if (!data) throw missingParameter(id, `Input '${id}' has neither wps:Data nor wps:Reference`);
  const literal = childAny(data, 'LiteralData');
  if (literal) {
    return {
      id,
      value: {
        type: 'literal',
        value: textOf(literal),
        ...optional(literal, 'uom'),
        ...optional(literal, 'dataType'),
      },
    };
  }
  const complex = childAny(data, 'ComplexData');
  if (complex) {
    return {
      id,
      value: {
        type: 'complex',
        data: complexContent(complex, id),
        ...optional(complex, 'mimeType'),
        ...optional(complex, 'encoding'),
        ...optional(complex, 'schema'),
      },
    };
  }
  const bbox = childAny(data, 'BoundingBoxData');
  if (bbox) {
    const lower = childAny(bbox, 'LowerCorner');
    const upper = childAny(bbox, 'UpperCorner');
    if (!lower || !upper)
      throw invalidParameter(id, `Input '${id}': a bounding box needs LowerCorner and UpperCorner`);
    const dimensions = attr(bbox, 'dimensions') ?? attr(bbox, 'dimensions', NS.ows);
    return {
      id,
      value: {
        type: 'bbox',
        lowerCorner: textOf(lower),
        upperCorner: textOf(upper),
        ...optional(bbox, 'crs'),
        ...(dimensions ? { dimensions } : {}),
      },
    };
  }
  throw invalidParameter(id, `Input '${id}': wps:Data needs LiteralData, ComplexData or BoundingBoxData`);
}

function xmlOutput(el: XmlElement, where: string): OutputDefinition {
  const asReference = attr(el, 'asReference');
  return {
    id: identifierOf(el, where),
    ...optional(el, 'mimeType'),
    ...optional(el, 'encoding'),
    ...optional(el, 'schema'),
    ...optional(el, 'uom'),
    ...(asReference !== undefined ? { asReference: bool(asReference, 'asReference') } : {}),
  };
}

function xmlResponseForm(execute: XmlElement): ResponseForm | undefined {
  const form = child(execute, NS.wps, 'ResponseForm');
  if (!form) return undefined;
  const raw = child(form, NS.wps, 'RawDataOutput');
  if (raw) return { kind: 'raw', output: xmlOutput(raw, 'wps:RawDataOutput') };
  const doc = child(form, NS.wps, 'ResponseDocument');
  if (!doc)
    throw invalidParameter('ResponseForm', 'wps:ResponseForm needs ResponseDocument or RawDataOutput');
  return {
    kind: 'document',
    outputs: children(doc, NS.wps, 'Output').map((o) => xmlOutput(o, 'wps:Output')),
    store: bool(attr(doc, 'storeExecuteResponse'), 'storeExecuteResponse'),
    status: bool(attr(doc, 'status'), 'status'),
    lineage: bool(attr(doc, 'lineage'), 'lineage'),
  };
}

export function parseXmlRequest(text: string): WpsRequest {
  const root = parseXml(text);
  if (root.ns !== NS.wps) {
    throw new OwsError('OperationNotSupported', `'${root.local}' is not a WPS 1.0.0 request`, root.local);
  }
  checkService(attr(root, 'service'));
  const op = operation(root.local);
  const language = attr(root, 'language');
  const common = language ? { language } : {};
  if (op === 'GetCapabilities') {
    const accept = child(root, NS.wps, 'AcceptVersions');
    const versions = accept ? children(accept, NS.ows, 'Version').map((v) => textOf(v).trim()) : undefined;
    checkAcceptVersions(versions);
    return { operation: op, ...common, ...(versions ? { acceptVersions: versions } : {}) };
  }
  checkVersion(attr(root, 'version'));
  if (op === 'DescribeProcess') {
    const identifiers = children(root, NS.ows, 'Identifier')
      .map((i) => textOf(i).trim())
      .filter(Boolean);
    if (identifiers.length === 0)
      throw missingParameter('identifier', 'DescribeProcess needs at least one ows:Identifier');
    return { operation: op, ...common, identifiers };
  }
  const dataInputs = child(root, NS.wps, 'DataInputs');
  const inputs = dataInputs ? children(dataInputs, NS.wps, 'Input').map(xmlInput) : [];
  const responseForm = xmlResponseForm(root);
  return {
    operation: op,
    ...common,
    identifier: identifierOf(root, 'wps:Execute'),
    inputs,
    ...(responseForm ? { responseForm } : {}),
  };
}

export type { WpsInputValue };
