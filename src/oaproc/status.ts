import type { Job } from '../core/job.ts';
import { apiUrl, REL, type Link } from './links.ts';

/** statusInfo.yaml */
export interface StatusInfo {
  jobID: string;
  processID: string;
  type: 'process';
  status: Job['status'];
  message?: string;
  created: string;
  started?: string;
  finished?: string;
  updated: string;
  progress: number;
  links: Link[];
  /** Extension: the attempts of a process with retries (number, start, end, error). */
  attempts?: Array<{
    number: number;
    started: string;
    finished?: string;
    error?: { code: string; message: string };
  }>;
  /** Extension: set when the results were served from the result cache. */
  cache?: { hit: true; sourceJobID: string };
}

export interface StatusUrls {
  /** The API's public base URL, no trailing slash. */
  base: string;
  /** The WPS status document of a job, the same job seen through the other protocol. */
  wpsStatus(jobId: string): string;
}

export const jobUrl = (base: string, jobId: string): string => apiUrl(base, `/jobs/${jobId}`);

/** A job as OGC API - Processes shows it, whichever protocol created it. */
export function statusInfo(job: Job, urls: StatusUrls): StatusInfo {
  const self = jobUrl(urls.base, job.id);
  const links: Link[] = [
    { href: self, rel: 'self', type: 'application/json', title: 'This job' },
    { href: self, rel: 'status', type: 'application/json', title: 'The status of this job' },
    {
      href: urls.wpsStatus(job.id),
      rel: 'alternate',
      type: 'text/xml',
      title: 'The WPS 1.0.0 status document of this job',
    },
  ];
  if (job.status === 'successful') {
    links.push({ href: `${self}/results`, rel: REL.results, title: 'The results of this job' });
  }
  return {
    jobID: job.id,
    processID: job.processId,
    type: 'process',
    status: job.status,
    ...(job.message !== undefined ? { message: job.message } : {}),
    created: job.created.toISOString(),
    ...(job.started ? { started: job.started.toISOString() } : {}),
    ...(job.finished ? { finished: job.finished.toISOString() } : {}),
    updated: job.updated.toISOString(),
    progress: job.progress,
    links,
    ...executionInfo(job),
  };
}

/** The attempts and cache origin of a job, as statusInfo extension members. */
function executionInfo(job: Job): Pick<StatusInfo, 'attempts' | 'cache'> {
  const execution = job.execution;
  if (!execution) return {};
  return {
    ...(execution.attempts.length > 0
      ? {
          attempts: execution.attempts.map((a) => ({
            number: a.number,
            started: a.started.toISOString(),
            ...(a.finished ? { finished: a.finished.toISOString() } : {}),
            ...(a.error ? { error: { code: a.error.code, message: a.error.message } } : {}),
          })),
        }
      : {}),
    ...(execution.cachedFrom !== undefined
      ? { cache: { hit: true, sourceJobID: execution.cachedFrom } }
      : {}),
  };
}
