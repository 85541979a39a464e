import { formatNumber, literalText } from '../core/literal.ts';
import { XMLValidator } from 'fast-xml-parser';
import { create, fragment } from 'xmlbuilder2';
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces.js';
import type { Config } from '../config/types.ts';
import type { OwsErrorJson } from '../core/errors.ts';
import type {
  AllowedValues,
  ComplexDomain,
  Format,
  LiteralDataType,
  MetadataLink,
  OutputDescription,
  ProcessDescription,
} from '../core/model.ts';
import type { BoundingBox, LiteralValue } from '../core/values.ts';
import { NS } from './xml.ts';

const ROOT_NS = { 'xmlns:wps': NS.wps, 'xmlns:ows': NS.ows, 'xmlns:xlink': NS.xlink, 'xmlns:xsi': NS.xsi };
const SCHEMAS = 'http://schemas.opengis.net/wps/1.0.0';
/** WPS 1.0.0 cannot say "unbounded" (maxOccurs is a positiveInteger): advertised as this many. */
export const UNBOUNDED_MAX_OCCURS = 1000;

const doc = () => create({ version: '1.0', encoding: 'UTF-8' });
/** Characters XML 1.0 cannot carry, even escaped (control characters, lone surrogates, U+FFFE/U+FFFF). */
const NOT_XML_CHAR = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;
/** Serialized documents never carry a character XML forbids: process text becomes U+FFFD there. */
const end = (node: XMLBuilder) => {
  escapeAmpersands(node.root().node as unknown as DomNode);
  return node.end({ prettyPrint: true }).replace(NOT_XML_CHAR, '\uFFFD');
};

interface DomNode {
  nodeType: number;
  data?: string;
  firstChild: DomNode | null;
  nextSibling: DomNode | null;
  attributes?: Iterable<{ value: string }>;
}

/**
 * xmlbuilder2 leaves `&` unescaped when it looks like the start of a reference (`&amp;`, `&x;`,
 * `&#0;`), so client text such as `&x;` in an exception message or a literal output would break the
 * document or change on reading. Escaping every `&` in the tree first makes its writer emit exactly
 * one `&amp;` per `&` (it leaves the now well-formed `&amp;` alone). Iterative: any depth.
 */
function escapeAmpersands(root: DomNode): void {
  const stack: DomNode[] = [root];
  for (let n = stack.pop(); n; n = stack.pop()) {
    if (n.nodeType === 3 && n.data?.includes('&')) n.data = n.data.replace(/&/g, '&amp;');
    if (n.nodeType === 1 && n.attributes) {
      for (const a of n.attributes) if (a.value.includes('&')) a.value = a.value.replace(/&/g, '&amp;');
    }
    for (let c = n.firstChild; c; c = c.nextSibling) stack.push(c);
  }
}

/**
 * Text as CDATA, unless it holds `]]>` (which would end the section): then as escaped text. One text
 * node either way, so pretty-printing adds nothing inside it.
 */
function appendCdata(parent: XMLBuilder, text: string): void {
  if (text.includes(']]>')) parent.txt(text);
  else parent.dat(text);
}

function root(name: string, schema: string, lang: string, extra: Record<string, string> = {}): XMLBuilder {
  return doc()
    .ele(NS.wps, `wps:${name}`, { ...ROOT_NS, service: 'WPS', version: '1.0.0', ...extra })
    .att(NS.xml, 'xml:lang', lang)
    .att(NS.xsi, 'xsi:schemaLocation', `${NS.wps} ${SCHEMAS}/${schema}`);
}

// ---- Exception report --------------------------------------------------------------------------------

function appendExceptionReport(
  parent: XMLBuilder,
  error: OwsErrorJson,
  lang: string | undefined,
  rootAttrs: Record<string, string> = {},
): void {
  const report = parent.ele(NS.ows, 'ows:ExceptionReport', { ...rootAttrs, version: '1.0.0' });
  if (lang) report.att(NS.xml, 'xml:lang', lang);
  const exception = report.ele(NS.ows, 'ows:Exception', { exceptionCode: error.code });
  if (error.locator) exception.att('locator', error.locator);
  exception.ele(NS.ows, 'ows:ExceptionText').txt(error.message);
}

