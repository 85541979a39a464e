import { OwsError, type OwsErrorJson } from '../../core/errors.ts';
import { isTerminal, type Job } from '../../core/job.ts';
import type { Logger } from '../../util/logger.ts';
import type { PgJobStore, WorkerRow } from '../pg-store.ts';
import type { JobNotifier } from './notifier.ts';
import { runsJobs, type Role } from './roles.ts';

/** What a cluster node needs of the job manager of its instance (src/jobs/manager.ts). */
export interface ClusterMember {
  activeJobIds(): string[];
  abortJob(id: string, error: OwsError): void;
  announce(job: Job, recordedHere?: boolean): void;
  wake(): void;
}

export interface ClusterNodeOptions {
  role: Role;
  /** How long a claimed job stays leased without a heartbeat (the store's lease). */
  leaseMs: number;
  /** How often queued jobs and lost leases are looked for without a notification. */
  pollMs: number;
  /** Processes whose jobs run again when their node dies; the others fail. */
  idempotentProcesses: readonly string[];
  logger: Logger;
}

/** What /health reports of the cluster. */
export interface ClusterHealth {
  node: string;
  role: Role;
  store: 'postgresql';
  notifications: boolean;
  queue: { accepted: number; running: number; maxRunning: number };
  /** Nodes that sent a heartbeat within three lease periods. */
  workers: Array<Omit<WorkerRow, 'started' | 'seen'> & { started: string; seen: string }>;
  problems: string[];
}

const lostNode: OwsErrorJson = {
  code: 'NoApplicableCode',
  message:
    'The job was interrupted: the node running it stopped answering (its lease expired), and its process is not marked idempotent, so it was not run again',
  reason: 'interrupted',
};

/**
 * One instance's part in a cluster on a PostgreSQL store: heartbeats that renew the leases of the
 * jobs it runs (and stop those it no longer owns: dismissed elsewhere, or recovered after it lost
 * the store for longer than its lease), recovery of jobs whose node died, and job notifications
 * (LISTEN/NOTIFY) that wake the dispatcher for new jobs, stop dismissed ones and tell synchronous
 * clients waiting here that a job ended on another node. Polling backs up every notification.
 */
export class ClusterNode {
  readonly #store: PgJobStore;
  readonly #notifier: JobNotifier;
  readonly #options: ClusterNodeOptions;
  readonly #log: Logger;
  #member: ClusterMember | undefined;
  #timers: NodeJS.Timeout[] = [];
  /** performance.now() when the last heartbeat was sent that the store took. */
  #lastRenewal = performance.now();
  #heartbeating = false;
  #recovering = false;
  #maxRunning: number;

  constructor(
    store: PgJobStore,
    notifier: JobNotifier,
    options: ClusterNodeOptions & { maxRunning: number },
  ) {
    this.#store = store;
    this.#notifier = notifier;
    this.#options = options;
    this.#maxRunning = options.maxRunning;
    this.#log = options.logger.child({ component: 'cluster', node: store.nodeId, role: options.role });
    store.beforeClose(() => this.stop());
  }

