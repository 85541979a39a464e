import cors from '@koa/cors';
import type { Context, Middleware } from 'koa';
import type { CorsConfig } from '../config/types.ts';

/** Methods of the two protocols: GET/POST everywhere, DELETE to dismiss a job. */
const ALLOW_METHODS = ['GET', 'HEAD', 'POST', 'DELETE'];
/** Request headers a client sends besides the CORS-safelisted ones (JSON bodies, `Prefer: respond-async`). */
const ALLOW_HEADERS = ['Accept', 'Accept-Language', 'Authorization', 'Content-Type', 'Prefer'];
/**
 * Response headers a page must be able to read: the job of an async execute (`Location`), what the
 * server did with `Prefer` (`Preference-Applied`), paging and alternates (`Link`), when to retry a 503
 * (`Retry-After`), the file name of a download (`Content-Disposition`).
 */
export const EXPOSE_HEADERS = [
  'Location',
  'Link',
  'Preference-Applied',
  'Retry-After',
  'Content-Disposition',
];

/**
 * CORS for every response of the server (OGC API, WPS, stored outputs): simple and actual requests
 * from an allowed origin get `Access-Control-Allow-Origin` and the exposed headers, preflights (with
 * @koa/cors) a 204 with the allowed methods and headers and `Access-Control-Max-Age`; every response
 * has `Vary: Origin`. A request from an origin not allowed gets no CORS header (its preflight falls
 * through to the routes, which answer OPTIONS without them), so the browser blocks it. No
 * credentials: the gateway has no cookies or sessions, so `*` is a safe default. The configured
 * origins are already serialised as browsers send `Origin` (src/config/draft.ts parseOrigins).
 */
export function corsMiddleware(config: CorsConfig): Middleware {
  if (config.allowedOrigins.length === 0) return (_ctx, next) => next();
  const any = config.allowedOrigins.includes('*');
  const allowed = new Set(config.allowedOrigins);
  // An empty string tells @koa/cors to add nothing but `Vary: Origin`.
  const origin = (ctx: Context): string => {
    if (any) return '*';
    const requested = ctx.get('Origin');
    return allowed.has(requested) ? requested : '';
  };
  const preflight = cors({
    origin,
    allowMethods: ALLOW_METHODS,
    allowHeaders: ALLOW_HEADERS,
    exposeHeaders: EXPOSE_HEADERS,
    maxAge: config.maxAgeSeconds,
    credentials: false,
  });
  const exposed = EXPOSE_HEADERS.join(',');
  return (ctx, next) => {
    if (ctx.method === 'OPTIONS') return preflight(ctx, next);
    // Any other request: the headers @koa/cors sets on it, set here synchronously (every request
    // passes here: no promise, no try around the rest). An error thrown further on is answered by
    // the app's catch-all, outside this middleware: these headers stay on the response.
    ctx.vary('Origin');
    const allow = origin(ctx);
    if (allow !== '') {
      ctx.set('Access-Control-Allow-Origin', allow);
      ctx.set('Access-Control-Expose-Headers', exposed);
    }
    return next();
  };
}
