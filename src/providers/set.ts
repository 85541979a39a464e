import type { JobControlOption, ProcessDescription } from '../core/model.ts';
import type { OutboundPolicy } from '../references/outbound.ts';
import { normalizeDescription, type ProcessRegistry, type RegistryEntry } from '../registry/registry.ts';
import type { Logger } from '../util/logger.ts';
import { PROVIDER_FACTORIES } from './factory.ts';
import { RemoteHttp } from './http.ts';
import type {
  Discovery,
  ProviderConfig,
  ProviderFactory,
  ProviderState,
  ProviderType,
  RemoteProvider,
  SkippedProcess,
} from './provider.ts';

export interface ProviderSetOptions {
  providers: ProviderConfig[];
  registry: ProcessRegistry;
  /** The server's outbound policy (its allowed hosts); each provider adds its own `allowedHosts`. */
  policy: OutboundPolicy;
  /** The largest remote document read (capabilities, descriptions, status and result documents). */
  maxDocumentBytes: number;
  syncEnabled: boolean;
  asyncEnabled: boolean;
  logger: Logger;
  /** Other implementations of the provider types (tests). */
  factories?: Partial<Record<ProviderType, ProviderFactory>>;
}

/** A provider that could not be read is tried again after at most this long. */
const RETRY_DOWN_MS = 30_000;

interface Member {
  provider: RemoteProvider;
  state: ProviderState;
  /** The descriptions under remote ids, of the processes published now. */
  remote: Map<string, ProcessDescription>;
  timer?: NodeJS.Timeout;
  running?: Promise<void>;
}

/**
 * The configured remote providers: discovers each at start-up and then on its refresh interval
 * (sooner while it is down), publishes its processes in the registry under `idPrefix + remoteId`
 * (normalized like local descriptions: what the model cannot express is left out, logged once per
 * process and reason), and keeps each provider's state for /health. A provider that is down keeps
 * its processes out until it answers again; it never stops the gateway.
 */
export class ProviderSet {
  readonly #o: ProviderSetOptions;
  readonly #members = new Map<string, Member>();
  readonly #logged = new Set<string>();
  readonly #closing = new AbortController();

