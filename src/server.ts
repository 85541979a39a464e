import Router from '@koa/router';
import Koa from 'koa';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import { atListeningPort } from './config/public-url.ts';
import type { Gateway } from './gateway.ts';
import { corsMiddleware } from './http/cors.ts';
import { documentFastPath } from './http/document-fast-path.ts';
import { assetsRouter } from './html/assets.ts';
import { oaprocFallback, oaprocRouter, startOaprocCallbacks } from './oaproc/routes.ts';
import { BBOX_JSON } from './oaproc/results.ts';
import { ResultDelivery } from './results/delivery.ts';
import { resultsRouter } from './results/route.ts';
import { wpsRouter } from './wps/routes.ts';
import { BBOX_XML } from './wps/service.ts';

/**
 * The koa app of a gateway (testable without listening on a port: `app.callback()`), and the stop
 * function of what it started beside the routes (callback delivery).
 */
export function createApp(gateway: Gateway, options: AppOptions = {}): { app: Koa; stop: () => void } {
  const app = new Koa({ proxy: false });
  const router = new Router();
  const started = new Date();

  // Request lines are debug logs: timed and built only when debug logging is on (not on the hot path).
  const logRequests = gateway.logger.isLevelEnabled('debug');
  app.use(async (ctx, next) => {
    const t0 = logRequests ? performance.now() : 0;
    try {
      await next();
    } catch (error) {
      gateway.logger.error({ err: error, method: ctx.method, url: ctx.url }, 'unhandled error');
      ctx.status = 500;
      ctx.type = 'application/json';
      ctx.body = { type: 'about:blank', title: 'Internal Server Error', status: 500 };
    }
    if (logRequests) {
      gateway.logger.debug(
        { method: ctx.method, url: ctx.url, status: ctx.status, ms: Math.round(performance.now() - t0) },
        'request',
      );
    }
  });

  // Inside the catch-all above (a 500 keeps its CORS headers), before every route (preflights end here).
  app.use(corsMiddleware(gateway.config.server.cors));
  const outputUrl = gateway.config.server.outputUrl;
  const delivery = new ResultDelivery({
    files: gateway.files,
    outputUrl,
    bboxEncodings: [BBOX_XML, BBOX_JSON],
    describe: (id) => gateway.registry.find(id)?.description.outputs,
    maxInlineBytes: gateway.config.server.limits.maxInlineOutputSize,
  });
  const wps = wpsRouter(gateway, delivery);
  const oaproc = oaprocRouter(gateway, delivery);
  // Capabilities, descriptions, landing page, conformance, process list: from the caches, unrouted.
  app.use(documentFastPath([wps.documents, oaproc.documents]));

  router.get('/health', async (ctx) => {
    // Counting reads the store: a store that cannot answer is reported, not a 500.
    // A store that waits (locked, unreachable) is reported after HEALTH_STORE_MS, not waited for.
    const counts = await within(
      Promise.all([
        gateway.jobs.list({ statuses: ['accepted'], limit: 0 }),
        gateway.jobs.list({ statuses: ['running'], limit: 0 }),
      ]),
    ).then(
      ([accepted, running]) => ({ accepted: accepted.total, running: running.total }),
      (error: unknown) => error as Error,
    );
    ctx.set('Cache-Control', 'no-store');
    const unavailable = gateway.jobs.unavailable();
    const needsRestart = Object.keys(unavailable).length > 0;
    const problems = gateway.jobs.health().problems;
    if (counts instanceof Error) problems.push(`job store: ${counts.message}`);
    const providers = gateway.providers?.states();
    for (const p of providers ?? []) {
      if (p.state === 'down') problems.push(`provider '${p.id}' is down: ${p.error ?? 'unknown error'}`);
    }
    // A cluster on a shared store: this node, the queue of all, the workers seen recently.
    const cluster =
      gateway.cluster && (await within(gateway.cluster.health()).catch((error: unknown) => error as Error));
    if (cluster instanceof Error) problems.push(`cluster: ${cluster.message}`);
    else if (cluster) problems.push(...cluster.problems);
    const degraded = needsRestart || problems.length > 0;
    // 503 when some processors cannot run until a restart, so that a supervisor restarts the server;
    // a store problem (locked, full) is reported but answered 200: a restart would not cure it.
    ctx.status = needsRestart ? 503 : 200;
    ctx.body = {
      status: degraded ? 'degraded' : 'ok',
      ...(needsRestart ? { unavailable } : {}),
      ...(problems.length > 0 ? { problems } : {}),
      started: started.toISOString(),
      processes: gateway.registry.list().length,
      ...(providers ? { providers } : {}),
      ...(counts instanceof Error ? {} : { jobs: counts }),
      pool: { parallel: gateway.config.jobs.parallel, maxQueued: gateway.config.jobs.maxQueued },
      ...(cluster && !(cluster instanceof Error) ? { cluster: withoutProblems(cluster) } : {}),
    };
  });

  app.use(router.routes());
  app.use(router.allowedMethods());
  // Scripts and style sheets of the HTML pages (a fixed list of files).
  app.use(assetsRouter().routes());
  const results = resultsRouter(gateway.jobs, delivery, outputUrl);
  app.use(results.routes());
  app.use(wps.router.routes());
  app.use(wps.router.allowedMethods());
  // OGC API - Processes at the root, after the other routers: its fallback answers unknown paths.
  app.use(oaproc.router.routes());
  app.use(oaprocFallback(oaproc.router, gateway));
  return {
    app,
    stop: options.callbacks === false ? () => undefined : startOaprocCallbacks(gateway, delivery),
  };
}

/** How long /health waits for the job store before it reports it as not answering. */
const HEALTH_STORE_MS = 2000;

/** `promise`, or an error once it took longer than HEALTH_STORE_MS. */
function within<T>(promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the job store did not answer within ${HEALTH_STORE_MS / 1000} s`)),
      HEALTH_STORE_MS,
    );
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** The cluster part of /health: its problems are listed with the others. */
function withoutProblems<T extends { problems: string[] }>({ problems: _, ...rest }: T): Omit<T, 'problems'> {
  return rest;
}

export interface RunningServer {
  server: Server;
  /** The address it listens on, e.g. http://127.0.0.1:5000. */
  address: string;
  /** The public base URL its documents use: the configured one, else derived from `address`. */
  url: string;
  /** Stops accepting connections, then shuts the gateway down gracefully. */
  close(): Promise<void>;
}

/**
 * Listens, then builds the app: absolute URLs (Capabilities, statusLocation, stored outputs) need the
 * port actually listened on (`--port`, port 0) unless a public URL is configured.
 */
export interface AppOptions {
  /** Deliver the callbacks of OGC API jobs (default true; off for tests that drive delivery themselves). */
  callbacks?: boolean;
}

export async function listen(
  gateway: Gateway,
  port = gateway.config.server.port,
  options: AppOptions = {},
): Promise<RunningServer> {
  const server = createServer();
  server.listen({ port, host: gateway.config.server.host });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { address, port: actual, family } = server.address() as AddressInfo;
  const config = { ...gateway.config, server: atListeningPort(gateway.config.server, actual) };
  const { app, stop } = createApp({ ...gateway, config }, options);
  server.on('request', app.callback());
  const host = family === 'IPv6' ? `[${address}]` : address;
  let closing: Promise<void> | undefined;
  return {
    server,
    address: `http://${host}:${actual}`,
    url: config.server.url,
    close: () =>
      (closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await gateway.close();
        stop();
        server.closeAllConnections();
        await stopped;
      })()),
  };
}
