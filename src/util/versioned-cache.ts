/**
 * Values made once and looked up many times, per `key`, all belonging to one `version` of what they
 * are made of (e.g. the registry's generation): a lookup with another version empties the cache
 * first, so nothing made from an older version is ever returned. At most `maxEntries` keys are kept
 * (keys come from requests: the client chooses them); when full, the cache starts over.
 */
export class VersionedCache<T> {
  readonly #maxEntries: number;
  readonly #entries = new Map<string, T>();
  #version: number | undefined;

  constructor(maxEntries = 256) {
    this.#maxEntries = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The value of `key` at `version`, made by `make` when missing (an error thrown is not cached). */
  get(version: number, key: string, make: () => T): T {
    if (version !== this.#version) {
      this.#entries.clear();
      this.#version = version;
    }
    let value = this.#entries.get(key);
    if (value === undefined) {
      value = make();
      if (this.#entries.size >= this.#maxEntries) this.#entries.clear();
      this.#entries.set(key, value);
    }
    return value;
  }
}
