import { invalidParameter, OwsError } from '../core/errors.ts';
import { JOB_STATUSES, type JobStatus } from '../core/job.ts';
import type { JobFilter } from '../jobs/store.ts';

/** `limit` of the job list (OGC API - Processes /req/job-list/limit-definition). */
export const JOB_LIST_LIMIT = { minimum: 1, maximum: 10_000, default: 10 } as const;

/**
 * Reads the query of `GET /jobs` (OGC API - Processes 1.0, job-list class) into a store filter:
 * `type`, `processID`, `status` (lists: repeated and/or comma-separated), `datetime` (an RFC 3339
 * instant or interval on `created`, `..` or an empty side for an open end), `minDuration` and
 * `maxDuration` (whole seconds), `limit` (1..10000, default 10) and `offset` (the paging links).
 * Other parameters are ignored. A bad value gives InvalidParameterValue with the parameter as
 * locator.
 */
export function parseJobListQuery(query: URLSearchParams): JobFilter | OwsError {
  try {
    return readFilter(query);
  } catch (error) {
    if (error instanceof OwsError) return error;
    throw error;
  }
}

function readFilter(query: URLSearchParams): JobFilter {
  const filter: JobFilter = { limit: JOB_LIST_LIMIT.default };
  const types = list(query, 'type');
  if (types) filter.types = types;
  const processIds = list(query, 'processID');
  if (processIds) filter.processIds = processIds;
  const statuses = list(query, 'status');
  if (statuses) filter.statuses = statuses.map(status);
  const datetime = single(query, 'datetime');
  if (datetime !== undefined) Object.assign(filter, interval(datetime));
  const min = single(query, 'minDuration');
  if (min !== undefined) filter.minDurationMs = wholeNumber('minDuration', min) * 1000;
  const max = single(query, 'maxDuration');
  if (max !== undefined) filter.maxDurationMs = wholeNumber('maxDuration', max) * 1000;
  if (
    filter.minDurationMs !== undefined &&
    filter.maxDurationMs !== undefined &&
    filter.minDurationMs > filter.maxDurationMs
  ) {
    throw invalidParameter('minDuration', `minDuration (${min} s) is greater than maxDuration (${max} s)`);
  }
  const limit = single(query, 'limit');
  if (limit !== undefined) {
    const n = wholeNumber('limit', limit);
    if (n < JOB_LIST_LIMIT.minimum || n > JOB_LIST_LIMIT.maximum) {
      throw invalidParameter(
        'limit',
        `limit must be between ${JOB_LIST_LIMIT.minimum} and ${JOB_LIST_LIMIT.maximum}, not ${n}`,
      );
    }
    filter.limit = n;
  }
  const offset = single(query, 'offset');
  if (offset !== undefined) filter.offset = wholeNumber('offset', offset);
  return filter;
}

/** The values of a list parameter, repeated and/or comma-separated; empty items are ignored. */
function list(query: URLSearchParams, name: string): string[] | undefined {
  const values = query
    .getAll(name)
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
  return values.length > 0 ? values : undefined;
}

/** The value of a parameter given at most once; an empty value counts as absent. */
function single(query: URLSearchParams, name: string): string | undefined {
  const values = query.getAll(name).filter((v) => v.trim() !== '');
  if (values.length > 1) throw invalidParameter(name, `${name} may be given only once`);
  return values[0]?.trim();
}

function status(value: string): JobStatus {
  if ((JOB_STATUSES as readonly string[]).includes(value)) return value as JobStatus;
  throw invalidParameter(
    'status',
    `'${value}' is not a job status (one of ${JOB_STATUSES.join(', ')} is expected)`,
  );
}

function wholeNumber(name: string, value: string): number {
  if (/^[+-]?\d+$/.test(value)) {
    const n = Number(value);
    if (n < 0) throw invalidParameter(name, `${name} must not be negative, not ${value}`);
    if (Number.isSafeInteger(n)) return n;
  }
  throw invalidParameter(name, `${name} must be a whole number, not '${value}'`);
}

/** `datetime`: an instant (created equal to it) or an interval (created within it, ends included). */
function interval(value: string): Pick<JobFilter, 'createdFrom' | 'createdTo'> {
  const parts = value.split('/');
  if (parts.length === 1) {
    const at = instant(value);
    return { createdFrom: at, createdTo: at };
  }
  if (parts.length !== 2) throw badDatetime(value, 'an interval has exactly one /');
  const [from, to] = parts.map((p) => (p === '' || p === '..' ? undefined : instant(p)));
  if (!from && !to) throw badDatetime(value, 'an interval needs at least one end');
  if (from && to && from.getTime() > to.getTime()) {
    throw badDatetime(value, 'the interval ends before it starts');
  }
  return { ...(from ? { createdFrom: from } : {}), ...(to ? { createdTo: to } : {}) };
}

const badDatetime = (value: string, why: string) =>
  invalidParameter(
    'datetime',
    `'${value}' is not an RFC 3339 date-time or interval (${why}); e.g. 2024-05-01T00:00:00Z/.. or 2024-05-01T10:00:00Z`,
  );

const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** An RFC 3339 (section 5.6) date-time, checked field by field (no 30 February). */
function instant(value: string): Date {
  const m = DATE_TIME.exec(value);
  if (!m) throw badDatetime(value, 'expected YYYY-MM-DDThh:mm:ss[.fff](Z|±hh:mm)');
  const [year, month, day, hour, minute, second, offsetHours, offsetMinutes] = [
    m[1],
    m[2],
    m[3],
    m[4],
    m[5],
    m[6],
    m[10],
    m[11],
  ].map((x) => Number(x ?? 0)) as [number, number, number, number, number, number, number, number];
  const daysInMonth = new Date(Date.UTC(2000, month, 0)).getUTCDate(); // month's length in a leap year
  const leapDay = month === 2 && day === 29;
  const isLeapYear = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  if (
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > daysInMonth ||
    (leapDay && !isLeapYear) ||
    hour > 23 ||
    minute > 59 ||
    second > 60 || // 60: a leap second
    offsetHours > 23 ||
    offsetMinutes > 59
  ) {
    throw badDatetime(value, 'a field is out of range');
  }
  const millis = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, millis);
  const offset = m[8] ? 0 : (m[9] === '-' ? -1 : 1) * (offsetHours * 60 + offsetMinutes);
  return new Date(date.getTime() - offset * 60_000);
}
