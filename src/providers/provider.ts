/**
 * Remote providers: existing servers (a WPS 1.0.0 server such as PyWPS, or an OGC API - Processes
 * server) whose processes this gateway publishes as its own, through both front ends, with their
 * jobs in the same store as local ones.
 *
 * The pieces:
 * - {@link ProviderConfig}: one entry of the configuration (YAML `providers:` list, INI
 *   `[provider:NAME]` sections; read by src/config/providers.ts).
 * - {@link RemoteProvider}: what a provider type implements (src/providers/wps/ for WPS 1.0.0,
 *   src/providers/ogcapi/ for OGC API - Processes): discovery into the core model, and execution of
 *   one remote process for one local job.
 * - {@link ProviderFactory} / src/providers/factory.ts: builds a provider from its config.
 * - src/providers/set.ts (ProviderSet): discovery at start-up and on an interval, registration of
 *   the remote processes in the registry (src/registry/registry.ts, `kind: 'remote'` locations, its
 *   `generation` counter bumps on each change), each provider's state for /health.
 * - src/jobs/remote-runner.ts (RemoteRunner): runs a job of a remote process in the main process
 *   (it is I/O only), under the job's abort signal, time limit and the concurrency cap, and stores
 *   the outputs the provider returns like a local processor's; an output passed through
 *   (`passThroughReferences`) is kept as the remote's URL (core/values.ts StoredReference).
 * - Reference inputs are fetched by the job manager before the run, unless the provider has
 *   `forwardReferences`: then plain GET references of complex inputs reach `execute` unfetched.
 * - Failures carry a retry class (src/jobs/retry.ts): 5xx, timeouts and refused connections are
 *   'transient', 4xx and the remote's client error codes 'permanent' (src/providers/http.ts).
 * - src/providers/http.ts (RemoteHttp): every request to a remote goes through it: the outbound
 *   address policy, the provider's headers, a timeout per request and a bounded read of the answer.
 *
 * Nothing here knows a protocol; src/core knows nothing of providers.
 */
import type { OutputRequest } from '../core/execute.ts';
import type { ResourceLimits } from '../core/limits.ts';
import type { ProcessDescription } from '../core/model.ts';
import type { ProcessLogger } from '../core/processor.ts';
import type { JobInputs, OutputValue, StoredReference } from '../core/values.ts';
import type { Logger } from '../util/logger.ts';
import type { RemoteHttp } from './http.ts';

export const PROVIDER_TYPES = ['wps', 'ogcapi-processes'] as const;
export type ProviderType = (typeof PROVIDER_TYPES)[number];

/** One remote server, as configured (defaults filled by the config loader). */
export interface ProviderConfig {
  /** The provider's name: `[A-Za-z_][A-Za-z0-9_-]*` (YAML `id`; INI the NAME of `[provider:NAME]`). */
  id: string;
  type: ProviderType;
  /**
   * WPS: the endpoint (`https://host/wps`, GetCapabilities is asked with `?service=WPS&...`).
   * OGC API - Processes: the landing page (`https://host/ogcapi`; `/processes` is below it).
   * It obeys the outbound address policy: a private or loopback host needs an `allowedHosts` entry
   * (or the server's `allowed_reference_hosts`).
   */
  url: string;
  /** Remote process ids to publish; undefined = all the remote offers. */
  processes?: string[];
  /** Seconds one request to the remote may take (a synchronous remote execution included). Default 30. */
  timeoutSeconds: number;
  /** Seconds between two status requests of a remote asynchronous job. Default 2. */
  pollIntervalSeconds: number;
  /**
   * Seconds between two discoveries (the remote's process list re-read); 0 = only at start-up. A
   * remote that could not be read is tried again sooner: after min(this, 30) s (every 30 s when 0).
   */
  refreshIntervalSeconds: number;
  /** HTTP headers sent with every request to the remote (an API key, a bearer token). */
  headers: Record<string, string>;
  /** Prefix of the local ids of the remote's processes: local id = idPrefix + remote id. Default `<id>.`. */
  idPrefix: string;
  /**
   * When a client asks for a complex output by reference and the remote gives one (the provider asks
   * the remote for it by reference whenever the remote can store outputs), hand the client the
   * remote's URL instead of fetching and storing the data: the job's stored output is a
   * {@link StoredReference}. Only for remotes whose URLs the gateway's clients can reach. Default
   * false: results are fetched (within max_output_size) and stored locally.
   */
  passThroughReferences: boolean;
  /**
   * Send reference inputs (http(s) URLs of complex inputs that pass the outbound policy's precheck)
   * to the remote as references, unfetched: the remote fetches them. Default false: the gateway
   * fetches them (checked and bounded like any reference) and sends the data by value, which is
   * safer (the remote may not reach the URL, and the gateway validates the data).
   */
  forwardReferences: boolean;
  /**
   * Hosts this provider's URLs (endpoint, status locations, result references) may reach at private
   * or loopback addresses, besides the server's `allowed_reference_hosts`. `localhost` / `127.0.0.1`
   * for a remote on the same machine.
   */
  allowedHosts: string[];
}

