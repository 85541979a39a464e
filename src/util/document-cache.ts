import { createHash } from 'node:crypto';
import { VersionedCache } from './versioned-cache.ts';

/** A rendered document and its entity tag (a strong validator: the same bytes, the same tag). */
export interface CachedDocument {
  body: string;
  etag: string;
}

export const entityTag = (body: string): string => `"${createHash('sha1').update(body).digest('base64url')}"`;

/**
 * Documents rendered once and served many times (Capabilities, process descriptions, the process
 * list), per variant (`key`: language, identifiers, base URL, paging…). Every entry belongs to one
 * `version` of what the documents are made of (the registry's generation): a lookup with another
 * version empties the cache first, so a process added or removed at run time is never served stale.
 * At most `maxEntries` variants are kept (the variants of a request are the client's to choose).
 */
export class DocumentCache {
  readonly #cache: VersionedCache<CachedDocument>;

  constructor(maxEntries = 256) {
    this.#cache = new VersionedCache(maxEntries);
  }

  get size(): number {
    return this.#cache.size;
  }

  /** The cached document of `key` at `version`, rendered by `render` when missing (an error is not cached). */
  get(version: number, key: string, render: () => string): CachedDocument {
    return this.#cache.get(version, key, () => {
      const body = render();
      return { body, etag: entityTag(body) };
    });
  }
}
