#!/usr/bin/env node
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type LoadedConfig } from './config/load.ts';
import { withPublicUrl } from './config/public-url.ts';
import { createGateway, loadConfiguredRegistry } from './gateway.ts';
import { StoreInUseError } from './jobs/instance-lock.ts';
import { StoreOpenError } from './jobs/pg-store.ts';
import { isRole, type Role } from './jobs/cluster/roles.ts';
import { DescriptionError } from './registry/registry.ts';
import { listen } from './server.ts';
import { describeGap, unavailableSchemas } from './xml-schema/coverage.ts';
import { SchemaLibrary } from './xml-schema/library.ts';
import { createLogger } from './util/logger.ts';

const DEFAULT_CONFIG = fileURLToPath(new URL('../config/default.yml', import.meta.url));

const USAGE = `Usage:
  gateway serve [--config FILE] [--port N] [--url URL] [--role api|worker|all]
      start the server (default config: config/default.yml); --port overrides the configured port;
      --url sets the public base URL (WPS at URL/wps); without --url and a configured url,
      absolute URLs follow the listening host and port; --role (with a PostgreSQL job store):
      api accepts and answers but runs no job, worker runs jobs, all (default) does both
  gateway validate-config FILE
      check a pywps.cfg or pygeoapi-style YAML file and every process it publishes
  gateway list-processes [--config FILE]
      list the processes a configuration publishes`;

function fail(message: string, code = 1): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

function load(file: string): LoadedConfig {
  const loaded = loadConfig(file);
  for (const warning of loaded.warnings) process.stderr.write(`warning: ${warning}\n`);
  return loaded;
}

async function serve(
  file: string,
  port: number | undefined,
  url: string | undefined,
  role: Role,
): Promise<void> {
  let { config } = load(file);
  if (url !== undefined) {
    try {
      config = withPublicUrl(config, url);
    } catch (error) {
      fail(`--url: ${(error as Error).message}`, 2);
    }
  }
  if (role !== 'all' && config.jobs.store.backend !== 'postgresql')
    fail(
      `--role ${role}: roles need a job store shared by the instances (server.manager.name: PostgreSQL)`,
      2,
    );
  // libuv's thread pool serves this process's file I/O and DNS lookups (GDAL children size their own).
  process.env.UV_THREADPOOL_SIZE ??= String(Math.max(4, config.jobs.parallel + 2));
  const logger = createLogger({
    level: config.logging.level,
    ...(config.logging.file ? { file: config.logging.file } : {}),
  });
  const gateway = await createGateway(config, logger, { role });
  const running = await listen(gateway, port ?? config.server.port);
  logger.info(
    {
      address: running.address,
      url: running.url,
      processes: gateway.registry.list().map((e) => e.description.id),
    },
    'server started',
  );
  process.stderr.write(
    `Listening on ${running.address} (public URL ${running.url})${role === 'all' ? '' : ` as ${role}`}\n`,
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    running.close().then(
      () => {
        logger.info('stopped');
        logger.flush();
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        logger.flush();
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

async function listProcesses(file: string): Promise<void> {
  const { config } = load(file);
  const registry = await loadConfiguredRegistry(config);
  for (const { description: d } of registry.list()) {
    process.stdout.write(`${d.id}\t${d.version}\t${d.jobControlOptions.join(',')}\t${d.title}\n`);
  }
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      port: { type: 'string', short: 'p' },
      url: { type: 'string' },
      role: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535))
    fail(`--port: '${values.port}' is not a port number`);
  switch (command) {
    case 'serve':
      if (values.role !== undefined && !isRole(values.role))
        fail(`--role: '${values.role}' is not one of api, worker, all`, 2);
      return serve(
        values.config ?? DEFAULT_CONFIG,
        port,
        values.url,
        (values.role as Role | undefined) ?? 'all',
      );
    case 'validate-config': {
      const file = rest[0] ?? values.config;
      if (!file) fail('validate-config needs a FILE');
      const { config } = load(file);
      const registry = await loadConfiguredRegistry(config);
      for (const gap of unavailableSchemas(registry, new SchemaLibrary(config.server.schemaDirs))) {
        process.stderr.write(`warning: ${describeGap(gap)}\n`);
      }
      process.stdout.write(`${file}: OK\n`);
      return;
    }
    case 'list-processes':
      return listProcesses(values.config ?? rest[0] ?? DEFAULT_CONFIG);
    default:
      fail(`Unknown command '${command}'\n${USAGE}`, 2);
  }
}

// `gateway list-processes | head`: a reader that stops early is no error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

main(process.argv.slice(2)).catch((error: unknown) => {
  if (
    error instanceof ConfigError ||
    error instanceof DescriptionError ||
    error instanceof StoreInUseError ||
    error instanceof StoreOpenError
  )
    fail(error.message);
  if (error instanceof TypeError && (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS'))
    fail(`${error.message}\n${USAGE}`, 2);
  fail(`Error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
});
