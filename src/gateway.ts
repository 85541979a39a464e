import type { Config } from './config/types.ts';
import { DEFAULT_SCHEMA_CHECKERS } from './core/schema-checks.ts';
import { SchemaLibrary } from './xml-schema/library.ts';
import { describeGap, unavailableSchemas } from './xml-schema/coverage.ts';
import { xsdSchemaChecker } from './xml-schema/xsd-checker.ts';
import { DiskQuota } from './jobs/disk-quota.ts';
import { JobFiles } from './jobs/files.ts';
import { jobPolicies } from './jobs/job-policies.ts';
import { JobManager } from './jobs/manager.ts';
import { ResultCache } from './jobs/result-cache.ts';
import { createLocalRunner, type TaskRunner } from './jobs/pool.ts';
import { ResilientStore } from './jobs/resilient-store.ts';
import { SqliteJobStore, sqliteFault } from './jobs/sqlite-store.ts';
import { PgJobStore, pgFault } from './jobs/pg-store.ts';
import { ClusterNode } from './jobs/cluster/node.ts';
import { JobNotifier } from './jobs/cluster/notifier.ts';
import { runsJobs, type Role } from './jobs/cluster/roles.ts';
import type { JobStore } from './jobs/store.ts';
import { loadRegistry, type ProcessRegistry } from './registry/registry.ts';
import type { Logger } from './util/logger.ts';
import path from 'node:path';
import type { ReferencePolicy } from './references/fetch.ts';
import { RemoteRunner } from './jobs/remote-runner.ts';
import { ProviderSet } from './providers/set.ts';

/** Everything a server instance is made of, built from one Config; the protocol bindings sit on top. */
export interface Gateway {
  config: Config;
  registry: ProcessRegistry;
  jobs: JobManager;
  files: JobFiles;
  logger: Logger;
  /** What the server may connect to on a client's behalf (reference inputs, callbacks). */
  outboundPolicy: ReferencePolicy;
  /** Where jobs run (JavaScript threads, GDAL child processes, remote providers). */
  runner: TaskRunner;
  /** The remote providers (src/providers/), when any is configured: their states for /health. */
  providers?: ProviderSet;
  /** This instance's part in a cluster on a shared PostgreSQL store; absent with SQLite. */
  cluster?: ClusterNode;
  /** Stops taking jobs, lets running ones finish for the configured grace period, closes the store. */
  close(): Promise<void>;
}

export interface GatewayOverrides {
  /** A store to use instead of the configured one (tests, other back ends). */
  store?: JobStore;
  /** Variables added to the environment of the GDAL child processes (tests). */
  gdalEnv?: Readonly<Record<string, string>>;
  /** What this instance does in a cluster (`serve --role`); default `all`. */
  role?: Role;
}

const INLINE_LIMIT = 64 * 1024;
/** Reference fetches of one job under way at once. */
const REFERENCE_CONCURRENCY = 4;
/** How long a store call waits for a store locked by another process before it gives up (ServerBusy). */
const STORE_RETRY_MS = 15_000;

/** The outbound policy of reference inputs (and of anything else the server fetches for a client). */
export function referencePolicy(server: Config['server']): ReferencePolicy {
  return {
    allowedInputPaths: server.allowedInputPaths,
    allowedPrivateHosts: server.allowedReferenceHosts.map((h) => h.toLowerCase()),
    maxBytes: server.maxSingleInputSize || server.maxRequestSize,
    timeoutMs: server.referenceTimeoutSeconds * 1000,
    maxRedirects: 5,
  };
}

/** The processes a configuration publishes (module paths relative to the config file). */
export function loadConfiguredRegistry(config: Config): Promise<ProcessRegistry> {
  return loadRegistry({
    ...(config.processes ? { processes: config.processes } : {}),
    baseDir: path.dirname(path.resolve(config.source)),
    syncEnabled: config.jobs.syncEnabled,
    asyncEnabled: config.jobs.asyncEnabled,
    ...(config.validationMode ? { validationMode: config.validationMode } : {}),
  });
}

