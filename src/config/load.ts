import { readFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_LIMITS } from '../core/limits.ts';
import { compileSchema } from '../util/json-schema.ts';
import { ConfigError, type Draft } from './draft.ts';
import { defaultOutputUrl, listenerUrl } from './public-url.ts';
import { readPygeoapiYaml } from './pygeoapi-yaml.ts';
import { readPywpsIni } from './pywps-ini.ts';
import type { Config } from './types.ts';

export { ConfigError } from './draft.ts';

export interface LoadedConfig {
  config: Config;
  /** Things worth telling the operator that do not stop the server (unknown keys, ignored sections). */
  warnings: string[];
}

/** Where `.ci/setup.sh` installs the XML schemas that Debian packages ship (KML 2.2). */
const DEFAULT_SCHEMA_DIR = fileURLToPath(new URL('../../.schemas/', import.meta.url));

const validateConfig = compileSchema<Config>('config.schema.json', { coerceTypes: true });

export type Dialect = 'pywps' | 'pygeoapi';

/** By extension (.cfg/.ini/.conf → INI; .yml/.yaml → YAML), else by content. */
export function detectDialect(file: string, text: string): Dialect {
  const ext = path.extname(file).toLowerCase();
  if (['.cfg', '.ini', '.conf'].includes(ext)) return 'pywps';
  if (['.yml', '.yaml'].includes(ext)) return 'pygeoapi';
  return /^\s*\[[^\]]+\]\s*$/m.test(text) ? 'pywps' : 'pygeoapi';
}

/** Fills the defaults that depend on other settings or on the machine, before schema validation. */
function applyDerivedDefaults(draft: Draft): void {
  const d = (pointer: string, value: () => unknown) => {
    if (draft.get(pointer) === undefined) draft.set(pointer, value(), pointer.slice(1).replace(/\//g, '.'));
  };
  d('/server/host', () => 'localhost');
  d('/server/port', () => 5000);
  d('/server/wpsPath', () => '/wps');
  // An explicit URL always wins; a defaulted one follows the listening address (src/config/public-url.ts).
  draft.set('/server/urlConfigured', draft.get('/server/url') !== undefined, 'server.url');
  draft.set('/server/outputUrlConfigured', draft.get('/server/outputUrl') !== undefined, 'server.output_url');
  d('/server/url', () => listenerUrl(String(draft.get('/server/host')), Number(draft.get('/server/port'))));
  d('/server/outputUrl', () =>
    defaultOutputUrl(String(draft.get('/server/url')), String(draft.get('/server/wpsPath'))),
  );
  d('/server/workDir', () => path.join(tmpdir(), 'wps-oaproc-gateway'));
  d('/server/outputPath', () => path.join(String(draft.get('/server/workDir')), 'outputs'));
  d('/server/tempPath', () => tmpdir());
  d('/server/schemaDirs', () => [DEFAULT_SCHEMA_DIR]);
  for (const [name, value] of Object.entries(DEFAULT_LIMITS)) d(`/server/limits/${name}`, () => value);
  d('/jobs/parallel', () => availableParallelism());
  d('/jobs/store/backend', () => 'sqlite');
  d('/jobs/store/path', () => path.join(String(draft.get('/server/workDir')), 'jobs.sqlite'));
}

function resolvePaths(config: Config): void {
  const abs = (p: string) => path.resolve(p);
  config.server.workDir = abs(config.server.workDir);
  config.server.outputPath = abs(config.server.outputPath);
  config.server.tempPath = abs(config.server.tempPath);
  config.server.allowedInputPaths = config.server.allowedInputPaths.map((p) => abs(p));
  config.server.schemaDirs = config.server.schemaDirs.map((p) => abs(p));
  if (config.jobs.store.path !== ':memory:') config.jobs.store.path = abs(config.jobs.store.path);
  if (config.logging.file) config.logging.file = abs(config.logging.file);
  config.server.url = config.server.url.replace(/\/+$/, '');
  config.server.wpsPath = config.server.wpsPath === '/' ? '/' : config.server.wpsPath.replace(/\/+$/, '');
  config.server.outputUrl = config.server.outputUrl.replace(/\/+$/, '');
}

/** Parses configuration text of either dialect into a validated Config. Throws ConfigError. */
export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const draft =
    detectDialect(file, text) === 'pywps' ? readPywpsIni(text, file, env) : readPygeoapiYaml(text, file, env);
  draft.set('/source', file, 'source');
  applyDerivedDefaults(draft);
  const result = validateConfig(draft.value);
  if (!result.ok) {
    const [first, ...rest] = result.problems;
    const more = rest.map((p) => `; ${draft.keyFor(p.path)}: ${p.message}`).join('');
    throw new ConfigError(file, draft.keyFor(first!.path), first!.message + more);
  }
  resolvePaths(result.value);
  return { config: result.value, warnings: draft.warnings };
}

/** Reads and parses a configuration file. Throws ConfigError (naming the file, the key and the problem). */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(
      file,
      undefined,
      `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
  return parseConfig(text, file, env);
}
