import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { thrown } from '../helpers/errors.ts';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load.ts';

const parse = (text: string, env: NodeJS.ProcessEnv = {}) => parseConfig(text, 'test.yml', env);

const configError = (fn: () => unknown) => thrown(fn, ConfigError);

describe('pygeoapi-style YAML', () => {
  it('an empty file gives a complete configuration with defaults', () => {
    const { config } = parse('');
    expect(config.server).toMatchObject({
      host: 'localhost',
      port: 5000,
      url: 'http://localhost:5000',
      wpsPath: '/wps',
      languages: ['en-US'],
      maxRequestSize: 20 * 1024 * 1024,
      maxSingleInputSize: 16 * 1024 * 1024,
      outputUrl: 'http://localhost:5000/wps/outputs',
      cleanTempDir: true,
      allowedInputPaths: [],
    });
    expect(config.server.workDir).toBe(path.join(tmpdir(), 'wps-oaproc-gateway'));
    expect(config.jobs).toMatchObject({
      parallel: availableParallelism(),
      maxQueued: 30,
      syncEnabled: true,
      asyncEnabled: true,
      retentionSeconds: 604800,
      syncRetentionSeconds: 3600,
      maxJobs: 100000,
    });
    expect(config.jobs.store).toEqual({
      backend: 'sqlite',
      path: path.join(config.server.workDir, 'jobs.sqlite'),
    });
    expect(config.processes).toBeUndefined();
    expect(config.logging.level).toBe('info');
  });

  it('reads server, manager, metadata (with i18n texts), logging and process resources', () => {
    const { config, warnings } = parse(`
server:
  bind: {host: 0.0.0.0, port: 8080}
  url: https://example.org/api/
  languages: [fr-CA, en-US]
  max_request_size: 10mb
  max_single_input_size: 512kb
  allowed_input_paths: [/data/pub]
  manager:
    name: SQLite
    connection: /srv/jobs.db
    output_dir: /srv/out
    work_dir: /srv/work
    enable_async_job_execution: false
    sync_job_execution_timeout_seconds: 60
    parallel_processes: 3
    max_queued_jobs: 7
    job_timeout_seconds: 120
    sync_retention_seconds: 90
    max_jobs: 500
logging:
  level: WARNING
  logfile: /var/log/gw.log
metadata:
  identification:
    title: {en: English title, fr: Titre français}
    description: Abstract
    keywords: [a, b]
  provider: {name: Org, url: https://org.example}
  contact: {name: Ann, email: ann@org.example, stateorprovince: QC, postalcode: H0H}
resources:
  obs:
    type: collection
  greet:
    type: process
    processor: {name: HelloWorld}
    job_control_options: [sync-execute]
`);
    expect(config.server).toMatchObject({
      host: '0.0.0.0',
      port: 8080,
      url: 'https://example.org/api',
      languages: ['fr-CA', 'en-US'],
      maxRequestSize: 10 * 1024 * 1024,
      maxSingleInputSize: 512 * 1024,
      allowedInputPaths: ['/data/pub'],
      outputPath: '/srv/out',
      workDir: '/srv/work',
      outputUrl: 'https://example.org/api/wps/outputs',
    });
    expect(config.jobs).toMatchObject({
      asyncEnabled: false,
      syncTimeoutSeconds: 60,
      parallel: 3,
      maxQueued: 7,
      jobTimeoutSeconds: 120,
      syncRetentionSeconds: 90,
      maxJobs: 500,
      store: { backend: 'sqlite', path: '/srv/jobs.db' },
    });
    expect(config.logging).toMatchObject({ level: 'warn', file: '/var/log/gw.log' });
    expect(config.metadata.identification).toMatchObject({
      title: 'Titre français',
      abstract: 'Abstract',
      keywords: ['a', 'b'],
    });
    expect(config.metadata.contact).toMatchObject({ name: 'Ann', stateOrProvince: 'QC', postalCode: 'H0H' });
    expect(config.processes).toEqual([
      { id: 'greet', processor: 'HelloWorld', jobControlOptions: ['sync-execute'] },
    ]);
    expect(warnings).toContain('resources.obs: not a process resource, ignored');
  });

  it('passes the other keys of a resource processor section to the processor as options', () => {
    const { config } = parse(
      'resources:\n  bt:\n    type: process\n    processor:\n      name: bbox-transform\n      crs: [EPSG:4326, EPSG:32633]\n',
    );
    expect(config.processes).toEqual([
      { id: 'bt', processor: 'bbox-transform', options: { crs: ['EPSG:4326', 'EPSG:32633'] } },
    ]);
  });

  it('XML schema folders and validation modes: server-wide and per resource', () => {
    expect(parse('').config.server.schemaDirs).toEqual([path.resolve('.schemas')]);
    const { config } = parse(
      [
        'server:',
        '  schema_dirs: [/srv/schemas, mirror]',
        '  validation_mode: strict',
        'resources:',
        '  a:',
        '    type: process',
        '    validation_mode: verystrict',
        '    processor: {name: buffer}',
        '  b:',
        '    type: process',
        '    processor: {name: area, validation_mode: NONE}',
      ].join('\n'),
    );
    expect(config.server.schemaDirs).toEqual(['/srv/schemas', path.resolve('mirror')]);
    expect(config.validationMode).toBe('STRICT');
    expect(config.processes).toEqual([
      { id: 'a', processor: 'buffer', validationMode: 'VERYSTRICT' },
      { id: 'b', processor: 'area', validationMode: 'NONE' },
    ]);
  });

  it('a pygeoapi PostgreSQL manager is a shared store, with the cluster settings beside it', () => {
    const { config, warnings } = parse(
      'server:\n  manager:\n    name: PostgreSQL\n    connection: postgresql://gw@db/jobs\n' +
        '    max_running: 4\n    lease_seconds: 10\n    poll_seconds: 1\n    idempotent_processes: [sleep]\n',
    );
    expect(warnings).toEqual([]);
    expect(config.jobs.store).toMatchObject({ backend: 'postgresql', connection: 'postgresql://gw@db/jobs' });
    expect(config.jobs.cluster).toEqual({
      maxRunning: 4,
      leaseSeconds: 10,
      pollSeconds: 1,
      idempotentProcesses: ['sleep'],
    });
    expect(configError(() => parse('server:\n  manager:\n    name: PostgreSQL\n'))).toMatchObject({
      message: expect.stringMatching(/server\.manager\.connection.*needs a connection string/),
    });
  });

  it('a pygeoapi TinyDB manager is not reused, with a warning', () => {
    const { config, warnings } = parse(
      'server:\n  manager:\n    name: TinyDB\n    connection: /tmp/pygeoapi.db\n',
    );
    expect(config.jobs.store.path).toBe(path.join(config.server.workDir, 'jobs.sqlite'));
    expect(warnings.join()).toMatch(/TinyDB/);
  });

  it('relative allowed_input_paths resolve against the working directory, as the other paths', () => {
    const { config } = parse('server:\n  allowed_input_paths: [examples, /data/pub]\n');
    expect(config.server.allowedInputPaths).toEqual([path.resolve('examples'), '/data/pub']);
  });

  it('interpolates ${VAR} and ${VAR:-default} in values', () => {
    const { config } = parse(
      'server:\n  bind:\n    port: ${PORT}\n  url: http://${HOST:-localhost}:${PORT}/x\nmetadata:\n  provider:\n    name: "${ORG:-Nobody} Inc."\n',
      { PORT: '9000', ORG: 'ACME' },
    );
    expect(config.server.port).toBe(9000);
    expect(config.server.url).toBe('http://localhost:9000/x');
    expect(config.metadata.provider.name).toBe('ACME Inc.');
  });

  it('an unset variable without default names the key', () => {
    const e = configError(() => parse('server:\n  url: ${PUBLIC_URL}\n'));
    expect(e.key).toBe('server.url');
    expect(e.message).toMatch(/^test\.yml: server\.url: environment variable PUBLIC_URL is not set/);
  });

  it.each([
    ['server: [unclosed', undefined, /not valid YAML/],
    ['- a\n- b\n', undefined, /top level must be a mapping/],
    ['server:\n  bind:\n    port: eighty\n', 'server.bind.port', /must be integer/],
    ['server:\n  bind:\n    port: 70000\n', 'server.bind.port', /<= 65535/],
    ['server:\n  url: ftp://x\n', 'server.url', /must match pattern/],
    ['server:\n  max_request_size: lots\n', 'server.max_request_size', /not a size/],
    ['server:\n  manager:\n    parallel_processes: 0\n', 'server.manager.parallel_processes', />= 1/],
    [
      'server:\n  manager:\n    enable_async_job_execution: maybe\n',
      'server.manager.enable_async_job_execution',
      /not a boolean/,
    ],
    ['logging:\n  level: LOUD\n', 'logging.level', /must be one of/],
    ['resources:\n  p:\n    type: process\n', 'resources.p.processor.name', /needs processor.name/],
    [
      'resources:\n  p:\n    type: process\n    processor: {name: echo}\n    job_control_options: [fast]\n',
      'resources.p.job_control_options',
      /must be one of/,
    ],
    [
      'resources:\n  p:\n    type: process\n    validation_mode: paranoid\n    processor: {name: echo}\n',
      'resources.p.validation_mode',
      /must be one of/,
    ],
    ['server:\n  validation_mode: lax\n', 'server.validation_mode', /must be one of/],
    [
      'resources:\n  "bad id":\n    type: process\n    processor: {name: echo}\n',
      'resources.bad id',
      /must match pattern/,
    ],
  ])('error: %j', (text, key, problem) => {
    const e = configError(() => parse(text));
    expect(e.file).toBe('test.yml');
    expect(e.key).toBe(key);
    expect(e.problem).toMatch(problem);
  });

  it('a missing file is an error naming the file', () => {
    const e = configError(() => loadConfig('/nonexistent/gw.yml'));
    expect(e.message).toMatch(/^\/nonexistent\/gw\.yml: cannot be read \(ENOENT\)/);
  });
});
