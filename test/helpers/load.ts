/**
 * Overload on a real server process, loopback only, bounded in time and in count: many concurrent
 * clients send a mix of discovery requests, synchronous and asynchronous executions and status polls
 * through both protocols (WPS 1.0.0 and OGC API - Processes), far more than the pool can run.
 *
 * Every answer is classified: the expected success, a proper refusal (503: a WPS ServerBusy
 * ExceptionReport, an OGC API exception with Retry-After) or a problem (anything else, including
 * connection errors and timeouts). Meanwhile /health is sampled for the jobs waiting and running,
 * and /proc for the server's memory. After the load, every job an answer said was accepted is
 * polled until it is final. Shared by test/load/load.test.ts (short, asserted) and bench/load.ts.
 */
import { parseXml, isElement, type XmlElement } from '../../src/wps/xml.ts';
import { startServerProcess } from './server-process.ts';

export interface LoadOptions {
  /** How long the clients send requests. */
  seconds: number;
  /** At most this many requests in all (the load stops at whichever bound comes first). */
  maxRequests: number;
  connections: number;
  parallel: number;
  maxQueued: number;
  /** How long accepted jobs get to become final once the load stops. */
  drainSeconds: number;
  /** Seed of the request mix and the sleep durations, so that a run can be repeated. */
  seed?: number;
  /** More server.manager keys. */
  manager?: Record<string, string | number | boolean>;
}

export const KINDS = [
  'wps-capabilities',
  'wps-describe',
  'wps-sync-kvp',
  'wps-sync-xml',
  'wps-async-kvp',
  'wps-async-xml',
  'wps-status',
  'oap-processes',
  'oap-process',
  'oap-sync-hello',
  'oap-sync-sleep',
  'oap-async',
  'oap-status',
] as const;
export type Kind = (typeof KINDS)[number];

/** Relative frequency of each kind in the mix. */
const WEIGHTS: Record<Kind, number> = {
  'wps-capabilities': 6,
  'wps-describe': 6,
  'wps-sync-kvp': 10,
  'wps-sync-xml': 8,
  'wps-async-kvp': 5,
  'wps-async-xml': 5,
  'wps-status': 6,
  'oap-processes': 6,
  'oap-process': 6,
  'oap-sync-hello': 10,
  'oap-sync-sleep': 8,
  'oap-async': 10,
  'oap-status': 8,
};

export interface LoadFigures {
  /** Length of the load phase. */
  seconds: number;
  requests: number;
  requestsPerSecond: number;
  /** kind → answer (HTTP status, or the error of a request that got none) → count. */
  answers: Record<string, Record<string, number>>;
  /** Answers that were neither the expected success nor a proper refusal, by kind of problem. */
  problems: Record<string, number>;
  /** A few examples of problems, for the record. */
  problemSamples: string[];
  /** 503 refusals: WPS ServerBusy reports, OGC API exceptions with Retry-After. */
  refused: { wps: number; oaproc: number };
  /** Asynchronous jobs accepted (ProcessAccepted, 201). */
  accepted: { wps: number; oaproc: number };
  health: {
    samples: number;
    /** /health answers other than 200 with job counts. */
    failures: number;
    /** Largest accepted + running seen, and each alone. */
    maxActive: number;
    maxAccepted: number;
    maxRunning: number;
    /** accepted + running after the drain. */
    activeAfter: number;
  };
  memory: {
    startBytes: number;
    endBytes: number;
    peakBytes: number;
    /** RSS every 5 s of the load. */
    timelineBytes: number[];
  };
  /** Final status of every accepted job after the drain → count; `not final` for those still going. */
  final: Record<string, number>;
  drainSeconds: number;
}

/** A small seeded generator (mulberry32). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WPS_NS = 'xmlns:wps="http://www.opengis.net/wps/1.0.0" xmlns:ows="http://www.opengis.net/ows/1.1"';
const wpsExecute = (seconds: string, store: boolean) =>
  `<?xml version="1.0" encoding="UTF-8"?>
<wps:Execute service="WPS" version="1.0.0" ${WPS_NS}>
  <ows:Identifier>sleep</ows:Identifier>
  <wps:DataInputs><wps:Input><ows:Identifier>seconds</ows:Identifier><wps:Data><wps:LiteralData>${seconds}</wps:LiteralData></wps:Data></wps:Input></wps:DataInputs>
  ${store ? '<wps:ResponseForm><wps:ResponseDocument storeExecuteResponse="true" status="true"/></wps:ResponseForm>' : ''}
</wps:Execute>`;

function descendants(el: XmlElement, local: string): XmlElement[] {
  const found: XmlElement[] = el.local === local ? [el] : [];
  for (const c of el.children) if (isElement(c)) found.push(...descendants(c, local));
  return found;
}

/** The ExecuteResponse's wps:Status child name (ProcessAccepted, ProcessSucceeded, ...), if any. */
function wpsStatus(doc: XmlElement): string | undefined {
  const status = descendants(doc, 'Status')[0];
  return status?.children.find(isElement)?.local;
}

