import path from 'node:path';
import { thrown } from '../helpers/errors.ts';
import { describe, expect, it } from 'vitest';
import { ConfigError, detectDialect, loadConfig, parseConfig } from '../../src/config/load.ts';

const parse = (text: string, env: NodeJS.ProcessEnv = {}) => parseConfig(text, 'pywps.cfg', env);

const configError = (fn: () => unknown) => thrown(fn, ConfigError);

describe('PyWPS-style INI', () => {
  it('reads [metadata:main], [server], [processing], [logging] and the extension sections', () => {
    const { config, warnings } = parse(`
[metadata:main]
identification_title = PyWPS Demo
identification_abstract = Long
  abstract
identification_keywords = WPS, demo,  test
identification_keywords_type = theme
identification_fees = None
identification_accessconstraints = Open
provider_name = Org
provider_url = https://org.example/#about
contact_name = Bob
contact_position = Dev
contact_address = 1 Main St
contact_city = Town
contact_stateorprovince = ST
contact_postalcode = 12345
contact_country = Nowhere
contact_phone = +1 555
contact_fax = +1 556
contact_email = bob@org.example
contact_url = https://org.example/bob
contact_hours = 9-5
contact_instructions = Email first
contact_role = author

[server]
url = http://wps.example.org:8094/cgi-bin/wps
Language = en-US,fr-CA
maxrequestsize = 5mb
maxsingleinputsize = 300kb
parallelprocesses = 4
maxprocesses = 12
workdir = /srv/work
outputpath = /srv/out
outputurl = http://wps.example.org:8094/outputs
allowedinputpaths = /data/a:/data/b
cleantempdir = no
temp_path = /srv/tmp
storagetype = file

[processing]
mode = multiprocessing

[logging]
level = WARNING
file = /var/log/pywps.log
format = %%(asctime)s %%(message)s
database = sqlite:////srv/pywps.sqlite

[jobs]
job_timeout = 99
sync_retention = 90
max_jobs = 500
enable_sync = false

[processes]
publish = hello-world, sleep
`);
    expect(config.metadata.identification).toMatchObject({
      title: 'PyWPS Demo',
      abstract: 'Long\nabstract',
      keywords: ['WPS', 'demo', 'test'],
      fees: 'None',
      accessConstraints: 'Open',
    });
    expect(config.metadata.provider).toEqual({ name: 'Org', url: 'https://org.example/#about' });
    expect(config.metadata.contact).toMatchObject({
      name: 'Bob',
      stateOrProvince: 'ST',
      postalCode: '12345',
      hours: '9-5',
      role: 'author',
    });
    expect(config.server).toMatchObject({
      url: 'http://wps.example.org:8094',
      wpsPath: '/cgi-bin/wps',
      port: 8094,
      languages: ['en-US', 'fr-CA'],
      maxRequestSize: 5 * 1024 * 1024,
      maxSingleInputSize: 300 * 1024,
      workDir: '/srv/work',
      outputPath: '/srv/out',
      outputUrl: 'http://wps.example.org:8094/outputs',
      allowedInputPaths: ['/data/a', '/data/b'],
      cleanTempDir: false,
      tempPath: '/srv/tmp',
    });
    expect(config.jobs).toMatchObject({
      parallel: 4,
      maxQueued: 12,
      jobTimeoutSeconds: 99,
      syncRetentionSeconds: 90,
      maxJobs: 500,
      syncEnabled: false,
      store: { path: '/srv/pywps.sqlite' },
    });
    expect(config.processing.mode).toBe('multiprocessing');
    expect(config.logging).toEqual({
      level: 'warn',
      file: '/var/log/pywps.log',
      format: '%(asctime)s %(message)s',
    });
    expect(config.processes).toEqual([
      { id: 'hello-world', processor: 'hello-world' },
      { id: 'sleep', processor: 'sleep' },
    ]);
    expect(warnings).toEqual([]);
  });

  it('interpolates %(name)s from the section, DEFAULT and the environment, and $VAR', () => {
    const { config } = parse(
      `[DEFAULT]
root = /srv/gw
[server]
workdir = %(root)s/work
outputpath = %(workdir)s/../out
temp_path = %(TMPDIR)s/x
url = http://$HOSTNAME:\${PORT}/wps
[metadata:main]
identification_title = 100%% sure
`,
      { TMPDIR: '/scratch', HOSTNAME: 'gw', PORT: '7000' },
    );
    expect(config.server.workDir).toBe('/srv/gw/work');
    expect(config.server.outputPath).toBe('/srv/gw/out');
    expect(config.server.tempPath).toBe('/scratch/x');
    expect(config.server.url).toBe('http://gw:7000');
    expect(config.metadata.identification.title).toBe('100% sure');
  });

  it('parallelprocesses = -1 means the default (CPU cores)', () => {
    expect(parse('[server]\nparallelprocesses = -1\n').config.jobs.parallel).toBeGreaterThan(0);
  });

  it('sqlite:// in memory is accepted with a warning', () => {
    const { config, warnings } = parse('[logging]\ndatabase = sqlite://\n');
    expect(config.jobs.store.path).toBe(':memory:');
    expect(warnings.join()).toMatch(/in-memory/);
  });

  it('a PostgreSQL database (SQLAlchemy URL) is a shared store; [jobs] holds the cluster settings', () => {
    const { config } = parse(
      '[logging]\ndatabase = postgresql+psycopg2://gw:secret@db:5432/jobs\n' +
        '[jobs]\nmax_running = 8\nlease = 20\npoll_interval = 0.5\nidempotent_processes = sleep, buffer\n',
    );
    expect(config.jobs.store).toMatchObject({
      backend: 'postgresql',
      connection: 'postgresql://gw:secret@db:5432/jobs',
    });
    expect(config.jobs.cluster).toEqual({
      maxRunning: 8,
      leaseSeconds: 20,
      pollSeconds: 0.5,
      idempotentProcesses: ['sleep', 'buffer'],
    });
    expect(parse('[server]\n').config.jobs.cluster).toEqual({
      maxRunning: 0,
      leaseSeconds: 30,
      pollSeconds: 2,
      idempotentProcesses: [],
    });
  });

  it('unknown sections and keys are warnings, not errors', () => {
    const { warnings } = parse('[server]\nmaxprocesess = 3\n[grass]\ngisbase = /usr\n');
    expect(warnings).toEqual([
      '[server] maxprocesess: unknown key, ignored',
      '[grass]: unknown section, ignored',
    ]);
  });

  it.each([
    ['[server]\nworkdir = %(nope)s/w\n', '[server] workdir', /'%\(nope\)s', which is not set/],
    ['[server]\nworkdir = 50% done\n', '[server] workdir', /'%' must be written '%%'/],
    ['[server]\nmaxrequestsize = 3 parsecs\n', '[server] maxrequestsize', /not a size/],
    ['[server]\ncleantempdir = perhaps\n', '[server] cleantempdir', /not a boolean/],
    ['[server]\nparallelprocesses = two\n', '[server] parallelprocesses', /must be integer/],
    ['[server]\nmaxprocesses = -3\n', '[server] maxprocesses', />= 0/],
    ['[server]\nurl = /relative/wps\n', '[server] url', /not an absolute URL/],
    ['[server]\nlanguage = en US\n', '[server] language', /must match pattern/],
    ['[processing]\nmode = docker\n', '[processing] mode', /must be one of/],
    ['[logging]\nlevel = chatty\n', '[logging] level', /must be one of/],
    ['[logging]\ndatabase = mysql://u@h/db\n', '[logging] database', /SQLite .* or PostgreSQL/],
    ['[jobs]\nlease = 0.1\n', '[jobs] lease', />= 0.5/],
    ['url = http://x\n', undefined, /line 1: key outside of any \[section\]/],
    ['[server]\nthis is not a setting\n', undefined, /line 2: expected 'key = value'/],
  ])('error: %j', (text, key, problem) => {
    const e = configError(() => parse(text));
    expect(e.file).toBe('pywps.cfg');
    expect(e.key).toBe(key);
    expect(e.problem).toMatch(problem);
  });

  it('the dialect is told by extension, else by content', () => {
    expect(detectDialect('a.cfg', '')).toBe('pywps');
    expect(detectDialect('a.yaml', '[x]')).toBe('pygeoapi');
    expect(detectDialect('config', '[server]\nurl = x')).toBe('pywps');
    expect(detectDialect('config', 'server:\n  url: x')).toBe('pygeoapi');
  });
});

