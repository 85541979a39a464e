import Router from '@koa/router';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
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

/** GET `/assets/{name}` for the names of {@link ASSETS}; anything else is a 404. */
export function assetsRouter(): Router {
  const router = new Router();
  router.get(`${ASSETS_PATH}/:name`, async (ctx) => {
    const asset = Object.hasOwn(ASSETS, ctx.params.name ?? '') ? ASSETS[ctx.params.name!] : undefined;
    if (!asset) {
      ctx.status = 404;
      ctx.type = 'text/plain';
      ctx.body = `No asset '${ctx.params.name ?? ''}'`;
      return;
    }
    const { size, mtime } = await stat(asset.file);
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.lastModified = mtime;
    ctx.type = asset.type;
    ctx.length = size;
    ctx.body = createReadStream(asset.file);
  });
  return router;
}
