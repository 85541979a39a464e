import { STATUS_CODES } from 'node:http';
import { BUSY_RETRY_AFTER_SECONDS, OwsError, type ErrorReason } from '../core/errors.ts';

/** Exception bodies are `application/json`: the OGC test suite rejects application/problem+json on execute. */
export const EXCEPTION_MEDIA_TYPE = 'application/json';

const TYPE_BASE = 'http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/';

/** The reasons OGC API - Processes 1.0 has its own exception types for, with their titles. */
const TYPED_REASONS: Partial<Record<ErrorReason, string>> = {
  'no-such-process': 'No such process',
  'no-such-job': 'No such job',
  'result-not-ready': 'Result not ready',
};

/**
 * A failure of the HTTP exchange itself (wrong method, unacceptable media type, unknown path, …):
 * the API's own concern, never a core one.
 */
export class HttpProblem extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;

  constructor(status: number, detail: string, headers: Record<string, string> = {}) {
    super(detail);
    this.name = 'HttpProblem';
    this.status = status;
    this.headers = headers;
  }
}

/** An OGC API exception document (exception.yaml, RFC 7807 members plus the OWS code and locator). */
export interface ExceptionBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  /** The OWS exception code (extension member). */
  code?: string;
  /** The parameter or input the error is about (extension member). */
  locator?: string;
}

export interface ExceptionReply {
  status: number;
  headers: Record<string, string>;
  body: ExceptionBody;
}

/** The one place where core errors become HTTP statuses in OGC API - Processes. */
export function httpStatus(error: OwsError): number {
  switch (error.reason) {
    case 'no-such-process':
    case 'no-such-job':
    case 'result-not-ready':
      return 404;
    case 'malformed-request':
      return 400;
    default:
      break;
  }
  switch (error.code) {
    case 'ServerBusy':
      return 503;
    case 'FileSizeExceeded':
      // The request or one of its inputs is larger than allowed: RFC 9110 "Content Too Large".
      return 413;
    case 'NotEnoughStorage':
      // The server has no room for what the job produced: RFC 4918 "Insufficient Storage".
      return 507;
    case 'NoApplicableCode':
      return 500;
    default:
      return 400;
  }
}

const title = (status: number): string => STATUS_CODES[status] ?? 'Error';

/** Renders anything thrown by a handler as exception JSON; unknown errors are a 500 without details. */
export function exceptionReply(thrown: unknown): ExceptionReply {
  if (thrown instanceof HttpProblem) {
    return {
      status: thrown.status,
      headers: thrown.headers,
      body: {
        type: 'about:blank',
        title: title(thrown.status),
        status: thrown.status,
        detail: thrown.message,
      },
    };
  }
  const error =
    thrown instanceof OwsError
      ? thrown
      : new OwsError('NoApplicableCode', 'The server could not process the request');
  const status = httpStatus(error);
  const typedTitle = error.reason === undefined ? undefined : TYPED_REASONS[error.reason];
  const body: ExceptionBody = {
    type: typedTitle ? `${TYPE_BASE}${error.reason}` : 'about:blank',
    title: typedTitle ?? title(status),
    status,
    detail: error.message,
    code: error.code,
    ...(error.locator !== undefined ? { locator: error.locator } : {}),
  };
  const headers: Record<string, string> =
    status === 503 ? { 'Retry-After': String(BUSY_RETRY_AFTER_SECONDS) } : {};
  return { status, headers, body };
}
