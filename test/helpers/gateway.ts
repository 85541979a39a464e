import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/types.ts';
import type { RawInputs } from '../../src/core/values.ts';
import type { Job } from '../../src/core/job.ts';
import { createGateway, type Gateway } from '../../src/gateway.ts';
import { silentLogger } from '../../src/util/logger.ts';

export const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

const PROCESSES = ['hello-world', 'echo', 'sleep'];
const FIXTURE_PROCESSES = ['fail', 'crash', 'stubborn'];

export interface TestGatewayOptions {
  manager?: Record<string, string | number | boolean>;
  /** Bundled processors to publish (default: hello-world, echo, sleep), besides the test fixtures. */
  processes?: string[];
  /** More `resources:` entries, as YAML lines. */
  extraResources?: string[];
  server?: string;
  dir?: string;
  /** The `logging:` entries, as YAML lines (default: level silent). */
  logging?: string[];
}

/** YAML for a gateway whose files all live in `dir`, publishing the bundled and the fixture processes. */
export function testConfigYaml(dir: string, options: TestGatewayOptions = {}): string {
  const manager = {
    work_dir: path.join(dir, 'work'),
    output_dir: path.join(dir, 'outputs'),
    connection: path.join(dir, 'jobs.sqlite'),
    parallel_processes: 2,
    cancel_grace_seconds: 0.5,
    shutdown_grace_seconds: 2,
    ...options.manager,
  };
  const resources = [
    ...(options.processes ?? PROCESSES).map((p) => `  ${p}:\n    type: process\n    processor: {name: ${p}}`),
    ...FIXTURE_PROCESSES.map(
      (p) =>
        `  ${p}:\n    type: process\n    processor: {name: ${path.join(FIXTURES, 'processes', `${p}.ts`)}}`,
    ),
  ];
  return [
    'server:',
    '  bind: {host: 127.0.0.1, port: 0}',
    ...(options.server ? [options.server] : []),
    '  manager:',
    ...Object.entries(manager).map(([k, v]) => `    ${k}: ${String(v)}`),
    'logging:',
    ...(options.logging ?? ['  level: silent']),
    'resources:',
    ...resources,
    ...(options.extraResources ?? []),
  ].join('\n');
}

export function testConfig(dir: string, options: TestGatewayOptions = {}): Config {
  return parseConfig(testConfigYaml(dir, options), path.join(dir, 'gateway.yml'), {}).config;
}

export interface TestGateway {
  gateway: Gateway;
  dir: string;
  /** Shuts the gateway down (once) and removes its folder unless `keep`. */
  close(keep?: boolean): Promise<void>;
}

export async function startTestGateway(options: TestGatewayOptions = {}): Promise<TestGateway> {
  const dir = options.dir ?? mkdtempSync(path.join(tmpdir(), 'gw-test-'));
  const gateway = await createGateway(testConfig(dir, options), silentLogger());
  let closed: Promise<void> | undefined;
  return {
    gateway,
    dir,
    async close(keep = false) {
      await (closed ??= gateway.close());
      if (!keep && !options.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const lit = (value: string | number | boolean) => ({ type: 'literal' as const, value });

export function submit(
  gateway: Gateway,
  processId: string,
  inputs: RawInputs,
  mode: 'sync' | 'async' = 'async',
) {
  return gateway.jobs.submit({ processId, inputs, mode });
}

/** Resolves once `predicate` holds for an update of job `id` (or its current state). */
export function until(
  gateway: Gateway,
  id: string,
  predicate: (job: Job) => boolean,
  timeoutMs = 10_000,
): Promise<Job> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out waiting on job ${id}`));
    }, timeoutMs);
    const check = (job: Job | undefined) => {
      if (job && job.id === id && predicate(job)) {
        clearTimeout(timer);
        off();
        resolve(job);
      }
    };
    const off = gateway.jobs.onUpdate(check);
    void gateway.jobs.find(id).then(check);
  });
}

export async function finished(gateway: Gateway, id: string, timeoutMs = 15_000): Promise<Job> {
  const job = await gateway.jobs.waitFor(id, timeoutMs);
  if (!job) throw new Error(`job ${id} did not finish within ${timeoutMs} ms`);
  return job;
}
