import type {
  AllowedValues,
  Format,
  InputDescription,
  OutputDescription,
  ProcessDescription,
} from '../../core/model.ts';
import { jsonLiteral } from '../describe.ts';
import { safeHref } from './common.ts';

const formatText = (f: Format): string =>
  [f.mimeType, f.encoding ? `encoding ${f.encoding}` : '', f.schema ? `schema ${f.schema}` : '']
    .filter(Boolean)
    .join(', ');

function allowedText(allowed: AllowedValues | undefined): string {
  if (!allowed) return 'any';
  const parts = (allowed.values ?? []).map(String);
  for (const r of allowed.ranges ?? []) {
    const closure = r.closure ?? 'closed';
    const open = closure === 'open' || closure === 'open-closed' ? '(' : '[';
    const close = closure === 'open' || closure === 'closed-open' ? ')' : ']';
    parts.push(
      `${open}${r.minimum ?? '−∞'} … ${r.maximum ?? '∞'}${close}${r.spacing ? ` step ${r.spacing}` : ''}`,
    );
  }
  return parts.join(', ');
}

function typeText(d: InputDescription | OutputDescription): string {
  switch (d.kind) {
    case 'literal':
      return `literal (${d.dataType})`;
    case 'complex':
      return 'complex';
    case 'bbox':
      return `bounding box${d.dimensions === 3 ? ' (3D)' : ''}`;
  }
}

function formatsOf(d: InputDescription | OutputDescription): string[] {
  switch (d.kind) {
    case 'literal':
      return d.uoms
        ? d.uoms.supported.map((u) => `uom ${u}${u === d.uoms!.default ? ' (default)' : ''}`)
        : [];
    case 'complex':
      return d.formats.map(formatText);
    case 'bbox':
      return [...d.crs];
  }
}

const HTML_INPUT_TYPES: Partial<Record<string, string>> = {
  integer: 'number',
  positiveInteger: 'number',
  nonNegativeInteger: 'number',
  double: 'number',
  float: 'number',
  date: 'date',
  anyURI: 'url',
};

/** What the process page shows of an input, and how its form field is made. */
function inputView(i: InputDescription) {
  const common = {
    id: i.id,
    title: i.title,
    description: i.abstract,
    kind: i.kind,
    type: typeText(i),
    formats: formatsOf(i),
    occurs: `${i.minOccurs} … ${i.maxOccurs}`,
    required: i.minOccurs > 0,
  };
  if (i.kind === 'literal') {
    const range = i.allowedValues?.ranges?.length === 1 ? i.allowedValues.ranges[0] : undefined;
    const integer = /integer/i.test(i.dataType);
    const choices =
      i.dataType === 'boolean'
        ? ['true', 'false']
        : i.allowedValues?.values && !i.allowedValues.ranges?.length
          ? i.allowedValues.values.map(String)
          : undefined;
    return {
      ...common,
      dataType: i.dataType,
      allowed: allowedText(i.allowedValues),
      defaultValue: i.defaultValue === undefined ? undefined : String(i.defaultValue),
      choices,
      inputType: HTML_INPUT_TYPES[i.dataType] ?? 'text',
      step: HTML_INPUT_TYPES[i.dataType] === 'number' ? (integer ? '1' : 'any') : undefined,
      min: range?.minimum,
      max: range?.maximum,
      uoms: i.uoms ? [i.uoms.default, ...i.uoms.supported.filter((u) => u !== i.uoms!.default)] : [],
    };
  }
  return {
    ...common,
    allowed: i.kind === 'complex' && i.maximumMegabytes ? `at most ${i.maximumMegabytes} MB` : '',
    formatChoices:
      i.kind === 'complex'
        ? i.formats.map((f) => ({
            mediaType: f.mimeType,
            encoding: f.encoding,
            schema: f.schema,
            label: formatText(f),
          }))
        : [],
  };
}

/** The request the execute form starts from: the default values, results as a document. */
function requestTemplate(description: ProcessDescription): string {
  const inputs: Record<string, unknown> = {};
  for (const i of description.inputs) {
    if (i.kind === 'literal' && i.defaultValue !== undefined) {
      inputs[i.id] = jsonLiteral(i.defaultValue, i.dataType);
    }
  }
  return JSON.stringify({ inputs, response: 'document' }, null, 2);
}

/** The view of the process page: the description as tables, and the execute form. */
export function processView(description: ProcessDescription) {
  return {
    process: {
      id: description.id,
      version: description.version,
      description: description.abstract ?? '',
      keywords: description.keywords ?? [],
      metadata: (description.metadata ?? []).map((m) => ({ ...m, safeHref: safeHref(m.href) })),
      jobControlOptions: description.jobControlOptions,
      outputTransmission: description.outputTransmission,
      sync: description.jobControlOptions.includes('sync-execute'),
      async: description.jobControlOptions.includes('async-execute'),
      inputs: description.inputs.map(inputView),
      outputs: description.outputs.map((o) => ({
        id: o.id,
        title: o.title,
        description: o.abstract,
        type: typeText(o),
        formats: formatsOf(o),
      })),
    },
    requestTemplate: requestTemplate(description),
  };
}
