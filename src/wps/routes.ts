import Router from '@koa/router';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Context } from 'koa';
import { BUSY_RETRY_AFTER_SECONDS, OwsError } from '../core/errors.ts';
import { wpsPrefix } from '../config/public-url.ts';
import type { Gateway } from '../gateway.ts';
import { BodyTextError, readBodyBytes, releaseBytes, xmlBodyText } from '../http/body-text.ts';
import { cacheDirectives } from '../http/cache-control.ts';
import type { DocumentAnswer, DocumentLookup } from '../http/document-fast-path.ts';
import { VersionedCache } from '../util/versioned-cache.ts';
import type { ResultDelivery } from '../results/delivery.ts';
import { sendLanding } from './landing.ts';
import { parseKvpRequest, parseXmlRequest } from './parse.ts';
import { exceptionReport } from './render.ts';
import { WpsService, XML, type WpsReply, type WpsRequestContext } from './service.ts';

/** WPS 1.0.0 has no cache control of its own: the HTTP `Cache-Control` header serves (as in OGC API). */
const requestContext = (ctx: Context): WpsRequestContext => {
  const cache = cacheDirectives(ctx.get('Cache-Control') || undefined);
  return cache ? { cache } : {};
};

/** The one place where WPS errors become HTTP statuses: 400 client errors, 500 server faults (a full disk too), 503 busy. */
export function httpStatus(error: OwsError): number {
  if (error.reason === 'malformed-request') return 400;
  if (error.reason === 'no-such-job') return 404;
  if (error.code === 'ServerBusy') return 503;
  if (error.code === 'NoApplicableCode' || error.code === 'NotEnoughStorage') return 500;
  return 400;
}

const malformed = (message: string) =>
  new OwsError('NoApplicableCode', message, undefined, 'malformed-request');

async function send(ctx: Context, reply: WpsReply): Promise<void> {
  ctx.status = reply.status;
  // Exactly `text/xml`: OWSLib recognises exception reports only under that bare media type.
  ctx.set('Content-Type', reply.contentType);
  for (const [k, v] of Object.entries(reply.headers ?? {})) ctx.set(k, v);
  if (reply.etag !== undefined) {
    ctx.set('ETag', reply.etag);
    // A client (or cache) that has this very document gets 304 without it.
    if (ctx.fresh) {
      ctx.status = 304;
      return;
    }
  }
  const body = reply.body;
  if (typeof body === 'string') ctx.body = body;
  else if (body instanceof Uint8Array) ctx.body = Buffer.from(body);
  else {
    // Stored outputs are streamed, never read whole into memory.
    ctx.length = (await stat(body.file)).size;
    ctx.body = createReadStream(body.file);
  }
}

async function readBody(ctx: Context, limit: number): Promise<string> {
  try {
    const bytes = await readBodyBytes(
      ctx.req,
      { contentLength: ctx.get('Content-Length'), contentEncoding: ctx.get('Content-Encoding') },
      limit,
    );
    try {
      return xmlBodyText(bytes, ctx.request.charset || undefined);
    } finally {
      // The text is what is read from here on: the bytes are freed now, not at the next collection.
      releaseBytes(bytes);
    }
  } catch (error) {
    if (!(error instanceof BodyTextError)) throw error;
    if (error.kind === 'too-large') throw new OwsError('FileSizeExceeded', error.message, 'request');
    throw malformed(error.message);
  }
}

/**
 * `/wps` (GET with KVP, POST with XML) and status documents; and the endpoint's cached documents
 * for the metadata fast path (src/http/document-fast-path.ts).
 */
export function wpsRouter(
  gateway: Gateway,
  delivery: ResultDelivery,
): { router: Router; documents: DocumentLookup } {
  const service = new WpsService(gateway, delivery);
  const base = wpsPrefix(gateway.config.server.wpsPath);
  const router = new Router();

  const answer = async (ctx: Context, work: () => Promise<WpsReply>) => {
    try {
      await send(ctx, await work());
    } catch (thrown) {
      const error =
        thrown instanceof OwsError
          ? thrown
          : new OwsError('NoApplicableCode', 'The server could not process the request');
      if (!(thrown instanceof OwsError))
        gateway.logger.error({ err: thrown, url: ctx.url }, 'WPS request failed');
      const status = httpStatus(error);
      await send(ctx, {
        status,
        contentType: XML,
        body: exceptionReport(error.toJSON(), service.defaultLanguage),
        ...(status === 503 ? { headers: { 'Retry-After': String(BUSY_RETRY_AFTER_SECONDS) } } : {}),
      });
    }
  };

  router.get(base || '/', (ctx) => {
    // A browser opening the bare endpoint gets a page that says what it is; any parameter is a request.
    if (
      ctx.querystring === '' &&
      ctx.accepts(XML, 'text/html') === 'text/html' &&
      /text\/html/i.test(ctx.get('Accept'))
    ) {
      ctx.vary('Accept');
      return sendLanding(ctx, gateway);
    }
    return answer(ctx, () => service.handle(parseKvpRequest(ctx.querystring), requestContext(ctx)));
  });

  router.post(base || '/', (ctx) =>
    answer(ctx, async () => {
      const body = await readBody(ctx, gateway.config.server.maxRequestSize);
      const text = body.trim();
      if (text === '') throw malformed('The request body is empty: POST takes a WPS XML request');
      if (ctx.is('application/x-www-form-urlencoded') || !text.startsWith('<')) {
        throw malformed('KVP requests are only accepted with GET; POST takes a WPS XML request');
      }
      return service.handle(parseXmlRequest(text), requestContext(ctx));
    }),
  );

  router.get(`${base}/status/:file`, (ctx) =>
    answer(ctx, async () => {
      const id = String(ctx.params.file).replace(/\.xml$/, '');
      const job = await gateway.jobs.find(id);
      if (!job) throw new OwsError('InvalidParameterValue', `No job '${id}'`, 'JobID', 'no-such-job');
      ctx.set('Cache-Control', 'no-store');
      return { status: 200, contentType: XML, body: await service.renderJob(job) };
    }),
  );

  return { router, documents: wpsDocuments(service, base || '/', () => gateway.registry.generation) };
}

/**
 * A KVP GetCapabilities or DescribeProcess on the endpoint, answered from the cache exactly as the
 * GET route answers it; everything else on the endpoint (the bare endpoint's page, Execute, a
 * request in error, the path spelled otherwise) is left to the route.
 */
function wpsDocuments(service: WpsService, endpoint: string, generation: () => number): DocumentLookup {
  // The route matches the path in any case, with or without a trailing slash.
  const claimed = endpoint.toLowerCase();
  const claims = (path: string) =>
    path.length >= claimed.length &&
    path.length <= claimed.length + 1 &&
    (path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path).toLowerCase() === claimed;
  const answer = (query: string): DocumentAnswer | 'routes' => {
    try {
      const request = parseKvpRequest(query);
      if (request.operation === 'Execute') return 'routes';
      return { document: service.metadata(request), contentType: XML };
    } catch {
      // The route reports it (the same parse, the same error).
      return 'routes';
    }
  };
  // The answer depends on the query string and the registry's generation alone: parsed once.
  const answers = new VersionedCache<DocumentAnswer | 'routes'>();
  return (ctx) => {
    const path = ctx.path;
    if (path !== endpoint) return claims(path) ? 'routes' : undefined;
    const query = ctx.querystring;
    if (query === '') return 'routes';
    return answers.get(generation(), query, () => answer(query));
  };
}
