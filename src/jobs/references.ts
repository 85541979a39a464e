import { decodeBase64 } from '../core/base64.ts';
import { OwsError } from '../core/errors.ts';
import type { InputDescription, ProcessDescription } from '../core/model.ts';
import { validateInputValue, type InputValidationOptions } from '../core/validate.ts';
import type { InputValue, JobInputs, PendingReference, RawInputValue } from '../core/values.ts';
import { fetchReference, type FetchBudget, type ReferencePolicy } from '../references/fetch.ts';

export interface ReferenceResolution {
  policy: ReferencePolicy;
  /** Fetches of one job under way at once. */
  concurrency: number;
  /** Bytes all references of one job may bring in together. */
  budgetBytes: number;
  validation: InputValidationOptions;
  signal?: AbortSignal;
  /**
   * References to leave as they are (not fetched): a remote provider with `forward_references`
   * gets them as references. Undefined: every reference is fetched.
   */
  keep?: (reference: PendingReference, input: InputDescription) => boolean;
}

const decoder = new TextDecoder();

/** The fetched data as the raw value its input expects, before validation. */
async function fetchValue(
  ref: PendingReference,
  kind: 'literal' | 'complex',
  locator: string,
  resolution: ReferenceResolution,
  budget: FetchBudget,
): Promise<Exclude<RawInputValue, { type: 'reference' }>> {
  let body = ref.body;
  if (ref.bodyReference !== undefined) {
    const fetched = await fetchReference(
      { href: ref.bodyReference, method: 'GET' },
      resolution.policy,
      locator,
      budget,
      resolution.signal,
    );
    body = decoder.decode(fetched.data);
  }
  const fetched = await fetchReference(
    {
      href: ref.href,
      method: ref.method ?? 'GET',
      ...(ref.headers ? { headers: ref.headers } : {}),
      ...(body !== undefined ? { body } : {}),
    },
    resolution.policy,
    locator,
    budget,
    resolution.signal,
  );
  if (kind === 'literal') return { type: 'literal', value: decoder.decode(fetched.data).trim() };
  const base64 = ref.encoding?.toLowerCase() === 'base64';
  const mimeType = ref.mimeType ?? fetched.contentType;
  return {
    type: 'complex',
    data: base64 ? decodeBase64(decoder.decode(fetched.data), locator) : fetched.data,
    ...(mimeType ? { mimeType } : {}),
    ...(ref.encoding ? { encoding: ref.encoding } : {}),
    ...(ref.schema ? { schema: ref.schema } : {}),
  };
}

/** Runs `tasks` with at most `limit` under way; the first failure stops new starts and is thrown. */
async function bounded<T>(tasks: Array<() => Promise<T>>, limit: number): Promise<T[]> {
  const results = new Array<T>(tasks.length);
  let next = 0;
  let failed = false;
  const lane = async () => {
    while (!failed && next < tasks.length) {
      const i = next++;
      try {
        results[i] = await tasks[i]!();
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, lane));
  return results;
}

export const hasPendingReferences = (inputs: JobInputs): boolean =>
  Object.values(inputs).some((values) => values.some((v) => v.kind === 'reference'));

/**
 * Fetches the references of a job under the reference policy (bounded concurrency, one byte budget
 * for the whole job) and validates the fetched data like inline data of the same input. Failures
 * are client errors (InvalidParameterValue, FileSizeExceeded) naming the input. References that
 * `resolution.keep` keeps stay in the result as they are (then it is not all ProcessInputs).
 */
export async function resolveReferences(
  inputs: JobInputs,
  description: ProcessDescription,
  resolution: ReferenceResolution,
): Promise<JobInputs> {
  const budget: FetchBudget = { remaining: resolution.budgetBytes, total: resolution.budgetBytes };
  // One failure stops the fetches still under way.
  const stop = new AbortController();
  const signal = resolution.signal ? AbortSignal.any([resolution.signal, stop.signal]) : stop.signal;
  const resolved: Record<string, Array<InputValue | PendingReference | undefined>> = {};
  const tasks: Array<() => Promise<void>> = [];
  for (const [id, values] of Object.entries(inputs)) {
    const input = description.inputs.find((i) => i.id === id);
    const slots: Array<InputValue | PendingReference | undefined> = (resolved[id] = values.map((v) =>
      v.kind === 'reference' ? undefined : v,
    ));
    values.forEach((value, index) => {
      if (value.kind !== 'reference') return;
      if (!input || input.kind === 'bbox') {
        throw new OwsError('InvalidParameterValue', `Input '${id}' cannot be given by reference`, id);
      }
      if (resolution.keep?.(value, input)) {
        slots[index] = value;
        return;
      }
      tasks.push(async () => {
        signal.throwIfAborted();
        const raw = await fetchValue(value, input.kind, id, { ...resolution, signal }, budget);
        slots[index] = validateInputValue(raw, input, resolution.validation);
      });
    });
  }
  try {
    await bounded(tasks, Math.max(1, resolution.concurrency));
  } catch (error) {
    stop.abort(error);
    throw error;
  }
  return resolved as JobInputs;
}
