/**
 * wrk, the HTTP load generator: one thread, C connections, for a fixed duration (the bound on time;
 * the count is bounded by it), GET or a POST body through a small Lua script. The figures parsed from
 * its --latency report: requests/s, p50/p99, and errors by kind.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface WrkRequest {
  url: string;
  method?: 'GET' | 'POST';
  body?: string;
  headers?: Record<string, string>;
}

export interface Errors {
  connect: number;
  read: number;
  write: number;
  timeout: number;
  /** Answers with a status other than 2xx or 3xx. */
  status: number;
}

export interface LoadFigures {
  requests: number;
  seconds: number;
  /** All answers per second, errors included. */
  rps: number;
  /** Successful answers per second (requests less non-2xx/3xx and socket errors). */
  okRps: number;
  p50Ms: number;
  p99Ms: number;
  errors: Errors;
}

const toMs = (s: string | undefined): number => {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(s ?? '');
  if (!m) return NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 'ms' ? v : m[2] === 's' ? v * 1000 : v * 60000;
};

const lua = (s: string) => JSON.stringify(s); // a JSON string is a valid Lua string literal for our headers

export function parseWrk(out: string): LoadFigures {
  const m = /(\d+) requests in ([\d.]+)(ms|s|m)/.exec(out);
  const requests = Number(m?.[1] ?? 0);
  const seconds = toMs(m ? `${m[2]}${m[3]}` : undefined) / 1000;
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors: Errors = {
    connect: Number(socket?.[1] ?? 0),
    read: Number(socket?.[2] ?? 0),
    write: Number(socket?.[3] ?? 0),
    timeout: Number(socket?.[4] ?? 0),
    status: Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0),
  };
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const failed = errors.status + errors.timeout + errors.read + errors.write;
  return {
    requests,
    seconds,
    rps,
    okRps: requests > 0 ? (rps * Math.max(0, requests - failed)) / requests : 0,
    p50Ms: toMs(/\s50%\s+(\S+)/.exec(out)?.[1]),
    p99Ms: toMs(/\s99%\s+(\S+)/.exec(out)?.[1]),
    errors,
  };
}

const run = promisify(execFile);

/** Runs wrk for `seconds` with `connections` connections; the request timeout is 10 s. */
export async function wrk(request: WrkRequest, seconds: number, connections: number): Promise<LoadFigures> {
  const dir = mkdtempSync(path.join(tmpdir(), 'gw-bench-wrk-'));
  try {
    const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '10s', '--latency'];
    if (request.method === 'POST' || request.headers) {
      const bodyFile = path.join(dir, 'body');
      writeFileSync(bodyFile, request.body ?? '');
      const script = path.join(dir, 'request.lua');
      writeFileSync(
        script,
        [
          `wrk.method = ${lua(request.method ?? 'GET')}`,
          `local f = assert(io.open(${lua(bodyFile)}, "rb"))`,
          `local body = f:read("*a")`,
          `f:close()`,
          `if #body > 0 then wrk.body = body end`,
          ...Object.entries(request.headers ?? {}).map(([k, v]) => `wrk.headers[${lua(k)}] = ${lua(v)}`),
        ].join('\n'),
      );
      args.push('-s', script);
    }
    args.push(request.url);
    // wrk is a child of this process, killed by the timeout should it hang.
    const { stdout } = await run('wrk', args, { encoding: 'utf8', timeout: (seconds + 30) * 1000 });
    return parseWrk(stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Measures several targets interleaved: a short warm-up of each, then `rounds` rounds in which every
 * target runs once in turn; per target, the round with the median successful rate is kept.
 */
export async function interleaved(
  targets: Array<{ key: string; request: WrkRequest }>,
  options: { seconds: number; connections: number; rounds: number; warmupSeconds?: number },
): Promise<Map<string, LoadFigures>> {
  const runs = new Map<string, LoadFigures[]>(targets.map((t) => [t.key, []]));
  for (const t of targets) await wrk(t.request, options.warmupSeconds ?? 1, options.connections);
  for (let r = 0; r < options.rounds; r++) {
    for (const t of r % 2 === 0 ? targets : [...targets].reverse())
      runs.get(t.key)!.push(await wrk(t.request, options.seconds, options.connections));
  }
  const kept = new Map<string, LoadFigures>();
  for (const [key, list] of runs) {
    const sorted = [...list].sort((a, b) => a.okRps - b.okRps);
    kept.set(key, sorted[Math.floor(sorted.length / 2)]!);
  }
  return kept;
}

export const errorsOf = (f: LoadFigures): Record<string, number> => ({
  'non-2xx': f.errors.status,
  connect: f.errors.connect,
  read: f.errors.read,
  write: f.errors.write,
  timeout: f.errors.timeout,
});
