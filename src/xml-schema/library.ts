import { existsSync, statSync } from 'node:fs';
import path from 'node:path';

const OGC_HOST = 'schemas.opengis.net';

/**
 * Local copies of XML schemas, found by their public URL; nothing is ever fetched. Each folder is
 * a mirror laid out by host and path (`<dir>/www.w3.org/1999/xlink.xsd`); schemas.opengis.net may
 * also sit at the top of the folder (`<dir>/gml/3.1.1/base/feature.xsd`), the layout of the OGC
 * schema repository and of `shared/ogc/schemas`.
 */
export class SchemaLibrary {
  readonly dirs: readonly string[];

  constructor(dirs: readonly string[]) {
    this.dirs = dirs.map((d) => path.resolve(d));
  }

  /** The local file for a schema URL, or undefined when there is none (or the URL cannot map to one). */
  resolve(url: string): string | undefined {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return undefined;
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return undefined;
    // A query string means a generated document (a WFS DescribeFeatureType), never a mirrored file.
    if (parsed.search || parsed.username || parsed.password || parsed.port) return undefined;
    let relative: string;
    try {
      relative = decodeURIComponent(parsed.pathname).replace(/^\/+/, '');
    } catch {
      return undefined;
    }
    if (!relative || relative.includes('\0')) return undefined;
    const host = parsed.hostname.toLowerCase();
    for (const dir of this.dirs) {
      const candidates = [path.join(dir, host, relative)];
      if (host === OGC_HOST) candidates.push(path.join(dir, relative));
      for (const file of candidates) {
        if (!file.startsWith(dir + path.sep)) continue;
        if (existsSync(file) && statSync(file).isFile()) return file;
      }
    }
    return undefined;
  }

  has(url: string): boolean {
    return this.resolve(url) !== undefined;
  }
}
