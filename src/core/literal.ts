import { invalidParameter } from './errors.ts';
import type { AllowedValues, LiteralDataType, ValueRange } from './model.ts';
import type { LiteralScalar } from './values.ts';

/** Aliases seen in WPS descriptions, XSD references and OGC API schemas, mapped to our data types. */
const DATA_TYPE_ALIASES: Record<string, LiteralDataType> = {
  string: 'string',
  str: 'string',
  integer: 'integer',
  int: 'integer',
  long: 'integer',
  double: 'double',
  float: 'float',
  number: 'double',
  decimal: 'double',
  boolean: 'boolean',
  bool: 'boolean',
  positiveinteger: 'positiveInteger',
  nonnegativeinteger: 'nonNegativeInteger',
  date: 'date',
  datetime: 'dateTime',
  time: 'time',
  anyuri: 'anyURI',
  uri: 'anyURI',
  url: 'anyURI',
};

/** `xs:integer`, `http://www.w3.org/TR/xmlschema-2/#integer`, `Integer` → `integer`; undefined if unknown. */
export function normalizeDataType(name: string): LiteralDataType | undefined {
  const bare = name
    .trim()
    .replace(/^.*[#:]/, '')
    .toLowerCase();
  return DATA_TYPE_ALIASES[bare];
}

const INTEGER = /^[+-]?\d+$/;
const DOUBLE = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const TZ = '(Z|[+-](?:(?:0\\d|1[0-3]):[0-5]\\d|14:00))?';
const DATE = new RegExp(`^(-?\\d{4,})-(\\d{2})-(\\d{2})${TZ}$`);
const TIME = new RegExp(`^(\\d{2}):(\\d{2}):(\\d{2})(\\.\\d+)?${TZ}$`);
const DATE_TIME = new RegExp(`^(-?\\d{4,})-(\\d{2})-(\\d{2})T(\\d{2}):(\\d{2}):(\\d{2})(\\.\\d+)?${TZ}$`);

const daysInMonth = (year: number, month: number): number => new Date(Date.UTC(year, month, 0)).getUTCDate();

function validDate(y: number, m: number, d: number): boolean {
  return m >= 1 && m <= 12 && d >= 1 && d <= daysInMonth(y, m);
}

function validTime(h: number, min: number, s: number, fraction: string | undefined): boolean {
  if (h === 24) return min === 0 && s === 0 && (!fraction || /^\.0+$/.test(fraction));
  return h <= 23 && min <= 59 && s <= 59;
}

const tzSuffix = (tz: string | undefined): string => (tz === undefined ? 'Z' : tz);

function fail(locator: string, value: unknown, dataType: string): never {
  throw invalidParameter(locator, `Input '${locator}': '${String(value)}' is not a valid ${dataType}`);
}

function parseInteger(raw: string | number | boolean, locator: string, dataType: LiteralDataType): number {
  let n: number;
  if (typeof raw === 'number') n = raw;
  else if (typeof raw === 'string' && INTEGER.test(raw.trim())) n = Number(raw.trim());
  else fail(locator, raw, dataType);
  if (!Number.isSafeInteger(n)) fail(locator, raw, dataType);
  if (dataType === 'positiveInteger' && n <= 0) fail(locator, raw, dataType);
  if (dataType === 'nonNegativeInteger' && n < 0) fail(locator, raw, dataType);
  return n;
}

function parseDouble(raw: string | number | boolean, locator: string, dataType: LiteralDataType): number {
  if (typeof raw === 'number') return raw;
  if (typeof raw !== 'string') fail(locator, raw, dataType);
  const s = raw.trim();
  if (s === 'INF' || s === '+INF') return Infinity;
  if (s === '-INF') return -Infinity;
  if (s === 'NaN') return NaN;
  if (!DOUBLE.test(s)) fail(locator, raw, dataType);
  return Number(s);
}

function parseBoolean(raw: string | number | boolean, locator: string): boolean {
  if (typeof raw === 'boolean') return raw;
  const s = String(raw).trim().toLowerCase();
  if (s === 'true' || s === '1') return true;
  if (s === 'false' || s === '0') return false;
  fail(locator, raw, 'boolean');
}

function parseDate(raw: string, locator: string): Date {
  const m = DATE.exec(raw.trim());
  if (!m) fail(locator, raw, 'date');
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (!validDate(y, mo, d)) fail(locator, raw, 'date');
  const date = new Date(`${m[1]}-${m[2]}-${m[3]}T00:00:00${tzSuffix(m[4])}`);
  if (Number.isNaN(date.getTime())) fail(locator, raw, 'date');
  return date;
}

function parseDateTime(raw: string, locator: string): Date {
  const m = DATE_TIME.exec(raw.trim());
  if (!m) fail(locator, raw, 'dateTime');
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (!validDate(y, mo, d) || !validTime(h, mi, s, m[7])) fail(locator, raw, 'dateTime');
  const base = new Date(
    `${m[1]}-${m[2]}-${m[3]}T${h === 24 ? '00' : m[4]}:${m[5]}:${m[6]}${m[7] ?? ''}${tzSuffix(m[8])}`,
  );
  if (Number.isNaN(base.getTime())) fail(locator, raw, 'dateTime');
  return h === 24 ? new Date(base.getTime() + 86_400_000) : base;
}

function parseTime(raw: string, locator: string): string {
  const s = raw.trim();
  const m = TIME.exec(s);
  if (!m || !validTime(Number(m[1]), Number(m[2]), Number(m[3]), m[4])) fail(locator, raw, 'time');
  return s;
}

function parseAnyUri(raw: string, locator: string): string {
  const s = raw.trim();
  // Whitespace and control characters are never part of a URI; a scheme-qualified value must parse.
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001f\u007f]/.test(s)) fail(locator, raw, 'anyURI');
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(s) && !URL.canParse(s)) fail(locator, raw, 'anyURI');
  return s;
}

