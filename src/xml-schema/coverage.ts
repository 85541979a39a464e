import { isXmlMimeType } from '../core/formats.ts';
import type { ProcessRegistry } from '../registry/registry.ts';
import type { SchemaLibrary } from './library.ts';

export interface SchemaGap {
  process: string;
  input: string;
  mimeType: string;
  schema: string;
}

export const describeGap = (gap: SchemaGap): string =>
  `${gap.process}/${gap.input} is VERYSTRICT but the schema ${gap.schema} (${gap.mimeType}) is not in server.schema_dirs: such content will be refused`;

/** VERYSTRICT XML inputs whose format names a schema the library does not hold: told at start-up. */
export function unavailableSchemas(registry: ProcessRegistry, library: SchemaLibrary): SchemaGap[] {
  const gaps: SchemaGap[] = [];
  for (const { description } of registry.list()) {
    for (const input of description.inputs) {
      if (input.kind !== 'complex' || input.validation !== 'VERYSTRICT') continue;
      for (const format of input.formats) {
        if (format.schema && isXmlMimeType(format.mimeType) && !library.has(format.schema)) {
          gaps.push({
            process: description.id,
            input: input.id,
            mimeType: format.mimeType,
            schema: format.schema,
          });
        }
      }
    }
  }
  return gaps;
}
