import { formatNumber, literalText } from '../core/literal.ts';
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
import { isWellFormedContent, NS } from './xml.ts';
import { XmlWriter, type XmlAttributes } from './xml-writer.ts';

/** The namespaces every WPS document declares on its root element. */
const ROOT_NS = { 'xmlns:wps': NS.wps, 'xmlns:ows': NS.ows, 'xmlns:xlink': NS.xlink, 'xmlns:xsi': NS.xsi };
/** The same, as prefixes in scope for XML content written into a WPS document. */
const IN_SCOPE = { wps: NS.wps, ows: NS.ows, xlink: NS.xlink, xsi: NS.xsi };
const SCHEMAS = 'http://schemas.opengis.net/wps/1.0.0';
/** WPS 1.0.0 cannot say "unbounded" (maxOccurs is a positiveInteger): advertised as this many. */
export const UNBOUNDED_MAX_OCCURS = 1000;

/** Text as CDATA, unless it cannot be (see XmlWriter.cdata). */
const appendCdata = (w: XmlWriter, text: string) => w.cdata(text);

/** Starts the root element of a WPS document. */
function root(name: string, schema: string, lang: string, extra: XmlAttributes = {}): XmlWriter {
  return new XmlWriter().start(`wps:${name}`, {
    ...ROOT_NS,
    service: 'WPS',
    version: '1.0.0',
    ...extra,
    'xml:lang': lang,
    'xsi:schemaLocation': `${NS.wps} ${SCHEMAS}/${schema}`,
  });
}

// ---- Exception report --------------------------------------------------------------------------------

function appendExceptionReport(
  w: XmlWriter,
  error: OwsErrorJson,
  lang: string | undefined,
  rootAttrs: XmlAttributes = {},
): void {
  w.start('ows:ExceptionReport', { ...rootAttrs, version: '1.0.0', 'xml:lang': lang || undefined })
    .start('ows:Exception', { exceptionCode: error.code, locator: error.locator || undefined })
    .element('ows:ExceptionText', undefined, error.message)
    .end()
    .end();
}

export function exceptionReport(error: OwsErrorJson, lang?: string): string {
  const w = new XmlWriter();
  appendExceptionReport(w, error, lang, {
    'xmlns:ows': NS.ows,
    'xmlns:xsi': NS.xsi,
    'xsi:schemaLocation': `${NS.ows} http://schemas.opengis.net/ows/1.1.0/owsExceptionReport.xsd`,
  });
  return w.toString();
}

// ---- Shared pieces --------------------------------------------------------------------------------------

function metadata(w: XmlWriter, links: MetadataLink[] | undefined): void {
  for (const m of links ?? []) {
    w.element('ows:Metadata', {
      'xlink:href': m.href,
      'xlink:title': m.title || undefined,
      'xlink:role': m.role || undefined,
    });
  }
}

