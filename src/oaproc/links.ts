/** link.yaml */
export interface Link {
  href: string;
  rel: string;
  type?: string;
  title?: string;
}

const OGC_REL = 'http://www.opengis.net/def/rel/ogc/1.0/';

/** The OGC link relations of OGC API - Processes 1.0 (clause 5 conventions). */
export const REL = {
  conformance: `${OGC_REL}conformance`,
  processes: `${OGC_REL}processes`,
  jobList: `${OGC_REL}job-list`,
  execute: `${OGC_REL}execute`,
  results: `${OGC_REL}results`,
} as const;

/** An absolute URL under the API's public base (no trailing slash) with the given query. */
export function apiUrl(base: string, path: string, query: Record<string, string | number> = {}): string {
  const params = new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]));
  const search = params.toString();
  return `${base}${path}${search ? `?${search}` : ''}`;
}
