/**
 * Fan-out keys (src/config/fan-out.ts) in both dialects: global and per process, sizes with units,
 * the same model from YAML and INI, bad values refused naming the key.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/load.ts';
import { thrown } from '../helpers/errors.ts';

const yaml = (extra: string) =>
  parseConfig(
    `server:\n  manager:\n    fan_out_min_bytes: 8mb\n    fan_out_max_parallel: 3\nresources:\n  buffer:\n    type: process\n    processor: {name: buffer}\n${extra}`,
    'gateway.yml',
    {},
  );

const ini = (extra: string) =>
  parseConfig(`[jobs]\nfan_out_min_bytes = 8mb\nfan_out_max_parallel = 3\n\n${extra}`, 'pywps.cfg', {});

describe('fan-out configuration', () => {
  it('YAML: server.manager.fan_out_* and resources.<id>.fan_out', () => {
    const { config, warnings } = yaml('    fan_out: {min_bytes: 512kb, max_parallel: 1}\n');
    expect(config.jobs.fanOut).toEqual({
      minBytes: 8 * 1024 * 1024,
      maxParallel: 3,
      processes: { buffer: { minBytes: 512 * 1024, maxParallel: 1 } },
    });
    expect(warnings).toEqual([]);
  });

  it('INI: [jobs] fan_out_* and [process:<id>] fan_out_*, the same model as YAML', () => {
    const { config, warnings } = ini(
      '[process:buffer]\nfan_out_min_bytes = 512kb\nfan_out_max_parallel = 1\n',
    );
    expect(config.jobs.fanOut).toEqual(
      yaml('    fan_out: {min_bytes: 512kb, max_parallel: 1}\n').config.jobs.fanOut,
    );
    expect(warnings).toEqual([]);
  });

  it('unset: no keys (each processor decides its threshold; chunks at once = parallel processes)', () => {
    expect(parseConfig('server: {}\n', 'gateway.yml', {}).config.jobs.fanOut).toEqual({});
  });

  it('unknown keys are warned about; a bad value is refused naming the key', () => {
    expect(yaml('    fan_out: {chunks: 4}\n').warnings).toEqual([
      'resources.buffer.fan_out.chunks: unknown key, ignored',
    ]);
    expect(ini('[process:buffer]\nfan_out_chunks = 4\n').warnings).toEqual([
      '[process:buffer] fan_out_chunks: unknown key, ignored',
    ]);
    const error = thrown(() => yaml('    fan_out: {max_parallel: 0}\n'), ConfigError);
    expect(error.message).toMatch(/resources\.buffer\.fan_out\.max_parallel/);
    expect(thrown(() => ini('[process:buffer]\nfan_out_max_parallel = none\n'), ConfigError).message).toMatch(
      /\[process:buffer\] fan_out_max_parallel/,
    );
  });
});
