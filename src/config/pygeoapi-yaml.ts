import { parse } from 'yaml';
import { LIMIT_KEYS } from '../core/limits.ts';
import { Draft, logLevel, parseBoolean, parseList, parseOrigins, parseSize } from './draft.ts';
import { readYamlProviders } from './providers.ts';
import { hasPolicyKeys, readResourcePolicy } from './job-policies.ts';

type Node = Record<string, unknown>;
const isNode = (v: unknown): v is Node => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `${VAR}` and `${VAR:-default}` in string values; an unset variable without default is an error. */
function interpolateEnv(value: unknown, path: string, env: NodeJS.ProcessEnv, draft: Draft): unknown {
  if (typeof value === 'string') {
    return value.replace(
      /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g,
      (_m, name: string, fallback?: string) => {
        const v = env[name];
        if (v !== undefined && v !== '') return v;
        if (fallback !== undefined) return fallback;
        throw draft.error(
          path,
          `environment variable ${name} is not set (write \${${name}:-default} for a default)`,
        );
      },
    );
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolateEnv(v, `${path}[${i}]`, env, draft));
  if (isNode(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, interpolateEnv(v, path ? `${path}.${k}` : k, env, draft)]),
    );
  }
  return value;
}

/** pygeoapi allows i18n maps ({en: ..., fr: ...}) for texts: take the server language, else the first. */
function text(value: unknown, language: string): unknown {
  if (!isNode(value)) return value;
  const short = language.split('-')[0]!;
  return value[language] ?? value[short] ?? Object.values(value)[0];
}

type Rule = [sourceKey: string, pointer: string, convert?: (v: unknown, d: Draft, k: string) => unknown];

const URL_KEYS = new Set(['server.url', 'server.output_url']);

