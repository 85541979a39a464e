/**
 * Remote providers in both dialects (src/providers/provider.ts ProviderConfig):
 *
 * YAML (a top-level list):
 *   providers:
 *     - id: pywps
 *       type: wps                       # or ogcapi-processes
 *       url: http://127.0.0.1:5001/wps
 *       processes: [buffer, say_hello]  # optional allowlist of remote ids
 *       timeout_seconds: 30
 *       poll_interval_seconds: 2
 *       refresh_interval_seconds: 300
 *       headers: {Authorization: Bearer abc}
 *       id_prefix: pywps.               # default `<id>.`
 *       pass_through_references: false
 *       forward_references: false
 *       allowed_hosts: [127.0.0.1]      # private/loopback hosts this provider may reach
 *
 * INI (one section per provider, PyWPS style):
 *   [provider:pywps]
 *   type = wps
 *   url = http://127.0.0.1:5001/wps
 *   processes = buffer, say_hello
 *   timeout = 30
 *   poll_interval = 2
 *   refresh_interval = 300
 *   headers = Authorization: Bearer abc
 *             X-Other: value
 *   id_prefix = pywps.
 *   pass_through_references = false
 *   forward_references = false
 *   allowed_hosts = 127.0.0.1
 */
import type { Draft } from './draft.ts';
import { parseBoolean, parseList } from './draft.ts';

type Node = Record<string, unknown>;
const isNode = (v: unknown): v is Node => typeof v === 'object' && v !== null && !Array.isArray(v);

/** [YAML key, INI key, property, conversion]. */
const KEYS: Array<[string, string, string, ((v: unknown, d: Draft, k: string) => unknown)?]> = [
  ['type', 'type', 'type'],
  ['url', 'url', 'url', (v) => String(v).trim()],
  ['processes', 'processes', 'processes', (v) => parseList(v)],
  ['timeout_seconds', 'timeout', 'timeoutSeconds'],
  ['poll_interval_seconds', 'poll_interval', 'pollIntervalSeconds'],
  ['refresh_interval_seconds', 'refresh_interval', 'refreshIntervalSeconds'],
  ['headers', 'headers', 'headers', parseHeaders],
  ['id_prefix', 'id_prefix', 'idPrefix', (v) => String(v)],
  ['pass_through_references', 'pass_through_references', 'passThroughReferences', parseBoolean],
  ['forward_references', 'forward_references', 'forwardReferences', parseBoolean],
  ['allowed_hosts', 'allowed_hosts', 'allowedHosts', (v) => parseList(v).map((h) => h.toLowerCase())],
];

/** A mapping (YAML) or `Name: value` lines (INI) into a header map. */
function parseHeaders(value: unknown, draft: Draft, key: string): Record<string, string> {
  if (isNode(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, String(v)]));
  const headers: Record<string, string> = {};
  for (const line of String(value).split('\n')) {
    if (line.trim() === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw draft.error(key, `'${line.trim()}' is not 'Name: value'`);
    headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  return headers;
}

function place(
  draft: Draft,
  index: number,
  id: string,
  entries: Array<[string, unknown]>,
  keyName: (k: string) => string,
  dialect: 0 | 1,
): void {
  const at = `/providers/${index}`;
  const provider: Node = { id, idPrefix: `${id}.`, headers: {}, allowedHosts: [] };
  draft.set(at, provider, keyName(''));
  draft.name(`${at}/id`, keyName(dialect === 0 ? 'id' : ''));
  for (const [key, value] of entries) {
    if (dialect === 0 && key === 'id') continue;
    const rule = KEYS.find((k) => k[dialect] === key);
    if (!rule) {
      draft.warnings.push(`${keyName(key)}: unknown key, ignored`);
      continue;
    }
    if (value === undefined || value === null) continue;
    const [, , property, convert] = rule;
    draft.set(`${at}/${property}`, convert ? convert(value, draft, keyName(key)) : value, keyName(key));
  }
}

/** YAML `providers:`: a list of mappings with an `id` each. */
export function readYamlProviders(value: unknown, draft: Draft): void {
  if (!Array.isArray(value)) throw draft.error('providers', 'must be a list of providers');
  draft.set('/providers', [], 'providers');
  value.forEach((item: unknown, i) => {
    if (!isNode(item) || typeof item.id !== 'string' || item.id === '')
      throw draft.error(`providers[${i}]`, 'each provider needs an id');
    const id = item.id;
    if (value.slice(0, i).some((other) => isNode(other) && other.id === id))
      throw draft.error(`providers[${id}]`, 'two providers have this id');
    place(draft, i, id, Object.entries(item), (k) => `providers[${id}]${k ? `.${k}` : ''}`, 0);
  });
}

/** INI `[provider:NAME]` sections, in file order; `values` gives a key's interpolated value. */
export function readIniProviders(
  sections: Array<{ name: string; keys: string[]; value(key: string): string }>,
  draft: Draft,
): void {
  if (sections.length === 0) return;
  draft.set('/providers', [], '[provider:*]');
  sections.forEach((section, i) => {
    const id = section.name.slice('provider:'.length).trim();
    const entries = section.keys.map((k): [string, unknown] => [k, section.value(k)]);
    place(draft, i, id, entries, (k) => `[provider:${id}]${k ? ` ${k}` : ''}`, 1);
  });
}