  constructor(options: ProviderSetOptions) {
    this.#o = options;
    for (const config of options.providers) {
      const factory = options.factories?.[config.type] ?? PROVIDER_FACTORIES[config.type];
      const http = new RemoteHttp(
        {
          providerId: config.id,
          policy: {
            allowedPrivateHosts: [...options.policy.allowedPrivateHosts, ...config.allowedHosts],
          },
          headers: config.headers,
          timeoutMs: config.timeoutSeconds * 1000,
          maxBytes: options.maxDocumentBytes,
        },
        config.url,
      );
      const provider = factory(config, {
        http,
        logger: options.logger.child({ provider: config.id }),
      });
      this.#members.set(config.id, {
        provider,
        remote: new Map(),
        state: {
          id: config.id,
          type: config.type,
          url: config.url,
          state: 'pending',
          processes: 0,
          skipped: [],
        },
      });
    }
  }

  get size(): number {
    return this.#members.size;
  }

  provider(id: string): RemoteProvider | undefined {
    return this.#members.get(id)?.provider;
  }

  remoteDescription(provider: string, remoteId: string): ProcessDescription | undefined {
    return this.#members.get(provider)?.remote.get(remoteId);
  }

  /** Each provider's state, for /health. */
  states(): ProviderState[] {
    return [...this.#members.values()].map((m) => structuredClone(m.state));
  }

  /** Discovers every provider once (in parallel; each bounded by its own timeouts), then keeps refreshing. */
  async start(): Promise<void> {
    await Promise.all([...this.#members.keys()].map((id) => this.refresh(id)));
  }

  /** Discovers one provider now (a discovery under way is awaited instead of starting another). */
  refresh(id: string): Promise<void> {
    const member = this.#members.get(id);
    if (!member) return Promise.resolve();
    member.running ??= this.#discover(member).finally(() => {
      member.running = undefined;
      this.#schedule(member);
    });
    return member.running;
  }

  #schedule(member: Member): void {
    clearTimeout(member.timer);
    if (this.#closing.signal.aborted) return;
    const every = member.provider.config.refreshIntervalSeconds * 1000;
    const delay =
      member.state.state === 'up' ? every : every > 0 ? Math.min(every, RETRY_DOWN_MS) : RETRY_DOWN_MS;
    if (delay <= 0) return;
    member.timer = setTimeout(() => void this.refresh(member.provider.config.id), delay);
    member.timer.unref();
  }

  async #discover(member: Member): Promise<void> {
    const config = member.provider.config;
    const log = this.#o.logger.child({ provider: config.id });
    let discovery: Discovery;
    try {
      discovery = await member.provider.discover(this.#closing.signal);
    } catch (error) {
      if (this.#closing.signal.aborted) return;
      const message = (error as Error).message;
      if (member.state.state !== 'down' || member.state.error !== message) {
        log.warn({ url: config.url }, `provider is down: ${message}`);
      }
      member.state.state = 'down';
      member.state.error = message;
      member.remote.clear();
      member.state.processes = 0;
      this.#o.registry.setRemote(config.id, []);
      return;
    }
    const skipped: SkippedProcess[] = [...discovery.skipped];
    const entries: RegistryEntry[] = [];
    const remote = new Map<string, ProcessDescription>();
    const allow = config.processes ? new Set(config.processes) : undefined;
    for (const { remoteId, description } of discovery.processes) {
      if (allow && !allow.has(remoteId)) continue;
      const id = config.idPrefix + remoteId;
      const taken = this.#o.registry.takenBy(id, config.id);
      if (taken) {
        skipped.push({ remoteId, reason: `the id '${id}' is already used by ${taken}` });
        continue;
      }
      try {
        entries.push({
          description: this.#localDescription(description, id),
          location: { kind: 'remote', provider: config.id, remoteId },
        });
        remote.set(remoteId, description);
      } catch (error) {
        skipped.push({ remoteId, reason: (error as Error).message });
      }
    }
    for (const missing of allow
      ? [...allow].filter((r) => !discovery.processes.some((p) => p.remoteId === r))
      : []) {
      if (!skipped.some((s) => s.remoteId === missing))
        skipped.push({ remoteId: missing, reason: 'the remote does not offer it' });
    }
    for (const s of skipped) {
      const key = `${config.id}\u0000${s.remoteId}\u0000${s.reason}`;
      if (this.#logged.has(key)) continue;
      this.#logged.add(key);
      log.warn({ remoteId: s.remoteId }, `remote process left out: ${s.reason}`);
    }
    member.remote = remote;
    const changed = this.#o.registry.setRemote(config.id, entries);
    if (changed || member.state.state !== 'up') {
      log.info({ processes: entries.length, skipped: skipped.length }, 'provider discovered');
    }
    member.state = {
      ...member.state,
      state: 'up',
      processes: entries.length,
      skipped,
      lastSuccess: new Date().toISOString(),
    };
    delete member.state.error;
  }

  /**
   * The description the gateway publishes: the remote's, under the local id, with the execution
   * modes the gateway offers (a remote job always runs as a local job: sync and async as the server
   * enables them, and dismiss), validated like a local processor's. Throws what cannot be published.
   */
  #localDescription(remote: ProcessDescription, id: string): ProcessDescription {
    const control: JobControlOption[] = [];
    if (this.#o.syncEnabled) control.push('sync-execute');
    if (this.#o.asyncEnabled) control.push('async-execute');
    control.push('dismiss');
    const spec = {
      ...structuredClone(remote),
      id,
      jobControlOptions: control,
      outputTransmission: ['value', 'reference'],
    };
    return normalizeDescription(spec, `provider process ${remote.id}`);
  }

  /** Stops refreshing and aborts the discoveries under way. */
  close(): void {
    this.#closing.abort();
    for (const member of this.#members.values()) clearTimeout(member.timer);
  }
}