const RULES: Rule[] = [
  ['server.bind.host', '/server/host'],
  ['server.bind.port', '/server/port'],
  ['server.url', '/server/url', (v) => String(v).replace(/\/+$/, '')],
  ['server.encoding', '/server/encoding'],
  ['server.language', '/server/languages', (v) => parseList(v)],
  ['server.languages', '/server/languages', (v) => parseList(v)],
  ['server.wps_path', '/server/wpsPath'],
  ['server.max_request_size', '/server/maxRequestSize', parseSize],
  ['server.max_single_input_size', '/server/maxSingleInputSize', parseSize],
  ['server.allowed_input_paths', '/server/allowedInputPaths', (v) => parseList(v)],
  ['server.allowed_reference_hosts', '/server/allowedReferenceHosts', (v) => parseList(v)],
  ['server.reference_timeout_seconds', '/server/referenceTimeoutSeconds'],
  ['server.schema_dirs', '/server/schemaDirs', (v) => parseList(v)],
  ['server.validation_mode', '/validationMode', (v) => String(v).toUpperCase()],
  ['server.output_url', '/server/outputUrl'],
  ['server.clean_temp_dir', '/server/cleanTempDir', parseBoolean],
  ['server.temp_path', '/server/tempPath'],
  ['server.map.url', '/server/map/url'],
  ['server.map.attribution', '/server/map/attribution'],
  // Counts stay numbers; sizes take units (64mb).
  ...Object.entries(LIMIT_KEYS).map(([name, key]): Rule =>
    /Size|Bytes/.test(name)
      ? [`server.limits.${key}`, `/server/limits/${name}`, parseSize]
      : [`server.limits.${key}`, `/server/limits/${name}`],
  ),
  ['server.manager.work_dir', '/server/workDir'],
  ['server.manager.output_dir', '/server/outputPath'],
  ['server.manager.enable_sync_job_execution', '/jobs/syncEnabled', parseBoolean],
  ['server.manager.enable_async_job_execution', '/jobs/asyncEnabled', parseBoolean],
  ['server.manager.sync_job_execution_timeout_seconds', '/jobs/syncTimeoutSeconds'],
  ['server.manager.parallel_processes', '/jobs/parallel'],
  ['server.manager.max_queued_jobs', '/jobs/maxQueued'],
  ['server.manager.job_timeout_seconds', '/jobs/jobTimeoutSeconds'],
  ['server.manager.cancel_grace_seconds', '/jobs/cancelGraceSeconds'],
  ['server.manager.shutdown_grace_seconds', '/jobs/shutdownGraceSeconds'],
  ['server.manager.retention_seconds', '/jobs/retentionSeconds'],
  ['server.manager.sync_retention_seconds', '/jobs/syncRetentionSeconds'],
  ['server.manager.max_jobs', '/jobs/maxJobs'],
  ['server.manager.sweep_interval_seconds', '/jobs/sweepIntervalSeconds'],
  ['server.manager.retry.max_attempts', '/jobs/retry/maxAttempts'],
  ['server.manager.retry.backoff_seconds', '/jobs/retry/backoffSeconds'],
  ['server.manager.retry.max_backoff_seconds', '/jobs/retry/maxBackoffSeconds'],
  ['server.manager.retry.jitter', '/jobs/retry/jitter'],
  ['server.manager.cache_ttl_seconds', '/jobs/cacheTtlSeconds'],
  // Scaling out (PostgreSQL store only): src/jobs/cluster/.
  ['server.manager.max_running', '/jobs/cluster/maxRunning'],
  ['server.manager.lease_seconds', '/jobs/cluster/leaseSeconds'],
  ['server.manager.poll_seconds', '/jobs/cluster/pollSeconds'],
  ['server.manager.idempotent_processes', '/jobs/cluster/idempotentProcesses', (v) => parseList(v)],
  ['metadata.identification.title', '/metadata/identification/title'],
  ['metadata.identification.description', '/metadata/identification/abstract'],
  ['metadata.identification.keywords', '/metadata/identification/keywords', (v) => parseList(v)],
  ['metadata.identification.keywords_type', '/metadata/identification/keywordsType'],
  ['metadata.identification.terms_of_service', '/metadata/identification/accessConstraints'],
  ['metadata.identification.fees', '/metadata/identification/fees'],
  ['metadata.identification.url', '/metadata/identification/url'],
  ['metadata.provider.name', '/metadata/provider/name'],
  ['metadata.provider.url', '/metadata/provider/url'],
  ['metadata.contact.name', '/metadata/contact/name'],
  ['metadata.contact.position', '/metadata/contact/position'],
  ['metadata.contact.address', '/metadata/contact/address'],
  ['metadata.contact.city', '/metadata/contact/city'],
  ['metadata.contact.stateorprovince', '/metadata/contact/stateOrProvince'],
  ['metadata.contact.postalcode', '/metadata/contact/postalCode'],
  ['metadata.contact.country', '/metadata/contact/country'],
  ['metadata.contact.phone', '/metadata/contact/phone'],
  ['metadata.contact.fax', '/metadata/contact/fax'],
  ['metadata.contact.email', '/metadata/contact/email'],
  ['metadata.contact.url', '/metadata/contact/url'],
  ['metadata.contact.hours', '/metadata/contact/hours'],
  ['metadata.contact.instructions', '/metadata/contact/instructions'],
  ['metadata.contact.role', '/metadata/contact/role'],
  ['logging.level', '/logging/level', logLevel],
  ['logging.logfile', '/logging/file'],
];

function lookup(root: Node, dotted: string): unknown {
  let node: unknown = root;
  for (const part of dotted.split('.')) {
    if (!isNode(node)) return undefined;
    node = node[part];
  }
  return node;
}

/**
 * `server.cors`: pygeoapi's boolean (`true` = any origin, `false` = no CORS headers), or a mapping
 * with `allowed_origins` (a list, or one origin) and `max_age_seconds`.
 */
function readCors(cors: unknown, draft: Draft): void {
  if (cors === undefined || cors === null) return;
  if (!isNode(cors)) {
    const on = parseBoolean(cors, draft, 'server.cors');
    draft.set('/server/cors/allowedOrigins', on ? ['*'] : [], 'server.cors');
    return;
  }
  draft.name('/server/cors', 'server.cors');
  if (cors.allowed_origins !== undefined && cors.allowed_origins !== null)
    draft.set(
      '/server/cors/allowedOrigins',
      parseOrigins(cors.allowed_origins, draft, 'server.cors.allowed_origins'),
      'server.cors.allowed_origins',
    );
  if (cors.max_age_seconds !== undefined && cors.max_age_seconds !== null)
    draft.set('/server/cors/maxAgeSeconds', cors.max_age_seconds, 'server.cors.max_age_seconds');
  for (const key of Object.keys(cors))
    if (key !== 'allowed_origins' && key !== 'max_age_seconds')
      draft.warnings.push(`server.cors.${key}: unknown key, ignored`);
}

/**
 * The job store: our SQLite by default, or PostgreSQL (`name: PostgreSQL`, `connection:
 * postgresql://…`, as pygeoapi's PostgreSQLManager) shared by several instances; other pygeoapi
 * managers (TinyDB, MongoDB…) are not reused.
 */
