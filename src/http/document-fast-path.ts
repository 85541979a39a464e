import type { Context, Middleware } from 'koa';
import type { CachedDocument } from '../util/document-cache.ts';
import { sendCachedDocumentAs } from './cached-document.ts';

/** A cached document that answers a request, with its Content-Type header and whether it was chosen by Accept. */
export interface DocumentAnswer {
  document: CachedDocument;
  /** The exact Content-Type header (e.g. `application/json; charset=utf-8`). */
  contentType: string;
  /** The representation was negotiated from the Accept header: the answer varies by Accept. */
  byAccept?: boolean;
}

/**
 * What a protocol binding says of a GET or HEAD request: the cached document that answers it, or
 * `'routes'` for a request on one of its paths that its routes must answer (anything else: another
 * representation, an error to report, a variant not cached), or undefined when the path is not its.
 */
export type DocumentLookup = (ctx: Context) => DocumentAnswer | 'routes' | undefined;

/**
 * Answers the metadata GETs (Capabilities, process descriptions, the OGC API landing page,
 * conformance and process list) from the document caches of the bindings, before the routers: the
 * same status, headers and body the routes give, without routing. Put after the CORS middleware
 * (its headers are set) and before the routers; `lookups` in the order of the routers, so that the
 * binding whose router would take a path is the one asked (the first answer that is not undefined
 * is followed). A lookup must answer only what its route would answer exactly so, and leave the
 * rest (errors, other representations) to the routes.
 */
export function documentFastPath(lookups: DocumentLookup[]): Middleware {
  return (ctx, next) => {
    const method = ctx.method;
    if (method !== 'GET' && method !== 'HEAD') return next();
    for (const lookup of lookups) {
      const answer = lookup(ctx);
      if (answer === undefined) continue;
      if (answer === 'routes') return next();
      if (answer.byAccept) ctx.vary('Accept');
      sendCachedDocumentAs(ctx, answer.document, answer.contentType);
      return Promise.resolve();
    }
    return next();
  };
}
