import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Context } from 'koa';

/** How a static answer may be cached, and its media type. */
export interface StaticOptions {
  type: string;
  cacheControl: string;
}

/**
 * Sets the validators (ETag, Last-Modified) and answers 304 when the request's If-None-Match or
 * If-Modified-Since matches them (koa's `ctx.fresh`): true when the 304 was sent, the body not needed.
 */
function notModified(ctx: Context, etag: string, options: StaticOptions, lastModified?: Date): boolean {
  ctx.set('Cache-Control', options.cacheControl);
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.etag = etag;
  if (lastModified) ctx.lastModified = lastModified;
  ctx.status = 200;
  if (!ctx.fresh) return false;
  ctx.status = 304;
  return true;
}

/** A file of the server's own (a fixed path, never one from the request), with 304 revalidation. */
export async function sendStaticFile(ctx: Context, file: string, options: StaticOptions): Promise<void> {
  const { size, mtime } = await stat(file);
  // Weak: the same size and time of modification, not a hash of the bytes.
  if (notModified(ctx, `W/"${size.toString(16)}-${mtime.getTime().toString(16)}"`, options, mtime)) return;
  ctx.type = options.type;
  ctx.length = size;
  ctx.body = createReadStream(file);
}

/** Text the server generates (a script), with an ETag of its content and 304 revalidation. */
export function sendStaticText(ctx: Context, text: string, options: StaticOptions): void {
  const hash = createHash('sha256').update(text).digest('base64url').slice(0, 27);
  if (notModified(ctx, `"${hash}"`, options)) return;
  ctx.type = options.type;
  ctx.body = text;
}
