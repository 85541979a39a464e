/**
 * WPS 1.0.0 GetCapabilities and DescribeProcess documents of a remote server → the core model.
 * Parsed by the same hardened XML parser as client requests (src/wps/xml.ts). What the model
 * cannot express (an unknown literal data type, ValuesReference, an identifier outside the model's
 * pattern) leaves the process out with the reason, never half-described.
 */
import type {
  AllowedValues,
  Format,
  InputSpec,
  LiteralDataType,
  MetadataLink,
  ProcessDescription,
  RangeClosure,
  Uoms,
  ValueRange,
} from '../../core/model.ts';
import { normalizeDataType } from '../../core/literal.ts';
import { normalizeDescription } from '../../registry/registry.ts';
import { attr, child, children, NS, textOf, type XmlElement } from '../../wps/xml.ts';
import type { RemoteProcess, SkippedProcess } from '../provider.ts';

/** Cannot be expressed in the core model: the process is left out with this reason. */
export class Unsupported extends Error {}

const text = (el: XmlElement | undefined): string | undefined => {
  const t = el ? textOf(el).trim() : '';
  return t === '' ? undefined : t;
};

/** The identifiers a Capabilities document offers (in document order). */
export function capabilitiesProcessIds(root: XmlElement): string[] {
  if (root.ns !== NS.wps || root.local !== 'Capabilities')
    throw new Error(`expected wps:Capabilities, got ${root.name}`);
  const offerings = child(root, NS.wps, 'ProcessOfferings');
  if (!offerings) return [];
  return children(offerings, NS.wps, 'Process')
    .map((p) => text(child(p, NS.ows, 'Identifier')))
    .filter((id): id is string => id !== undefined);
}

/** The ProcessDescription elements of a ProcessDescriptions document (they are unqualified in WPS 1.0.0). */
export function processDescriptionElements(root: XmlElement): XmlElement[] {
  if (root.ns !== NS.wps || root.local !== 'ProcessDescriptions')
    throw new Error(`expected wps:ProcessDescriptions, got ${root.name}`);
  return root.children.filter(
    (c): c is XmlElement =>
      'local' in c && c.local === 'ProcessDescription' && (c.ns === '' || c.ns === NS.wps),
  );
}

/** Unqualified (as the schema says) or, as some servers write, in the WPS namespace. */
const wpsChild = (el: XmlElement, local: string): XmlElement | undefined =>
  child(el, '', local) ?? child(el, NS.wps, local);
const wpsChildren = (el: XmlElement, local: string): XmlElement[] => [
  ...children(el, '', local),
  ...children(el, NS.wps, local),
];

function described(el: XmlElement): {
  id: string;
  title: string;
  abstract?: string;
  keywords?: string[];
  metadata?: MetadataLink[];
} {
  const id = text(child(el, NS.ows, 'Identifier'));
  if (!id) throw new Unsupported('an element has no ows:Identifier');
  const abstract = text(child(el, NS.ows, 'Abstract'));
  const keywords = children(el, NS.ows, 'Keywords')
    .flatMap((k) => children(k, NS.ows, 'Keyword'))
    .map((k) => text(k))
    .filter((k): k is string => k !== undefined);
  const metadata = children(el, NS.ows, 'Metadata')
    .map((m): MetadataLink | undefined => {
      const href = attr(m, 'href', NS.xlink);
      if (!href) return undefined;
      const title = attr(m, 'title', NS.xlink);
      const role = attr(m, 'role', NS.xlink);
      return { href, ...(title ? { title } : {}), ...(role ? { role } : {}) };
    })
    .filter((m): m is MetadataLink => m !== undefined);
  return {
    id,
    title: text(child(el, NS.ows, 'Title')) ?? id,
    ...(abstract ? { abstract } : {}),
    ...(keywords.length ? { keywords } : {}),
    ...(metadata.length ? { metadata } : {}),
  };
}

function dataType(el: XmlElement, where: string): LiteralDataType {
  const dt = child(el, NS.ows, 'DataType');
  if (!dt) return 'string';
  const name = text(dt) ?? attr(dt, 'reference', NS.ows) ?? 'string';
  const type = normalizeDataType(name) ?? normalizeDataType(attr(dt, 'reference', NS.ows) ?? '');
  if (!type) throw new Unsupported(`${where}: the literal data type '${name}' is not supported`);
  return type;
}

