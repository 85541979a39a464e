import type { ResourceLimits } from '../core/limits.ts';
import type { ValidationMode } from '../core/model.ts';
import type { ProviderConfig } from '../providers/provider.ts';
import type { ProcessSelection } from '../registry/registry.ts';
import type { LogLevel } from '../util/logger.ts';

/** The one configuration model both dialects load into (validated by schemas/config.schema.json). */
export interface Config {
  /** The file it came from. */
  source: string;
  server: ServerConfig;
  metadata: MetadataConfig;
  jobs: JobsConfig;
  processing: { mode: string };
  /** The validation mode of every complex input, unless a process sets its own; undefined = as described. */
  validationMode?: ValidationMode;
  /** Undefined = every bundled processor. */
  processes?: ProcessSelection[];
  /** Remote servers whose processes are published too (src/providers/); undefined = none. */
  providers?: ProviderConfig[];
  logging: LoggingConfig;
}

export interface ServerConfig {
  host: string;
  port: number;
  /**
   * Public base URL, no trailing slash: OGC API - Processes lives here, WPS at `url + wpsPath`. Unless
   * `urlConfigured`, it follows the listening address (see src/config/public-url.ts): derived from
   * host and port at load, and again from the actual port once the server listens.
   */
  url: string;
  /** Whether `url` was set explicitly (it then always wins over the listening address). */
  urlConfigured: boolean;
  wpsPath: string;
  /** The first is the default. */
  languages: string[];
  encoding: string;
  /** Bytes. */
  maxRequestSize: number;
  /** Bytes; 0 = no limit beyond maxRequestSize. */
  maxSingleInputSize: number;
  workDir: string;
  outputPath: string;
  /** Public URL under which stored outputs are served; unless `outputUrlConfigured`, `{url}{wpsPath}/outputs`. */
  outputUrl: string;
  outputUrlConfigured: boolean;
  /** Folders under which `file://` references are allowed; empty = none. */
  allowedInputPaths: string[];
  /** Hosts that reference inputs may reach even at private or loopback addresses (`*` = any). */
  allowedReferenceHosts: string[];
  referenceTimeoutSeconds: number;
  /** Local XML schema mirrors for VERYSTRICT validation (see src/xml-schema/library.ts). */
  schemaDirs: string[];
  cleanTempDir: boolean;
  tempPath: string;
  /** What one job may expand, read, write and keep (`server.limits.*`; INI `[server]` max… keys). */
  limits: ResourceLimits;
  /**
   * The base map of the HTML pages (pygeoapi `server.map`): an XYZ tile URL template and its
   * attribution. Unset: maps draw the data alone (deployments may be offline).
   */
  map?: { url: string; attribution: string };
  /** Which web pages may call the server from the browser (src/http/cors.ts). */
  cors: CorsConfig;
}

/** `server.cors.*` (YAML; `server.cors: true|false` as pygeoapi) / `[server] cors_*` (INI). */
export interface CorsConfig {
  /** Origins (`https://app.example.org`) whose pages may call the server; `*` = any; empty = CORS off. */
  allowedOrigins: string[];
  /** How long a browser may cache a preflight answer (`Access-Control-Max-Age`). */
  maxAgeSeconds: number;
}

export interface MetadataConfig {
  identification: {
    title: string;
    abstract: string;
    keywords: string[];
    keywordsType: string;
    fees: string;
    accessConstraints: string;
    profile: string;
    url: string;
  };
  provider: { name: string; url: string };
  contact: {
    name: string;
    position: string;
    address: string;
    city: string;
    stateOrProvince: string;
    postalCode: string;
    country: string;
    phone: string;
    fax: string;
    email: string;
    url: string;
    hours: string;
    instructions: string;
    role: string;
  };
}

export interface JobsConfig {
  /** Jobs running at once (PyWPS parallelprocesses); default: CPU cores. */
  parallel: number;
  /** Jobs waiting before ServerBusy (PyWPS maxprocesses). */
  maxQueued: number;
  syncEnabled: boolean;
  asyncEnabled: boolean;
  syncTimeoutSeconds: number;
  jobTimeoutSeconds: number;
  cancelGraceSeconds: number;
  shutdownGraceSeconds: number;
  /** How long finished jobs are kept. */
  retentionSeconds: number;
  /** How long finished synchronous jobs are kept (at most retentionSeconds). */
  syncRetentionSeconds: number;
  /** Jobs kept at most; beyond it the oldest finished ones are removed. */
  maxJobs: number;
  sweepIntervalSeconds: number;
  /** The SQLite file (`path`), or a PostgreSQL server shared by several instances (`connection`). */
  store: { backend: 'sqlite' | 'postgresql'; path: string; connection?: string };
  /** How instances sharing a PostgreSQL store work together (src/jobs/cluster/). */
  cluster: ClusterConfig;
  /** Retries of transient failures, for every process unless its policy says otherwise. */
  retry: RetryConfig;
  /** How long cached results live when a deterministic process declares no time to live. */
  cacheTtlSeconds: number;
  /** Per-process policies, by process id (src/config/job-policies.ts). */
  processes: Record<string, ProcessJobPolicy>;
  /**
   * Fan-out of large jobs (src/jobs/fan-out.ts): the input size from which a job fans out (unset:
   * each processor's default) and its chunks at once (unset: `parallel`), globally and per process id.
   */
  fanOut: FanOutConfig & { processes?: Record<string, FanOutConfig> };
}

export interface ClusterConfig {
  /** Jobs running at once in the whole cluster; 0: no cap beyond each worker's `parallel`. */
  maxRunning: number;
  /** A node that sent no heartbeat for this long has lost its running jobs. */
  leaseSeconds: number;
  /** How often an instance looks for queued jobs and lost leases without being notified. */
  pollSeconds: number;
  /** Processes whose jobs run again on another node (rather than fail) when their node dies. */
  idempotentProcesses: string[];
}

export interface RetryConfig {
  /** Attempts in all (1 = no retry). */
  maxAttempts: number;
  /** The pause before the second attempt; doubled for each further one. */
  backoffSeconds: number;
  maxBackoffSeconds: number;
  /** The share of each pause that is random (0..1): a pause lies in [(1 − jitter)·p, p]. */
  jitter: number;
}

/** `resources.<id>.{max_running_jobs,max_queued_jobs,retry,cache}` (YAML) / `[process:<id>]` (INI). */
export interface ProcessJobPolicy {
  /** Jobs of this process running at once (on top of the global cap). */
  maxRunning?: number;
  /** Jobs of this process waiting at once before its submissions get ServerBusy. */
  maxQueued?: number;
  retry?: Partial<RetryConfig>;
  cache?: { enabled?: boolean; ttlSeconds?: number; immutableUrls?: string[] };
}

export interface FanOutConfig {
  minBytes?: number;
  maxParallel?: number;
}

export interface LoggingConfig {
  level: LogLevel;
  file?: string;
  /** PyWPS's format string; kept for reference, logs are structured JSON. */
  format?: string;
}
