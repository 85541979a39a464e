import {
  abortableDelay,
  complexBytes,
  complexText,
  first,
  literal,
  type Processor,
} from '../src/core/processor.ts';
import type { ProcessOutputs } from '../src/core/values.ts';

const TEXT_FORMATS = [
  { mimeType: 'application/json' },
  { mimeType: 'text/xml' },
  { mimeType: 'application/gml+xml' },
  { mimeType: 'text/plain' },
];

/**
 * The test-suite-friendly echo process (ogc-conformance-notes.md §3.1.3): the first input is a plain
 * string echoed to an output of the same id; every other input is optional and echoed too.
 */
const processor: Processor = {
  description: {
    id: 'echo',
    version: '1.0.0',
    title: 'Echo',
    abstract:
      'Returns its inputs unchanged: a string, an optional list of strings, binary data, a document and a bounding box, after an optional pause.',
    keywords: ['echo', 'test'],
    jobControlOptions: ['sync-execute', 'async-execute', 'dismiss'],
    outputTransmission: ['value', 'reference'],
    inputs: [
      { id: 'stringInput', kind: 'literal', title: 'String', abstract: 'Any text.', dataType: 'string' },
      {
        id: 'pause',
        kind: 'literal',
        title: 'Pause',
        abstract: 'Seconds to wait before answering (0 to 60).',
        dataType: 'double',
        minOccurs: 0,
        allowedValues: { ranges: [{ minimum: 0, maximum: 60 }] },
        uoms: { default: 's', supported: ['s'] },
      },
      {
        id: 'arrayInput',
        kind: 'literal',
        title: 'List of strings',
        abstract: 'Zero or more strings, echoed as a JSON array.',
        dataType: 'string',
        minOccurs: 0,
        maxOccurs: 'unbounded',
      },
      {
        id: 'binaryInput',
        kind: 'complex',
        title: 'Binary data',
        abstract: 'Any bytes, sent base64-encoded.',
        minOccurs: 0,
        formats: [{ mimeType: 'image/tiff; application=geotiff' }, { mimeType: 'application/octet-stream' }],
      },
      {
        id: 'complexInput',
        kind: 'complex',
        title: 'Document',
        abstract: 'A JSON, XML (GML) or plain text document, echoed in the same format.',
        minOccurs: 0,
        formats: TEXT_FORMATS,
      },
      {
        id: 'bboxInput',
        kind: 'bbox',
        title: 'Bounding box',
        abstract: 'Any bounding box in one of the supported CRSs.',
        minOccurs: 0,
        crs: ['EPSG:4326', 'http://www.opengis.net/def/crs/OGC/1.3/CRS84', 'EPSG:3857'],
      },
    ],
    outputs: [
      { id: 'stringInput', kind: 'literal', title: 'String', dataType: 'string' },
      {
        id: 'arrayOutput',
        kind: 'complex',
        title: 'List of strings',
        formats: [{ mimeType: 'application/json', encoding: 'UTF-8' }],
      },
      {
        id: 'binaryOutput',
        kind: 'complex',
        title: 'Binary data',
        formats: [{ mimeType: 'image/tiff; application=geotiff' }, { mimeType: 'application/octet-stream' }],
      },
      { id: 'complexOutput', kind: 'complex', title: 'Document', formats: TEXT_FORMATS },
      {
        id: 'bboxOutput',
        kind: 'bbox',
        title: 'Bounding box',
        crs: ['EPSG:4326', 'http://www.opengis.net/def/crs/OGC/1.3/CRS84', 'EPSG:3857'],
      },
    ],
  },
  async execute(inputs, ctx) {
    const pause = Number(literal(inputs, 'pause') ?? 0);
    if (pause > 0) {
      ctx.progress(0, `pausing ${pause} s`);
      await abortableDelay(pause * 1000, ctx.signal);
    }
    const outputs: ProcessOutputs = { stringInput: String(literal(inputs, 'stringInput')) };
    const list = inputs.arrayInput;
    if (list)
      outputs.arrayOutput = {
        kind: 'complex',
        text: JSON.stringify(list.map((v) => String(v.kind === 'literal' ? v.value : ''))),
      };
    const binary = first(inputs, 'binaryInput', 'complex');
    if (binary)
      outputs.binaryOutput = { kind: 'complex', format: binary.format, bytes: await complexBytes(binary) };
    const document = first(inputs, 'complexInput', 'complex');
    if (document)
      outputs.complexOutput = { kind: 'complex', format: document.format, text: await complexText(document) };
    const bbox = first(inputs, 'bboxInput', 'bbox');
    if (bbox) outputs.bboxOutput = bbox;
    return outputs;
  },
};

export default processor;