  get heartbeatMs(): number {
    return Math.max(100, Math.floor(this.#options.leaseMs / 3));
  }

  async start(member: ClusterMember): Promise<void> {
    this.#member = member;
    this.#notifier.on((event) => {
      const mine = member.activeJobIds().includes(event.id);
      if (event.status === 'accepted') {
        if (runsJobs(this.#options.role)) member.wake();
      } else if (isTerminal(event.status)) {
        // Ended while it runs here: by another node (dismissed, cancelled on a sync timeout) — stop
        // it; or by this node's own end being recorded — then stopping the finished run does nothing.
        // Ended by another node's run of it (this node lost it): stop, leaving its files alone.
        if (mine) {
          member.abortJob(
            event.id,
            event.worker === null || event.worker === this.#store.nodeId ? dismissedElsewhere() : leaseLost(),
          );
        }
        // A synchronous client may wait here for a job another node ran.
        else if (event.mode === 'sync') void this.#announce(event.id);
      }
    });
    await this.#notifier.start();
    await this.#heartbeat();
    const every = (ms: number, fn: () => Promise<void> | void) => {
      const timer = setInterval(() => void fn(), ms);
      timer.unref();
      this.#timers.push(timer);
    };
    every(this.heartbeatMs, () => this.#heartbeat());
    every(this.#options.pollMs, () => this.#poll());
    this.#log.info(
      {
        leaseMs: this.#options.leaseMs,
        pollMs: this.#options.pollMs,
        notifications: this.#notifier.listening,
      },
      'joined the cluster',
    );
  }

  /** Announces a job another node changed (or, with `recordedHere`, one this node recovered). */
  async #announce(id: string, recordedHere = false): Promise<void> {
    try {
      const job = await this.#store.get(id);
      if (job) this.#member?.announce(job, recordedHere);
    } catch (error) {
      this.#log.warn({ err: error, job: id }, 'could not read a job another node finished');
    }
  }

  /** Renews leases; stops jobs no longer this node's; stops all of them once the lease is surely lost. */
  async #heartbeat(): Promise<void> {
    const member = this.#member;
    if (!member || this.#heartbeating) return;
    this.#heartbeating = true;
    const sent = performance.now();
    const ids = member.activeJobIds();
    try {
      const alive = await this.#store.renewLeases(ids);
      this.#lastRenewal = sent;
      const lost = ids.filter((id) => !alive.has(id));
      // Ended here (dismissed, cancelled): stop and clean up; recovered or taken over: stop only.
      const taken = lost.length > 0 ? await this.#store.takenOver(lost) : new Set<string>();
      for (const id of lost) member.abortJob(id, taken.has(id) ? leaseLost() : dismissedElsewhere());
    } catch (error) {
      // Fencing: past its lease (less one heartbeat, to stop in time) another node may take the
      // jobs over; they must not run twice at once, so they stop here.
      const silentMs = performance.now() - this.#lastRenewal;
      this.#log.warn({ err: error, silentMs }, 'heartbeat failed');
      if (silentMs >= this.#options.leaseMs - this.heartbeatMs) {
        for (const id of member.activeJobIds()) member.abortJob(id, leaseLost());
      }
    } finally {
      this.#heartbeating = false;
    }
  }

  /** Without notifications: queued jobs are claimed, jobs of dead nodes recovered. */
  async #poll(): Promise<void> {
    const member = this.#member;
    if (!member) return;
    if (runsJobs(this.#options.role)) member.wake();
    if (this.#recovering) return;
    this.#recovering = true;
    try {
      const { requeued, failed, forgotten } = await this.#store.recoverExpired(
        this.#options.idempotentProcesses,
        lostNode,
      );
      if (requeued.length + failed.length > 0) {
        this.#log.warn({ requeued, failed }, 'recovered the jobs of a node that stopped answering');
        // This node recorded these ends: its callbacks (and waiters) are told.
        for (const id of failed) void this.#announce(id, true);
      }
      if (forgotten.length > 0) this.#log.info({ forgotten }, 'forgot nodes not seen for a long time');
    } catch (error) {
      this.#log.warn({ err: error }, 'lease recovery failed; trying again');
    } finally {
      this.#recovering = false;
    }
  }

  async health(): Promise<ClusterHealth> {
    const problems: string[] = [];
    if (!this.#notifier.listening) problems.push('job notifications: not listening (polling meanwhile)');
    const [accepted, running, workers] = await Promise.all([
      this.#store.countByStatus('accepted'),
      this.#store.countByStatus('running'),
      this.#store.workers(3 * this.#options.leaseMs),
    ]);
    if (!workers.some((w) => runsJobs(w.role as Role))) problems.push('no worker node seen recently');
    return {
      node: this.#store.nodeId,
      role: this.#options.role,
      store: 'postgresql',
      notifications: this.#notifier.listening,
      queue: { accepted, running, maxRunning: this.#maxRunning },
      workers: workers.map((w) => ({ ...w, started: w.started.toISOString(), seen: w.seen.toISOString() })),
      problems,
    };
  }

  async stop(): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    this.#member = undefined;
    await this.#notifier.stop();
  }
}

/** This node lost the job (lease expired): its recovery decides the job's end, not this run. */
function leaseLost(): OwsError {
  return new OwsError(
    'NoApplicableCode',
    'The job was interrupted: its node lost its lease (cut off from the job store, or paused)',
    undefined,
    'lease-lost',
  );
}

function dismissedElsewhere(): OwsError {
  return new OwsError(
    'NoApplicableCode',
    'The job was dismissed (or ended) by another instance',
    undefined,
    'cancelled',
  );
}
