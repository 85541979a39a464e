// TEMPORARY placeholder until branch oaproc-jobs lands
import type { OwsError } from '../core/errors.ts';
import type { JobFilter } from '../jobs/store.ts';
export function parseJobListQuery(query: URLSearchParams): JobFilter | OwsError {
  const limit = Number(query.get('limit') ?? 10);
  const offset = Number(query.get('offset') ?? 0);
  return { limit, offset };
}