function allowedValues(el: XmlElement, where: string): AllowedValues | undefined {
  if (child(el, NS.ows, 'ValuesReference') || wpsChild(el, 'ValuesReference'))
    throw new Unsupported(`${where}: allowed values given by reference (ValuesReference) are not supported`);
  const allowed = child(el, NS.ows, 'AllowedValues');
  if (!allowed) return undefined;
  const values = children(allowed, NS.ows, 'Value').map((v) => textOf(v).trim());
  const ranges = children(allowed, NS.ows, 'Range').map((r): ValueRange => {
    const num = (local: string) => {
      const t = text(child(r, NS.ows, local));
      if (t === undefined) return undefined;
      const n = Number(t);
      if (!Number.isFinite(n)) throw new Unsupported(`${where}: a range bound '${t}' is not a number`);
      return n;
    };
    const minimum = num('MinimumValue');
    const maximum = num('MaximumValue');
    const spacing = num('Spacing');
    const closure = (attr(r, 'rangeClosure', NS.ows) ?? attr(r, 'rangeClosure') ?? 'closed') as RangeClosure;
    if (!['closed', 'open', 'closed-open', 'open-closed'].includes(closure))
      throw new Unsupported(`${where}: the range closure '${String(closure)}' is not supported`);
    return {
      ...(minimum !== undefined ? { minimum } : {}),
      ...(maximum !== undefined ? { maximum } : {}),
      ...(spacing !== undefined && spacing > 0 ? { spacing } : {}),
      closure,
    };
  });
  if (values.length === 0 && ranges.length === 0) return undefined;
  return { ...(values.length ? { values } : {}), ...(ranges.length ? { ranges } : {}) };
}

function uoms(el: XmlElement): Uoms | undefined {
  const block = wpsChild(el, 'UOMs');
  if (!block) return undefined;
  const list = (container: XmlElement | undefined) =>
    container
      ? children(container, NS.ows, 'UOM')
          .map((u) => text(u))
          .filter((u): u is string => u !== undefined)
      : [];
  const def = list(wpsChild(block, 'Default'))[0];
  const supported = [...new Set([...(def ? [def] : []), ...list(wpsChild(block, 'Supported'))])];
  if (!def && supported.length === 0) return undefined;
  return { default: def ?? supported[0]!, supported };
}

function formats(el: XmlElement, where: string): Format[] {
  const read = (f: XmlElement): Format => {
    const mimeType = text(wpsChild(f, 'MimeType'));
    if (!mimeType) throw new Unsupported(`${where}: a format has no MimeType`);
    const encoding = text(wpsChild(f, 'Encoding'));
    const schema = text(wpsChild(f, 'Schema'));
    return { mimeType, ...(encoding ? { encoding } : {}), ...(schema ? { schema } : {}) };
  };
  const def = wpsChildren(wpsChild(el, 'Default') ?? el, 'Format').map(read);
  const supported = wpsChildren(wpsChild(el, 'Supported') ?? el, 'Format').map(read);
  const all: Format[] = [];
  for (const f of [...def.slice(0, 1), ...supported]) {
    if (!all.some((a) => JSON.stringify(a) === JSON.stringify(f))) all.push(f);
  }
  if (all.length === 0) throw new Unsupported(`${where}: complex data without any format`);
  return all;
}

function crsList(el: XmlElement, where: string): string[] {
  const def = wpsChildren(wpsChild(el, 'Default') ?? el, 'CRS').map((c) => textOf(c).trim());
  const supported = wpsChildren(wpsChild(el, 'Supported') ?? el, 'CRS').map((c) => textOf(c).trim());
  const all = [...new Set([...def.slice(0, 1), ...supported].filter((c) => c !== ''))];
  if (all.length === 0) throw new Unsupported(`${where}: a bounding box without any CRS`);
  return all;
}

