import type { Context } from 'koa';
import type { CachedDocument } from '../util/document-cache.ts';

/**
 * Answers a GET with a cached document and its ETag: 304 with no body when the request's
 * If-None-Match already names it, else 200 with the document (`type` as koa's `ctx.type`).
 */
export function sendCachedDocument(ctx: Context, document: CachedDocument, type: string): void {
  if (notModified(ctx, document)) return;
  ctx.type = type;
  ctx.body = document.body;
}

/** {@link sendCachedDocument} with the Content-Type header exactly as given (`text/xml`, no charset added). */
export function sendCachedDocumentAs(ctx: Context, document: CachedDocument, contentType: string): void {
  if (notModified(ctx, document)) return;
  ctx.set('Content-Type', contentType);
  ctx.body = document.body;
}

/** Sets status 200 and the ETag; true (status 304) when the client already has the document. */
function notModified(ctx: Context, document: CachedDocument): boolean {
  ctx.status = 200;
  ctx.set('ETag', document.etag);
  // Only a conditional request can be fresh: the others skip koa's check (it copies the headers).
  const { 'if-none-match': match, 'if-modified-since': since } = ctx.req.headers;
  if ((match || since) && ctx.fresh) {
    ctx.status = 304;
    return true;
  }
  return false;
}
