import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { OwsError } from '../core/errors.ts';
import type { JobControlOption, ProcessDescription, ValidationMode } from '../core/model.ts';
import type { Processor, ProcessRuntime } from '../core/processor.ts';
import { compileSchema } from '../util/json-schema.ts';
import { checkDescription } from './description-checks.ts';

export const BUNDLED_DIR = fileURLToPath(new URL('../../processes/', import.meta.url));

/** Where a process runs. Only local processors for now; remote WPS / OGC API providers come later. */
export type ProcessLocation = { kind: 'local'; modulePath: string; runtime: ProcessRuntime };

export interface RegistryEntry {
  description: ProcessDescription;
  location: ProcessLocation;
}

/** What the configuration publishes: an id, the processor that backs it, optional overrides. */
export interface ProcessSelection {
  id: string;
  processor: string;
  jobControlOptions?: JobControlOption[];
  /** Settings handed to a processor whose description depends on them. */
  options?: Record<string, unknown>;
  /** Overrides the validation mode of the process's complex inputs. */
  validationMode?: ValidationMode;
}

export interface RegistryOptions {
  /** Undefined = every bundled processor under its own id. */
  processes?: ProcessSelection[];
  /** Relative processor module paths are resolved against this folder (the config file's). */
  baseDir: string;
  syncEnabled: boolean;
  asyncEnabled: boolean;
  /** The validation mode of complex inputs of processes whose selection sets none. */
  validationMode?: ValidationMode;
}

export class DescriptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DescriptionError';
  }
}

export class ProcessRegistry {
  readonly #entries: Map<string, RegistryEntry>;
  #generation = 0;

  constructor(entries: RegistryEntry[]) {
    this.#entries = new Map(entries.map((e) => [e.description.id, e]));
  }

  /**
   * Changes whenever the published processes change (a process added or removed at run time):
   * documents rendered from the registry are cached per generation (src/util/document-cache.ts).
   */
  get generation(): number {
    return this.#generation;
  }

  /** Publishes one more process (remote providers add theirs at run time). */
  add(entry: RegistryEntry): void {
    if (this.#entries.has(entry.description.id)) {
      throw new DescriptionError(`Process '${entry.description.id}' is published twice`);
    }
    this.#entries.set(entry.description.id, entry);
    this.#generation++;
  }

  /** Withdraws a process; false when there was none of that id. */
  remove(id: string): boolean {
    const removed = this.#entries.delete(id);
    if (removed) this.#generation++;
    return removed;
  }

