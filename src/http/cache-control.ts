import type { CacheDirectives } from '../core/execute.ts';

/**
 * What an execute request's `Cache-Control` header (RFC 9111 §5.2.1) asks of the result cache, in
 * both bindings: `no-cache` = not served from the cache (the fresh result still fills it),
 * `no-store` = neither served from nor stored in it; `max-age=0` counts as `no-cache`. Other
 * directives (and unreadable ones) are ignored, as the RFC asks of a cache.
 */
export function cacheDirectives(header: string | undefined): CacheDirectives | undefined {
  if (!header) return undefined;
  const directives = new Set(
    header.split(',').map((d) =>
      d
        .trim()
        .toLowerCase()
        .replace(/\s*=\s*/, '=')
        .replace(/"/g, ''),
    ),
  );
  const noStore = directives.has('no-store');
  const noCache = noStore || directives.has('no-cache') || directives.has('max-age=0');
  if (!noCache) return undefined;
  return noStore ? { noCache, noStore } : { noCache };
}
