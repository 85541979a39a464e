import type { Context } from 'koa';
import { HttpProblem } from './exceptions.ts';

/**
 * The representations the API offers, by `f` value, in order of preference (the first is the
 * default: a client that sends no Accept, or only wildcards, gets JSON).
 */
export const REPRESENTATIONS = { json: 'application/json', html: 'text/html' } as const;
export type Representation = keyof typeof REPRESENTATIONS;

const names = Object.keys(REPRESENTATIONS) as Representation[];
const offered = names.map((n) => REPRESENTATIONS[n]);

/** Where {@link negotiate} leaves its choice for the error handler (an error page for a browser). */
export const REPRESENTATION_STATE = 'oaprocRepresentation';

/** The representation negotiated for this request so far, if any. */
export const negotiated = (ctx: Context): Representation | undefined =>
  ctx.state[REPRESENTATION_STATE] as Representation | undefined;

/**
 * Picks the representation of a response: `?f=` wins, else the `Accept` header (none, or any
 * wildcard, gives the default). `f` naming nothing offered → 400; an Accept that excludes every
 * offered media type → 406. Records the choice (and that the answer varies by Accept when the
 * header chose).
 */
export function negotiate(ctx: Context): Representation {
  const { format, byAccept } = representation(ctx);
  if (byAccept) ctx.vary('Accept');
  return (ctx.state[REPRESENTATION_STATE] = format);
}

/** {@link negotiate}'s choice without recording it: the representation, and whether Accept chose it. */
export function representation(ctx: Context): { format: Representation; byAccept: boolean } {
  const f = ctx.query.f;
  if (f !== undefined) {
    const value = Array.isArray(f) ? f[0] : f;
    const match = names.find((n) => n === value?.toLowerCase());
    if (!match) {
      throw new HttpProblem(400, `Unknown format f=${String(value)} (supported: ${names.join(', ')})`);
    }
    return { format: match, byAccept: false };
  }
  const accepted = ctx.accepts(...offered);
  const match = names.find((n) => REPRESENTATIONS[n] === accepted);
  if (!match) {
    throw new HttpProblem(
      406,
      `None of the requested media types (${ctx.get('Accept')}) is offered (offered: ${Object.values(REPRESENTATIONS).join(', ')})`,
    );
  }
  return { format: match, byAccept: true };
}

/**
 * For resources whose JSON form is not the only one (results: raw values in their own media types):
 * HTML only when asked by `f=html` or by an Accept header that names text/html and ranks it above
 * JSON; `f=json` or anything else keeps the resource's own answer. An unknown `f` → 400.
 */
export function wantsHtml(ctx: Context): boolean {
  if (ctx.query.f !== undefined) return negotiate(ctx) === 'html';
  const accept = ctx.get('Accept');
  if (!/\btext\/html\b/i.test(accept)) return false;
  ctx.vary('Accept');
  const html = ctx.accepts(REPRESENTATIONS.html, REPRESENTATIONS.json) === REPRESENTATIONS.html;
  if (html) ctx.state[REPRESENTATION_STATE] = 'html';
  return html;
}
