import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';

const expected = {
  sleep: {
    maxRunning: 1,
    maxQueued: 4,
    retry: { maxAttempts: 3, backoffSeconds: 2 },
    cache: { enabled: true, ttlSeconds: 600, immutableUrls: ['https://data.example.org/a/'] },
  },
};

describe('per-process job policies in both dialects', () => {
  it('YAML: resources.<id> keys and server.manager.retry', () => {
    const { config } = parseConfig(
      [
        'server:',
        '  manager:',
        '    retry: {max_attempts: 2, backoff_seconds: 0.5, jitter: 0.25}',
        '    cache_ttl_seconds: 120',
        'resources:',
        '  sleep:',
        '    type: process',
        '    processor: {name: sleep}',
        '    max_running_jobs: 1',
        '    max_queued_jobs: 4',
        '    retry: {max_attempts: 3, backoff_seconds: 2}',
        '    cache: {ttl_seconds: 600, immutable_urls: [https://data.example.org/a/], enabled: yes}',
      ].join('\n'),
      '/tmp/p.yml',
      {},
    );
    expect(config.jobs.processes).toEqual(expected);
    expect(config.jobs.retry).toEqual({
      maxAttempts: 2,
      backoffSeconds: 0.5,
      maxBackoffSeconds: 60,
      jitter: 0.25,
    });
    expect(config.jobs.cacheTtlSeconds).toBe(120);
  });

  it('INI: [process:<id>] sections and [jobs] retry_*', () => {
    const { config, warnings } = parseConfig(
      [
        '[jobs]',
        'retry_max_attempts = 2',
        'retry_backoff = 0.5',
        'retry_jitter = 0.25',
        'cache_ttl = 120',
        '[process:sleep]',
        'max_running = 1',
        'max_queued = 4',
        'retry_max_attempts = 3',
        'retry_backoff = 2',
        'cache = true',
        'cache_ttl = 600',
        'cache_immutable_urls = https://data.example.org/a/',
        'colour = blue',
      ].join('\n'),
      '/tmp/p.cfg',
      {},
    );
    expect(config.jobs.processes).toEqual(expected);
    expect(config.jobs.retry).toEqual({
      maxAttempts: 2,
      backoffSeconds: 0.5,
      maxBackoffSeconds: 60,
      jitter: 0.25,
    });
    expect(warnings).toContain('[process:sleep] colour: unknown key, ignored');
  });

  it('refuses a bad value naming the key', () => {
    expect(() => parseConfig('[process:sleep]\nretry_jitter = 2\n', '/tmp/p.cfg', {})).toThrow(
      /\[process:sleep\] retry_jitter/,
    );
  });
});
