import { createRequire } from 'node:module';
import path from 'node:path';
import { renderStandalone } from '../html/engine.ts';

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

/** A JSON value safe inside a script (no `</script>`, no HTML comment openers). */
const scriptJson = (value: unknown): string =>
  JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');

/**
 * The page of `/api?f=html` (template swagger-ui.eta, escaped by eta): no inline script, so the
 * Content-Security-Policy of every page (htmlHeaders) allows it.
 */
export function swaggerUiPage(base: string, title: string, definitionType: string): string {
  return renderStandalone('swagger-ui', {
    title,
    ui: `${base}${SWAGGER_UI_PATH}`,
    initializer: INITIALIZER,
    definition: `${base}/api?f=json`,
    definitionType,
  });
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
