import type { Context } from 'koa';
import type { Gateway } from '../../gateway.ts';
import {
  htmlHeaders,
  HTML_MEDIA_TYPE,
  originOf,
  renderPage,
  type PageBase,
  type PageLink,
} from '../../html/engine.ts';

/** A URL with `f` set to the given format (other parameters kept). */
export function withFormat(href: string, f: 'html' | 'json'): string {
  const url = new URL(href);
  url.searchParams.set('f', f);
  return url.toString();
}

/** The `rel=alternate` link of a JSON document to its HTML page. */
export const htmlAlternate = (href: string): PageLink => ({
  href: withFormat(href, 'html'),
  rel: 'alternate',
  type: 'text/html',
  title: 'This document as HTML',
});

/** The `rel=alternate` link of an HTML page to its JSON document. */
export const jsonAlternate = (href: string): PageLink => ({
  href: withFormat(href, 'json'),
  rel: 'alternate',
  type: 'application/json',
  title: 'This document as JSON',
});

/** Only http(s) URLs become links on a page (a client's `javascript:` href stays text). */
export function safeHref(href: string | undefined): string | undefined {
  if (!href) return undefined;
  try {
    const url = new URL(href);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.toString() : undefined;
  } catch {
    return undefined;
  }
}

/** `2025-01-02 03:04:05 UTC` */
export const timeText = (iso: string | undefined): string | undefined =>
  iso === undefined ? undefined : `${iso.slice(0, 19).replace('T', ' ')} UTC`;

/** Seconds as `1 h 2 min 3 s` (whole seconds; under a second as `0.4 s`). */
export function durationText(ms: number): string {
  if (ms < 1000) return `${(ms / 1000).toFixed(1)} s`;
  let s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return [h ? `${h} h` : '', m ? `${m} min` : '', `${s} s`].filter(Boolean).join(' ');
}

/** The parts of every page that come from the gateway. */
export function pageBase(
  gateway: Gateway,
  base: string,
  title: string,
  self: string,
  crumbs: PageBase['crumbs'],
): PageBase {
  return {
    title,
    service: gateway.config.metadata.identification.title,
    base,
    alternates: [jsonAlternate(self)],
    crumbs: [{ href: `${base}/?f=html`, label: 'Home' }, ...crumbs],
  };
}

/** The CSP source of a tile URL template: its origin, `*.` for a host that is itself templated ({a-c}). */
export function tileSource(template: string | undefined): string | undefined {
  const m = template ? /^(https?:)\/\/([^/]+)/.exec(template) : null;
  if (!m) return undefined;
  const host = m[2]!;
  return host.includes('{') ? `${m[1]}//*.${host.slice(host.indexOf('.') + 1)}` : `${m[1]}//${host}`;
}

/** Sends a rendered page with the headers of every page. */
export function sendPage<T extends PageBase & { page: string }>(
  ctx: Context,
  gateway: Gateway,
  template: string,
  data: T,
  status = 200,
): void {
  const outputs = originOf(gateway.config.server.outputUrl);
  const tiles = tileSource(gateway.config.server.map?.url);
  const headers = htmlHeaders({
    connect: outputs ? [outputs] : [],
    images: tiles ? [tiles] : [],
  });
  ctx.status = status;
  for (const [k, v] of Object.entries(headers)) ctx.set(k, v);
  // Added to, not set: CORS has put `Origin` there already.
  ctx.vary('Accept');
  ctx.type = HTML_MEDIA_TYPE;
  ctx.body = renderPage(template, data);
}
