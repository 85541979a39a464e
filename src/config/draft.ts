/**
 * A configuration being assembled from one dialect: values placed by JSON pointer into the shape
 * of Config, with the source spelling of each key remembered so that errors name what the
 * operator wrote ("[server] maxprocesses", "server.manager.max_queued_jobs").
 */
export class ConfigError extends Error {
  readonly file: string;
  readonly key: string | undefined;
  readonly problem: string;

  constructor(file: string, key: string | undefined, problem: string) {
    super(key ? `${file}: ${key}: ${problem}` : `${file}: ${problem}`);
    this.name = 'ConfigError';
    this.file = file;
    this.key = key;
    this.problem = problem;
  }
}

export class Draft {
  readonly value: Record<string, unknown> = {};
  readonly sourceKeys = new Map<string, string>();
  readonly warnings: string[] = [];

  readonly file: string;

  constructor(file: string) {
    this.file = file;
  }

  set(pointer: string, value: unknown, sourceKey: string): void {
    const parts = pointer.split('/').slice(1);
    let node = this.value;
    for (const part of parts.slice(0, -1)) {
      node[part] ??= {};
      node = node[part] as Record<string, unknown>;
    }
    node[parts.at(-1)!] = value;
    this.sourceKeys.set(pointer, sourceKey);
  }

  get(pointer: string): unknown {
    let node: unknown = this.value;
    for (const part of pointer.split('/').slice(1)) {
      if (typeof node !== 'object' || node === null) return undefined;
      node = (node as Record<string, unknown>)[part];
    }
    return node;
  }

  /** Records the operator's spelling of a key whose value was set as part of a larger one. */
  name(pointer: string, sourceKey: string): void {
    this.sourceKeys.set(pointer, sourceKey);
  }

  /** The operator's name for the key at `pointer` (or its nearest parent; list indices are dropped). */
  keyFor(pointer: string): string {
    for (let p = pointer; p !== ''; p = p.slice(0, p.lastIndexOf('/'))) {
      const key = this.sourceKeys.get(p);
      if (key)
        return (
          key +
          pointer
            .slice(p.length)
            .replace(/\/\d+(?=\/|$)/g, '')
            .replace(/\//g, '.')
        );
    }
    return pointer.replace(/^\//, '').replace(/\//g, '.') || '(root)';
  }

  error(sourceKey: string | undefined, problem: string): ConfigError {
    return new ConfigError(this.file, sourceKey, problem);
  }
}

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
};

/** PyWPS sizes: `3mb`, `500kb`, `1gb`, or plain bytes. */
export function parseSize(value: unknown, draft: Draft, key: string): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return Math.floor(value);
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(String(value));
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined)
    throw draft.error(key, `'${String(value)}' is not a size (e.g. 3mb, 500kb, 1gb, 1048576)`);
  return Math.floor(Number(m[1]) * unit);
}

/** ConfigParser's getboolean. */
export function parseBoolean(value: unknown, draft: Draft, key: string): boolean {
  if (typeof value === 'boolean') return value;
  const s = String(value).trim().toLowerCase();
  if (['1', 'yes', 'true', 'on'].includes(s)) return true;
  if (['0', 'no', 'false', 'off'].includes(s)) return false;
  throw draft.error(key, `'${String(value)}' is not a boolean (true/false, yes/no, on/off, 1/0)`);
}

export const parseList = (value: unknown, separator: RegExp = /[,\n]/): string[] =>
  (Array.isArray(value) ? value.map(String) : String(value).split(separator))
    .map((s) => s.trim())
    .filter((s) => s !== '');

/**
 * A list of web origins (`*`, or `scheme://host[:port]`, a trailing slash tolerated), each written as
 * browsers send it in `Origin` (lower-case host, no default port); anything else is an error.
 */
export function parseOrigins(value: unknown, draft: Draft, key: string): string[] {
  return parseList(value).map((entry) => {
    if (entry === '*') return entry;
    let url: URL | undefined;
    try {
      url = new URL(entry);
    } catch {
      url = undefined;
    }
    // Nothing but scheme, host and port (no user, path, query, fragment, nor a wildcard host).
    const bare =
      url && /^https?:$/.test(url.protocol) && `${url.origin}/` === url.href && !url.host.includes('*');
    if (!url || !bare)
      throw draft.error(key, `'${entry}' is not '*' or an origin such as https://app.example.org:8443`);
    return url.origin;
  });
}

const LEVELS: Record<string, string> = {
  notset: 'trace',
  trace: 'trace',
  debug: 'debug',
  info: 'info',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
  critical: 'fatal',
  fatal: 'fatal',
  silent: 'silent',
};

/** Python logging level names (DEBUG, WARNING, CRITICAL) → pino levels; unknown ones pass to the schema check. */
export const logLevel = (value: unknown): string =>
  LEVELS[String(value).trim().toLowerCase()] ?? String(value);
