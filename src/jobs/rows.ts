import type { OwsErrorJson } from '../core/errors.ts';
import type { Job, JobStatus } from '../core/job.ts';
import { decode } from './codec.ts';
import type { CacheEntry } from './store.ts';

/** A row of the jobs table, as both stores (SQLite, PostgreSQL) hold it: times in ms, JSON as text. */
export interface JobRow {
  id: string;
  process_id: string;
  status: JobStatus;
  mode: Job['mode'];
  progress: number;
  message: string | null;
  created: number;
  started: number | null;
  finished: number | null;
  updated: number;
  request: string;
  results: string | null;
  error: string | null;
  execution: string | null;
}

export function toJob(row: JobRow): Job {
  const job: Job = {
    id: row.id,
    processId: row.process_id,
    status: row.status,
    mode: row.mode,
    progress: row.progress,
    created: new Date(row.created),
    updated: new Date(row.updated),
    request: decode(row.request),
  };
  if (row.message !== null) job.message = row.message;
  if (row.started !== null) job.started = new Date(row.started);
  if (row.finished !== null) job.finished = new Date(row.finished);
  if (row.results !== null) job.results = decode(row.results);
  if (row.error !== null) job.error = decode<OwsErrorJson>(row.error);
  if (row.execution !== null) job.execution = decode(row.execution);
  return job;
}

/** A row of the result_cache table (both stores). */
export interface CacheRow {
  key: string;
  process_id: string;
  job_id: string;
  results: string;
  created: number;
  expires: number;
}

export const toCacheEntry = (row: CacheRow): CacheEntry => ({
  key: row.key,
  processId: row.process_id,
  jobId: row.job_id,
  results: decode(row.results),
  created: new Date(row.created),
  expires: new Date(row.expires),
});
