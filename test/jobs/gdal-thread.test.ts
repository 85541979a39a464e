import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { createGateway } from '../../src/gateway.ts';
import { listen } from '../../src/server.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { FIXTURES, finished } from '../helpers/gateway.ts';

// gdal-async loads in one thread per process; vitest runs this file in a process of its own.
const dir = mkdtempSync(path.join(tmpdir(), 'gw-gdal-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const how = (value: string) => ({ how: [{ type: 'literal' as const, value }] });

describe('the GDAL worker thread', () => {
  it('runs GDAL processes; once it dies, GDAL jobs fail at once with a clear message and other processes go on', async () => {
    const file = path.join(dir, 'gdal.yml');
    writeFileSync(
      file,
      [
        'server:',
        '  manager:',
        `    work_dir: ${dir}/work`,
        `    output_dir: ${dir}/outputs`,
        `    connection: ${dir}/jobs.sqlite`,
        'logging:',
        '  level: silent',
        'resources:',
        '  gdal-crash:',
        '    type: process',
        `    processor: {name: ${path.join(FIXTURES, 'processes', 'gdal-crash.ts')}}`,
        '  hello-world:',
        '    type: process',
        '    processor: {name: hello-world}',
      ].join('\n'),
    );
    const gateway = await createGateway(loadConfig(file, {}).config, silentLogger());
    try {
      const ok = await gateway.jobs.execute({
        processId: 'gdal-crash',
        inputs: how('version'),
        mode: 'sync',
      });
      expect(ok.status).toBe('successful');
      const died = await gateway.jobs.execute({ processId: 'gdal-crash', inputs: how('exit'), mode: 'sync' });
      expect(died.status).toBe('failed');
      expect(died.message).toMatch(/worker thread running this job stopped unexpectedly/);
      const after = await gateway.jobs.execute({
        processId: 'gdal-crash',
        inputs: how('version'),
        mode: 'sync',
      });
      expect(after.status).toBe('failed');
      expect(after.message).toMatch(/^GDAL processes are unavailable until the server restarts/);
      const js = await gateway.jobs.submit({
        processId: 'hello-world',
        inputs: { name: [{ type: 'literal', value: 'x' }] },
        mode: 'async',
      });
      expect((await finished(gateway, js.id)).status).toBe('successful');
      const server = await listen(gateway, 0);
      const health = await fetch(`${server.address}/health`);
      expect(health.status).toBe(503);
      expect(await health.json()).toMatchObject({
        status: 'degraded',
        unavailable: { gdal: expect.stringMatching(/GDAL worker thread stopped/) },
      });
      await server.close();
    } finally {
      await gateway.close();
    }
  });
});
