import type { Context } from 'koa';
import type { DocumentAnswer, DocumentLookup } from '../http/document-fast-path.ts';
import type { ProcessDescription } from '../core/model.ts';
import type { Gateway } from '../gateway.ts';
import { DocumentCache, type CachedDocument } from '../util/document-cache.ts';
import { VersionedCache } from '../util/versioned-cache.ts';
import { CONFORMANCE_CLASSES } from './conformance.ts';
import { processDescriptionJson, processSummary } from './describe.ts';
import { htmlAlternate } from './html/common.ts';
import { apiUrl, REL, type Link } from './links.ts';
import { representation } from './negotiate.ts';
import { OPENAPI_MEDIA_TYPE } from './openapi.ts';

/** The Content-Type header of the JSON documents (what koa's `ctx.type = 'application/json'` sets). */
export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/** The links of the landing page (JSON and HTML alike), under the public base `b`. */
export function landingLinks(b: string): Link[] {
  return [
    { href: apiUrl(b, '/'), rel: 'self', type: 'application/json', title: 'This document' },
    {
      href: apiUrl(b, '/api'),
      rel: 'service-desc',
      type: OPENAPI_MEDIA_TYPE,
      title: 'The API definition (OpenAPI 3.0)',
    },
    {
      href: apiUrl(b, '/api', { f: 'html' }),
      rel: 'service-doc',
      type: 'text/html',
      title: 'The API documentation',
    },
    {
      href: apiUrl(b, '/conformance'),
      rel: REL.conformance,
      type: 'application/json',
      title: 'Conformance classes implemented by this server',
    },
    {
      href: apiUrl(b, '/processes'),
      rel: REL.processes,
      type: 'application/json',
      title: 'The processes offered by this server',
    },
    { href: apiUrl(b, '/jobs'), rel: REL.jobList, type: 'application/json', title: 'The jobs' },
    htmlAlternate(apiUrl(b, '/')),
  ];
}

/**
 * The JSON documents made from the configuration and the registry (landing page, conformance,
 * process list pages, process descriptions), rendered once per registry generation and variant
 * (base URL, paging) and served with an ETag.
 */
export class OaprocDocuments {
  readonly #gateway: Gateway;
  readonly #cache = new DocumentCache();

  constructor(gateway: Gateway) {
    this.#gateway = gateway;
  }

  /** The public base URL without trailing slash; read at request time (port 0 settles it late). */
  get base(): string {
    return this.#gateway.config.server.url.replace(/\/+$/, '');
  }

  landing(): CachedDocument {
    return this.#get('/', (b) => {
      const { title, abstract } = this.#gateway.config.metadata.identification;
      return { title, description: abstract, links: landingLinks(b) };
    });
  }

  conformance(): CachedDocument {
    return this.#get('/conformance', (b) => ({
      conformsTo: [...CONFORMANCE_CLASSES],
      links: [htmlAlternate(apiUrl(b, '/conformance'))],
    }));
  }

  /** One page of the process list. */
  processList(limit: number, offset: number): CachedDocument {
    return this.#get(`/processes\0${limit}\0${offset}`, (b) => {
      const all = this.#gateway.registry.list();
      const page = all.slice(offset, offset + limit);
      const at = (o: number) => apiUrl(b, '/processes', { limit, offset: o });
      const links: Link[] = [{ href: at(offset), rel: 'self', type: 'application/json', title: 'This page' }];
      if (offset + limit < all.length)
        links.push({ href: at(offset + limit), rel: 'next', type: 'application/json', title: 'Next page' });
      if (offset > 0)
        links.push({
          href: at(Math.max(0, offset - limit)),
          rel: 'prev',
          type: 'application/json',
          title: 'Previous page',
        });
      links.push(htmlAlternate(at(offset)));
      return { processes: page.map((e) => processSummary(e.description, b)), links };
    });
  }

  process(description: ProcessDescription): CachedDocument {
    return this.#get(`/processes/\0${description.id}`, (b) => {
      const json = processDescriptionJson(description, b);
      return { ...json, links: [...json.links, htmlAlternate(json.links[0]!.href)] };
    });
  }

  #get(key: string, build: (base: string) => unknown): CachedDocument {
    const b = this.base;
    return this.#cache.get(this.#gateway.registry.generation, `${b}\0${key}`, () => JSON.stringify(build(b)));
  }
}

const safeDecode = (text: string): string => {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
};

/**
 * The JSON landing page, conformance, process list and process descriptions, answered from the
 * cache exactly as their routes answer them (src/oaproc/routes.ts). Another representation, a
 * parameter in error, an unknown process are left to the routes. `listPage` reads `limit` and
 * `offset` as the route does.
 */
export function oaprocDocuments(
  gateway: Gateway,
  documents: OaprocDocuments,
  listPage: (ctx: Context) => [limit: number, offset: number],
): DocumentLookup {
  const answer = (ctx: Context, document: () => CachedDocument): DocumentAnswer | 'routes' => {
    try {
      const { format, byAccept } = representation(ctx);
      if (format !== 'json') return 'routes';
      return { document: document(), contentType: JSON_CONTENT_TYPE, byAccept };
    } catch {
      // A bad `f`, limit or offset, an Accept that excludes JSON: the route reports it.
      return 'routes';
    }
  };
  const lookup = (ctx: Context, path: string): DocumentAnswer | 'routes' => {
    if (path === '/') return answer(ctx, () => documents.landing());
    if (path === '/conformance') return answer(ctx, () => documents.conformance());
    if (path === '/processes') return answer(ctx, () => documents.processList(...listPage(ctx)));
    const entry = gateway.registry.find(safeDecode(path.slice(PROCESS.length)));
    if (!entry) return 'routes';
    return answer(ctx, () => documents.process(entry.description));
  };
  // The answer depends on the path, the query string, the Accept header, the public URL and the
  // registry's generation alone: worked out once for each.
  const answers = new VersionedCache<DocumentAnswer | 'routes'>();
  return (ctx) => {
    const path = ctx.path;
    if (!isDocumentPath(path)) return undefined;
    const key = `${gateway.config.server.url}\0${path}\0${ctx.querystring}\0${ctx.req.headers.accept ?? ''}`;
    return answers.get(gateway.registry.generation, key, () => lookup(ctx, path));
  };
}

const PROCESS = '/processes/';

/** `/`, `/conformance`, `/processes` and `/processes/{id}` as their routes match them exactly. */
const isDocumentPath = (path: string): boolean =>
  path === '/' ||
  path === '/conformance' ||
  path === '/processes' ||
  (path.startsWith(PROCESS) && path.length > PROCESS.length && !path.includes('/', PROCESS.length));
