/**
 * The one error type of the core. It carries an OWS exception code and a locator; each protocol
 * binding maps it to its wire format and HTTP status once. `reason` is a protocol-neutral tag for
 * cases a binding renders specially (OGC API - Processes has its own exception types for them).
 */
export const OWS_EXCEPTION_CODES = [
  'MissingParameterValue',
  'InvalidParameterValue',
  'NoApplicableCode',
  'OperationNotSupported',
  'VersionNegotiationFailed',
  'ServerBusy',
  'FileSizeExceeded',
  'StorageNotSupported',
  'NotEnoughStorage',
] as const;

export type OwsExceptionCode = (typeof OWS_EXCEPTION_CODES)[number];

export type ErrorReason =
  | 'no-such-process'
  | 'no-such-job'
  | 'result-not-ready'
  | 'execution-mode-not-allowed'
  | 'job-timeout'
  | 'sync-timeout'
  | 'cancelled'
  | 'interrupted'
  /**
   * A cluster node lost a job it ran (its lease ran out: paused, cut off from the store): the job is
   * recovered by another node, so this run records nothing and leaves the job's shared files alone.
   */
  | 'lease-lost'
  /** An input was refused once its job fetched it (a reference): the client's fault, not the process's. */
  | 'input-rejected'
  /** The request itself is unreadable (malformed XML, an empty body): a client error with no better code. */
  | 'malformed-request'
  /**
   * A failure worth another attempt (src/jobs/retry.ts): a worker that died, a reference or remote
   * provider that timed out or answered 5xx, or a processor that says so.
   */
  | 'transient'
  /** A processor's failure that no retry can mend (never retried). */
  | 'permanent';

/** How long a client refused with ServerBusy should wait before trying again (both protocols say so). */
export const BUSY_RETRY_AFTER_SECONDS = 5;

export interface OwsErrorJson {
  code: OwsExceptionCode;
  message: string;
  locator?: string;
  reason?: ErrorReason;
}

export class OwsError extends Error {
  readonly code: OwsExceptionCode;
  readonly locator: string | undefined;
  readonly reason: ErrorReason | undefined;

  constructor(code: OwsExceptionCode, message: string, locator?: string, reason?: ErrorReason) {
    super(message);
    this.name = 'OwsError';
    this.code = code;
    this.locator = locator;
    this.reason = reason;
  }

  toJSON(): OwsErrorJson {
    const json: OwsErrorJson = { code: this.code, message: this.message };
    if (this.locator !== undefined) json.locator = this.locator;
    if (this.reason !== undefined) json.reason = this.reason;
    return json;
  }

  static fromJSON(json: OwsErrorJson): OwsError {
    return new OwsError(json.code, json.message, json.locator, json.reason);
  }

  /** Wraps anything thrown into an OwsError; foreign errors become NoApplicableCode with their message. */
  static from(error: unknown): OwsError {
    if (error instanceof OwsError) return error;
    if (isOwsErrorJson(error)) return OwsError.fromJSON(error);
    const message = error instanceof Error ? error.message : String(error);
    return new OwsError('NoApplicableCode', message || 'Unknown error');
  }
}

function isOwsErrorJson(value: unknown): value is OwsErrorJson {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.message === 'string' &&
    typeof v.code === 'string' &&
    (OWS_EXCEPTION_CODES as readonly string[]).includes(v.code)
  );
}

export const missingParameter = (locator: string, message: string): OwsError =>
  new OwsError('MissingParameterValue', message, locator);

export const invalidParameter = (locator: string, message: string): OwsError =>
  new OwsError('InvalidParameterValue', message, locator);
