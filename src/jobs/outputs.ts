import { copyFile, mkdir, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { invalidParameter, OwsError } from '../core/errors.ts';
import type { OutputRequest } from '../core/execute.ts';
import { extensionFor } from '../core/formats.ts';
import { formatBytes, type ResourceLimits } from '../core/limits.ts';
import { parseLiteral } from '../core/literal.ts';
import { storageError } from './files.ts';
import type { ComplexOutputDescription, LiteralOutputDescription, OutputDescription } from '../core/model.ts';
import type {
  LiteralScalar,
  OutputValue,
  ProcessOutputs,
  StoredOutput,
  StoredOutputs,
} from '../core/values.ts';

const isScalar = (v: OutputValue): v is LiteralScalar =>
  typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || v instanceof Date;

function literalOutput(value: OutputValue, output: LiteralOutputDescription): StoredOutput {
  const given = isScalar(value) ? { kind: 'literal' as const, value } : value;
  if (given.kind !== 'literal')
    throw new OwsError('NoApplicableCode', `Output '${output.id}' must be literal data`);
  const typed =
    given.value instanceof Date ? given.value : parseLiteral(given.value, output.dataType, output.id);
  const uom = given.uom ?? output.uoms?.default;
  return uom ? { kind: 'literal', value: typed, uom } : { kind: 'literal', value: typed };
}

/** Output bytes a job may still store: what one output may be, and what is left of the job's share. */
interface Allowance {
  limits: Pick<ResourceLimits, 'maxOutputSize' | 'maxJobOutputSize'>;
  stored: number;
}

/** Refuses an output whose size is over its own limit or over what is left of the job's (before it is written). */
function admitSize(id: string, size: number, allowance: Allowance): void {
  const { maxOutputSize, maxJobOutputSize } = allowance.limits;
  if (size > maxOutputSize) {
    throw new OwsError(
      'FileSizeExceeded',
      `Output '${id}' is ${formatBytes(size)}, more than the ${formatBytes(maxOutputSize)} one output may be (server.limits.max_output_size); ask for less`,
      id,
    );
  }
  if (allowance.stored + size > maxJobOutputSize) {
    throw new OwsError(
      'FileSizeExceeded',
      `The outputs of this job come to ${formatBytes(allowance.stored + size)}, more than the ${formatBytes(maxJobOutputSize)} one job may store (server.limits.max_job_output_size); ask for less`,
      id,
    );
  }
  allowance.stored += size;
}

async function complexOutput(
  value: OutputValue,
  output: ComplexOutputDescription,
  request: OutputRequest,
  outputDir: string,
  allowance: Allowance,
): Promise<StoredOutput> {
  const given = isScalar(value) ? { kind: 'complex' as const, text: String(value) } : value;
  if (given.kind !== 'complex')
    throw new OwsError('NoApplicableCode', `Output '${output.id}' must be complex data`);
  admitSize(
    output.id,
    given.file !== undefined
      ? (await stat(given.file)).size
      : (given.bytes?.byteLength ?? Buffer.byteLength(given.text ?? '')),
    allowance,
  );
  const format = given.format ?? request.format ?? output.formats[0]!;
  const file = `${output.id}.${extensionFor(format.mimeType)}`;
  const target = path.join(outputDir, file);
  try {
    // The folder exists only for jobs with files: most jobs (literals, bounding boxes) have none.
    await mkdir(outputDir, { recursive: true });
    if (given.file) {
      await rename(given.file, target).catch(() => copyFile(given.file!, target));
    } else {
      await writeFile(target, given.bytes ?? given.text ?? '');
    }
  } catch (error) {
    throw storageError(error, `output '${output.id}'`);
  }
  const { size } = await stat(target);
  // The transport encoding (base64) is a rendering choice of the binding, not part of the stored format.
  const { encoding, ...rest } = format;
  return {
    kind: 'complex',
    format: encoding && encoding.toLowerCase() !== 'base64' ? { ...rest, encoding } : rest,
    file,
    size,
  };
}

/**
 * Turns what a processor returned into what the store keeps: literals typed per the description,
 * complex data written to files in the job's output folder. Outputs the client did not ask for and
 * outputs the processor did not produce are left out. Each complex output is measured before it is
 * written: one over `maxOutputSize`, or past `maxJobOutputSize` with those before it, fails the job
 * with FileSizeExceeded (the caller removes what was written).
 */
export async function storeOutputs(
  produced: ProcessOutputs,
  descriptions: OutputDescription[],
  requested: Record<string, OutputRequest>,
  outputDir: string,
  limits: Pick<ResourceLimits, 'maxOutputSize' | 'maxJobOutputSize'>,
): Promise<StoredOutputs> {
  const allowance: Allowance = { limits, stored: 0 };
  const stored: StoredOutputs = {};
  for (const [id, request] of Object.entries(requested)) {
    const value = produced[id];
    if (value === undefined || value === null) continue;
    const output = descriptions.find((o) => o.id === id);
    if (!output) throw invalidParameter(id, `No output '${id}'`);
    switch (output.kind) {
      case 'literal':
        stored[id] = literalOutput(value, output);
        break;
      case 'complex':
        stored[id] = await complexOutput(value, output, request, outputDir, allowance);
        break;
      case 'bbox':
        if (isScalar(value) || value.kind !== 'bbox')
          throw new OwsError('NoApplicableCode', `Output '${id}' must be a bounding box`);
        stored[id] = value;
        break;
    }
  }
  return stored;
}