export function exceptionReport(error: OwsErrorJson, lang?: string): string {
  const d = doc();
  appendExceptionReport(d, error, lang, {
    'xmlns:ows': NS.ows,
    'xmlns:xsi': NS.xsi,
    'xsi:schemaLocation': `${NS.ows} http://schemas.opengis.net/ows/1.1.0/owsExceptionReport.xsd`,
  });
  return end(d);
}

// ---- Shared pieces --------------------------------------------------------------------------------------

function metadata(parent: XMLBuilder, links: MetadataLink[] | undefined): void {
  for (const m of links ?? []) {
    const el = parent.ele(NS.ows, 'ows:Metadata').att(NS.xlink, 'xlink:href', m.href);
    if (m.title) el.att(NS.xlink, 'xlink:title', m.title);
    if (m.role) el.att(NS.xlink, 'xlink:role', m.role);
  }
}

function described(
  parent: XMLBuilder,
  d: { id: string; title: string; abstract?: string; metadata?: MetadataLink[] },
  abstract: 'always' | 'optional',
): void {
  parent.ele(NS.ows, 'ows:Identifier').txt(d.id);
  parent.ele(NS.ows, 'ows:Title').txt(d.title);
  // QGIS aligns processes by index of ows:Abstract: every process gets one.
  if (d.abstract || abstract === 'always') parent.ele(NS.ows, 'ows:Abstract').txt(d.abstract ?? d.title);
  metadata(parent, d.metadata);
}

const XSD_TYPES: Record<LiteralDataType, string> = {
  string: 'string',
  integer: 'integer',
  double: 'double',
  float: 'float',
  boolean: 'boolean',
  positiveInteger: 'positiveInteger',
  nonNegativeInteger: 'nonNegativeInteger',
  date: 'date',
  dateTime: 'dateTime',
  time: 'time',
  anyURI: 'anyURI',
};

function dataType(parent: XMLBuilder, type: LiteralDataType): void {
  parent
    .ele(NS.ows, 'ows:DataType')
    .att(NS.ows, 'ows:reference', `http://www.w3.org/TR/xmlschema-2/#${XSD_TYPES[type]}`)
    .txt(XSD_TYPES[type]);
}

function uoms(parent: XMLBuilder, u: { default: string; supported: string[] } | undefined): void {
  if (!u) return;
  const el = parent.ele('UOMs');
  el.ele('Default').ele(NS.ows, 'ows:UOM').txt(u.default);
  const supported = el.ele('Supported');
  for (const s of u.supported) supported.ele(NS.ows, 'ows:UOM').txt(s);
}

function allowedValues(parent: XMLBuilder, allowed: AllowedValues | undefined): void {
  if (!allowed || ((allowed.values?.length ?? 0) === 0 && (allowed.ranges?.length ?? 0) === 0)) {
    parent.ele(NS.ows, 'ows:AnyValue');
    return;
  }
  const el = parent.ele(NS.ows, 'ows:AllowedValues');
  for (const v of allowed.values ?? []) el.ele(NS.ows, 'ows:Value').txt(String(v));
  for (const r of allowed.ranges ?? []) {
    const range = el.ele(NS.ows, 'ows:Range').att(NS.ows, 'ows:rangeClosure', r.closure ?? 'closed');
    if (r.minimum !== undefined) range.ele(NS.ows, 'ows:MinimumValue').txt(formatNumber(r.minimum));
    if (r.maximum !== undefined) range.ele(NS.ows, 'ows:MaximumValue').txt(formatNumber(r.maximum));
    if (r.spacing !== undefined) range.ele(NS.ows, 'ows:Spacing').txt(formatNumber(r.spacing));
  }
}

