import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  bundledProcessorNames,
  DescriptionError,
  loadRegistry,
  normalizeDescription,
} from '../src/registry/registry.ts';
import { FIXTURES } from './helpers/gateway.ts';

const options = { baseDir: FIXTURES, syncEnabled: true, asyncEnabled: true };

const valid = () => ({
  id: 'p',
  version: '1.0',
  title: 'P',
  inputs: [{ id: 'a', kind: 'literal', title: 'A', dataType: 'integer' }],
  outputs: [{ id: 'b', kind: 'literal', title: 'B', dataType: 'string' }],
});

function problem(mutate: (d: ReturnType<typeof valid> & Record<string, unknown>) => void): string {
  const d = valid() as ReturnType<typeof valid> & Record<string, unknown>;
  mutate(d);
  try {
    normalizeDescription(d, 'processes/p.ts');
  } catch (e) {
    expect(e).toBeInstanceOf(DescriptionError);
    return (e as Error).message;
  }
  throw new Error('accepted');
}

describe('process descriptions', () => {
  it('fill in the defaults of the model', () => {
    const d = normalizeDescription(valid(), 'x');
    expect(d.inputs[0]).toMatchObject({ minOccurs: 1, maxOccurs: 1, validation: 'SIMPLE' });
    expect(d.jobControlOptions).toEqual(['sync-execute', 'async-execute', 'dismiss']);
    expect(d.outputTransmission).toEqual(['value', 'reference']);
  });

  it.each([
    [
      'a missing title',
      (d: Record<string, unknown>) => delete d.title,
      /\(root\): missing required key 'title'/,
    ],
    [
      'a bad data type',
      (d: ReturnType<typeof valid>) => ((d.inputs[0] as Record<string, unknown>).dataType = 'int32'),
      /\/inputs\/0\/dataType: must be one of/,
    ],
    [
      'formats on a literal',
      (d: ReturnType<typeof valid>) =>
        ((d.inputs[0] as Record<string, unknown>).formats = [{ mimeType: 'a/b' }]),
      /\/inputs\/0\/formats: is not allowed here/,
    ],
    [
      'a complex input without formats',
      (d: ReturnType<typeof valid>) => (d.inputs[0] = { id: 'a', kind: 'complex', title: 'A' } as never),
      /\/inputs\/0: missing required key 'formats'/,
    ],
    [
      'a bbox without CRS',
      (d: ReturnType<typeof valid>) => (d.outputs[0] = { id: 'b', kind: 'bbox', title: 'B' } as never),
      /\/outputs\/0: missing required key 'crs'/,
    ],
    [
      'an unknown key',
      (d: ReturnType<typeof valid>) => ((d.inputs[0] as Record<string, unknown>).minOcurs = 0),
      /\/inputs\/0\/minOcurs: unknown key 'minOcurs'/,
    ],
    ['a bad id', (d: Record<string, unknown>) => (d.id = 'has space'), /\/id: must match pattern/],
    [
      'no outputs',
      (d: ReturnType<typeof valid>) => (d.outputs = []),
      /\/outputs: must NOT have fewer than 1 items/,
    ],
    [
      'a bad job control option',
      (d: Record<string, unknown>) => (d.jobControlOptions = ['later']),
      /\/jobControlOptions\/0: must be one of/,
    ],
    [
      'duplicate input ids',
      (d: ReturnType<typeof valid>) => d.inputs.push({ ...d.inputs[0]! }),
      /inputs\[1\] \('a'\): duplicate id/,
    ],
    [
      'minOccurs > maxOccurs',
      (d: ReturnType<typeof valid>) => Object.assign(d.inputs[0]!, { minOccurs: 3, maxOccurs: 2 }),
      /inputs\[0\] \('a'\): minOccurs is greater than maxOccurs/,
    ],
    [
      'a default outside the allowed values',
      (d: ReturnType<typeof valid>) =>
        Object.assign(d.inputs[0]!, { defaultValue: 5, allowedValues: { values: [1, 2] } }),
      /defaultValue: not among the allowed values/,
    ],
    [
      'a default of the wrong type',
      (d: ReturnType<typeof valid>) => Object.assign(d.inputs[0]!, { defaultValue: 'x' }),
      /defaultValue: Input 'a': 'x' is not a valid integer/,
    ],
    [
      'an allowed value of the wrong type',
      (d: ReturnType<typeof valid>) => Object.assign(d.inputs[0]!, { allowedValues: { values: ['x'] } }),
      /allowedValues.values\[0\]: 'x' is not a valid integer/,
    ],
    [
      'a range on a string',
      (d: ReturnType<typeof valid>) =>
        Object.assign(d.outputs[0]!, { allowedValues: { ranges: [{ minimum: 1 }] } }),
      /outputs\[0\] \('b'\).allowedValues.ranges\[0\]: ranges need a numeric dataType/,
    ],
    [
      'an inverted range',
      (d: ReturnType<typeof valid>) =>
        Object.assign(d.inputs[0]!, { allowedValues: { ranges: [{ minimum: 2, maximum: 1 }] } }),
      /minimum is greater than maximum/,
    ],
    [
      'a default uom not supported',
      (d: ReturnType<typeof valid>) =>
        Object.assign(d.inputs[0]!, { uoms: { default: 'm', supported: ['km'] } }),
      /uoms: the default 'm' is not among the supported ones/,
    ],
    [
      'no execution mode',
      (d: Record<string, unknown>) => (d.jobControlOptions = ['dismiss']),
      /needs sync-execute or async-execute/,
    ],
  ])('a broken description names the process and the field: %s', (_name, mutate, expected) => {
    const message = problem(mutate as never);
    expect(message).toMatch(/^Process '[^']*' \(processes\/p\.ts\): invalid description/);
    expect(message).toMatch(expected);
  });
});

