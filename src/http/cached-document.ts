import type { Context } from 'koa';
import type { CachedDocument } from '../util/document-cache.ts';

/**
 * Answers a GET with a cached document and its ETag: 304 with no body when the request's
 * If-None-Match already names it, else 200 with the document.
 */
export function sendCachedDocument(ctx: Context, document: CachedDocument, type: string): void {
  ctx.status = 200;
  ctx.set('ETag', document.etag);
  if (ctx.fresh) {
    ctx.status = 304;
    return;
  }
  ctx.type = type;
  ctx.body = document.body;
}