function readManager(manager: Node, draft: Draft): void {
  const name = String(manager.name ?? 'SQLite');
  if (/sqlite/i.test(name)) {
    if (manager.connection !== undefined)
      draft.set('/jobs/store/path', String(manager.connection), 'server.manager.connection');
  } else if (/postgres/i.test(name)) {
    if (typeof manager.connection !== 'string' || !/^postgres(ql)?:\/\//.test(manager.connection))
      throw draft.error(
        'server.manager.connection',
        `the PostgreSQL manager needs a connection string 'postgresql://user:password@host:port/database'`,
      );
    draft.set('/jobs/store/backend', 'postgresql', 'server.manager.name');
    draft.set('/jobs/store/connection', manager.connection, 'server.manager.connection');
  } else {
    draft.warnings.push(
      `server.manager.name: '${name}' manager is not supported; jobs are kept in SQLite in the work directory`,
    );
  }
}

function readResources(resources: unknown, draft: Draft): void {
  if (!isNode(resources)) throw draft.error('resources', 'must be a mapping of resource ids');
  const processes: Array<Record<string, unknown>> = [];
  for (const [id, resource] of Object.entries(resources)) {
    if (!isNode(resource) || resource.type !== 'process') {
      draft.warnings.push(`resources.${id}: not a process resource, ignored`);
      continue;
    }
    const processor = resource.processor;
    if (processor === undefined && hasPolicyKeys(resource)) {
      // Policies only, for a process published by a remote provider (src/jobs/job-policies.ts).
      readResourcePolicy(id, resource, draft);
      continue;
    }
    if (!isNode(processor) || typeof processor.name !== 'string') {
      throw draft.error(`resources.${id}.processor.name`, 'a process resource needs processor.name');
    }
    const selection: Record<string, unknown> = { id, processor: processor.name };
    const {
      name: _name,
      job_control_options: _control,
      validation_mode: _validation,
      ...options
    } = processor;
    if (Object.keys(options).length > 0) selection.options = options;
    const at = `/processes/${processes.length}`;
    draft.name(at, `resources.${id}`);
    draft.name(`${at}/id`, `resources.${id}`);
    draft.name(`${at}/processor`, `resources.${id}.processor.name`);
    const control = resource.job_control_options ?? processor.job_control_options;
    if (control !== undefined) {
      selection.jobControlOptions = control;
      draft.name(`${at}/jobControlOptions`, `resources.${id}.job_control_options`);
    }
    const validation = resource.validation_mode ?? processor.validation_mode;
    if (validation !== undefined) {
      selection.validationMode = String(validation).toUpperCase();
      draft.name(`${at}/validationMode`, `resources.${id}.validation_mode`);
    }
    readResourcePolicy(id, resource, draft);
    processes.push(selection);
  }
  draft.set('/processes', processes, 'resources');
}

/** Loads a pygeoapi-style YAML configuration into a draft Config. */
export function readPygeoapiYaml(source: string, file: string, env: NodeJS.ProcessEnv): Draft {
  const draft = new Draft(file);
  let parsed: unknown;
  try {
    parsed = parse(source, { prettyErrors: true });
  } catch (e) {
    throw draft.error(undefined, `not valid YAML: ${(e as Error).message}`);
  }
  if (parsed === null || parsed === undefined) parsed = {};
  if (!isNode(parsed)) throw draft.error(undefined, 'the top level must be a mapping');
  const root = interpolateEnv(parsed, '', env, draft) as Node;
  const languages = parseList(lookup(root, 'server.languages') ?? lookup(root, 'server.language') ?? 'en-US');
  for (const [sourceKey, pointer, convert] of RULES) {
    let value = lookup(root, sourceKey);
    if (value === undefined || value === null) continue;
    // `url: ${GATEWAY_URL:-}`: an empty URL is no URL, so it follows the listening address.
    if (URL_KEYS.has(sourceKey) && String(value).trim() === '') continue;
    if (sourceKey.startsWith('metadata.')) value = text(value, languages[0]!);
    draft.set(pointer, convert ? convert(value, draft, sourceKey) : value, sourceKey);
  }
  readCors(lookup(root, 'server.cors'), draft);
  const manager = lookup(root, 'server.manager');
  if (isNode(manager)) readManager(manager, draft);
  if (root.resources !== undefined) readResources(root.resources, draft);
  if (root.providers !== undefined && root.providers !== null) readYamlProviders(root.providers, draft);
  return draft;
}