const FINAL = new Set(['successful', 'failed', 'dismissed']);
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

interface Reply {
  status: number;
  headers: Headers;
  body: string;
}

/** What a reply was: the expected success, a proper refusal, or a problem (described). */
type Verdict = { ok: true; jobId?: string; statusUrl?: string } | { busy: true } | { problem: string };

export async function runLoad(options: LoadOptions): Promise<LoadFigures> {
  const server = await startServerProcess({
    prefix: 'gw-load-',
    manager: {
      parallel_processes: options.parallel,
      max_queued_jobs: options.maxQueued,
      ...options.manager,
    },
  });
  try {
    return await drive(server.address, () => server.memory(), options);
  } finally {
    await server.stop();
  }
}

async function drive(
  base: string,
  memory: () => { rss: number; peak: number },
  options: LoadOptions,
): Promise<LoadFigures> {
  const rand = random(options.seed ?? 15);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
  const duration = (low: number, high: number) => (low + rand() * (high - low)).toFixed(2);
  const totalWeight = KINDS.reduce((sum, k) => sum + WEIGHTS[k], 0);
  const wpsJobs: string[] = [];
  const oapJobs: string[] = [];
  const acceptedIds = new Set<string>();

  const answers: Record<string, Record<string, number>> = {};
  const problems: Record<string, number> = {};
  const problemSamples: string[] = [];
  const refused = { wps: 0, oaproc: 0 };
  const accepted = { wps: 0, oaproc: 0 };
  const tally = (kind: string, answer: string) => {
    const row = (answers[kind] ??= {});
    row[answer] = (row[answer] ?? 0) + 1;
  };
  const problem = (kind: string, what: string, detail: string) => {
    const key = `${kind}: ${what}`;
    problems[key] = (problems[key] ?? 0) + 1;
    if (problemSamples.length < 10) problemSamples.push(`${key} ${detail.slice(0, 300)}`);
  };

  const wpsBusy = (r: Reply): Verdict => {
    if (r.headers.get('content-type') !== 'text/xml') return { problem: '503 not text/xml' };
    if (!/^\d+$/.test(r.headers.get('retry-after') ?? '')) return { problem: '503 without Retry-After' };
    const doc = parseXml(r.body);
    const code = descendants(doc, 'Exception')[0]?.attrs.get('exceptionCode');
    return doc.local === 'ExceptionReport' && code === 'ServerBusy'
      ? { busy: true }
      : { problem: `503 with exception ${code}` };
  };
  const oapBusy = (r: Reply): Verdict => {
    const retry = r.headers.get('retry-after');
    if (!retry || !/^\d+$/.test(retry)) return { problem: '503 without Retry-After' };
    const body = JSON.parse(r.body) as { status?: number; code?: string };
    return body.status === 503 && body.code === 'ServerBusy'
      ? { busy: true }
      : { problem: `503 with exception ${body.code}` };
  };
  const wpsDocument = (r: Reply, test: (doc: XmlElement) => Verdict): Verdict => {
    if (r.status === 503) return wpsBusy(r);
    if (r.status !== 200) return { problem: `status ${r.status}` };
    return test(parseXml(r.body));
  };
  const oapJson = (r: Reply, expected: number, test: (json: Record<string, unknown>) => Verdict): Verdict => {
    if (r.status === 503) return oapBusy(r);
    if (r.status !== expected) return { problem: `status ${r.status}` };
    return test(JSON.parse(r.body) as Record<string, unknown>);
  };
  const executed = (doc: XmlElement, expect: (doc: XmlElement) => boolean): Verdict => {
    const status = wpsStatus(doc);
    return status === 'ProcessSucceeded' && expect(doc) ? { ok: true } : { problem: `WPS ${status}` };
  };
  const wpsAccepted = (doc: XmlElement): Verdict => {
    const statusUrl = doc.attrs.get('statusLocation');
    const jobId = statusUrl ? UUID.exec(statusUrl)?.[0] : undefined;
    const status = wpsStatus(doc);
    // Accepted, or already started or done: all were admitted.
    return jobId && status !== 'ProcessFailed' && status !== undefined
      ? { ok: true, jobId, statusUrl: statusUrl! }
      : { problem: `async WPS answer ${status} statusLocation ${statusUrl}` };
  };
  const wpsKvp = (query: string) => `${base}/wps?service=WPS&version=1.0.0&${query}`;
  const post = (body: string, type: string, headers: Record<string, string> = {}): RequestInit => ({
    method: 'POST',
    body,
    headers: { 'Content-Type': type, ...headers },
  });

  /** The request of a kind, and how to judge its answer. */
  const build = (kind: Kind, n: number): { url: string; init?: RequestInit; judge(r: Reply): Verdict } => {
    switch (kind) {
      case 'wps-capabilities':
        return {
          url: `${base}/wps?service=WPS&request=GetCapabilities`,
          judge: (r) =>
            wpsDocument(r, (d) =>
              d.local === 'Capabilities' && descendants(d, 'Process').length >= 3
                ? { ok: true }
                : { problem: `capabilities ${d.local}` },
            ),
        };
      case 'wps-describe':
        return {
          url: wpsKvp('request=DescribeProcess&identifier=hello-world,sleep'),
          judge: (r) =>
            wpsDocument(r, (d) =>
              descendants(d, 'ProcessDescription').length === 2
                ? { ok: true }
                : { problem: `descriptions ${d.local}` },
            ),
        };
      case 'wps-sync-kvp':
        return {
          url: wpsKvp(`request=Execute&identifier=hello-world&DataInputs=name=c${n}`),
          judge: (r) => wpsDocument(r, (d) => executed(d, () => r.body.includes(`Hello c${n}!`))),
        };
      case 'wps-sync-xml': {
        const seconds = duration(0.05, 0.2);
        return {
          url: `${base}/wps`,
          init: post(wpsExecute(seconds, false), 'text/xml'),
          judge: (r) => wpsDocument(r, (d) => executed(d, () => r.body.includes(`>${Number(seconds)}<`))),
        };
      }
      case 'wps-async-kvp':
        return {
          url: wpsKvp(
            `request=Execute&identifier=sleep&DataInputs=seconds=${duration(0.05, 0.3)}` +
              '&ResponseDocument=slept&storeExecuteResponse=true&status=true',
          ),
          judge: (r) => wpsDocument(r, wpsAccepted),
        };
      case 'wps-async-xml':
        return {
          url: `${base}/wps`,
          init: post(wpsExecute(duration(0.05, 0.3), true), 'text/xml'),
          judge: (r) => wpsDocument(r, wpsAccepted),
        };
      case 'wps-status': {
        const id = pick(wpsJobs);
        return {
          url: `${base}/wps/status/${id}.xml`,
          judge: (r) =>
            wpsDocument(r, (d) =>
              /^Process(Accepted|Started|Succeeded)$/.test(wpsStatus(d) ?? '')
                ? { ok: true }
                : { problem: `status document ${wpsStatus(d)}` },
            ),
        };
      }
      case 'oap-processes':
        return {
          url: `${base}/processes`,
          judge: (r) =>
            oapJson(r, 200, (j) =>
              Array.isArray(j.processes) && j.processes.length >= 3
                ? { ok: true }
                : { problem: 'process list' },
            ),
        };
      case 'oap-process':
        return {
          url: `${base}/processes/sleep`,
          judge: (r) =>
            oapJson(r, 200, (j) => (j.id === 'sleep' ? { ok: true } : { problem: 'process description' })),
        };
      case 'oap-sync-hello':
        return {
          url: `${base}/processes/hello-world/execution`,
          init: post(JSON.stringify({ inputs: { name: `c${n}` } }), 'application/json'),
          judge: (r) =>
            r.status === 200 && r.body.includes(`Hello c${n}!`)
              ? { ok: true }
              : r.status === 503
                ? oapBusy(r)
                : { problem: `status ${r.status}` },
        };
      case 'oap-sync-sleep': {
        const seconds = duration(0.05, 0.2);
        return {
          url: `${base}/processes/sleep/execution`,
          init: post(JSON.stringify({ inputs: { seconds: Number(seconds) } }), 'application/json'),
          judge: (r) =>
            r.status === 200 && r.body.includes(String(Number(seconds)))
              ? { ok: true }
              : r.status === 503
                ? oapBusy(r)
                : { problem: `status ${r.status}` },
        };
      }
      case 'oap-async':
        return {
          url: `${base}/processes/sleep/execution`,
          init: post(
            JSON.stringify({ inputs: { seconds: Number(duration(0.05, 0.3)) } }),
            'application/json',
            { Prefer: 'respond-async' },
          ),
          judge: (r) =>
            oapJson(r, 201, (j) => {
              const location = r.headers.get('location') ?? '';
              const jobId = typeof j.jobID === 'string' ? j.jobID : undefined;
              return jobId && location.endsWith(`/jobs/${jobId}`)
                ? { ok: true, jobId }
                : { problem: `201 without job id and Location (${location})` };
            }),
        };
      case 'oap-status': {
        const id = pick(oapJobs.length > 0 && rand() < 0.5 ? oapJobs : wpsJobs);
        return {
          url: `${base}/jobs/${id}`,
          judge: (r) =>
            oapJson(r, 200, (j) =>
              j.jobID === id && ['accepted', 'running', 'successful'].includes(String(j.status))
                ? { ok: true }
                : { problem: `job status ${String(j.status)}` },
            ),
        };
      }
    }
  };

  const chooseKind = (): Kind => {
    for (;;) {
      let x = rand() * totalWeight;
      const kind = KINDS.find((k) => (x -= WEIGHTS[k]) < 0) ?? KINDS[0];
      // Status polls need a job first.
      if (kind.endsWith('-status') && wpsJobs.length === 0) continue;
      return kind;
    }
  };

  // ---- Samplers: /health for the queue, /proc for memory ----
  const health = { samples: 0, failures: 0, maxActive: 0, maxAccepted: 0, maxRunning: 0, activeAfter: -1 };
  const readHealth = async (): Promise<number | undefined> => {
    try {
      const res = await fetch(`${base}/health`, { signal: AbortSignal.timeout(10_000) });
      const body = (await res.json()) as { jobs?: { accepted: number; running: number } };
      if (res.status !== 200 || !body.jobs) return undefined;
      health.maxAccepted = Math.max(health.maxAccepted, body.jobs.accepted);
      health.maxRunning = Math.max(health.maxRunning, body.jobs.running);
      return body.jobs.accepted + body.jobs.running;
    } catch {
      return undefined;
    }
  };
  let loading = true;
  const healthSampler = (async () => {
    while (loading) {
      const active = await readHealth();
      health.samples++;
      if (active === undefined) health.failures++;
      else health.maxActive = Math.max(health.maxActive, active);
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  // NaN once the server process is gone (then the clients report why).
  const readMemory = () => {
    try {
      return memory();
    } catch {
      return { rss: NaN, peak: NaN };
    }
  };
  const startBytes = readMemory().rss;
  const timelineBytes: number[] = [];
  const memorySampler = setInterval(() => timelineBytes.push(readMemory().rss), 5000);

  // ---- The clients ----
  let requests = 0;
  const t0 = performance.now();
  const end = t0 + options.seconds * 1000;
  const client = async () => {
    while (performance.now() < end && requests < options.maxRequests) {
      const n = requests++;
      const kind = chooseKind();
      const { url, init, judge } = build(kind, n);
      let reply: Reply;
      try {
        const res = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
        reply = { status: res.status, headers: res.headers, body: await res.text() };
      } catch (error) {
        const e = error as Error & { cause?: { code?: string } };
        const what = e.cause?.code ?? e.name;
        tally(kind, what);
        problem(kind, `no answer (${what})`, e.message);
        continue;
      }
      tally(kind, String(reply.status));
      let verdict: Verdict;
      try {
        verdict = judge(reply);
      } catch (error) {
        verdict = { problem: `unreadable answer (${(error as Error).message.slice(0, 80)})` };
      }
      if ('problem' in verdict) problem(kind, verdict.problem, `${reply.status} ${reply.body}`);
      else if ('busy' in verdict) refused[kind.startsWith('wps') ? 'wps' : 'oaproc']++;
      else if (verdict.jobId && !acceptedIds.has(verdict.jobId)) {
        acceptedIds.add(verdict.jobId);
        if (kind.startsWith('wps')) {
          accepted.wps++;
          wpsJobs.push(verdict.jobId);
        } else {
          accepted.oaproc++;
          oapJobs.push(verdict.jobId);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: options.connections }, client));
  const seconds = (performance.now() - t0) / 1000;
  loading = false;
  clearInterval(memorySampler);
  await healthSampler;

  // ---- Drain: every accepted job must become final ----
  const t1 = performance.now();
  const deadline = t1 + options.drainSeconds * 1000;
  const final: Record<string, number> = {};
  let pending = [...acceptedIds];
  while (pending.length > 0 && performance.now() < deadline) {
    const still: string[] = [];
    for (let i = 0; i < pending.length; i += 16) {
      const batch = pending.slice(i, i + 16);
      const states = await Promise.all(
        batch.map(async (id) => {
          const res = await fetch(`${base}/jobs/${id}`);
          const body = (await res.json()) as { status?: string };
          return res.status === 200 ? String(body.status) : `HTTP ${res.status}`;
        }),
      );
      batch.forEach((id, k) => {
        const state = states[k]!;
        if (FINAL.has(state) || state.startsWith('HTTP')) final[state] = (final[state] ?? 0) + 1;
        else still.push(id);
      });
    }
    pending = still;
    if (pending.length > 0) await new Promise((r) => setTimeout(r, 100));
  }
  if (pending.length > 0) final['not final'] = pending.length;
  const drainSeconds = (performance.now() - t1) / 1000;
  health.activeAfter = (await readHealth()) ?? -1;
  const { rss: endBytes, peak: peakBytes } = readMemory();

  return {
    seconds: Math.round(seconds * 10) / 10,
    requests,
    requestsPerSecond: Math.round(requests / seconds),
    answers,
    problems,
    problemSamples,
    refused,
    accepted,
    health,
    memory: { startBytes, endBytes, peakBytes, timelineBytes },
    final,
    drainSeconds: Math.round(drainSeconds * 10) / 10,
  };
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

/** One line for the test log and the note. */
export function figuresLine(f: LoadFigures): string {
  const byStatus: Record<string, number> = {};
  for (const row of Object.values(f.answers))
    for (const [status, n] of Object.entries(row)) byStatus[status] = (byStatus[status] ?? 0) + n;
  return [
    `${f.requests} requests in ${f.seconds} s (${f.requestsPerSecond}/s)`,
    `answers ${JSON.stringify(byStatus)}`,
    `refused wps ${f.refused.wps} oaproc ${f.refused.oaproc}`,
    `problems ${JSON.stringify(f.problems)}`,
    `accepted async wps ${f.accepted.wps} oaproc ${f.accepted.oaproc} → ${JSON.stringify(f.final)} after ${f.drainSeconds} s`,
    `queue max ${f.health.maxActive} (accepted ${f.health.maxAccepted}, running ${f.health.maxRunning}; ${f.health.samples} samples, ${f.health.failures} failed)`,
    `RSS ${mib(f.memory.startBytes)} → ${mib(f.memory.endBytes)}, peak ${mib(f.memory.peakBytes)}`,
    `per kind ${JSON.stringify(f.answers)}`,
  ].join('; ');
}

/** A markdown table: one row per kind of request, then the totals and the server's figures. */
export function figuresTable(f: LoadFigures): string {
  const statuses = [...new Set(Object.values(f.answers).flatMap((row) => Object.keys(row)))].sort();
  const lines = [
    `| request | sent | ${statuses.join(' | ')} |`,
    `|---|---:|${statuses.map(() => '---:|').join('')}`,
  ];
  for (const kind of KINDS) {
    const row = f.answers[kind] ?? {};
    const sent = Object.values(row).reduce((a, b) => a + b, 0);
    lines.push(`| ${kind} | ${sent} | ${statuses.map((s) => row[s] ?? 0).join(' | ')} |`);
  }
  lines.push(
    '',
    '| figure | value |',
    '|---|---|',
    `| load | ${f.requests} requests in ${f.seconds} s (${f.requestsPerSecond}/s) |`,
    `| refused (503) | WPS ServerBusy ${f.refused.wps}, OGC API with Retry-After ${f.refused.oaproc} |`,
    `| problems | ${Object.keys(f.problems).length === 0 ? 'none' : JSON.stringify(f.problems)} |`,
    `| async jobs accepted | WPS ${f.accepted.wps}, OGC API ${f.accepted.oaproc} |`,
    `| after the load | ${JSON.stringify(f.final)} within ${f.drainSeconds} s |`,
    `| jobs waiting + running, max | ${f.health.maxActive} (waiting ${f.health.maxAccepted}, running ${f.health.maxRunning}; ${f.health.samples} /health samples) |`,
    `| server RSS | ${mib(f.memory.startBytes)} at the start, ${mib(f.memory.endBytes)} at the end, peak (VmHWM) ${mib(f.memory.peakBytes)} |`,
    `| server RSS every 5 s | ${f.memory.timelineBytes.map(mib).join(', ')} |`,
  );
  return lines.join('\n');
}