function format(parent: XMLBuilder, f: Format): void {
  const el = parent.ele('Format');
  el.ele('MimeType').txt(f.mimeType);
  if (f.encoding) el.ele('Encoding').txt(f.encoding);
  if (f.schema) el.ele('Schema').txt(f.schema);
}

function complexFormats(el: XMLBuilder, domain: ComplexDomain): void {
  format(el.ele('Default'), domain.formats[0]!);
  const supported = el.ele('Supported');
  for (const f of domain.formats) format(supported, f);
}

function crsList(el: XMLBuilder, crs: string[]): void {
  el.ele('Default').ele('CRS').txt(crs[0]!);
  const supported = el.ele('Supported');
  for (const c of crs) supported.ele('CRS').txt(c);
}

// ---- GetCapabilities -------------------------------------------------------------------------------------

export interface Endpoints {
  /** The WPS endpoint, absolute. */
  wps: string;
}

export function capabilities(
  config: Config,
  processes: ProcessDescription[],
  lang: string,
  endpoints: Endpoints,
): string {
  const { identification: id, provider, contact } = config.metadata;
  const caps = root('Capabilities', 'wpsGetCapabilities_response.xsd', lang);
  const si = caps.ele(NS.ows, 'ows:ServiceIdentification');
  si.ele(NS.ows, 'ows:Title').txt(id.title);
  si.ele(NS.ows, 'ows:Abstract').txt(id.abstract || id.title);
  if (id.keywords.length > 0) {
    const kw = si.ele(NS.ows, 'ows:Keywords');
    for (const k of id.keywords) kw.ele(NS.ows, 'ows:Keyword').txt(k);
    if (id.keywordsType) kw.ele(NS.ows, 'ows:Type').txt(id.keywordsType);
  }
  si.ele(NS.ows, 'ows:ServiceType').txt('WPS');
  si.ele(NS.ows, 'ows:ServiceTypeVersion').txt('1.0.0');
  if (id.profile) si.ele(NS.ows, 'ows:Profile').txt(id.profile);
  si.ele(NS.ows, 'ows:Fees').txt(id.fees);
  si.ele(NS.ows, 'ows:AccessConstraints').txt(id.accessConstraints);

  const sp = caps.ele(NS.ows, 'ows:ServiceProvider');
  sp.ele(NS.ows, 'ows:ProviderName').txt(provider.name || id.title);
  if (provider.url) sp.ele(NS.ows, 'ows:ProviderSite').att(NS.xlink, 'xlink:href', provider.url);
  const sc = sp.ele(NS.ows, 'ows:ServiceContact');
  if (contact.name) sc.ele(NS.ows, 'ows:IndividualName').txt(contact.name);
  if (contact.position) sc.ele(NS.ows, 'ows:PositionName').txt(contact.position);
  const ci = sc.ele(NS.ows, 'ows:ContactInfo');
  if (contact.phone || contact.fax) {
    const phone = ci.ele(NS.ows, 'ows:Phone');
    if (contact.phone) phone.ele(NS.ows, 'ows:Voice').txt(contact.phone);
    if (contact.fax) phone.ele(NS.ows, 'ows:Facsimile').txt(contact.fax);
  }
  const address = ci.ele(NS.ows, 'ows:Address');
  const put = (name: string, value: string) => value && address.ele(NS.ows, `ows:${name}`).txt(value);
  put('DeliveryPoint', contact.address);
  put('City', contact.city);
  put('AdministrativeArea', contact.stateOrProvince);
  put('PostalCode', contact.postalCode);
  put('Country', contact.country);
  put('ElectronicMailAddress', contact.email);
  if (contact.url) ci.ele(NS.ows, 'ows:OnlineResource').att(NS.xlink, 'xlink:href', contact.url);
  if (contact.hours) ci.ele(NS.ows, 'ows:HoursOfService').txt(contact.hours);
  if (contact.instructions) ci.ele(NS.ows, 'ows:ContactInstructions').txt(contact.instructions);
  if (contact.role) sc.ele(NS.ows, 'ows:Role').txt(contact.role);

  const om = caps.ele(NS.ows, 'ows:OperationsMetadata');
  for (const op of ['GetCapabilities', 'DescribeProcess', 'Execute']) {
    const http = om.ele(NS.ows, 'ows:Operation', { name: op }).ele(NS.ows, 'ows:DCP').ele(NS.ows, 'ows:HTTP');
    http.ele(NS.ows, 'ows:Get').att(NS.xlink, 'xlink:href', `${endpoints.wps}?`);
    http.ele(NS.ows, 'ows:Post').att(NS.xlink, 'xlink:href', endpoints.wps);
  }

  const offerings = caps.ele(NS.wps, 'wps:ProcessOfferings');
  for (const p of processes) {
    const el = offerings.ele(NS.wps, 'wps:Process').att(NS.wps, 'wps:processVersion', p.version);
    described(el, p, 'always');
  }
  const languages = caps.ele(NS.wps, 'wps:Languages');
  languages.ele(NS.wps, 'wps:Default').ele(NS.ows, 'ows:Language').txt(config.server.languages[0]!);
  const supported = languages.ele(NS.wps, 'wps:Supported');
  for (const l of config.server.languages) supported.ele(NS.ows, 'ows:Language').txt(l);
  return end(caps);
}

