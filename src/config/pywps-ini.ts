import { redactUrl } from '../util/redact.ts';
import { interpolate, IniError, parseIni, type IniSections } from './configparser.ts';
import { LIMIT_KEYS } from '../core/limits.ts';
import { Draft, logLevel, parseBoolean, parseList, parseOrigins, parseSize } from './draft.ts';
import { readIniProviders } from './providers.ts';
import { iniPolicySection, setIniPolicy } from './job-policies.ts';

type Setter = (draft: Draft, value: string, key: string) => void;

const to =
  (pointer: string, convert?: (v: string, d: Draft, k: string) => unknown): Setter =>
  (draft, value, key) =>
    draft.set(pointer, convert ? convert(value, draft, key) : value, key);

const METADATA: Record<string, Setter> = {
  identification_title: to('/metadata/identification/title'),
  identification_abstract: to('/metadata/identification/abstract'),
  identification_keywords: to('/metadata/identification/keywords', (v) => parseList(v)),
  identification_keywords_type: to('/metadata/identification/keywordsType'),
  identification_fees: to('/metadata/identification/fees'),
  identification_accessconstraints: to('/metadata/identification/accessConstraints'),
  identification_profile: to('/metadata/identification/profile'),
  provider_name: to('/metadata/provider/name'),
  provider_url: to('/metadata/provider/url'),
  contact_name: to('/metadata/contact/name'),
  contact_position: to('/metadata/contact/position'),
  contact_address: to('/metadata/contact/address'),
  contact_city: to('/metadata/contact/city'),
  contact_stateorprovince: to('/metadata/contact/stateOrProvince'),
  contact_postalcode: to('/metadata/contact/postalCode'),
  contact_country: to('/metadata/contact/country'),
  contact_phone: to('/metadata/contact/phone'),
  contact_fax: to('/metadata/contact/fax'),
  contact_email: to('/metadata/contact/email'),
  contact_url: to('/metadata/contact/url'),
  contact_hours: to('/metadata/contact/hours'),
  contact_instructions: to('/metadata/contact/instructions'),
  contact_role: to('/metadata/contact/role'),
};

function setUrl(draft: Draft, value: string, key: string): void {
  // `url =` (empty): no URL, so the public URL follows the listening address.
  if (value.trim() === '') return;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw draft.error(key, `'${value}' is not an absolute URL`);
  }
  // PyWPS's url is the WPS endpoint: its origin is our base URL and its path the WPS path.
  draft.set('/server/url', url.origin, key);
  if (url.pathname !== '/' && url.pathname !== '')
    draft.set('/server/wpsPath', url.pathname.replace(/\/$/, ''), key);
  if (url.port) draft.set('/server/port', Number(url.port), key);
}

function setParallel(draft: Draft, value: string, key: string): void {
  // PyWPS uses -1 (and 0) for "as many as the machine allows": the default here.
  if (/^\s*(-1|0)\s*$/.test(value)) return;
  draft.set('/jobs/parallel', value, key);
}

const SERVER: Record<string, Setter> = {
  url: setUrl,
  host: to('/server/host'),
  port: to('/server/port'),
  language: to('/server/languages', (v) => parseList(v)),
  encoding: to('/server/encoding'),
  maxrequestsize: to('/server/maxRequestSize', parseSize),
  maxsingleinputsize: to('/server/maxSingleInputSize', parseSize),
  parallelprocesses: setParallel,
  maxprocesses: to('/jobs/maxQueued'),
  workdir: to('/server/workDir'),
  outputpath: to('/server/outputPath'),
  outputurl: (draft, value, key) => {
    if (value.trim() !== '') draft.set('/server/outputUrl', value, key);
  },
  allowedinputpaths: to('/server/allowedInputPaths', (v) => parseList(v, /[:\n]/)),
  allowedreferencehosts: to('/server/allowedReferenceHosts', (v) => parseList(v)),
  reference_timeout: to('/server/referenceTimeoutSeconds'),
  schemadirs: to('/server/schemaDirs', (v) => parseList(v, /[:\n]/)),
  cleantempdir: to('/server/cleanTempDir', parseBoolean),
  temp_path: to('/server/tempPath'),
  // Extensions: browser access (src/http/cors.ts); an empty list turns CORS off.
  cors_allowed_origins: to('/server/cors/allowedOrigins', parseOrigins),
  cors_max_age: to('/server/cors/maxAgeSeconds'),
  // The resource limits, PyWPS-style without underscores: maxuncompressedsize, maxrasterpixels, …
  ...Object.fromEntries(
    Object.entries(LIMIT_KEYS).map(([name, key]) => [
      key.replace(/_/g, ''),
      /Size|Bytes/.test(name) ? to(`/server/limits/${name}`, parseSize) : to(`/server/limits/${name}`),
    ]),
  ),
};

/** PyWPS keys that have no meaning here (other storage back ends, PyWPS internals): accepted silently. */
const IGNORED_SERVER = new Set(['storagetype', 'storage_copy_function', 'sethomedir', 'processes_path']);