  list(): RegistryEntry[] {
    return [...this.#entries.values()];
  }

  find(id: string): RegistryEntry | undefined {
    return this.#entries.get(id);
  }

  /** The entry, or InvalidParameterValue (locator Identifier, reason no-such-process). */
  get(id: string): RegistryEntry {
    const entry = this.#entries.get(id);
    if (!entry)
      throw new OwsError('InvalidParameterValue', `No process '${id}'`, 'Identifier', 'no-such-process');
    return entry;
  }
}

/** pygeoapi-style processor names that operators may carry over, mapped to bundled processors. */
const ALIASES: Record<string, string> = {
  helloworld: 'hello-world',
  helloworldprocessor: 'hello-world',
  'pygeoapi.process.hello_world.helloworldprocessor': 'hello-world',
  echo: 'echo',
  echoprocessor: 'echo',
  'pygeoapi.process.echo.echoprocessor': 'echo',
};

export function bundledProcessorNames(): string[] {
  return readdirSync(BUNDLED_DIR)
    .filter((f) => f.endsWith('.ts') && !f.startsWith('_'))
    .map((f) => f.slice(0, -3))
    .sort();
}

function resolveModule(name: string, baseDir: string): string {
  if (name.includes('/') || name.endsWith('.ts') || name.endsWith('.js')) {
    const file = path.resolve(baseDir, name);
    if (!existsSync(file)) throw new DescriptionError(`Processor module '${name}' not found at ${file}`);
    return file;
  }
  const bundled = ALIASES[name.toLowerCase()] ?? name;
  const file = path.join(BUNDLED_DIR, `${bundled}.ts`);
  if (!existsSync(file)) {
    throw new DescriptionError(
      `Unknown processor '${name}' (bundled processors: ${bundledProcessorNames().join(', ')}; or give a module path)`,
    );
  }
  return file;
}

const validateDescription = compileSchema<ProcessDescription>('process-description.schema.json');

/** Validates a processor's description against the schema and the semantic checks, with defaults filled. */
export function normalizeDescription(spec: unknown, origin: string): ProcessDescription {
  const copy = structuredClone(spec);
  const result = validateDescription(copy);
  const id =
    typeof spec === 'object' && spec !== null && 'id' in spec ? String((spec as { id: unknown }).id) : '?';
  if (!result.ok) {
    const lines = result.problems.map((p) => `  ${p.path || '(root)'}: ${p.message}`);
    throw new DescriptionError(`Process '${id}' (${origin}): invalid description\n${lines.join('\n')}`);
  }
  const problems = checkDescription(result.value);
  if (problems.length > 0) {
    throw new DescriptionError(
      `Process '${id}' (${origin}): invalid description\n${problems.map((p) => `  ${p}`).join('\n')}`,
    );
  }
  return result.value;
}

async function loadProcessor(modulePath: string): Promise<Processor> {
  const mod = (await import(pathToFileURL(modulePath).href)) as { default?: unknown; processor?: unknown };
  const candidate = (mod.default ?? mod.processor) as Partial<Processor> | undefined;
  if (
    !candidate ||
    typeof candidate !== 'object' ||
    typeof candidate.execute !== 'function' ||
    !candidate.description
  ) {
    throw new DescriptionError(
      `Processor module ${modulePath} must export (default) an object with 'description' and 'execute'`,
    );
  }
  return candidate as Processor;
}

export async function loadRegistry(options: RegistryOptions): Promise<ProcessRegistry> {
  const selections: ProcessSelection[] =
    options.processes ?? bundledProcessorNames().map((name) => ({ id: name, processor: name }));
  const entries: RegistryEntry[] = [];
  const seen = new Set<string>();
  for (const selection of selections) {
    if (seen.has(selection.id)) throw new DescriptionError(`Process '${selection.id}' is published twice`);
    seen.add(selection.id);
    const modulePath = resolveModule(selection.processor, options.baseDir);
    const processor = await loadProcessor(modulePath);
    const origin = path.relative(process.cwd(), modulePath);
    let spec: unknown = processor.description;
    if (typeof processor.description === 'function') {
      try {
        spec = processor.description(selection.options ?? {});
      } catch (e) {
        throw new DescriptionError(
          `Process '${selection.id}' (${origin}): bad options: ${(e as Error).message}`,
        );
      }
    }
    const description = normalizeDescription(spec, origin);
    description.id = selection.id;
    let control = selection.jobControlOptions ?? description.jobControlOptions;
    control = control.filter(
      (c) => (c !== 'sync-execute' || options.syncEnabled) && (c !== 'async-execute' || options.asyncEnabled),
    );
    if (!control.includes('sync-execute') && !control.includes('async-execute')) {
      throw new DescriptionError(
        `Process '${selection.id}': no execution mode left (the process allows ${description.jobControlOptions.join(', ')}; the server enables ${[options.syncEnabled && 'sync', options.asyncEnabled && 'async'].filter(Boolean).join(' and ') || 'neither sync nor async'})`,
      );
    }
    description.jobControlOptions = control;
    const validation = selection.validationMode ?? options.validationMode;
    if (validation) {
      for (const input of description.inputs) if (input.kind === 'complex') input.validation = validation;
    }
    entries.push({
      description,
      location: { kind: 'local', modulePath, runtime: processor.runtime ?? 'js' },
    });
  }
  return new ProcessRegistry(entries);
}