// ---- DescribeProcess ---------------------------------------------------------------------------------------

export function processDescriptions(processes: ProcessDescription[], lang: string): string {
  const rootEl = root('ProcessDescriptions', 'wpsDescribeProcess_response.xsd', lang);
  for (const p of processes) {
    const async = p.jobControlOptions.includes('async-execute');
    const pd = rootEl
      .ele('ProcessDescription')
      .att(NS.wps, 'wps:processVersion', p.version)
      .att('storeSupported', String(async))
      .att('statusSupported', String(async));
    described(pd, p, 'always');
    if (p.inputs.length > 0) {
      const inputs = pd.ele('DataInputs');
      for (const input of p.inputs) {
        const max = input.maxOccurs === 'unbounded' ? UNBOUNDED_MAX_OCCURS : input.maxOccurs;
        const el = inputs.ele('Input', { minOccurs: String(input.minOccurs), maxOccurs: String(max) });
        described(el, input, 'optional');
        if (input.kind === 'literal') {
          const lit = el.ele('LiteralData');
          dataType(lit, input.dataType);
          uoms(lit, input.uoms);
          allowedValues(lit, input.allowedValues);
          if (input.defaultValue !== undefined) lit.ele('DefaultValue').txt(String(input.defaultValue));
        } else if (input.kind === 'complex') {
          const cx = el.ele('ComplexData');
          if (input.maximumMegabytes !== undefined)
            cx.att('maximumMegabytes', String(Math.ceil(input.maximumMegabytes)));
          complexFormats(cx, input);
        } else {
          crsList(el.ele('BoundingBoxData'), input.crs);
        }
      }
    }
    const outputs = pd.ele('ProcessOutputs');
    for (const output of p.outputs) {
      const el = outputs.ele('Output');
      described(el, output, 'optional');
      if (output.kind === 'literal') {
        const lit = el.ele('LiteralOutput');
        dataType(lit, output.dataType);
        uoms(lit, output.uoms);
      } else if (output.kind === 'complex') {
        complexFormats(el.ele('ComplexOutput'), output);
      } else {
        crsList(el.ele('BoundingBoxOutput'), output.crs);
      }
    }
  }
  return end(rootEl);
}

// ---- ExecuteResponse ---------------------------------------------------------------------------------------

export type WpsStatus =
  | { kind: 'ProcessAccepted'; message: string }
  | { kind: 'ProcessStarted'; message: string; percent: number }
  | { kind: 'ProcessSucceeded'; message: string }
  | { kind: 'ProcessFailed'; error: OwsErrorJson };

