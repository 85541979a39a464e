import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/load.ts';
import { thrown } from '../helpers/errors.ts';

describe('provider configuration', () => {
  it('YAML `providers:` fills the defaults and reads every key', () => {
    const { config, warnings } = parseConfig(
      [
        'providers:',
        '  - id: pywps',
        '    type: wps',
        '    url: http://127.0.0.1:5001/wps',
        '    allowed_hosts: [127.0.0.1]',
        '  - id: other',
        '    type: ogcapi-processes',
        '    url: https://processes.example.org/api',
        '    processes: [a, b]',
        '    timeout_seconds: 5',
        '    poll_interval_seconds: 0.5',
        '    refresh_interval_seconds: 0',
        '    headers: {Authorization: Bearer abc}',
        '    id_prefix: ext_',
        '    pass_through_references: yes',
        '    forward_references: true',
        '    colour: red',
      ].join('\n'),
      'gateway.yml',
      {},
    );
    expect(config.providers).toEqual([
      {
        id: 'pywps',
        type: 'wps',
        url: 'http://127.0.0.1:5001/wps',
        idPrefix: 'pywps.',
        headers: {},
        allowedHosts: ['127.0.0.1'],
        timeoutSeconds: 30,
        pollIntervalSeconds: 2,
        refreshIntervalSeconds: 300,
        passThroughReferences: false,
        forwardReferences: false,
      },
      {
        id: 'other',
        type: 'ogcapi-processes',
        url: 'https://processes.example.org/api',
        processes: ['a', 'b'],
        idPrefix: 'ext_',
        headers: { Authorization: 'Bearer abc' },
        allowedHosts: [],
        timeoutSeconds: 5,
        pollIntervalSeconds: 0.5,
        refreshIntervalSeconds: 0,
        passThroughReferences: true,
        forwardReferences: true,
      },
    ]);
    expect(warnings).toEqual(['providers[other].colour: unknown key, ignored']);
  });

  it('INI `[provider:NAME]` sections give the same model', () => {
    const { config } = parseConfig(
      [
        '[provider:pywps]',
        'type = wps',
        'url = http://127.0.0.1:5001/wps',
        'processes = say_hello, buffer',
        'timeout = 10',
        'poll_interval = 1',
        'refresh_interval = 60',
        'headers = X-Api-Key: k1',
        '  Accept-Language: fr',
        'allowed_hosts = 127.0.0.1, LocalHost',
        'pass_through_references = yes',
        'forward_references = true',
      ].join('\n'),
      'pywps.cfg',
      {},
    );
    expect(config.providers).toEqual([
      {
        id: 'pywps',
        type: 'wps',
        url: 'http://127.0.0.1:5001/wps',
        processes: ['say_hello', 'buffer'],
        idPrefix: 'pywps.',
        headers: { 'X-Api-Key': 'k1', 'Accept-Language': 'fr' },
        allowedHosts: ['127.0.0.1', 'localhost'],
        timeoutSeconds: 10,
        pollIntervalSeconds: 1,
        refreshIntervalSeconds: 60,
        passThroughReferences: true,
        forwardReferences: true,
      },
    ]);
  });

  it('refuses an unknown type, a missing url, a bad id and duplicate ids, naming the key', () => {
    const bad = (yaml: string) => thrown(() => parseConfig(yaml, 'gateway.yml', {}), ConfigError);
    expect(bad('providers:\n  - {id: p, type: wfs, url: http://x}').message).toMatch(
      /providers\[p\]\.type: must be one of/,
    );
    expect(bad('providers:\n  - {id: p, type: wps}').message).toMatch(/providers\[p\].*url/);
    expect(bad('providers:\n  - {id: "p q", type: wps, url: http://x}').message).toMatch(/providers\[p q\]/);
    expect(
      bad('providers:\n  - {id: p, type: wps, url: http://x}\n  - {id: p, type: wps, url: http://y}').message,
    ).toMatch(/two providers have this id/);
    const ini = thrown(
      () => parseConfig('[provider:p]\ntype = wps\nurl = ftp://x/wps\n', 'pywps.cfg', {}),
      ConfigError,
    );
    expect(ini.message).toMatch(/\[provider:p\] url/);
  });

  it('policies of remote processes: a YAML resource without processor, an INI [process:<id>] section', () => {
    const yaml = parseConfig(
      [
        'resources:',
        '  hello-world:',
        '    type: process',
        '    processor: {name: hello-world}',
        '  pywps.slow:',
        '    type: process',
        '    max_running_jobs: 1',
        '    retry: {max_attempts: 2}',
        'providers:',
        '  - {id: pywps, type: wps, url: http://127.0.0.1:5001/wps}',
      ].join('\n'),
      'gateway.yml',
      {},
    ).config;
    expect(yaml.processes?.map((p) => p.id)).toEqual(['hello-world']);
    expect(yaml.jobs.processes['pywps.slow']).toMatchObject({ maxRunning: 1, retry: { maxAttempts: 2 } });
    const ini = parseConfig(
      '[provider:pywps]\ntype = wps\nurl = http://127.0.0.1:5001/wps\n[process:pywps.slow]\nmax_running = 1\n',
      'pywps.cfg',
      {},
    ).config;
    expect(ini.jobs.processes['pywps.slow']).toMatchObject({ maxRunning: 1 });
    // A resource with neither a processor nor a policy is still refused.
    expect(
      thrown(() => parseConfig('resources:\n  x:\n    type: process\n', 'gateway.yml', {}), ConfigError)
        .message,
    ).toMatch(/processor\.name/);
  });
});
