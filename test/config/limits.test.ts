import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/load.ts';
import { DEFAULT_LIMITS } from '../../src/core/limits.ts';
import { thrown } from '../helpers/errors.ts';

const MIB = 1024 * 1024;

describe('resource limits in the configuration', () => {
  it('default to DEFAULT_LIMITS in both dialects', () => {
    expect(parseConfig('', 'gw.yml', {}).config.server.limits).toEqual(DEFAULT_LIMITS);
    expect(parseConfig('[server]\n', 'pywps.cfg', {}).config.server.limits).toEqual(DEFAULT_LIMITS);
  });

  it('YAML server.limits.* and INI [server] keys set the same limits; sizes take units, counts are numbers', () => {
    const yaml = parseConfig(
      [
        'server:',
        '  limits:',
        '    max_uncompressed_size: 8mb',
        '    max_uncompressed_member_size: 2mb',
        '    max_raster_width: 1000',
        '    max_raster_height: 2000',
        '    max_raster_pixels: 1500000',
        '    max_raster_bytes: 6mb',
        '    max_output_size: 3mb',
        '    max_job_output_size: 5mb',
        '    max_inline_output_size: 100kb',
        '    max_storage_size: 0',
      ].join('\n'),
      'gw.yml',
      {},
    ).config.server.limits;
    expect(yaml).toEqual({
      maxUncompressedSize: 8 * MIB,
      maxUncompressedMemberSize: 2 * MIB,
      maxRasterWidth: 1000,
      maxRasterHeight: 2000,
      maxRasterPixels: 1_500_000,
      maxRasterBytes: 6 * MIB,
      maxOutputSize: 3 * MIB,
      maxJobOutputSize: 5 * MIB,
      maxInlineOutputSize: 100 * 1024,
      maxStorageSize: 0,
    });
    const ini = parseConfig(
      [
        '[server]',
        'maxuncompressedsize = 8mb',
        'maxuncompressedmembersize = 2mb',
        'maxrasterwidth = 1000',
        'maxrasterheight = 2000',
        'maxrasterpixels = 1500000',
        'maxrasterbytes = 6mb',
        'maxoutputsize = 3mb',
        'maxjoboutputsize = 5mb',
        'maxinlineoutputsize = 100kb',
        'maxstoragesize = 0',
      ].join('\n'),
      'pywps.cfg',
      {},
    );
    expect(ini.warnings).toEqual([]);
    expect(ini.config.server.limits).toEqual(yaml);
  });

  it('a bad value names the key as written', () => {
    const e = thrown(
      () => parseConfig('server:\n  limits:\n    max_output_size: lots\n', 'gw.yml', {}),
      ConfigError,
    );
    expect(e.key).toBe('server.limits.max_output_size');
    const count = thrown(() => parseConfig('[server]\nmaxrasterwidth = 0\n', 'pywps.cfg', {}), ConfigError);
    expect(count.key).toBe('[server] maxrasterwidth');
  });
});
