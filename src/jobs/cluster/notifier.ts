import pg from 'pg';
import type { JobStatus } from '../../core/job.ts';
import type { Logger } from '../../util/logger.ts';
import { JOBS_CHANNEL } from '../pg-store.ts';

/** What the jobs table announces on every new job and status change (its trigger, src/jobs/pg-store.ts). */
export interface JobEvent {
  id: string;
  status: JobStatus;
  mode: 'sync' | 'async';
  worker: string | null;
}

/**
 * One connection that LISTENs to the jobs channel of a PostgreSQL store; reconnects with backoff
 * when the connection drops (the cluster node polls meanwhile, so nothing waits on a lost
 * notification for longer than the poll interval).
 */
export class JobNotifier {
  readonly #connection: string;
  readonly #log: Logger;
  readonly #handlers: Array<(event: JobEvent) => void> = [];
  #client: pg.Client | undefined;
  #stopped = false;
  #retry: NodeJS.Timeout | undefined;
  #pause = 250;
  /** Whether notifications arrive now. */
  listening = false;

  constructor(connection: string, logger: Logger) {
    this.#connection = connection;
    this.#log = logger;
  }

  on(handler: (event: JobEvent) => void): void {
    this.#handlers.push(handler);
  }

  async start(): Promise<void> {
    await this.#connect();
  }

  async #connect(): Promise<void> {
    if (this.#stopped) return;
    const client = new pg.Client({
      connectionString: this.#connection,
      application_name: 'gateway listener',
    });
    const lost = (error?: Error) => {
      if (this.#client !== client) return;
      this.#client = undefined;
      this.listening = false;
      client.end().catch(() => undefined);
      if (this.#stopped) return;
      this.#log.warn({ err: error }, 'job notifications lost; reconnecting (polling meanwhile)');
      this.#schedule();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    client.on('notification', (message) => {
      if (message.channel !== JOBS_CHANNEL || !message.payload) return;
      let event: JobEvent;
      try {
        event = JSON.parse(message.payload) as JobEvent;
      } catch {
        return;
      }
      for (const handler of this.#handlers) handler(event);
    });
    this.#client = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${JOBS_CHANNEL}`);
      this.listening = true;
      this.#pause = 250;
    } catch (error) {
      lost(error as Error);
    }
  }

  #schedule(): void {
    clearTimeout(this.#retry);
    this.#retry = setTimeout(() => void this.#connect(), this.#pause);
    this.#retry.unref();
    this.#pause = Math.min(this.#pause * 2, 10_000);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retry);
    const client = this.#client;
    this.#client = undefined;
    this.listening = false;
    await client?.end().catch(() => undefined);
  }
}
