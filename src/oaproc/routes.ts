import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type { RouterContext } from '@koa/router';
import { wpsEndpoint } from '../config/public-url.ts';
import type { Gateway } from '../gateway.ts';
import type { ResultDelivery } from '../results/delivery.ts';
import { startCallbacks } from './callbacks.ts';
import { addJobRoutes, failure } from './jobs.ts';
import { resultsDocument } from './results.ts';
import { statusInfo, type StatusUrls } from './status.ts';
import { CONFORMANCE_CLASSES } from './conformance.ts';
import { processDescriptionJson, processSummary } from './describe.ts';
import { EXCEPTION_MEDIA_TYPE, exceptionReply, HttpProblem } from './exceptions.ts';
import { apiUrl } from './links.ts';
import { addApiDefinitionRoutes } from './api-definition.ts';
import { negotiate, negotiated, wantsHtml } from './negotiate.ts';
import { htmlAlternate, pageBase, sendPage } from './html/common.ts';
import { processView } from './html/process-page.ts';
import type { CachedDocument } from '../util/document-cache.ts';
import { sendCachedDocumentAs } from '../http/cached-document.ts';
import type { DocumentLookup } from '../http/document-fast-path.ts';
import { JSON_CONTENT_TYPE, landingLinks, OaprocDocuments, oaprocDocuments } from './documents.ts';

export const DEFAULT_LIMIT = 10;
export const MAX_LIMIT = 10_000;

/** Writes an exception document for anything thrown. */
export function sendException(ctx: Context, thrown: unknown, gateway: Gateway): void {
  const reply = exceptionReply(thrown);
  if (reply.status >= 500 && !(thrown instanceof HttpProblem))
    gateway.logger.error({ err: thrown, url: ctx.url }, 'OGC API request failed');
  ctx.status = reply.status;
  for (const [k, v] of Object.entries(reply.headers)) ctx.set(k, v);
  if (negotiated(ctx) === 'html') {
    // A browser that asked for a page gets the exception as a page, with the same status.
    const base = gateway.config.server.url.replace(/\/+$/, '');
    const { body } = reply;
    sendPage(
      ctx,
      gateway,
      'error',
      {
        ...pageBase(gateway, base, body.title, `${base}${ctx.path}`, [{ label: body.title }]),
        page: 'error',
        status: body.status,
        detail: body.detail,
        code: body.code,
        locator: body.locator,
      },
      reply.status,
    );
    return;
  }
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.type = EXCEPTION_MEDIA_TYPE;
  ctx.body = reply.body;
}

/** A query parameter as one integer in [min, max]; 400 naming the parameter otherwise. */
function integerParam(ctx: Context, name: string, fallback: number, min: number, max: number): number {
  const raw = ctx.query[name];
  if (raw === undefined) return fallback;
  const text = Array.isArray(raw) ? raw[0] : raw;
  const value = /^\s*\d+\s*$/.test(text ?? '') ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new HttpProblem(
      400,
      `Query parameter '${name}' must be an integer from ${min} to ${max}, not '${String(text)}'`,
    );
  }
  return value;
}

/**
 * The JSON API of OGC API - Processes at the root of the server: landing page, conformance and
 * process descriptions. Every failure inside a route is rendered as exception JSON.
 */
export function oaprocRouter(
  gateway: Gateway,
  delivery: ResultDelivery,
): { router: Router; documents: DocumentLookup } {
  const router = new Router();
  const documents = new OaprocDocuments(gateway);
  // Read at request time: the public URL may be settled after the router is built (port 0).
  const base = () => documents.base;
  const sendJson = (ctx: Context, document: CachedDocument) =>
    sendCachedDocumentAs(ctx, document, JSON_CONTENT_TYPE);
  const listPage = (ctx: Context): [limit: number, offset: number] => [
    integerParam(ctx, 'limit', DEFAULT_LIMIT, 1, MAX_LIMIT),
    integerParam(ctx, 'offset', 0, 0, Number.MAX_SAFE_INTEGER),
  ];

  router.use(async (ctx, next) => {
    try {
      await next();
    } catch (thrown) {
      sendException(ctx, thrown, gateway);
    }
  });

  router.get('/', (ctx) => {
    if (negotiate(ctx) === 'json') return sendJson(ctx, documents.landing());
    const b = base();
    const { title, abstract } = gateway.config.metadata.identification;
    sendPage(ctx, gateway, 'landing', {
      ...pageBase(gateway, b, title, apiUrl(b, '/'), []),
      page: 'landing',
      description: abstract,
      processCount: gateway.registry.list().length,
      wpsUrl: wpsEndpoint(gateway.config.server),
      links: landingLinks(b),
    });
  });

  addApiDefinitionRoutes(router, gateway, base, { defaultLimit: DEFAULT_LIMIT, maxLimit: MAX_LIMIT });

  router.get('/conformance', (ctx) => {
    if (negotiate(ctx) === 'json') return sendJson(ctx, documents.conformance());
    sendPage(ctx, gateway, 'conformance', {
      ...pageBase(gateway, base(), 'Conformance', apiUrl(base(), '/conformance'), [{ label: 'Conformance' }]),
      page: 'conformance',
      conformsTo: CONFORMANCE_CLASSES,
    });
  });

  router.get('/processes', (ctx) => {
    const format = negotiate(ctx);
    const [limit, offset] = listPage(ctx);
    if (format === 'json') return sendJson(ctx, documents.processList(limit, offset));
    const all = gateway.registry.list();
    const page = all.slice(offset, offset + limit);
    const b = base();
    const at = (o: number) => apiUrl(b, '/processes', { limit, offset: o });
    const html = (href: string | undefined) => href && htmlAlternate(href).href;
    sendPage(ctx, gateway, 'processes', {
      ...pageBase(gateway, b, 'Processes', at(offset), [{ label: 'Processes' }]),
      page: 'processes',
      processes: page.map((e) => ({
        ...processSummary(e.description, b),
        href: html(`${b}/processes/${encodeURIComponent(e.description.id)}`),
      })),
      pager: {
        prev: offset > 0 ? html(at(Math.max(0, offset - limit))) : undefined,
        next: offset + limit < all.length ? html(at(offset + limit)) : undefined,
        position: `${all.length === 0 ? 0 : offset + 1}–${offset + page.length} of ${all.length}`,
      },
    });
  });

  router.get('/processes/:id', (ctx) => {
    const format = negotiate(ctx);
    const { description } = gateway.registry.get(String(ctx.params.id));
    if (format === 'json') return sendJson(ctx, documents.process(description));
    const json = processDescriptionJson(description, base());
    const self = json.links[0]!.href;
    if (format === 'html') {
      return sendPage(ctx, gateway, 'process', {
        ...pageBase(gateway, base(), description.title, self, [
          { href: `${base()}/processes?f=html`, label: 'Processes' },
          { label: description.id },
        ]),
        page: 'process',
        ...processView(description),
        executeUrl: `${self}/execution`,
        links: json.links,
      });
    }
  });

  addJobRoutes(router, gateway, delivery, () => statusUrls(gateway));

  return { router, documents: oaprocDocuments(gateway, documents, listPage) };
}

