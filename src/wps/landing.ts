import type { Context } from 'koa';
import { wpsEndpoint } from '../config/public-url.ts';
import type { Gateway } from '../gateway.ts';
import { htmlHeaders, HTML_MEDIA_TYPE, renderPage } from '../html/engine.ts';

/**
 * The HTML page of the bare WPS endpoint, for a browser: the service, its processes, and the
 * GetCapabilities URL to paste into a WPS client.
 */
export function sendLanding(ctx: Context, gateway: Gateway): void {
  const base = gateway.config.server.url.replace(/\/+$/, '');
  const wps = wpsEndpoint(gateway.config.server);
  const kvp = (query: Record<string, string>) => `${wps}?${new URLSearchParams(query).toString()}`;
  const { title, abstract } = gateway.config.metadata.identification;
  const capabilitiesUrl = kvp({ service: 'WPS', request: 'GetCapabilities' });
  ctx.status = 200;
  for (const [k, v] of Object.entries(htmlHeaders())) ctx.set(k, v);
  ctx.type = HTML_MEDIA_TYPE;
  ctx.body = renderPage('wps-landing', {
    title: 'WPS 1.0.0 endpoint',
    service: title,
    base,
    page: 'wps',
    alternates: [
      { href: capabilitiesUrl, rel: 'alternate', type: 'text/xml', title: 'The capabilities document (XML)' },
    ],
    crumbs: [{ href: `${base}/?f=html`, label: 'Home' }, { label: 'WPS' }],
    description: abstract,
    capabilitiesUrl,
    processes: gateway.registry.list().map(({ description: d }) => ({
      id: d.id,
      title: d.title,
      describeUrl: kvp({ service: 'WPS', version: '1.0.0', request: 'DescribeProcess', identifier: d.id }),
      pageUrl: `${base}/processes/${encodeURIComponent(d.id)}?f=html`,
    })),
  });
}
