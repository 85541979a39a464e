import type { Context } from 'koa';
import { HttpProblem } from './exceptions.ts';

/**
 * The representations the API offers, by `f` value, in order of preference (the first is the
 * default). The HTML issue adds `html: 'text/html'` here and a renderer per resource.
 */
export const REPRESENTATIONS = { json: 'application/json' } as const;
export type Representation = keyof typeof REPRESENTATIONS;

const names = Object.keys(REPRESENTATIONS) as Representation[];

/**
 * Picks the representation of a response: `?f=` wins, else the `Accept` header (none, or any
 * wildcard, gives the default). `f` naming nothing offered → 400; an Accept that excludes every
 * offered media type → 406.
 */
export function negotiate(ctx: Context): Representation {
  const f = ctx.query.f;
  if (f !== undefined) {
    const value = Array.isArray(f) ? f[0] : f;
    const match = names.find((n) => n === value?.toLowerCase());
    if (!match) {
      throw new HttpProblem(400, `Unknown format f=${String(value)} (supported: ${names.join(', ')})`);
    }
    return match;
  }
  const accepted = ctx.accepts(...names.map((n) => REPRESENTATIONS[n]));
  const match = names.find((n) => REPRESENTATIONS[n] === accepted);
  if (!match) {
    throw new HttpProblem(
      406,
      `None of the requested media types (${ctx.get('Accept')}) is offered (offered: ${Object.values(REPRESENTATIONS).join(', ')})`,
    );
  }
  return match;
}
