/**
 * Fan-out of large jobs (src/jobs/fan-out.ts) in both dialects, into `jobs.fanOut`:
 *
 * YAML (pygeoapi):
 *   server.manager.fan_out_min_bytes, server.manager.fan_out_max_parallel   (every process)
 *   resources.<id>.fan_out: {min_bytes: 8mb, max_parallel: 2}               (one process)
 *
 * INI (PyWPS):
 *   [jobs] fan_out_min_bytes, fan_out_max_parallel                          (every process)
 *   [process:<id>] fan_out_min_bytes, fan_out_max_parallel                  (one process)
 *
 * Sizes take units (8mb); max_parallel 1 turns fan-out off.
 */
import { type Draft, parseSize } from './draft.ts';

type Node = Record<string, unknown>;
const isNode = (v: unknown): v is Node => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The global YAML keys: [source key, pointer, conversion]. */
export const YAML_FAN_OUT_RULES: Array<[string, string, ((v: unknown, d: Draft, k: string) => unknown)?]> = [
  ['server.manager.fan_out_min_bytes', '/jobs/fanOut/minBytes', parseSize],
  ['server.manager.fan_out_max_parallel', '/jobs/fanOut/maxParallel'],
];

/** Reads `resources.<id>.fan_out` (or the same under `processor`). */
export function readResourceFanOut(id: string, resource: Node, draft: Draft): void {
  const processor = isNode(resource.processor) ? resource.processor : {};
  const fanOut = resource.fan_out ?? processor.fan_out;
  if (fanOut === undefined || fanOut === null) return;
  const key = `resources.${id}.fan_out`;
  if (!isNode(fanOut)) throw draft.error(key, 'must be a mapping (min_bytes, max_parallel)');
  const at = `/jobs/fanOut/processes/${id}`;
  draft.name(at, key);
  for (const [k, v] of Object.entries(fanOut)) {
    if (k === 'min_bytes') draft.set(`${at}/minBytes`, parseSize(v, draft, `${key}.${k}`), `${key}.${k}`);
    else if (k === 'max_parallel') draft.set(`${at}/maxParallel`, v, `${key}.${k}`);
    else draft.warnings.push(`${key}.${k}: unknown key, ignored`);
  }
}

/**
 * Sets a fan-out key of `[jobs]` (id undefined) or of `[process:<id>]`; false when `key` is not one.
 */
export function setIniFanOut(
  id: string | undefined,
  key: string,
  value: string,
  draft: Draft,
  sourceKey: string,
): boolean {
  const at = id === undefined ? '/jobs/fanOut' : `/jobs/fanOut/processes/${id}`;
  if (key === 'fan_out_min_bytes') draft.set(`${at}/minBytes`, parseSize(value, draft, sourceKey), sourceKey);
  else if (key === 'fan_out_max_parallel') draft.set(`${at}/maxParallel`, value, sourceKey);
  else return false;
  return true;
}
