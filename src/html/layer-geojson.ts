/**
 * The job map's vector layers that are not GeoJSON already (GML, KML, zipped Shapefile, WKT): a
 * job's complex input or output converted to GeoJSON in WGS 84 by the internal processor
 * processes/_gdal/to-geojson.ts on the GDAL child processes (GDAL never loads in this thread), at
 * most MAX_LAYER_GEOJSON bytes, kept in a small in-memory cache per (job, layer).
 */
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { OwsError } from '../core/errors.ts';
import type { ResourceLimits } from '../core/limits.ts';
import type { OutputDescription } from '../core/model.ts';
import type { ComplexValue, JobInputValue } from '../core/values.ts';
import type { Job } from '../core/job.ts';
import type { TaskRunner } from '../jobs/pool.ts';
import type { ResultDelivery } from '../results/delivery.ts';
import { vectorKind } from '../../processes/_gdal/formats.ts';

export type LayerRole = 'input' | 'output';

/** A layer's GeoJSON, or why there is none to give (a missing layer is `undefined`). */
export type LayerGeoJson =
  | { kind: 'geojson'; body: Buffer }
  | { kind: 'too-large'; detail: string }
  | { kind: 'unreadable'; detail: string };

/** GeoJSON larger than this is not sent to the page. */
export const MAX_LAYER_GEOJSON = 5 * 1024 * 1024;
/** The cache holds at most this many layers and bytes. */
const CACHE_ENTRIES = 32;
const CACHE_BYTES = 32 * 1024 * 1024;
/** A conversion that takes longer is given up. */
const CONVERT_TIMEOUT_MS = 60_000;

const MODULE = fileURLToPath(new URL('../../processes/_gdal/to-geojson.ts', import.meta.url));
const OUTPUT = 'geojson';
const GEOJSON = { mimeType: 'application/geo+json' };
const OUTPUT_DESCRIPTIONS: OutputDescription[] = [
  { id: OUTPUT, kind: 'complex', title: 'GeoJSON', formats: [GEOJSON] },
];

/** Whether the map draws values of this media type through a converted layer (vector, not GeoJSON). */
export function convertible(mimeType: string): boolean {
  const kind = vectorKind(mimeType);
  return kind !== undefined && kind !== 'geojson';
}

export class LayerConverter {
  readonly #runner: TaskRunner;
  readonly #delivery: ResultDelivery;
  readonly #limits: ResourceLimits;
  readonly #maxBytes: number;
  /** In insertion order, oldest first (evicted first). */
  readonly #cache = new Map<string, Promise<LayerGeoJson | undefined>>();
  readonly #sizes = new Map<string, number>();

  constructor(
    runner: TaskRunner,
    delivery: ResultDelivery,
    limits: ResourceLimits,
    maxBytes = MAX_LAYER_GEOJSON,
  ) {
    this.#runner = runner;
    this.#delivery = delivery;
    this.#limits = limits;
    this.#maxBytes = maxBytes;
  }

  /** The GeoJSON of input `name` (its `index`-th value) or output `name` of a job; undefined when there is none. */
  geojson(job: Job, role: LayerRole, name: string, index: number): Promise<LayerGeoJson | undefined> {
    const key = `${job.id}\n${role}\n${name}\n${index}`;
    const cached = this.#cache.get(key);
    if (cached) return cached;
    const converted = this.#convert(job, role, name, index);
    this.#cache.set(key, converted);
    void converted.then(
      (result) => {
        if (result === undefined) this.#cache.delete(key);
        else this.#remember(key, result.kind === 'geojson' ? result.body.length : 0);
      },
      () => this.#cache.delete(key),
    );
    return converted;
  }

  #remember(key: string, size: number): void {
    this.#sizes.set(key, size);
    let total = [...this.#sizes.values()].reduce((a, b) => a + b, 0);
    for (const old of this.#cache.keys()) {
      if (this.#cache.size <= CACHE_ENTRIES && total <= CACHE_BYTES) break;
      if (old === key || !this.#sizes.has(old)) continue;
      total -= this.#sizes.get(old)!;
      this.#sizes.delete(old);
      this.#cache.delete(old);
    }
  }

  async #convert(job: Job, role: LayerRole, name: string, index: number): Promise<LayerGeoJson | undefined> {
    const value = await this.#source(job, role, name, index);
    if (!value) return undefined;
    const dir = await mkdtemp(path.join(tmpdir(), 'gateway-layer-'));
    try {
      const workDir = path.join(dir, 'work');
      const outputDir = path.join(dir, 'out');
      await Promise.all([mkdir(workDir), mkdir(outputDir)]);
      const outputs = await this.#runner.run(
        {
          jobId: job.id,
          modulePath: MODULE,
          inputs: { data: [value], max_bytes: [{ kind: 'literal', value: this.#maxBytes }] },
          outputs: { [OUTPUT]: { format: GEOJSON } },
          outputDescriptions: OUTPUT_DESCRIPTIONS,
          workDir,
          outputDir,
          limits: this.#limits,
        },
        'gdal',
        {
          signal: AbortSignal.timeout(CONVERT_TIMEOUT_MS),
          onProgress: () => undefined,
          onLog: () => undefined,
        },
      );
      const stored = outputs[OUTPUT];
      if (stored?.kind !== 'complex') return { kind: 'unreadable', detail: 'the conversion gave nothing' };
      return { kind: 'geojson', body: await readFile(path.join(outputDir, stored.file)) };
    } catch (error) {
      const e = OwsError.from(error);
      return e.code === 'FileSizeExceeded'
        ? { kind: 'too-large', detail: `The layer is too large to draw: ${e.message}` }
        : { kind: 'unreadable', detail: `The layer cannot be drawn: ${e.message}` };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** The stored value a layer is made of: an output's file, an input kept inline or in a file still there. */
  async #source(job: Job, role: LayerRole, name: string, index: number): Promise<ComplexValue | undefined> {
    if (role === 'output') {
      if (index !== 0) return undefined;
      const output = this.#delivery.outputs(job).find((o) => o.id === name);
      if (output?.kind !== 'complex' || !convertible(output.stored.format.mimeType)) return undefined;
      return { kind: 'complex', format: output.stored.format, file: this.#delivery.file(job.id, output) };
    }
    const values = Object.hasOwn(job.request.inputs, name) ? job.request.inputs[name] : undefined;
    const value = (values as JobInputValue[] | undefined)?.[index];
    if (value?.kind !== 'complex' || !convertible(value.format.mimeType)) return undefined;
    if (value.text !== undefined) return { kind: 'complex', format: value.format, text: value.text };
    if (value.file === undefined) return undefined;
    // Work files may be gone once the job is over: nothing to draw then.
    const info = await stat(value.file).catch(() => undefined);
    return info?.isFile() ? { kind: 'complex', format: value.format, file: value.file } : undefined;
  }
}
