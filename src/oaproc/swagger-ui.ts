import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * Swagger UI (the `swagger-ui-dist` package, served by this server: no CDN): the page for
 * `/api?f=html`, the script that points it at the API definition, and the package files it loads.
 */

/** The URL path under which the files of Swagger UI are served. */
export const SWAGGER_UI_PATH = '/api/ui';

/** The script, generated here, that starts Swagger UI on this server's definition. */
export const INITIALIZER = 'swagger-initializer.js';

const JS = 'text/javascript; charset=utf-8';

/** The files of the package served (an allow-list: nothing else of node_modules is reachable). */
export const PACKAGE_FILES: Readonly<Record<string, string>> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'index.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': JS,
  'swagger-ui-standalone-preset.js': JS,
  'favicon-32x32.png': 'image/png',
  'favicon-16x16.png': 'image/png',
};

/** Every file under SWAGGER_UI_PATH with its media type. */
export const UI_FILES: Readonly<Record<string, string>> = { ...PACKAGE_FILES, [INITIALIZER]: JS };

/** The folder of the installed swagger-ui-dist package (throws when it is not installed). */
export function packageDir(): string {
  return path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
}

const escapeHtml = (s: string): string =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

/** A JSON value safe inside a script (no `</script>`, no HTML comment openers). */
const scriptJson = (value: unknown): string =>
  JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');

/** The page of `/api?f=html`: no inline script, so a strict Content-Security-Policy can allow it. */
export function swaggerUiPage(base: string, title: string): string {
  const ui = escapeHtml(`${base}${SWAGGER_UI_PATH}`);
  return `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <title>${escapeHtml(title)} - API</title>
    <link rel="stylesheet" type="text/css" href="${ui}/swagger-ui.css">
    <link rel="stylesheet" type="text/css" href="${ui}/index.css">
    <link rel="icon" type="image/png" href="${ui}/favicon-32x32.png" sizes="32x32">
    <link rel="icon" type="image/png" href="${ui}/favicon-16x16.png" sizes="16x16">
    <link rel="alternate" type="application/vnd.oai.openapi+json;version=3.0" href="${escapeHtml(`${base}/api?f=json`)}">
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="${ui}/swagger-ui-bundle.js" charset="utf-8"></script>
    <script src="${ui}/swagger-ui-standalone-preset.js" charset="utf-8"></script>
    <script src="${ui}/${INITIALIZER}" charset="utf-8"></script>
  </body>
</html>
`;
}

/** Starts Swagger UI on the JSON definition; `validatorUrl: null`: no call to an outside validator. */
export function initializerScript(base: string): string {
  return `window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: ${scriptJson(`${base}/api?f=json`)},
    dom_id: '#swagger-ui',
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: 'StandaloneLayout',
  });
};
`;
}