/** Default values of the optional keys (the config loader fills them). */
export const PROVIDER_DEFAULTS = {
  timeoutSeconds: 30,
  pollIntervalSeconds: 2,
  refreshIntervalSeconds: 300,
  passThroughReferences: false,
  forwardReferences: false,
} as const;

/** One remote process, described in the core model under its REMOTE id (the set prefixes it). */
export interface RemoteProcess {
  remoteId: string;
  /**
   * `id` = the remote id. jobControlOptions and outputTransmission are what the REMOTE supports;
   * the gateway publishes its own (a remote job always runs as a local job: sync, async and dismiss
   * are offered whatever the remote does).
   */
  description: ProcessDescription;
}

/**
 * What a provider's execution gives back, keyed by the remote's output ids: what a local processor
 * returns, or for an output passed through (`passThroughReferences`, the client asked for it by
 * reference) the remote's URL.
 */
export type RemoteOutputs = Record<string, OutputValue | StoredReference>;

/** A remote process left out, and why (what the core model cannot express); logged once per process. */
export interface SkippedProcess {
  remoteId: string;
  reason: string;
}

export interface Discovery {
  processes: RemoteProcess[];
  skipped: SkippedProcess[];
}

/** What a provider gets to run one remote process for one local job. */
export interface RemoteExecuteContext {
  jobId: string;
  /** The job's private folder: downloaded results are written here (then moved into the job's outputs). */
  workDir: string;
  /**
   * Aborted when the job is dismissed (reason.reason 'cancelled'), times out ('job-timeout') or the
   * server shuts down ('interrupted'). Stop promptly, and dismiss the remote job where the remote
   * supports it (best effort, bounded by the provider's timeout).
   */
  signal: AbortSignal;
  /** The outputs the client asked for (ids of the remote process), with chosen formats and transmission. */
  outputs: Record<string, OutputRequest>;
  /** The remote process's description as discovered (remote ids). */
  description: ProcessDescription;
  /** Mirrors the remote's progress (0–100) and message into the local job. */
  progress(percent: number, message?: string): void;
  logger: ProcessLogger;
  /** Bounds for what is fetched back: maxOutputSize per output. */
  limits: Readonly<ResourceLimits>;
}

/**
 * A remote server of one protocol. Implementations parse every remote answer with the same hardened
 * parsers and limits as client requests (src/wps/xml.ts, src/util/bounded-json.ts, bounded reads by
 * {@link RemoteHttp}), and turn every remote problem into an OwsError:
 * - the remote's own exception → its code (when an OWS code, else NoApplicableCode) and text,
 *   prefixed with the provider id;
 * - timeouts, refused connections, malformed documents → NoApplicableCode with a clear message.
 * A call never hangs beyond the provider's timeout per request (and the job's signal).
 */
export interface RemoteProvider {
  readonly config: ProviderConfig;
  /**
   * Reads the remote's process list and descriptions (honouring `config.processes`). Rejects when
   * the remote cannot be read at all (the set then marks the provider down and keeps its previous
   * processes out); a single process that cannot be described goes to `skipped`.
   */
  discover(signal: AbortSignal): Promise<Discovery>;
  /**
   * Runs `remoteId` with validated inputs (complex values as text or as files in the job's work
   * folder; with `forwardReferences`, references of complex inputs still unfetched, to be sent as
   * references) and resolves with its outputs in the shape a local processor returns
   * (src/core/values.ts ProcessOutputs, keyed by the remote's output ids): literals, bounding
   * boxes, complex data as text, bytes or a file in `ctx.workDir`; with `passThroughReferences`, a
   * StoredReference for a complex output asked by reference that the remote gave by reference.
   * Asynchronous on the remote whenever it supports it, polling every `pollIntervalSeconds` and
   * mirroring progress; otherwise one synchronous request.
   */
  execute(remoteId: string, inputs: JobInputs, ctx: RemoteExecuteContext): Promise<RemoteOutputs>;
}

/** What a provider implementation is built with. */
export interface ProviderDeps {
  /** The HTTP client of this provider (policy, headers, timeout, bounded reads). */
  http: RemoteHttp;
  logger: Logger;
}

export type ProviderFactory = (config: ProviderConfig, deps: ProviderDeps) => RemoteProvider;

/** The state of one provider, as /health reports it. */
export interface ProviderState {
  id: string;
  type: ProviderType;
  url: string;
  /** 'pending' until the first discovery ends; 'down' while the remote cannot be read. */
  state: 'pending' | 'up' | 'down';
  /** Processes published from it now. */
  processes: number;
  /** Remote processes left out (not expressible, id clash), with the reason. */
  skipped: SkippedProcess[];
  /** The last discovery that succeeded, ISO 8601. */
  lastSuccess?: string;
  /** Why the last discovery failed (when down). */
  error?: string;
}
