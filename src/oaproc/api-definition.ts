import type Router from '@koa/router';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Context } from 'koa';
import pkg from '../../package.json' with { type: 'json' };
import type { Gateway } from '../gateway.ts';
import { HTML_MEDIA_TYPE, htmlHeaders } from '../html/engine.ts';
import { sendCachedDocument } from '../http/cached-document.ts';
import { sendStaticFile, sendStaticText } from '../http/static-file.ts';
import { DocumentCache } from '../util/document-cache.ts';
import { HttpProblem } from './exceptions.ts';
import { openApiDocument, OPENAPI_MEDIA_TYPE } from './openapi.ts';
import {
  INITIALIZER,
  initializerScript,
  PACKAGE_FILES,
  packageDir,
  SWAGGER_UI_PATH,
  swaggerUiPage,
} from './swagger-ui.ts';

export interface ProcessListLimits {
  defaultLimit: number;
  maxLimit: number;
}

/** What `/api` answers for a request: `f` first, else the Accept header. */
function apiRepresentation(ctx: Context): 'openapi' | 'json' | 'html' {
  const f = ctx.query.f;
  if (f !== undefined) {
    const value = (Array.isArray(f) ? f[0] : f)?.toLowerCase();
    if (value === 'json') return 'openapi';
    if (value === 'html') return 'html';
    throw new HttpProblem(400, `Unknown format f=${String(value)} (supported: json, html)`);
  }
  const accepted = ctx.accepts(OPENAPI_MEDIA_TYPE, 'application/json', 'text/html');
  if (accepted === 'text/html') return 'html';
  if (accepted === 'application/json') return 'json';
  if (accepted === false) {
    throw new HttpProblem(
      406,
      `None of the requested media types (${ctx.get('Accept')}) is offered (offered: ${OPENAPI_MEDIA_TYPE}, application/json, text/html)`,
    );
  }
  return 'openapi';
}

/**
 * `GET /api`: the OpenAPI 3.0 definition of the API (class oas30), generated once from the
 * processes the server publishes, or Swagger UI on it for browsers; `GET /api/ui/{file}`: the files
 * of Swagger UI, from the installed package.
 */
export function addApiDefinitionRoutes(
  router: Router,
  gateway: Gateway,
  base: () => string,
  limits: ProcessListLimits,
): void {
  // Rendered once per registry generation and public URL (settled after the routes are built).
  const documents = new DocumentCache(4);
  const definition = () =>
    documents.get(gateway.registry.generation, base(), () => {
      const identification = gateway.config.metadata.identification;
      const document = openApiDocument({
        base: base(),
        title: identification.title,
        description: identification.abstract,
        version: pkg.version,
        processes: gateway.registry.list().map((e) => e.description),
        maxProcessLimit: limits.maxLimit,
        defaultProcessLimit: limits.defaultLimit,
      });
      return JSON.stringify(document);
    });

  router.get('/api', (ctx) => {
    const representation = apiRepresentation(ctx);
    ctx.vary('Accept');
    ctx.status = 200;
    if (representation === 'html') {
      // The headers of every page: Swagger UI styles with style attributes and draws data: images.
      for (const [k, v] of Object.entries(htmlHeaders())) ctx.set(k, v);
      ctx.type = HTML_MEDIA_TYPE;
      ctx.body = swaggerUiPage(base(), gateway.config.metadata.identification.title, OPENAPI_MEDIA_TYPE);
      return;
    }
    sendCachedDocument(
      ctx,
      definition(),
      representation === 'json' ? 'application/json' : OPENAPI_MEDIA_TYPE,
    );
  });

  router.get(`${SWAGGER_UI_PATH}/:file`, async (ctx) => {
    const name = String(ctx.params.file);
    const cacheControl = 'public, max-age=86400';
    if (name === INITIALIZER) {
      sendStaticText(ctx, initializerScript(base()), {
        type: 'text/javascript; charset=utf-8',
        cacheControl,
      });
      return;
    }
    // Only the listed files: a name is looked up, never joined to a path as it came.
    const type = Object.hasOwn(PACKAGE_FILES, name) ? PACKAGE_FILES[name] : undefined;
    if (type === undefined) throw new HttpProblem(404, `There is no file ${name} in the API documentation`);
    const file = path.join(packageDir(), name);
    if (
      !(await stat(file).then(
        () => true,
        () => false,
      ))
    )
      throw new HttpProblem(404, `${name} is not installed (npm package swagger-ui-dist)`);
    await sendStaticFile(ctx, file, { type, cacheControl });
  });
}
