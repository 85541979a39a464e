/**
 * Where the official OGC material lives for the tests (XSDs with their XML catalog, OGC API -
 * Processes JSON schemas): $OGC_SCHEMAS_DIR, else `../shared/ogc` beside the repository. It is not
 * part of the repository. No vitest here: the global set-up (ogc-notice.ts) reads it too.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

export const OGC_DIR = path.resolve(process.env.OGC_SCHEMAS_DIR ?? path.join(REPO, '../shared/ogc'));
/** The XSDs as on schemas.opengis.net (`wps/1.0.0/…`, `gml/3.1.1/…`), W3C ones under `www.w3.org/`. */
export const OGC_SCHEMAS = path.join(OGC_DIR, 'schemas');
/** The WPS/OWS/GML XSDs and the XML catalog `xmllint --nonet` resolves their imports with. */
export const XSD_CATALOG = 'catalog.xml';
/** The OGC API - Processes 1.0 JSON schemas (OpenAPI 3.0 YAML fragments). */
export const OAPROC_SCHEMAS = 'ogcapi-processes-1.0/core/openapi/schemas';
/** The parts of OGC_DIR some test needs: the run says once which ones are missing. */
export const OGC_PARTS: readonly string[] = [XSD_CATALOG, 'schemas/gml', OAPROC_SCHEMAS];

export const IN_CI = process.env.CI === 'true';

/** Whether `sub` (a file or folder relative to OGC_DIR) is there. */
export const hasOgc = (sub: string): boolean => existsSync(path.join(OGC_DIR, sub));

export const howToProvide =
  'set OGC_SCHEMAS_DIR to a copy of the shared/ogc folder (OGC_SCHEMAS_DIR=/path/to/ogc npm test)';

export const missingMessage = (subs: readonly string[]): string =>
  `OGC material missing in ${OGC_DIR} (${subs.join(', ')}): ${howToProvide}`;
