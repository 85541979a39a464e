import { createHash } from 'node:crypto';

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
  readonly #maxEntries: number;
  readonly #entries = new Map<string, CachedDocument>();
  #version: number | undefined;

  constructor(maxEntries = 256) {
    this.#maxEntries = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The cached document of `key` at `version`, rendered by `render` when missing (an error is not cached). */
  get(version: number, key: string, render: () => string): CachedDocument {
    if (version !== this.#version) {
      this.#entries.clear();
      this.#version = version;
    }
    let entry = this.#entries.get(key);
    if (!entry) {
      const body = render();
      entry = { body, etag: entityTag(body) };
      if (this.#entries.size >= this.#maxEntries) this.#entries.clear();
      this.#entries.set(key, entry);
    }
    return entry;
  }
}