describe('the process registry', () => {
  it('publishes every bundled processor by default', async () => {
    // The processors shipped in processes/, listed here by hand: a processor that stops loading, or a
    // helper module published by mistake, changes this list.
    const shipped = [
      'area',
      'bbox-transform',
      'buffer',
      'centroids',
      'convex-hull',
      'echo',
      'feature-count',
      'hello-world',
      'raster-clip',
      'raster-stats',
      'reproject',
      'sleep',
    ];
    const registry = await loadRegistry(options);
    expect(registry.list().map((e) => e.description.id)).toEqual(shipped);
    expect(bundledProcessorNames()).toEqual(shipped);
    expect(registry.get('sleep').location).toMatchObject({ kind: 'local', runtime: 'js' });
    expect(registry.get('buffer').location).toMatchObject({ kind: 'local', runtime: 'gdal' });
    expect(() => registry.get('nope')).toThrow(/No process 'nope'/);
  });

  it('publishes what the configuration lists: pygeoapi names, module paths, ids and job control overrides', async () => {
    const registry = await loadRegistry({
      ...options,
      processes: [
        { id: 'greet', processor: 'HelloWorld', jobControlOptions: ['sync-execute'] },
        { id: 'failing', processor: './processes/fail.ts' },
      ],
    });
    expect(registry.get('greet').description).toMatchObject({
      id: 'greet',
      title: 'Hello World',
      jobControlOptions: ['sync-execute'],
    });
    expect(registry.get('failing').location).toMatchObject({
      kind: 'local',
      modulePath: path.join(FIXTURES, 'processes', 'fail.ts'),
    });
  });

  it('a validation mode from the configuration applies to complex inputs only; a process setting wins', async () => {
    const registry = await loadRegistry({
      ...options,
      validationMode: 'NONE',
      processes: [
        { id: 'e', processor: 'echo' },
        { id: 'v', processor: 'echo', validationMode: 'VERYSTRICT' },
      ],
    });
    const modes = (id: string) =>
      Object.fromEntries(registry.get(id).description.inputs.map((i) => [`${i.kind}:${i.id}`, i.validation]));
    // echo declares no mode (the default is SIMPLE); only its two complex inputs take the configured one.
    const echo = (complex: string) => ({
      'literal:stringInput': 'SIMPLE',
      'literal:pause': 'SIMPLE',
      'literal:arrayInput': 'SIMPLE',
      'complex:binaryInput': complex,
      'complex:complexInput': complex,
      'bbox:bboxInput': 'SIMPLE',
    });
    expect(modes('e')).toEqual(echo('NONE'));
    expect(modes('v')).toEqual(echo('VERYSTRICT'));
    // Without any configured mode, each input keeps the one its process declares (buffer: STRICT data).
    const plain = await loadRegistry({
      ...options,
      processes: [
        { id: 'echo', processor: 'echo' },
        { id: 'buffer', processor: 'buffer' },
      ],
    });
    expect(
      Object.fromEntries(
        plain.get('echo').description.inputs.map((i) => [`${i.kind}:${i.id}`, i.validation]),
      ),
    ).toEqual(echo('SIMPLE'));
    expect(plain.get('buffer').description.inputs.map((i) => [i.id, i.validation])).toEqual([
      ['data', 'STRICT'],
      ['distance', 'SIMPLE'],
      ['quadsegs', 'SIMPLE'],
    ]);
  });

  it('the server-wide sync/async switches shape what each process advertises', async () => {
    const registry = await loadRegistry({ ...options, asyncEnabled: false });
    expect(registry.get('echo').description.jobControlOptions).toEqual(['sync-execute', 'dismiss']);
    await expect(
      loadRegistry({
        ...options,
        syncEnabled: false,
        asyncEnabled: false,
        processes: [{ id: 'e', processor: 'echo' }],
      }),
    ).rejects.toThrow(/Process 'e': no execution mode left/);
  });

  it('a processor may take its description from resource options (bbox-transform CRS list)', async () => {
    const registry = await loadRegistry({
      ...options,
      processes: [{ id: 'bt', processor: 'bbox-transform', options: { crs: ['EPSG:4326', 'EPSG:32633'] } }],
    });
    const d = registry.get('bt').description;
    expect(d.inputs[0]).toMatchObject({ kind: 'bbox', crs: ['EPSG:4326', 'EPSG:32633'] });
    expect(d.inputs[1]).toMatchObject({ allowedValues: { values: ['EPSG:4326', 'EPSG:32633'] } });
    expect(
      (await loadRegistry({ ...options, processes: [{ id: 'bt', processor: 'bbox-transform' }] })).get('bt')
        .description.inputs[0],
    ).toMatchObject({
      crs: ['EPSG:4326', 'EPSG:3857'],
    });
    await expect(
      loadRegistry({
        ...options,
        processes: [{ id: 'bt', processor: 'bbox-transform', options: { crs: 'EPSG:4326' } }],
      }),
    ).rejects.toThrow(/^Process 'bt' \(.*bbox-transform\.ts\): bad options: crs must be a non-empty list/);
  });

  it('refuses unknown processors, missing modules, bad modules and duplicates', async () => {
    await expect(loadRegistry({ ...options, processes: [{ id: 'x', processor: 'nosuch' }] })).rejects.toThrow(
      /Unknown processor 'nosuch' \(bundled processors: .*echo.*\)/,
    );
    await expect(
      loadRegistry({ ...options, processes: [{ id: 'x', processor: './missing.ts' }] }),
    ).rejects.toThrow(/Processor module '.\/missing.ts' not found/);
    await expect(
      loadRegistry({ ...options, processes: [{ id: 'x', processor: '../helpers/gateway.ts' }] }),
    ).rejects.toThrow(/must export \(default\) an object with 'description' and 'execute'/);
    await expect(
      loadRegistry({
        ...options,
        processes: [
          { id: 'x', processor: 'echo' },
          { id: 'x', processor: 'sleep' },
        ],
      }),
    ).rejects.toThrow(/Process 'x' is published twice/);
  });
});
