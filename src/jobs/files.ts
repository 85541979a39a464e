import { mkdir, open, readdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { OwsError } from '../core/errors.ts';
import type { JobInputs } from '../core/values.ts';

const NO_SPACE = new Set(['ENOSPC', 'EDQUOT']);

/** A full disk (or quota) while writing `what` is NotEnoughStorage; other errors pass unchanged. */
export function storageError(error: unknown, what: string): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && NO_SPACE.has(code)) {
    return new OwsError('NotEnoughStorage', `Not enough storage on the server for ${what}`);
  }
  return error;
}

/** Characters of a text encoded at a time: at most 3 bytes each, so a piece fits PIECE_BYTES. */
const TEXT_PIECE = 256 * 1024;
const PIECE_BYTES = 3 * TEXT_PIECE;

/**
 * Writes a text as UTF-8 through one reused buffer of 768 KB, so that a 30 MB text costs that
 * buffer, neither a 30 MB copy (writeFile encodes the whole string first) nor 30 MB of pieces
 * waiting for the garbage collector. A piece never ends between the halves of a surrogate pair.
 */
export async function writeText(file: string, text: string): Promise<void> {
  const handle = await open(file, 'w');
  try {
    const buffer = Buffer.allocUnsafeSlow(Math.min(PIECE_BYTES, 3 * text.length));
    for (let at = 0; at < text.length;) {
      let end = Math.min(at + TEXT_PIECE, text.length);
      const last = text.charCodeAt(end - 1);
      if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--;
      const length = buffer.write(text.slice(at, end), 0, 'utf8');
      for (let done = 0; done < length;) {
        done += (await handle.write(buffer, done, length - done)).bytesWritten;
      }
      at = end;
    }
  } finally {
    await handle.close();
  }
}

const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Job ids are UUIDs; anything else never reaches the file system (no path traversal). */
export const isJobId = (id: string): boolean => JOB_ID.test(id);

export interface JobFolder {
  kind: 'work' | 'output';
  id: string;
}

/**
 * The folders of a job: a private work folder (inputs spilled to files, processor scratch space)
 * and an output folder under the output path, where results are kept and served from.
 */
export class JobFiles {
  readonly workRoot: string;
  readonly outputRoot: string;

  constructor(workRoot: string, outputRoot: string) {
    this.workRoot = path.resolve(workRoot);
    this.outputRoot = path.resolve(outputRoot);
  }

  workDir(jobId: string): string {
    if (!isJobId(jobId)) throw new Error(`Not a job id: ${jobId}`);
    return path.join(this.workRoot, jobId);
  }

  outputDir(jobId: string): string {
    if (!isJobId(jobId)) throw new Error(`Not a job id: ${jobId}`);
    return path.join(this.outputRoot, jobId);
  }

  /** The path of a stored output file, or undefined when the name could leave the job's folder. */
  outputFile(jobId: string, fileName: string): string | undefined {
    if (!isJobId(jobId) || fileName !== path.basename(fileName) || fileName.startsWith('.')) return undefined;
    return path.join(this.outputRoot, jobId, fileName);
  }

  /**
   * Writes binary data and text above `inlineLimit` bytes to files in the work folder (created only
   * then), so that only paths cross the thread boundary and the job store stays small.
   */
  async prepare<T extends JobInputs>(jobId: string, inputs: T, inlineLimit: number): Promise<T> {
    const dir = this.workDir(jobId);
    let created: Promise<unknown> | undefined;
    const placed: JobInputs = {};
    for (const [id, values] of Object.entries(inputs)) {
      placed[id] = await Promise.all(
        values.map(async (value, i) => {
          if (value.kind !== 'complex' || value.file !== undefined) return value;
          const big = value.bytes !== undefined || Buffer.byteLength(value.text ?? '') > inlineLimit;
          if (!big) return value;
          const file = path.join(dir, 'inputs', `${id}-${i}`);
          try {
            await (created ??= mkdir(path.join(dir, 'inputs'), { recursive: true }));
            if (value.bytes) await writeFile(file, value.bytes);
            else await writeText(file, value.text ?? '');
          } catch (error) {
            throw storageError(error, `input '${id}'`);
          }
          return { kind: 'complex' as const, format: value.format, file };
        }),
      );
    }
    return placed as T;
  }

  /** Creates the work folder of a job about to run (processors use it as scratch space). */
  async ensureWork(jobId: string): Promise<string> {
    const dir = this.workDir(jobId);
    try {
      await mkdir(dir, { recursive: true });
    } catch (error) {
      throw storageError(error, 'the work folder of the job');
    }
    return dir;
  }

  /** The job folders (work and output) last changed before `before` (ms since the epoch). */
  async jobFolders(before: number): Promise<JobFolder[]> {
    const found: JobFolder[] = [];
    for (const [kind, root] of [
      ['work', this.workRoot],
      ['output', this.outputRoot],
    ] as const) {
      const names = await readdir(root).catch(() => [] as string[]);
      for (const id of names.filter(isJobId)) {
        const info = await stat(path.join(root, id)).catch(() => undefined);
        if (info?.isDirectory() && info.mtimeMs < before) found.push({ kind, id });
      }
    }
    return found;
  }

  async removeFolder(folder: JobFolder): Promise<void> {
    await (folder.kind === 'work' ? this.removeWork(folder.id) : this.removeOutputs(folder.id));
  }

  async removeWork(jobId: string): Promise<void> {
    await rm(this.workDir(jobId), { recursive: true, force: true });
  }

  async removeOutputs(jobId: string): Promise<void> {
    await rm(this.outputDir(jobId), { recursive: true, force: true });
  }
}
