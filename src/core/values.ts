import type { Format } from './model.ts';

/** A typed literal: numbers for numeric types, booleans, Date for date/dateTime, strings otherwise. */
export type LiteralScalar = string | number | boolean | Date;

// ---- What a binding hands to the core (not yet validated) -------------------------------------

export interface RawLiteral {
  type: 'literal';
  value: string | number | boolean;
  uom?: string;
}

export interface RawComplex {
  type: 'complex';
  /** Text, or bytes already decoded from base64 by the binding. */
  data: string | Uint8Array;
  mimeType?: string;
  encoding?: string;
  schema?: string;
}

export interface RawBoundingBox {
  type: 'bbox';
  lowerCorner: Array<number | string> | string;
  upperCorner: Array<number | string> | string;
  crs?: string;
  dimensions?: number | string;
}

/**
 * A value given by reference: fetched by the job system under the reference policy, after the
 * request is validated and admitted (for asynchronous jobs, inside the job).
 */
export interface RawReference {
  type: 'reference';
  href: string;
  /** Default GET. */
  method?: 'GET' | 'POST';
  headers?: Array<[string, string]>;
  /** The body of a POST reference, inline or itself by reference. */
  body?: string;
  bodyReference?: string;
  /** What the client declares the referenced data to be; the server's Content-Type fills the gap. */
  mimeType?: string;
  encoding?: string;
  schema?: string;
}

export type RawInputValue = RawLiteral | RawComplex | RawBoundingBox | RawReference;
export type RawInputs = Record<string, RawInputValue[]>;

// ---- What a processor receives (validated and typed) ------------------------------------------

export interface LiteralValue {
  kind: 'literal';
  value: LiteralScalar;
  uom?: string;
}

/**
 * Complex data is either held inline as text or lies in a file in the job's work directory
 * (binary data and large text always do, so that big payloads never cross a thread boundary).
 */
export interface ComplexValue {
  kind: 'complex';
  format: Format;
  text?: string;
  file?: string;
  /** Validated data before it is placed (only between validation and job creation). */
  bytes?: Uint8Array;
}

export interface BoundingBox {
  kind: 'bbox';
  lowerCorner: number[];
  upperCorner: number[];
  crs: string;
  dimensions: number;
}

export type InputValue = LiteralValue | ComplexValue | BoundingBox;
export type ProcessInputs = Record<string, InputValue[]>;

// ---- What a job keeps until it runs: validated values, and references still to fetch -----------

/** A reference whose input accepts references; it is fetched and validated when its job runs. */
export type PendingReference = { kind: 'reference' } & Omit<RawReference, 'type'>;
export type JobInputValue = InputValue | PendingReference;
export type JobInputs = Record<string, JobInputValue[]>;

// ---- What a processor returns -------------------------------------------------------------------

export interface ComplexResult {
  kind: 'complex';
  /** Default: the format the client asked for, else the output's default format. */
  format?: Format;
  text?: string;
  bytes?: Uint8Array;
  /** A file the processor wrote (in its work directory); it is moved to the output path. */
  file?: string;
}

export type OutputValue = LiteralValue | ComplexResult | BoundingBox | LiteralScalar;
export type ProcessOutputs = Record<string, OutputValue>;

// ---- What the job store keeps ---------------------------------------------------------------------

export interface StoredComplex {
  kind: 'complex';
  format: Format;
  /** File name inside the job's output folder. */
  file: string;
  size: number;
}

/**
 * An output held by another server: the URL a remote provider gave for it, handed to clients as is
 * (a provider's `pass_through_references`, for an output the client asked by reference). Nothing
 * of it is stored here: the remote's URL must stay reachable for clients.
 */
export interface StoredReference {
  kind: 'reference';
  /** An absolute http(s) URL. */
  href: string;
  format: Format;
}

export type StoredOutput = LiteralValue | BoundingBox | StoredComplex | StoredReference;
export type StoredOutputs = Record<string, StoredOutput>;
