/**
 * The shared process model: what a process is, what it takes and what it gives. Both protocol
 * bindings render descriptions from these types; nothing here knows about XML, JSON or HTTP.
 */

export const LITERAL_DATA_TYPES = [
  'string',
  'integer',
  'double',
  'float',
  'boolean',
  'positiveInteger',
  'nonNegativeInteger',
  'date',
  'dateTime',
  'time',
  'anyURI',
] as const;
export type LiteralDataType = (typeof LITERAL_DATA_TYPES)[number];

export const VALIDATION_MODES = ['NONE', 'SIMPLE', 'STRICT', 'VERYSTRICT'] as const;
export type ValidationMode = (typeof VALIDATION_MODES)[number];

export const JOB_CONTROL_OPTIONS = ['sync-execute', 'async-execute', 'dismiss'] as const;
export type JobControlOption = (typeof JOB_CONTROL_OPTIONS)[number];

export type TransmissionMode = 'value' | 'reference';

export type RangeClosure = 'closed' | 'open' | 'closed-open' | 'open-closed';

export interface ValueRange {
  minimum?: number;
  maximum?: number;
  spacing?: number;
  /** Default: closed. */
  closure?: RangeClosure;
}

/** Absent on an input = AnyValue. A value is allowed when it equals one of `values` or lies in one of `ranges`. */
export interface AllowedValues {
  values?: Array<string | number | boolean>;
  ranges?: ValueRange[];
}

export interface MetadataLink {
  href: string;
  title?: string;
  role?: string;
}

export interface Format {
  mimeType: string;
  encoding?: string;
  schema?: string;
}

export interface Uoms {
  default: string;
  supported: string[];
}

interface Described {
  id: string;
  title: string;
  abstract?: string;
  keywords?: string[];
  metadata?: MetadataLink[];
}

interface Occurs {
  minOccurs: number;
  /** A number, or 'unbounded'. */
  maxOccurs: number | 'unbounded';
  validation: ValidationMode;
}

export interface LiteralDomain {
  kind: 'literal';
  dataType: LiteralDataType;
  allowedValues?: AllowedValues;
  uoms?: Uoms;
}

export interface ComplexDomain {
  kind: 'complex';
  /** The first format is the default. */
  formats: Format[];
  maximumMegabytes?: number;
}

export interface BoundingBoxDomain {
  kind: 'bbox';
  /** The first CRS is the default. */
  crs: string[];
  /** 2 (default) or 3. */
  dimensions?: 2 | 3;
}

export type LiteralInputDescription = Described &
  Occurs &
  LiteralDomain & { defaultValue?: string | number | boolean };
export type ComplexInputDescription = Described & Occurs & ComplexDomain;
export type BoundingBoxInputDescription = Described & Occurs & BoundingBoxDomain;
export type InputDescription =
  LiteralInputDescription | ComplexInputDescription | BoundingBoxInputDescription;

export type LiteralOutputDescription = Described & LiteralDomain;
export type ComplexOutputDescription = Described & ComplexDomain;
export type BoundingBoxOutputDescription = Described & BoundingBoxDomain;
export type OutputDescription =
  LiteralOutputDescription | ComplexOutputDescription | BoundingBoxOutputDescription;

export interface ProcessDescription extends Described {
  version: string;
  inputs: InputDescription[];
  outputs: OutputDescription[];
  jobControlOptions: JobControlOption[];
  outputTransmission: TransmissionMode[];
  /**
   * Equal inputs always give equal outputs: results may be served from the result cache for
   * `cacheTtlSeconds` (default: the configured jobs.cacheTtlSeconds). See src/jobs/result-cache.ts.
   */
  deterministic?: boolean;
  cacheTtlSeconds?: number;
}

/** What processor authors write: occurrences, validation mode and transmission default as in the schema. */
type Loose<T, K extends keyof T> = Omit<T, K> & Partial<Pick<T, K>>;
export type InputSpec =
  | Loose<LiteralInputDescription, keyof Occurs>
  | Loose<ComplexInputDescription, keyof Occurs>
  | Loose<BoundingBoxInputDescription, keyof Occurs>;
export type ProcessSpec = Loose<
  Omit<ProcessDescription, 'inputs'> & { inputs: InputSpec[] },
  'jobControlOptions' | 'outputTransmission'
>;

export const isUnbounded = (maxOccurs: number | 'unbounded'): boolean => maxOccurs === 'unbounded';

export function allows(description: ProcessDescription, option: JobControlOption): boolean {
  return description.jobControlOptions.includes(option);
}