/** Parses a lexical or JSON value into the typed value of `dataType`; InvalidParameterValue otherwise. */
export function parseLiteral(
  raw: string | number | boolean,
  dataType: LiteralDataType,
  locator: string,
): LiteralScalar {
  switch (dataType) {
    case 'string':
      return typeof raw === 'string' ? raw : String(raw);
    case 'integer':
    case 'positiveInteger':
    case 'nonNegativeInteger':
      return parseInteger(raw, locator, dataType);
    case 'double':
    case 'float':
      return parseDouble(raw, locator, dataType);
    case 'boolean':
      return parseBoolean(raw, locator);
    case 'date':
      return parseDate(String(raw), locator);
    case 'dateTime':
      return parseDateTime(String(raw), locator);
    case 'time':
      return parseTime(String(raw), locator);
    case 'anyURI':
      return parseAnyUri(String(raw), locator);
  }
}

const comparable = (v: LiteralScalar): string | number | boolean => (v instanceof Date ? v.getTime() : v);

const RELATIVE_TOLERANCE = 1e-9;

function onSpacing(value: number, anchor: number, spacing: number): boolean {
  const steps = (value - anchor) / spacing;
  return Math.abs(steps - Math.round(steps)) <= RELATIVE_TOLERANCE * Math.max(1, Math.abs(steps));
}

/** True when `value` lies in `range`, honouring closure and spacing. */
export function inRange(value: number, range: ValueRange): boolean {
  if (Number.isNaN(value)) return false;
  const closure = range.closure ?? 'closed';
  const lowerClosed = closure === 'closed' || closure === 'closed-open';
  const upperClosed = closure === 'closed' || closure === 'open-closed';
  if (range.minimum !== undefined && (lowerClosed ? value < range.minimum : value <= range.minimum))
    return false;
  if (range.maximum !== undefined && (upperClosed ? value > range.maximum : value >= range.maximum))
    return false;
  if (range.spacing !== undefined && range.spacing > 0) {
    const anchor = range.minimum ?? range.maximum;
    if (anchor !== undefined && !onSpacing(value, anchor, range.spacing)) return false;
  }
  return true;
}

/** True when the typed `value` is among the allowed values or ranges (or when any value is allowed). */
export function isAllowed(
  value: LiteralScalar,
  dataType: LiteralDataType,
  allowed: AllowedValues | undefined,
): boolean {
  if (!allowed || ((allowed.values?.length ?? 0) === 0 && (allowed.ranges?.length ?? 0) === 0)) return true;
  const v = comparable(value);
  for (const candidate of allowed.values ?? []) {
    let typed: LiteralScalar;
    try {
      typed = parseLiteral(candidate, dataType, 'allowedValues');
    } catch {
      continue;
    }
    if (comparable(typed) === v) return true;
  }
  if (typeof v === 'number') return (allowed.ranges ?? []).some((r) => inRange(v, r));
  return false;
}

export function describeAllowed(allowed: AllowedValues): string {
  const parts: string[] = (allowed.values ?? []).map((v) => String(v));
  for (const r of allowed.ranges ?? []) {
    const c = r.closure ?? 'closed';
    const lo = c === 'closed' || c === 'closed-open' ? '[' : '(';
    const hi = c === 'closed' || c === 'open-closed' ? ']' : ')';
    parts.push(
      `${lo}${r.minimum ?? '-∞'}, ${r.maximum ?? '∞'}${hi}${r.spacing !== undefined ? ` step ${r.spacing}` : ''}`,
    );
  }
  return parts.join(', ');
}

/** A number as XML Schema writes it (NaN, INF, -INF); the lexical form both protocols serve. */
export const formatNumber = (n: number): string =>
  Number.isNaN(n) ? 'NaN' : n === Infinity ? 'INF' : n === -Infinity ? '-INF' : String(n);

/** A typed literal as text: dates as ISO 8601 (a date without its time), numbers as formatNumber. */
export function literalText(value: LiteralScalar, type: LiteralDataType): string {
  if (value instanceof Date) return type === 'date' ? value.toISOString().slice(0, 10) : value.toISOString();
  if (typeof value === 'number') return formatNumber(value);
  return String(value);
}