/** One output as it goes into the document: by reference, or by value. */
export type RenderedOutput =
  | { description: OutputDescription; reference: { href: string; format: Format } }
  | { description: OutputDescription; literal: LiteralValue; dataType: LiteralDataType }
  | { description: OutputDescription; bbox: BoundingBox }
  | {
      description: OutputDescription;
      complex: { format: Format; content: string; as: 'xml' | 'cdata' | 'base64' };
    };

export type LineageInput =
  | { id: string; title?: string; literal: { value: string; uom?: string; dataType?: string } }
  | {
      id: string;
      title?: string;
      complex: { data: string; mimeType?: string; encoding?: string; schema?: string };
    }
  | {
      id: string;
      title?: string;
      bbox: { lowerCorner: string; upperCorner: string; crs?: string; dimensions?: string };
    }
  | {
      id: string;
      title?: string;
      reference: { href: string; method: string; mimeType?: string; encoding?: string; schema?: string };
    };

export interface LineageOutput {
  id: string;
  title?: string;
  mimeType?: string;
  encoding?: string;
  schema?: string;
  uom?: string;
  asReference?: boolean;
}

export interface ExecuteResponseDocument {
  process: ProcessDescription;
  serviceInstance: string;
  statusLocation?: string;
  lang: string;
  creationTime: Date;
  status: WpsStatus;
  lineage?: { inputs: LineageInput[]; outputs: LineageOutput[] };
  outputs?: RenderedOutput[];
}

const isoSeconds = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Embeds XML content as elements when it is well-formed, else as CDATA (never a broken document). */
function appendXmlContent(parent: XMLBuilder, xml: string): void {
  if (XMLValidator.validate(`<r>${xml}</r>`) === true) parent.import(fragment(xml));
  else appendCdata(parent, xml);
}

