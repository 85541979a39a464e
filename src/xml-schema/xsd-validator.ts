import { readFileSync } from 'node:fs';
import {
  ParseOption,
  XmlDocument,
  XmlLibError,
  xmlRegisterInputProvider,
  XsdValidator,
  type XmlInputProvider,
} from 'libxml2-wasm';
import { hasDoctype } from '../core/content-checks.ts';
import type { SchemaLibrary } from './library.ts';

const XSI = 'http://www.w3.org/2001/XMLSchema-instance';
/** No network, no external entities: what a document or schema names is read from the library only. */
const PARSE = ParseOption.XML_PARSE_NONET | ParseOption.XML_PARSE_NO_XXE;
const CACHE_SIZE = 16;

export type XsdResult =
  | { ok: true }
  | { ok: false; problem: 'missing-schema'; schemas: string[] }
  | { ok: false; problem: 'not-well-formed' | 'invalid'; message: string; line?: number };

/**
 * libxml2 (WebAssembly) reads every schema and import through one input provider for the whole
 * process: it serves files of the active library and refuses everything else, remembering what it
 * refused so that a schema with a missing import is reported instead of silently half-compiled.
 */
class LibraryInputProvider implements XmlInputProvider {
  library: SchemaLibrary | undefined;
  readonly refused = new Set<string>();
  readonly #open = new Map<number, { data: Buffer; at: number }>();
  #next = 1;

  match = (): boolean => true;

  open = (url: string): number | undefined => {
    const file = this.library?.resolve(url);
    if (!file) {
      this.refused.add(url);
      return undefined;
    }
    const fd = this.#next++;
    this.#open.set(fd, { data: readFileSync(file), at: 0 });
    return fd;
  };

  read = (fd: number, buf: Uint8Array): number => {
    const f = this.#open.get(fd);
    if (!f) return -1;
    const n = Math.min(buf.byteLength, f.data.byteLength - f.at);
    buf.set(f.data.subarray(f.at, f.at + n));
    f.at += n;
    return n;
  };

  close = (fd: number): boolean => this.#open.delete(fd);
}

let provider: LibraryInputProvider | undefined;
function inputProvider(): LibraryInputProvider {
  if (!provider) {
    provider = new LibraryInputProvider();
    xmlRegisterInputProvider(provider);
  }
  return provider;
}

function targetNamespace(file: string): string | undefined {
  const text = readFileSync(file, 'utf8');
  const schemaTag = /<(?:[\w.-]+:)?schema\b[^>]*>/.exec(text)?.[0] ?? '';
  return /\btargetNamespace\s*=\s*(["'])(.*?)\1/.exec(schemaTag)?.[2];
}

const escapeAttr = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function firstDetail(e: unknown): { message: string; line?: number } {
  if (e instanceof XmlLibError && e.details[0]) {
    const d = e.details[0];
    return { message: d.message.trim(), ...(d.line ? { line: d.line } : {}) };
  }
  return { message: (e as Error).message.trim() };
}

/**
 * Validates XML documents against XSDs from a SchemaLibrary: the schema a format names plus those
 * the document names in xsi:schemaLocation (application schemas). Every one of them must be in the
 * library; a schema that is not is reported as missing (never fetched). Compiled schema sets are
 * cached. Synchronous: libxml2 runs on the calling thread.
 */
export class XsdContentValidator {
  readonly #library: SchemaLibrary;
  readonly #cache = new Map<string, XsdValidator>();

  constructor(library: SchemaLibrary) {
    this.#library = library;
  }

  validate(content: string | Uint8Array, schemaUrls: readonly string[]): XsdResult {
    const io = inputProvider();
    io.library = this.#library;
    if (hasDoctype(typeof content === 'string' ? content : Buffer.from(content).toString('latin1'))) {
      return {
        ok: false,
        problem: 'not-well-formed',
        message: 'XML with a DTD or entity declarations is not accepted',
      };
    }
    let doc: XmlDocument;
    try {
      doc =
        typeof content === 'string'
          ? XmlDocument.fromString(content, { option: PARSE })
          : XmlDocument.fromBuffer(content, { option: PARSE });
    } catch (e) {
      return { ok: false, problem: 'not-well-formed', ...firstDetail(e) };
    }
    try {
      const urls = new Set(schemaUrls);
      for (const url of documentSchemaLocations(doc)) urls.add(url);
      const compiled = this.#compiled([...urls]);
      if ('schemas' in compiled) return { ok: false, problem: 'missing-schema', schemas: compiled.schemas };
      try {
        compiled.validate(doc);
      } catch (e) {
        return { ok: false, problem: 'invalid', ...firstDetail(e) };
      }
      return { ok: true };
    } finally {
      doc.dispose();
    }
  }

  #compiled(urls: string[]): XsdValidator | { schemas: string[] } {
    const key = [...urls].sort().join(' ');
    const hit = this.#cache.get(key);
    if (hit) {
      this.#cache.delete(key);
      this.#cache.set(key, hit);
      return hit;
    }
    // Looked up only for a set not compiled yet: a cached set costs no file-system calls.
    const files = urls.map((url) => this.#library.resolve(url));
    const missing = urls.filter((_, i) => files[i] === undefined);
    if (missing.length > 0) return { schemas: missing };
    // One wrapper schema importing each by namespace (files without one are included).
    const parts = urls.map((url, i) => {
      const ns = targetNamespace(files[i]!);
      return ns === undefined
        ? `<xs:include schemaLocation="${escapeAttr(url)}"/>`
        : `<xs:import namespace="${escapeAttr(ns)}" schemaLocation="${escapeAttr(url)}"/>`;
    });
    const wrapper = `<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">${parts.join('')}</xs:schema>`;
    const io = inputProvider();
    io.refused.clear();
    const xsd = XmlDocument.fromString(wrapper, { url: 'urn:gateway:xsd-wrapper', option: PARSE });
    let validator: XsdValidator;
    try {
      validator = XsdValidator.fromDoc(xsd);
    } catch (e) {
      if (io.refused.size > 0) return { schemas: [...io.refused] };
      throw new Error(`The XML schemas ${urls.join(', ')} do not compile: ${firstDetail(e).message}`, {
        cause: e,
      });
    } finally {
      xsd.dispose();
    }
    // libxml2 only warns about an import it could not load; a half-loaded schema set is no check.
    if (io.refused.size > 0) {
      validator.dispose();
      return { schemas: [...io.refused] };
    }
    this.#cache.set(key, validator);
    if (this.#cache.size > CACHE_SIZE) {
      const [oldestKey, oldest] = this.#cache.entries().next().value!;
      this.#cache.delete(oldestKey);
      oldest.dispose();
    }
    return validator;
  }
}

/** The schema URLs the root element names: xsi:schemaLocation pairs and xsi:noNamespaceSchemaLocation. */
function documentSchemaLocations(doc: XmlDocument): string[] {
  const locations: string[] = [];
  for (const attr of doc.root.attrs) {
    if (attr.namespaceUri !== XSI) continue;
    const tokens = attr.value.trim().split(/\s+/).filter(Boolean);
    if (attr.name === 'schemaLocation') {
      for (let i = 1; i < tokens.length; i += 2) locations.push(tokens[i]!);
    } else if (attr.name === 'noNamespaceSchemaLocation' && tokens[0]) {
      locations.push(tokens[0]);
    }
  }
  return locations;
}
