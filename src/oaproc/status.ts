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
  };
}
