import { invalidParameter } from '../core/errors.ts';
import { isXmlMimeType } from '../core/formats.ts';
import type { SchemaChecker } from '../core/schema-checks.ts';
import type { SchemaLibrary } from './library.ts';
import { XsdContentValidator } from './xsd-validator.ts';

/**
 * The VERYSTRICT checker for XML formats that name a schema (GML, KML, …): the content must
 * validate against that schema and against the application schemas it names itself, all from the
 * local library.
 */
export function xsdSchemaChecker(library: SchemaLibrary): SchemaChecker {
  const validator = new XsdContentValidator(library);
  return (content, format, locator) => {
    if (!format.schema || !isXmlMimeType(format.mimeType)) return false;
    const result = validator.validate(content.text ?? content.bytes, [format.schema]);
    if (result.ok) return true;
    switch (result.problem) {
      case 'missing-schema':
        throw invalidParameter(
          locator,
          `Input '${locator}': cannot be validated, the schema ${result.schemas.join(', ')} is not available on this server (schemas are never fetched at run time; an operator can add them to server.schema_dirs)`,
        );
      case 'not-well-formed':
        throw invalidParameter(locator, `Input '${locator}': not well-formed XML (${where(result)})`);
      case 'invalid':
        throw invalidParameter(
          locator,
          `Input '${locator}': does not validate against ${format.schema} (${where(result)})`,
        );
    }
  };
}

const where = (r: { message: string; line?: number }) =>
  (r.line ? `line ${r.line}: ` : '') + r.message.replace(/\s+/g, ' ').trim();
