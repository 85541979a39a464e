import Router from '@koa/router';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { sendStaticFile } from '../http/static-file.ts';
import { ASSETS_PATH } from './engine.ts';

const require = createRequire(import.meta.url);
const own = (name: string) => fileURLToPath(new URL(`./static/${name}`, import.meta.url));

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

/**
 * Every file the pages may load, by the name they load it under: a fixed table, so that no request
 * path ever becomes a file path (no traversal, nothing else of node_modules served). OpenLayers is
 * the full build the `ol` package ships (dist/ol.js, global `ol`), served from here: no CDN.
 */
export const ASSETS: Readonly<Record<string, { file: string; type: string }>> = {
  'gateway.js': { file: own('gateway.js'), type: JS },
  'gateway.css': { file: own('gateway.css'), type: CSS },
  'ol.js': { file: require.resolve('ol/dist/ol.js'), type: JS },
  'ol.css': { file: require.resolve('ol/ol.css'), type: CSS },
};

/**
 * GET `/assets/{name}`, one route per name of {@link ASSETS}, revalidated by ETag and Last-Modified
 * (304). Any other name matches no route: the server's fallback answers its 404 (an exception, or
 * a page for a browser).
 */
export function assetsRouter(): Router {
  const router = new Router();
  for (const [name, asset] of Object.entries(ASSETS)) {
    router.get(`${ASSETS_PATH}/${name}`, (ctx) =>
      sendStaticFile(ctx, asset.file, { type: asset.type, cacheControl: 'public, max-age=3600' }),
    );
  }
  return router;
}