function setDatabase(draft: Draft, value: string, key: string): void {
  // A shared PostgreSQL store (SQLAlchemy's postgresql:// and postgresql+psycopg2:// URLs).
  const shared = /^postgres(?:ql)?(?:\+\w+)?(:\/\/.*)$/.exec(value.trim());
  if (shared) {
    draft.set('/jobs/store/backend', 'postgresql', key);
    draft.set('/jobs/store/connection', `postgresql${shared[1]}`, key);
    return;
  }
  // SQLAlchemy URLs: sqlite:///relative.db, sqlite:////absolute.db, sqlite:// (in memory).
  const m = /^sqlite:\/\/\/?(.*)$/.exec(value.trim());
  if (!m)
    throw draft.error(
      key,
      `expected a SQLite ('sqlite:///path/to/jobs.sqlite') or PostgreSQL ('postgresql://user@host/database') job store, got '${redactUrl(value)}'`,
    );
  const file = m[1] === '' || m[1] === ':memory:' ? ':memory:' : m[1]!;
  if (file === ':memory:') draft.warnings.push(`${key}: an in-memory job store loses every job at restart`);
  draft.set('/jobs/store/path', file, key);
}

const LOGGING: Record<string, Setter> = {
  level: to('/logging/level', logLevel),
  file: to('/logging/file'),
  format: to('/logging/format'),
  database: setDatabase,
};

const PROCESSING: Record<string, Setter> = { mode: to('/processing/mode') };

const JOBS: Record<string, Setter> = {
  sync_timeout: to('/jobs/syncTimeoutSeconds'),
  job_timeout: to('/jobs/jobTimeoutSeconds'),
  cancel_grace: to('/jobs/cancelGraceSeconds'),
  shutdown_grace: to('/jobs/shutdownGraceSeconds'),
  retention: to('/jobs/retentionSeconds'),
  sync_retention: to('/jobs/syncRetentionSeconds'),
  max_jobs: to('/jobs/maxJobs'),
  sweep_interval: to('/jobs/sweepIntervalSeconds'),
  enable_sync: to('/jobs/syncEnabled', parseBoolean),
  enable_async: to('/jobs/asyncEnabled', parseBoolean),
  retry_max_attempts: to('/jobs/retry/maxAttempts'),
  retry_backoff: to('/jobs/retry/backoffSeconds'),
  retry_max_backoff: to('/jobs/retry/maxBackoffSeconds'),
  retry_jitter: to('/jobs/retry/jitter'),
  cache_ttl: to('/jobs/cacheTtlSeconds'),
  // Scaling out (PostgreSQL store only): src/jobs/cluster/.
  max_running: to('/jobs/cluster/maxRunning'),
  lease: to('/jobs/cluster/leaseSeconds'),
  poll_interval: to('/jobs/cluster/pollSeconds'),
  idempotent_processes: to('/jobs/cluster/idempotentProcesses', (v) => parseList(v)),
};

function setProcesses(draft: Draft, value: string, key: string): void {
  draft.set(
    '/processes',
    parseList(value).map((name) => ({
      id: name.replace(/^.*\//, '').replace(/\.(ts|js)$/, ''),
      processor: name,
    })),
    key,
  );
}

const SECTIONS: Record<string, { setters: Record<string, Setter>; ignored?: Set<string> }> = {
  'metadata:main': { setters: METADATA },
  server: { setters: SERVER, ignored: IGNORED_SERVER },
  processing: { setters: PROCESSING },
  logging: { setters: LOGGING },
  jobs: { setters: JOBS },
  processes: {
    setters: {
      publish: setProcesses,
      validation_mode: to('/validationMode', (v) => v.trim().toUpperCase()),
    },
  },
};

/** Loads a PyWPS-style `pywps.cfg` into a draft Config. */
export function readPywpsIni(text: string, file: string, env: NodeJS.ProcessEnv): Draft {
  const draft = new Draft(file);
  let sections: IniSections;
  try {
    sections = parseIni(text);
  } catch (e) {
    throw draft.error(undefined, (e as Error).message);
  }
  const providers: Parameters<typeof readIniProviders>[0] = [];
  for (const [name, entries] of sections) {
    if (name === 'DEFAULT') continue;
    if (/^provider:/i.test(name)) {
      providers.push({
        name,
        keys: [...entries.keys()],
        value: (key) => {
          try {
            return interpolate(sections, name, key, env);
          } catch (e) {
            throw draft.error(`[${name}] ${key}`, e instanceof IniError ? e.message : String(e));
          }
        },
      });
      continue;
    }
    const policyOf = iniPolicySection(name);
    if (policyOf !== undefined) {
      for (const key of entries.keys()) {
        const sourceKey = `[${name}] ${key}`;
        let value: string;
        try {
          value = interpolate(sections, name, key, env);
        } catch (e) {
          throw draft.error(sourceKey, e instanceof IniError ? e.message : String(e));
        }
        if (!setIniPolicy(policyOf, key, value, draft, sourceKey))
          draft.warnings.push(`${sourceKey}: unknown key, ignored`);
      }
      continue;
    }
    const known = SECTIONS[name.toLowerCase()];
    if (!known) {
      draft.warnings.push(`[${name}]: unknown section, ignored`);
      continue;
    }
    for (const key of entries.keys()) {
      const sourceKey = `[${name}] ${key}`;
      const setter = known.setters[key];
      if (!setter) {
        if (!known.ignored?.has(key)) draft.warnings.push(`${sourceKey}: unknown key, ignored`);
        continue;
      }
      let value: string;
      try {
        value = interpolate(sections, name, key, env);
      } catch (e) {
        throw draft.error(sourceKey, e instanceof IniError ? e.message : String(e));
      }
      setter(draft, value, sourceKey);
    }
  }
  readIniProviders(providers, draft);
  return draft;
}