describe('the shipped configurations', () => {
  it('schemadirs and [processes] validation_mode', () => {
    const { config } = parse(
      '[server]\nschemadirs = /srv/schemas:mirror\n[processes]\nvalidation_mode = verystrict\n',
    );
    expect(config.server.schemaDirs).toEqual(['/srv/schemas', path.resolve('mirror')]);
    expect(config.validationMode).toBe('VERYSTRICT');
    const e = configError(() => parse('[processes]\nvalidation_mode = picky\n'));
    expect([e.key, e.problem]).toEqual([
      '[processes] validation_mode',
      expect.stringMatching(/must be one of/),
    ]);
  });

  it('config/default.yml and config/pywps.cfg describe an equivalent server', () => {
    const yaml = loadConfig('config/default.yml', {}).config;
    const ini = loadConfig('config/pywps.cfg', {}).config;
    const essentials = (c: typeof yaml) => ({
      url: c.server.url,
      urlConfigured: c.server.urlConfigured,
      port: c.server.port,
      wpsPath: c.server.wpsPath,
      languages: c.server.languages,
      sizes: [c.server.maxRequestSize, c.server.maxSingleInputSize],
      dirs: [c.server.workDir, c.server.outputPath, c.jobs.store.path, ...c.server.allowedInputPaths],
      outputUrl: c.server.outputUrl,
      jobs: [
        c.jobs.parallel,
        c.jobs.maxQueued,
        c.jobs.syncTimeoutSeconds,
        c.jobs.jobTimeoutSeconds,
        c.jobs.retentionSeconds,
        c.jobs.syncRetentionSeconds,
        c.jobs.maxJobs,
      ],
      title: c.metadata.identification.title,
      abstract: c.metadata.identification.abstract,
      keywords: c.metadata.identification.keywords,
      provider: c.metadata.provider,
      contactEmail: c.metadata.contact.email,
      processes: c.processes?.map((p) => p.id),
      level: c.logging.level,
    });
    expect(essentials(ini)).toEqual(essentials(yaml));
  });
});
