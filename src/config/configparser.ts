/**
 * Reads INI files the way Python's ConfigParser (and so PyWPS) does: `key = value` or `key: value`,
 * case-insensitive keys, full-line `#`/`;` comments only (a `#` inside a value is data), indented
 * continuation lines, a DEFAULT section seen by every section, `%(name)s` interpolation from the
 * section, DEFAULT, then the environment (ConfigParser(os.environ) semantics), `%%` for a literal
 * percent, and `$VAR`/`${VAR}` expansion as PyWPS's EnvInterpolation adds. The `ini` package cuts
 * values at inline `;`/`#` and reads continuation lines as keys, which breaks real pywps.cfg files.
 */
export class IniError extends Error {
  readonly line: number | undefined;
  readonly key: string | undefined;
  constructor(message: string, where: { line?: number; key?: string } = {}) {
    super(message);
    this.name = 'IniError';
    this.line = where.line;
    this.key = where.key;
  }
}

export interface IniEntry {
  value: string;
  line: number;
}

export type IniSections = Map<string, Map<string, IniEntry>>;

export function parseIni(text: string): IniSections {
  const sections: IniSections = new Map([['DEFAULT', new Map()]]);
  let current: Map<string, IniEntry> | undefined;
  let last: IniEntry | undefined;
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, index) => {
    const lineNo = index + 1;
    if (raw.trim() === '') {
      last = undefined;
      return;
    }
    if (/^\s*[#;]/.test(raw)) return;
    if (/^\s/.test(raw) && last) {
      last.value += `\n${raw.trim()}`;
      return;
    }
    const header = /^\[([^\]]+)\]\s*$/.exec(raw);
    if (header) {
      const name = header[1]!.trim();
      current = sections.get(name) ?? new Map();
      sections.set(name, current);
      last = undefined;
      return;
    }
    const kv = /^([^=:]+?)\s*[=:]\s*(.*)$/.exec(raw);
    if (!kv)
      throw new IniError(`line ${lineNo}: expected 'key = value' or a [section] header`, { line: lineNo });
    if (!current) throw new IniError(`line ${lineNo}: key outside of any [section]`, { line: lineNo });
    last = { value: kv[2]!.trim(), line: lineNo };
    current.set(kv[1]!.trim().toLowerCase(), last);
  });
  return sections;
}

const MAX_DEPTH = 10;

/** The value of `key` in `section` with interpolation applied. */
export function interpolate(
  sections: IniSections,
  section: string,
  key: string,
  env: NodeJS.ProcessEnv,
  depth = 0,
): string {
  const entry = sections.get(section)?.get(key) ?? sections.get('DEFAULT')?.get(key);
  if (!entry) {
    const fromEnv = Object.entries(env).find(([k]) => k.toLowerCase() === key)?.[1];
    if (fromEnv === undefined)
      throw new IniError(`[${section}] refers to '%(${key})s', which is not set`, { key });
    return fromEnv;
  }
  if (depth > MAX_DEPTH)
    throw new IniError(`[${section}] ${key}: interpolation is too deeply nested`, { key });
  if (entry.value.replace(/%%|%\([^)]+\)s/g, '').includes('%')) {
    throw new IniError(
      `[${section}] ${key} (line ${entry.line}): a '%' must be written '%%' or start '%(name)s'`,
      {
        key,
        line: entry.line,
      },
    );
  }
  const expandEnv = (text: string) =>
    text.replace(
      /\$\{(\w+)\}|\$(\w+)/g,
      (m, a: string | undefined, b: string | undefined) => env[(a ?? b)!] ?? m,
    );
  return entry.value.replace(/%%|%\(([^)]+)\)s|[^%]+/g, (part, name: string | undefined) => {
    if (part === '%%') return '%';
    if (name !== undefined) return interpolate(sections, section, name.toLowerCase(), env, depth + 1);
    return expandEnv(part);
  });
}