/** Where a job's status lives in either protocol, from the public URL. */
export function statusUrls(gateway: Gateway): StatusUrls {
  const base = gateway.config.server.url.replace(/\/+$/, '');
  const wps = wpsEndpoint(gateway.config.server);
  return { base, wpsStatus: (id) => `${wps}/status/${id}.xml` };
}

/** Attempts, backoff and timeout of callback deliveries. */
const CALLBACK_RETRIES = { attempts: 5, baseDelayMs: 1000, maxDelayMs: 60_000 };
const CALLBACK_TIMEOUT_MS = 10_000;

/**
 * Starts delivering the callbacks of jobs with a `subscriber` (class callback): statusInfo while
 * running, the results document on success, the exception on failure. Returns the stop function.
 */
export function startOaprocCallbacks(gateway: Gateway, delivery: ResultDelivery): () => void {
  return startCallbacks(gateway.jobs, {
    policy: gateway.outboundPolicy,
    render: {
      inProgress: (job) => statusInfo(job, statusUrls(gateway)),
      success: (job) => resultsDocument(job, delivery),
      failed: (job) => exceptionReply(failure(job)).body,
    },
    retries: CALLBACK_RETRIES,
    timeoutMs: CALLBACK_TIMEOUT_MS,
    logger: gateway.logger,
  });
}

/**
 * For an answer no route gave: a browser that asked for a page (`f=html`, or Accept ranking
 * text/html above JSON) gets the exception as a page (sendException); an unknown `f` is no reason
 * for another status than the path's, so it leaves the exception JSON.
 */
function pageIfAsked(ctx: Context): void {
  try {
    wantsHtml(ctx);
  } catch {
    // An unknown f: the answer stays the 404 (or 405) in JSON.
  }
}

/**
 * Goes after the API's router (and after every other router of the app): a path of the API asked
 * with another method gets 405 with `Allow`, an unknown path a 404: exception JSON, or a page
 * for a browser that asked for one.
 * Paths some other router has a route for (`/health`, the WPS paths) are left alone.
 */
export function oaprocFallback(router: Router, gateway: Gateway): Middleware {
  const allowed = router.allowedMethods({ throw: false });
  const wpsPath = gateway.config.server.wpsPath;
  const isWps = (path: string) => wpsPath !== '/' && (path === wpsPath || path.startsWith(`${wpsPath}/`));
  return async (ctx, next) => {
    // The router's middleware reads (and the routers of the app fill) `ctx.matched`.
    const routed = ctx as RouterContext;
    await allowed(routed, next);
    if ((ctx.status === 405 || ctx.status === 501) && ctx.body == null) {
      const allow = ctx.response.get('Allow');
      pageIfAsked(ctx);
      sendException(
        ctx,
        new HttpProblem(
          ctx.status,
          `Method ${ctx.method} is not allowed on ${ctx.path} (allowed: ${allow})`,
          {
            Allow: allow,
          },
        ),
        gateway,
      );
    } else if (
      ctx.status === 404 &&
      ctx.body == null &&
      !(routed.matched ?? []).some((layer) => layer.methods.length > 0) &&
      !isWps(ctx.path)
    ) {
      pageIfAsked(ctx);
      sendException(ctx, new HttpProblem(404, `There is no resource at ${ctx.path}`), gateway);
    }
  };
}