function described(
  w: XmlWriter,
  d: { id: string; title: string; abstract?: string; metadata?: MetadataLink[] },
  abstract: 'always' | 'optional',
): void {
  w.element('ows:Identifier', undefined, d.id).element('ows:Title', undefined, d.title);
  // QGIS aligns processes by index of ows:Abstract: every process gets one.
  if (d.abstract || abstract === 'always') w.element('ows:Abstract', undefined, d.abstract ?? d.title);
  metadata(w, d.metadata);
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

function dataType(w: XmlWriter, type: LiteralDataType): void {
  w.element(
    'ows:DataType',
    { 'ows:reference': `http://www.w3.org/TR/xmlschema-2/#${XSD_TYPES[type]}` },
    XSD_TYPES[type],
  );
}

function uoms(w: XmlWriter, u: { default: string; supported: string[] } | undefined): void {
  if (!u) return;
  w.start('UOMs').start('Default').element('ows:UOM', undefined, u.default).end().start('Supported');
  for (const s of u.supported) w.element('ows:UOM', undefined, s);
  w.end().end();
}

function allowedValues(w: XmlWriter, allowed: AllowedValues | undefined): void {
  if (!allowed || ((allowed.values?.length ?? 0) === 0 && (allowed.ranges?.length ?? 0) === 0)) {
    w.element('ows:AnyValue');
    return;
  }
  w.start('ows:AllowedValues');
  for (const v of allowed.values ?? []) w.element('ows:Value', undefined, String(v));
  for (const r of allowed.ranges ?? []) {
    w.start('ows:Range', { 'ows:rangeClosure': r.closure ?? 'closed' });
    if (r.minimum !== undefined) w.element('ows:MinimumValue', undefined, formatNumber(r.minimum));
    if (r.maximum !== undefined) w.element('ows:MaximumValue', undefined, formatNumber(r.maximum));
    if (r.spacing !== undefined) w.element('ows:Spacing', undefined, formatNumber(r.spacing));
    w.end();
  }
  w.end();
}

function format(w: XmlWriter, f: Format): void {
  w.start('Format').element('MimeType', undefined, f.mimeType);
  if (f.encoding) w.element('Encoding', undefined, f.encoding);
  if (f.schema) w.element('Schema', undefined, f.schema);
  w.end();
}

function complexFormats(w: XmlWriter, domain: ComplexDomain): void {
  w.start('Default');
  format(w, domain.formats[0]!);
  w.end().start('Supported');
  for (const f of domain.formats) format(w, f);
  w.end();
}

function crsList(w: XmlWriter, crs: string[]): void {
  w.start('Default').element('CRS', undefined, crs[0]!).end().start('Supported');
  for (const c of crs) w.element('CRS', undefined, c);
  w.end();
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
  const w = root('Capabilities', 'wpsGetCapabilities_response.xsd', lang);
  w.start('ows:ServiceIdentification')
    .element('ows:Title', undefined, id.title)
    .element('ows:Abstract', undefined, id.abstract || id.title);
  if (id.keywords.length > 0) {
    w.start('ows:Keywords');
    for (const k of id.keywords) w.element('ows:Keyword', undefined, k);
    if (id.keywordsType) w.element('ows:Type', undefined, id.keywordsType);
    w.end();
  }
  w.element('ows:ServiceType', undefined, 'WPS').element('ows:ServiceTypeVersion', undefined, '1.0.0');
  if (id.profile) w.element('ows:Profile', undefined, id.profile);
  w.element('ows:Fees', undefined, id.fees)
    .element('ows:AccessConstraints', undefined, id.accessConstraints)
    .end();

  w.start('ows:ServiceProvider').element('ows:ProviderName', undefined, provider.name || id.title);
  if (provider.url) w.element('ows:ProviderSite', { 'xlink:href': provider.url });
  w.start('ows:ServiceContact');
  if (contact.name) w.element('ows:IndividualName', undefined, contact.name);
  if (contact.position) w.element('ows:PositionName', undefined, contact.position);
  w.start('ows:ContactInfo');
  if (contact.phone || contact.fax) {
    w.start('ows:Phone');
    if (contact.phone) w.element('ows:Voice', undefined, contact.phone);
    if (contact.fax) w.element('ows:Facsimile', undefined, contact.fax);
    w.end();
  }
  w.start('ows:Address');
  const put = (name: string, value: string) => value && w.element(`ows:${name}`, undefined, value);
  put('DeliveryPoint', contact.address);
  put('City', contact.city);
  put('AdministrativeArea', contact.stateOrProvince);
  put('PostalCode', contact.postalCode);
  put('Country', contact.country);
  put('ElectronicMailAddress', contact.email);
  w.end();
  if (contact.url) w.element('ows:OnlineResource', { 'xlink:href': contact.url });
  if (contact.hours) w.element('ows:HoursOfService', undefined, contact.hours);
  if (contact.instructions) w.element('ows:ContactInstructions', undefined, contact.instructions);
  w.end();
  if (contact.role) w.element('ows:Role', undefined, contact.role);
  w.end().end();

  w.start('ows:OperationsMetadata');
  for (const op of ['GetCapabilities', 'DescribeProcess', 'Execute']) {
    w.start('ows:Operation', { name: op })
      .start('ows:DCP')
      .start('ows:HTTP')
      .element('ows:Get', { 'xlink:href': `${endpoints.wps}?` })
      .element('ows:Post', { 'xlink:href': endpoints.wps })
      .end()
      .end()
      .end();
  }
  w.end();

  w.start('wps:ProcessOfferings');
  for (const p of processes) {
    w.start('wps:Process', { 'wps:processVersion': p.version });
    described(w, p, 'always');
    w.end();
  }
  w.end();
  w.start('wps:Languages')
    .start('wps:Default')
    .element('ows:Language', undefined, config.server.languages[0]!)
    .end()
    .start('wps:Supported');
  for (const l of config.server.languages) w.element('ows:Language', undefined, l);
  w.end().end();
  return w.end().toString();
}

// ---- DescribeProcess ---------------------------------------------------------------------------------------

export function processDescriptions(processes: ProcessDescription[], lang: string): string {
  const w = root('ProcessDescriptions', 'wpsDescribeProcess_response.xsd', lang);
  for (const p of processes) {
    const async = String(p.jobControlOptions.includes('async-execute'));
    w.start('ProcessDescription', {
      'wps:processVersion': p.version,
      storeSupported: async,
      statusSupported: async,
    });
    described(w, p, 'always');
    if (p.inputs.length > 0) {
      w.start('DataInputs');
      for (const input of p.inputs) {
        const max = input.maxOccurs === 'unbounded' ? UNBOUNDED_MAX_OCCURS : input.maxOccurs;
        w.start('Input', { minOccurs: String(input.minOccurs), maxOccurs: String(max) });
        described(w, input, 'optional');
        if (input.kind === 'literal') {
          w.start('LiteralData');
          dataType(w, input.dataType);
          uoms(w, input.uoms);
          allowedValues(w, input.allowedValues);
          if (input.defaultValue !== undefined)
            w.element('DefaultValue', undefined, String(input.defaultValue));
          w.end();
        } else if (input.kind === 'complex') {
          w.start('ComplexData', {
            maximumMegabytes:
              input.maximumMegabytes === undefined ? undefined : String(Math.ceil(input.maximumMegabytes)),
          });
          complexFormats(w, input);
          w.end();
        } else {
          w.start('BoundingBoxData');
          crsList(w, input.crs);
          w.end();
        }
        w.end();
      }
      w.end();
    }
    w.start('ProcessOutputs');
    for (const output of p.outputs) {
      w.start('Output');
      described(w, output, 'optional');
      if (output.kind === 'literal') {
        w.start('LiteralOutput');
        dataType(w, output.dataType);
        uoms(w, output.uoms);
        w.end();
      } else if (output.kind === 'complex') {
        w.start('ComplexOutput');
        complexFormats(w, output);
        w.end();
      } else {
        w.start('BoundingBoxOutput');
        crsList(w, output.crs);
        w.end();
      }
      w.end();
    }
    w.end().end();
  }
  return w.end().toString();
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

/**
 * Embeds XML content as elements when it is well-formed content here (its prefixes declared in it or
 * among the document's), else as CDATA (never a broken document).
 */
function appendXmlContent(w: XmlWriter, xml: string): void {
  if (isWellFormedContent(xml, IN_SCOPE)) w.raw(xml);
  else appendCdata(w, xml);
}

function lineageInput(w: XmlWriter, input: LineageInput): void {
  w.start('wps:Input').element('ows:Identifier', undefined, input.id);
  if (input.title) w.element('ows:Title', undefined, input.title);
  if ('reference' in input) {
    const { href, method, ...attrs } = input.reference;
    w.element('wps:Reference', { ...definedAttrs(attrs), method, 'xlink:href': href });
  } else {
    lineageData(w, input);
  }
  w.end();
}

function lineageData(w: XmlWriter, input: Exclude<LineageInput, { reference: unknown }>): void {
  w.start('wps:Data');
  if ('literal' in input) {
    const { value, ...attrs } = input.literal;
    w.element('wps:LiteralData', definedAttrs(attrs), value);
  } else if ('complex' in input) {
    const { data: content, ...attrs } = input.complex;
    w.start('wps:ComplexData', definedAttrs(attrs));
    if (attrs.encoding?.toLowerCase() !== 'base64' && looksLikeXml(content)) appendXmlContent(w, content);
    else appendCdata(w, content);
    w.end();
  } else {
    w.start('wps:BoundingBoxData', definedAttrs({ crs: input.bbox.crs, dimensions: input.bbox.dimensions }))
      .element('ows:LowerCorner', undefined, input.bbox.lowerCorner)
      .element('ows:UpperCorner', undefined, input.bbox.upperCorner)
      .end();
  }
  w.end();
}

function processOutput(w: XmlWriter, o: RenderedOutput): void {
  w.start('wps:Output');
  described(w, o.description, 'optional');
  if ('reference' in o) {
    w.element('wps:Reference', { href: o.reference.href, ...definedAttrs({ ...o.reference.format }) });
  } else {
    outputData(w, o);
  }
  w.end();
}

function outputData(w: XmlWriter, o: Exclude<RenderedOutput, { reference: unknown }>): void {
  w.start('wps:Data');
  if ('literal' in o) {
    w.element(
      'wps:LiteralData',
      definedAttrs({ dataType: o.dataType, uom: o.literal.uom }),
      literalText(o.literal.value, o.dataType),
    );
  } else if ('bbox' in o) {
    w.start('wps:BoundingBoxData', { crs: o.bbox.crs, dimensions: String(o.bbox.dimensions) })
      .element('ows:LowerCorner', undefined, o.bbox.lowerCorner.map(formatNumber).join(' '))
      .element('ows:UpperCorner', undefined, o.bbox.upperCorner.map(formatNumber).join(' '))
      .end();
  } else {
    const { format: f, content, as } = o.complex;
    w.start('wps:ComplexData', definedAttrs({ ...f, encoding: as === 'base64' ? 'base64' : f.encoding }));
    if (as === 'xml') appendXmlContent(w, content);
    else if (as === 'cdata') appendCdata(w, content);
    else w.text(content);
    w.end();
  }
  w.end();
}

export function executeResponse(d: ExecuteResponseDocument): string {
  const w = root('ExecuteResponse', 'wpsExecute_response.xsd', d.lang, {
    serviceInstance: d.serviceInstance,
    statusLocation: d.statusLocation || undefined,
  });
  w.start('wps:Process', { 'wps:processVersion': d.process.version });
  described(w, d.process, 'optional');
  w.end().start('wps:Status', { creationTime: isoSeconds(d.creationTime) });
  switch (d.status.kind) {
    case 'ProcessAccepted':
    case 'ProcessSucceeded':
      w.element(`wps:${d.status.kind}`, undefined, d.status.message);
      break;
    case 'ProcessStarted':
      w.element(
        'wps:ProcessStarted',
        { percentCompleted: String(Math.max(0, Math.min(99, Math.floor(d.status.percent)))) },
        d.status.message,
      );
      break;
    case 'ProcessFailed':
      w.start('wps:ProcessFailed');
      appendExceptionReport(w, d.status.error, undefined);
      w.end();
      break;
  }
  w.end();
  if (d.lineage) {
    if (d.lineage.inputs.length > 0) {
      w.start('wps:DataInputs');
      for (const input of d.lineage.inputs) lineageInput(w, input);
      w.end();
    }
    if (d.lineage.outputs.length > 0) {
      w.start('wps:OutputDefinitions');
      for (const o of d.lineage.outputs) {
        w.start(
          'wps:Output',
          definedAttrs({
            mimeType: o.mimeType,
            encoding: o.encoding,
            schema: o.schema,
            uom: o.uom,
            asReference: o.asReference === undefined ? undefined : String(o.asReference),
          }),
        ).element('ows:Identifier', undefined, o.id);
        if (o.title) w.element('ows:Title', undefined, o.title);
        w.end();
      }
      w.end();
    }
  }
  if (d.outputs && d.outputs.length > 0) {
    w.start('wps:ProcessOutputs');
    for (const o of d.outputs) processOutput(w, o);
    w.end();
  }
  return w.end().toString();
}

/** The attributes with a value (neither undefined nor empty). */
function definedAttrs(attrs: Record<string, string | undefined>): XmlAttributes {
  const defined: XmlAttributes = {};
  for (const key in attrs) if (attrs[key]) defined[key] = attrs[key];
  return defined;
}

export const looksLikeXml = (s: string): boolean => /^\s*</.test(s);

/** The document a bounding box output is served as by reference or as raw data. */
export function boundingBoxDocument(bbox: BoundingBox): string {
  return new XmlWriter()
    .start('ows:BoundingBox', { 'xmlns:ows': NS.ows, crs: bbox.crs, dimensions: String(bbox.dimensions) })
    .element('ows:LowerCorner', undefined, bbox.lowerCorner.map(formatNumber).join(' '))
    .element('ows:UpperCorner', undefined, bbox.upperCorner.map(formatNumber).join(' '))
    .end()
    .toString();
}