export async function createGateway(
  config: Config,
  logger: Logger,
  overrides: GatewayOverrides = {},
): Promise<Gateway> {
  const registry = await loadConfiguredRegistry(config);
  const schemas = new SchemaLibrary(config.server.schemaDirs);
  for (const gap of unavailableSchemas(registry, schemas)) {
    logger.warn(gap, describeGap(gap));
  }
  const role = overrides.role ?? 'all';
  const { store: storeConfig, cluster: clusterConfig } = config.jobs;
  const shared = !overrides.store && storeConfig.backend === 'postgresql';
  if (!shared && role !== 'all') {
    throw new Error(
      `--role ${role} needs a job store shared by the instances (server.manager.name: PostgreSQL)`,
    );
  }
  // The shared store bounds the queue of the whole cluster itself, atomically.
  const pgStore = shared
    ? await PgJobStore.open({
        connection: storeConfig.connection!,
        role,
        maxRunning: clusterConfig.maxRunning,
        maxQueued: config.jobs.maxQueued,
        leaseMs: clusterConfig.leaseSeconds * 1000,
      })
    : undefined;
  const store = new ResilientStore(overrides.store ?? pgStore ?? new SqliteJobStore(storeConfig.path), {
    fault: pgStore ? pgFault : sqliteFault,
    retryForMs: STORE_RETRY_MS,
    ...(pgStore ? { busy: 'unreachable or busy (PostgreSQL: down, restarting or out of connections)' } : {}),
  });
  const files = new JobFiles(config.server.workDir, config.server.outputPath);
  // Remote providers: their processes join the registry before queued jobs are dispatched again.
  const providers = config.providers?.length
    ? new ProviderSet({
        providers: config.providers,
        registry,
        policy: { allowedPrivateHosts: referencePolicy(config.server).allowedPrivateHosts },
        maxDocumentBytes: config.server.maxRequestSize,
        syncEnabled: config.jobs.syncEnabled,
        asyncEnabled: config.jobs.asyncEnabled,
        logger: logger.child({ component: 'providers' }),
      })
    : undefined;
  await providers?.start();
  const runner = createLocalRunner({
    parallel: config.jobs.parallel,
    cancelGraceMs: config.jobs.cancelGraceSeconds * 1000,
    ...(overrides.gdalEnv ? { gdalEnv: overrides.gdalEnv } : {}),
    ...(providers ? { remote: new RemoteRunner(providers) } : {}),
  });
  const outboundPolicy: ReferencePolicy = {
    ...referencePolicy(config.server),
    logger: logger.child({ component: 'references' }),
  };
  const policies = jobPolicies(config.jobs, registry, {
    remotePrefixes: (config.providers ?? []).map((p) => p.idPrefix),
    warn: (message) => logger.warn(message),
  });
  const jobs = new JobManager(
    { store, runner, registry, files, logger, storeHealth: () => store.health() },
    {
      parallel: config.jobs.parallel,
      maxQueued: config.jobs.maxQueued,
      jobTimeoutMs: config.jobs.jobTimeoutSeconds * 1000,
      syncTimeoutMs: config.jobs.syncTimeoutSeconds * 1000,
      cancelGraceMs: config.jobs.cancelGraceSeconds * 1000,
      retentionMs: config.jobs.retentionSeconds * 1000,
      syncRetentionMs: config.jobs.syncRetentionSeconds * 1000,
      maxJobs: config.jobs.maxJobs,
      sweepIntervalMs: config.jobs.sweepIntervalSeconds * 1000,
      cleanTempDir: config.server.cleanTempDir,
      maxSingleInputSize: config.server.maxSingleInputSize,
      inlineLimit: INLINE_LIMIT,
      limits: config.server.limits,
      ...(config.server.limits.maxStorageSize > 0
        ? { diskQuota: new DiskQuota({ store, files, logger }, config.server.limits.maxStorageSize) }
        : {}),
      references: {
        policy: outboundPolicy,
        concurrency: REFERENCE_CONCURRENCY,
        // All references of a job together: as much as the largest single input may be.
        budgetBytes: Math.max(config.server.maxRequestSize, config.server.maxSingleInputSize),
        ...(providers
          ? { forward: (id: string) => providers.provider(id)?.config.forwardReferences ?? false }
          : {}),
      },
      schemaCheckers: [...DEFAULT_SCHEMA_CHECKERS, xsdSchemaChecker(schemas)],
      processLimits: policies.limits,
      retryPolicy: policies.retry,
      ...(policies.cache.size > 0
        ? { resultCache: new ResultCache({ store, files, logger }, policies.cache) }
        : {}),
      runJobs: runsJobs(role),
      ...(pgStore ? { maxPending: Infinity, waitPollMs: clusterConfig.pollSeconds * 1000 } : {}),
    },
  );
  await jobs.start();
  const cluster = pgStore
    ? new ClusterNode(pgStore, new JobNotifier(storeConfig.connection!, logger), {
        role,
        leaseMs: clusterConfig.leaseSeconds * 1000,
        pollMs: clusterConfig.pollSeconds * 1000,
        idempotentProcesses: clusterConfig.idempotentProcesses,
        maxRunning: clusterConfig.maxRunning,
        logger,
      })
    : undefined;
  await cluster?.start(jobs);
  return {
    config,
    registry,
    jobs,
    files,
    logger,
    outboundPolicy,
    runner,
    ...(providers ? { providers } : {}),
    ...(cluster ? { cluster } : {}),
    close: () => {
      providers?.close();
      return jobs.shutdown(config.jobs.shutdownGraceSeconds * 1000);
    },
  };
}