export function executeResponse(d: ExecuteResponseDocument): string {
  const extra: Record<string, string> = { serviceInstance: d.serviceInstance };
  if (d.statusLocation) extra.statusLocation = d.statusLocation;
  const rootEl = root('ExecuteResponse', 'wpsExecute_response.xsd', d.lang, extra);
  const process = rootEl.ele(NS.wps, 'wps:Process').att(NS.wps, 'wps:processVersion', d.process.version);
  described(process, d.process, 'optional');
  const status = rootEl.ele(NS.wps, 'wps:Status', { creationTime: isoSeconds(d.creationTime) });
  switch (d.status.kind) {
    case 'ProcessAccepted':
    case 'ProcessSucceeded':
      status.ele(NS.wps, `wps:${d.status.kind}`).txt(d.status.message);
      break;
    case 'ProcessStarted':
      status
        .ele(NS.wps, 'wps:ProcessStarted', {
          percentCompleted: String(Math.max(0, Math.min(99, Math.floor(d.status.percent)))),
        })
        .txt(d.status.message);
      break;
    case 'ProcessFailed':
      appendExceptionReport(status.ele(NS.wps, 'wps:ProcessFailed'), d.status.error, undefined);
      break;
  }
  if (d.lineage) {
    if (d.lineage.inputs.length > 0) {
      const inputs = rootEl.ele(NS.wps, 'wps:DataInputs');
      for (const input of d.lineage.inputs) {
        const el = inputs.ele(NS.wps, 'wps:Input');
        el.ele(NS.ows, 'ows:Identifier').txt(input.id);
        if (input.title) el.ele(NS.ows, 'ows:Title').txt(input.title);
        if ('reference' in input) {
          const { href, method, ...attrs } = input.reference;
          el.ele(NS.wps, 'wps:Reference', { ...definedAttrs(attrs), method }).att(
            NS.xlink,
            'xlink:href',
            href,
          );
          continue;
        }
        const data = el.ele(NS.wps, 'wps:Data');
        if ('literal' in input) {
          const { value, ...attrs } = input.literal;
          data.ele(NS.wps, 'wps:LiteralData', definedAttrs(attrs)).txt(value);
        } else if ('complex' in input) {
          const { data: content, ...attrs } = input.complex;
          const cx = data.ele(NS.wps, 'wps:ComplexData', definedAttrs(attrs));
          if (attrs.encoding?.toLowerCase() !== 'base64' && looksLikeXml(content))
            appendXmlContent(cx, content);
          else appendCdata(cx, content);
        } else {
          const bb = data.ele(
            NS.wps,
            'wps:BoundingBoxData',
            definedAttrs({ crs: input.bbox.crs, dimensions: input.bbox.dimensions }),
          );
          bb.ele(NS.ows, 'ows:LowerCorner').txt(input.bbox.lowerCorner);
          bb.ele(NS.ows, 'ows:UpperCorner').txt(input.bbox.upperCorner);
        }
      }
    }
    const defs = d.lineage.outputs.length > 0 ? rootEl.ele(NS.wps, 'wps:OutputDefinitions') : undefined;
    for (const o of d.lineage.outputs) {
      const el = defs!.ele(
        NS.wps,
        'wps:Output',
        definedAttrs({
          mimeType: o.mimeType,
          encoding: o.encoding,
          schema: o.schema,
          uom: o.uom,
          asReference: o.asReference === undefined ? undefined : String(o.asReference),
        }),
      );
      el.ele(NS.ows, 'ows:Identifier').txt(o.id);
      if (o.title) el.ele(NS.ows, 'ows:Title').txt(o.title);
    }
  }
  if (d.outputs && d.outputs.length > 0) {
    const outputs = rootEl.ele(NS.wps, 'wps:ProcessOutputs');
    for (const o of d.outputs) {
      const el = outputs.ele(NS.wps, 'wps:Output');
      described(el, o.description, 'optional');
      if ('reference' in o) {
        el.ele(NS.wps, 'wps:Reference', {
          href: o.reference.href,
          ...definedAttrs({ ...o.reference.format }),
        });
        continue;
      }
      const data = el.ele(NS.wps, 'wps:Data');
      if ('literal' in o) {
        const attrs = definedAttrs({ dataType: o.dataType, uom: o.literal.uom });
        data.ele(NS.wps, 'wps:LiteralData', attrs).txt(literalText(o.literal.value, o.dataType));
      } else if ('bbox' in o) {
        const bb = data.ele(NS.wps, 'wps:BoundingBoxData', {
          crs: o.bbox.crs,
          dimensions: String(o.bbox.dimensions),
        });
        bb.ele(NS.ows, 'ows:LowerCorner').txt(o.bbox.lowerCorner.map(formatNumber).join(' '));
        bb.ele(NS.ows, 'ows:UpperCorner').txt(o.bbox.upperCorner.map(formatNumber).join(' '));
      } else {
        const { format: f, content, as } = o.complex;
        const cx = data.ele(
          NS.wps,
          'wps:ComplexData',
          definedAttrs({ ...f, encoding: as === 'base64' ? 'base64' : f.encoding }),
        );
        if (as === 'xml') appendXmlContent(cx, content);
        else if (as === 'cdata') appendCdata(cx, content);
        else cx.txt(content);
      }
    }
  }
  return end(rootEl);
}

function definedAttrs(attrs: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(attrs).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''),
  );
}

export const looksLikeXml = (s: string): boolean => /^\s*</.test(s);

/** The document a bounding box output is served as by reference or as raw data. */
export function boundingBoxDocument(bbox: BoundingBox): string {
  const d = doc();
  const el = d.ele(NS.ows, 'ows:BoundingBox', {
    'xmlns:ows': NS.ows,
    crs: bbox.crs,
    dimensions: String(bbox.dimensions),
  });
  el.ele(NS.ows, 'ows:LowerCorner').txt(bbox.lowerCorner.map(formatNumber).join(' '));
  el.ele(NS.ows, 'ows:UpperCorner').txt(bbox.upperCorner.map(formatNumber).join(' '));
  return end(d);
}
