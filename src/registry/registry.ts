import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { OwsError } from '../core/errors.ts';
import type { JobControlOption, ProcessDescription, ValidationMode } from '../core/model.ts';
import type { Processor, ProcessRuntime } from '../core/processor.ts';
import { compileSchema } from '../util/json-schema.ts';
import { checkDescription } from './description-checks.ts';

export const BUNDLED_DIR = fileURLToPath(new URL('../../processes/', import.meta.url));

/**
 * Where a process runs: a local processor module (in a worker thread or a child process), or a
 * process of a remote provider (src/providers/), run by the remote runner under its remote id.
 */
export type ProcessLocation =
  | {
      kind: 'local';
      modulePath: string;
      runtime: ProcessRuntime;
      /** The processor can fan out (src/jobs/fan-out.ts): on which input, from which size by default. */
      fanOut?: { input: string; minBytes: number };
    }
  | { kind: 'remote'; provider: string; remoteId: string };

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

/**
 * The published processes: the local ones (loaded at start-up; add/remove at run time) followed by
 * those of each remote provider (replaced whenever its discovery finds a change). `generation`
 * counts every change of either kind: what is derived from the process list (rendered capabilities,
 * descriptions, src/util/document-cache.ts) is cached under it.
 */
export class ProcessRegistry {
  readonly #local: Map<string, RegistryEntry>;
  readonly #remote = new Map<string, Map<string, RegistryEntry>>();
  #entries: Map<string, RegistryEntry>;
  #generation = 0;

  constructor(entries: RegistryEntry[]) {
    this.#local = new Map(entries.map((e) => [e.description.id, e]));
    this.#entries = this.#local;
  }

  /** Bumps each time the list of processes or one of their descriptions changes. */
  get generation(): number {
    return this.#generation;
  }

  /**
   * Publishes one more local process at run time (a remote provider's come and go with setRemote).
   * Its id must be free: a local process's or any provider's is refused.
   */
  add(entry: RegistryEntry): void {
    const id = entry.description.id;
    if (this.#entries.has(id)) throw new DescriptionError(`Process '${id}' is published twice`);
    this.#local.set(id, entry);
    this.#rebuild();
  }

  /** Withdraws a local process; false when there was no local process of that id. */
  remove(id: string): boolean {
    if (!this.#local.delete(id)) return false;
    this.#rebuild();
    return true;
  }

  list(): RegistryEntry[] {
    return [...this.#entries.values()];
  }

  find(id: string): RegistryEntry | undefined {
    return this.#entries.get(id);
  }

  /** Ids taken by local processes and by providers other than `provider` (remote ids must avoid them). */
  takenBy(id: string, provider: string): string | undefined {
    if (this.#local.has(id)) return 'a local process';
    for (const [other, entries] of this.#remote)
      if (other !== provider && entries.has(id)) return `provider '${other}'`;
    return undefined;
  }

  /**
   * Replaces the processes of one provider (an empty list withdraws them). Entries whose id is
   * taken elsewhere are the caller's to leave out (see takenBy); they are ignored here. Returns
   * whether anything changed (the generation is bumped then).
   */
  setRemote(provider: string, entries: RegistryEntry[]): boolean {
    const next = new Map<string, RegistryEntry>();
    for (const e of entries) if (!this.takenBy(e.description.id, provider)) next.set(e.description.id, e);
    const previous = this.#remote.get(provider) ?? new Map<string, RegistryEntry>();
    const same =
      previous.size === next.size &&
      [...next].every(([id, e]) => {
        const p = previous.get(id);
        return p !== undefined && JSON.stringify(p) === JSON.stringify(e);
      });
    if (same) return false;
    if (next.size === 0) this.#remote.delete(provider);
    else this.#remote.set(provider, next);
    this.#rebuild();
    return true;
  }

  /**
   * The published list after any change (local processes first, then each provider's), and the one
   * generation counter bumped: every change, local or remote, invalidates what is cached under it.
   */
  #rebuild(): void {
    if (this.#remote.size === 0) {
      this.#entries = this.#local;
    } else {
      const all = new Map(this.#local);
      for (const map of this.#remote.values()) for (const [id, e] of map) all.set(id, e);
      this.#entries = all;
    }
    this.#generation++;
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
      location: {
        kind: 'local',
        modulePath,
        runtime: processor.runtime ?? 'js',
        ...(processor.fanOut
          ? { fanOut: { input: processor.fanOut.input, minBytes: processor.fanOut.minBytes } }
          : {}),
      },
    });
  }
  return new ProcessRegistry(entries);
}
