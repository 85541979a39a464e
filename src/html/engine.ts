import { fileURLToPath } from 'node:url';
import { Eta } from 'eta';

/** The media type of every HTML page. */
export const HTML_MEDIA_TYPE = 'text/html; charset=utf-8';

/** Where the pages find their scripts and style sheets (see ./assets.ts). */
export const ASSETS_PATH = '/assets';

/** A link shown on a page (and, for `alternate`, in its head). */
export interface PageLink {
  href: string;
  rel: string;
  type?: string;
  title?: string;
}

/** What every page passes to the layout. */
export interface PageBase {
  /** The page heading and `<title>`. */
  title: string;
  /** The service title, shown in the header. */
  service: string;
  /** The API's public base URL, no trailing slash. */
  base: string;
  /** The same resource in other representations (`rel=alternate`). */
  alternates: PageLink[];
  /** Breadcrumbs: the path to this page. */
  crumbs: Array<{ href?: string; label: string }>;
  /** Scripts of ./assets.ts this page loads, besides the gateway's own. */
  scripts?: string[];
  styles?: string[];
}

const TEMPLATES = fileURLToPath(new URL('./templates/', import.meta.url));

/**
 * Eta with auto-escaping: every `<%= %>` is HTML-escaped (& < > " '). Raw output (`<%~ %>`) is used
 * only for the layout's body and includes, i.e. for what templates themselves rendered.
 */
const eta = new Eta({ views: TEMPLATES, cache: true, autoEscape: true, defaultExtension: '.eta' });

/** Renders a page template with its data. */
export function renderPage<T extends PageBase>(template: string, data: T): string {
  return eta.render(`./${template}`, { assets: `${data.base}${ASSETS_PATH}`, ...data });
}

/** Renders a template that is a page of its own, not in the layout (Swagger UI's). */
export function renderStandalone(template: string, data: object): string {
  return eta.render(`./${template}`, data);
}

/**
 * Headers of every HTML page: scripts only from this server (no inline script can run, whatever a
 * value escaped wrong would contain), no framing, no sniffing. `connect` and `images` add the origins
 * the page's scripts fetch from (stored outputs) and load tiles from (a configured base map).
 */
export function htmlHeaders(options: { connect?: string[]; images?: string[] } = {}): Record<string, string> {
  const connect = ["'self'", ...(options.connect ?? [])].join(' ');
  const images = ["'self'", 'data:', 'blob:', ...(options.images ?? [])].join(' ');
  return {
    'Content-Security-Policy': [
      "default-src 'self'",
      "script-src 'self'",
      // OpenLayers positions its controls and overlays with style attributes.
      "style-src 'self' 'unsafe-inline'",
      `img-src ${images}`,
      `connect-src ${connect}`,
      "object-src 'none'",
      "base-uri 'none'",
      "form-action 'self'",
      "frame-ancestors 'none'",
    ].join('; '),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'same-origin',
  };
}

/** The origin of a URL (for the page headers), or undefined for a relative or bad one. */
export function originOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}
