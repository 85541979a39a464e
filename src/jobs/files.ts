import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { JobInputs } from '../core/values.ts';

const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Job ids are UUIDs; anything else never reaches the file system (no path traversal). */
export const isJobId = (id: string): boolean => JOB_ID.test(id);

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
   * Creates the work folder and writes binary data and text above `inlineLimit` bytes to files in
   * it, so that only paths cross the thread boundary and the job store stays small.
   */
  async prepare<T extends JobInputs>(jobId: string, inputs: T, inlineLimit: number): Promise<T> {
    const dir = this.workDir(jobId);
    await mkdir(path.join(dir, 'inputs'), { recursive: true });
    const placed: JobInputs = {};
    for (const [id, values] of Object.entries(inputs)) {
      placed[id] = await Promise.all(
        values.map(async (value, i) => {
          if (value.kind !== 'complex' || value.file !== undefined) return value;
          const big = value.bytes !== undefined || Buffer.byteLength(value.text ?? '') > inlineLimit;
          if (!big) return value;
          const file = path.join(dir, 'inputs', `${id}-${i}`);
          await writeFile(file, value.bytes ?? value.text ?? '');
          return { kind: 'complex' as const, format: value.format, file };
        }),
      );
    }
    return placed as T;
  }

  async removeWork(jobId: string): Promise<void> {
    await rm(this.workDir(jobId), { recursive: true, force: true });
  }

  async removeOutputs(jobId: string): Promise<void> {
    await rm(this.outputDir(jobId), { recursive: true, force: true });
  }
}