function occurs(el: XmlElement, where: string): { minOccurs: number; maxOccurs: number | 'unbounded' } {
  const min = Number(attr(el, 'minOccurs') ?? '1');
  const maxText = attr(el, 'maxOccurs') ?? '1';
  const max = maxText === 'unbounded' ? 'unbounded' : Number(maxText);
  if (!Number.isInteger(min) || min < 0 || (max !== 'unbounded' && (!Number.isInteger(max) || max < 1)))
    throw new Unsupported(`${where}: invalid occurrences minOccurs=${String(min)} maxOccurs=${maxText}`);
  return { minOccurs: min, maxOccurs: max };
}

function input(el: XmlElement): InputSpec {
  const base = described(el);
  const where = `input '${base.id}'`;
  const occ = occurs(el, where);
  const literal = wpsChild(el, 'LiteralData');
  const complex = wpsChild(el, 'ComplexData');
  const bbox = wpsChild(el, 'BoundingBoxData');
  if (literal) {
    const allowed = allowedValues(literal, where);
    const u = uoms(literal);
    const def = text(wpsChild(literal, 'DefaultValue'));
    return {
      ...base,
      ...occ,
      kind: 'literal',
      dataType: dataType(literal, where),
      ...(allowed ? { allowedValues: allowed } : {}),
      ...(u ? { uoms: u } : {}),
      ...(def !== undefined ? { defaultValue: def } : {}),
    };
  }
  if (complex) {
    const mb = Number(attr(complex, 'maximumMegabytes'));
    return {
      ...base,
      ...occ,
      kind: 'complex',
      formats: formats(complex, where),
      ...(Number.isFinite(mb) && mb > 0 ? { maximumMegabytes: mb } : {}),
    };
  }
  if (bbox) return { ...base, ...occ, kind: 'bbox', crs: crsList(bbox, where) };
  throw new Unsupported(`${where}: neither literal, complex nor bounding box data`);
}

function output(el: XmlElement): ProcessDescription['outputs'][number] {
  const base = described(el);
  const where = `output '${base.id}'`;
  const literal = wpsChild(el, 'LiteralOutput');
  const complex = wpsChild(el, 'ComplexOutput');
  const bbox = wpsChild(el, 'BoundingBoxOutput');
  if (literal) {
    const u = uoms(literal);
    return { ...base, kind: 'literal', dataType: dataType(literal, where), ...(u ? { uoms: u } : {}) };
  }
  if (complex) return { ...base, kind: 'complex', formats: formats(complex, where) };
  if (bbox) return { ...base, kind: 'bbox', crs: crsList(bbox, where) };
  throw new Unsupported(`${where}: neither literal, complex nor bounding box output`);
}

/**
 * One wps ProcessDescription element → a remote process in the core model (remote ids), or the
 * reason it cannot be published. async-execute when the remote supports both storing the
 * response and status updates (what an asynchronous WPS 1.0.0 execution needs).
 */
export function describeProcess(el: XmlElement): RemoteProcess | SkippedProcess {
  const remoteId = text(child(el, NS.ows, 'Identifier')) ?? '?';
  try {
    const base = described(el);
    const version = attr(el, 'processVersion', NS.wps) ?? attr(el, 'processVersion');
    const store = attr(el, 'storeSupported') === 'true';
    const status = attr(el, 'statusSupported') === 'true';
    const inputsEl = wpsChild(el, 'DataInputs');
    const outputsEl = wpsChild(el, 'ProcessOutputs');
    const spec = {
      ...base,
      version: version && version !== 'None' ? version : '1.0.0',
      inputs: inputsEl ? wpsChildren(inputsEl, 'Input').map(input) : [],
      outputs: outputsEl ? wpsChildren(outputsEl, 'Output').map(output) : [],
      jobControlOptions: store && status ? ['sync-execute', 'async-execute'] : ['sync-execute'],
      outputTransmission: store ? ['value', 'reference'] : ['value'],
    };
    if (spec.outputs.length === 0) throw new Unsupported('the process has no outputs');
    const description = normalizeDescription(spec, 'remote DescribeProcess');
    return { remoteId, description };
  } catch (error) {
    const message = (error as Error).message.replace(/^Process '[^']*' \([^)]*\): /, '');
    return { remoteId, reason: message };
  }
}
