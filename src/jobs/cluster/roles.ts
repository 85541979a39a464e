/**
 * What an instance of a cluster does: `api` accepts jobs and answers every request but never runs a
 * job; `worker` claims and runs jobs (and answers requests too); `all` does both (the default, and
 * the only role of an instance with its own SQLite store).
 */
export const ROLES = ['api', 'worker', 'all'] as const;
export type Role = (typeof ROLES)[number];

export const isRole = (value: string): value is Role => (ROLES as readonly string[]).includes(value);

/** Whether an instance of this role claims and runs jobs. */
export const runsJobs = (role: Role): boolean => role !== 'api';
