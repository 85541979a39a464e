// TEMPORARY placeholder until branch oaproc-jobs lands
import type { OwsError } from '../core/errors.ts';
import type { ReferencePolicy } from '../references/fetch.ts';
export function checkSubscriber(_s: unknown, _p: ReferencePolicy): OwsError | undefined {
  return undefined;
}
