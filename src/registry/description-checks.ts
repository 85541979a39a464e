import { OwsError } from '../core/errors.ts';
import { isAllowed, parseLiteral } from '../core/literal.ts';
import type { LiteralDomain, ProcessDescription } from '../core/model.ts';

const NUMERIC = new Set(['integer', 'double', 'float', 'positiveInteger', 'nonNegativeInteger']);

/** Checks a schema-valid description for what a schema cannot say; returns problems as `path: message`. */
export function checkDescription(d: ProcessDescription): string[] {
  const problems: string[] = [];
  const uniqueIds = (items: Array<{ id: string }>, where: string) => {
    const seen = new Set<string>();
    items.forEach((item, i) => {
      if (seen.has(item.id)) problems.push(`${where}[${i}] ('${item.id}'): duplicate id`);
      seen.add(item.id);
    });
  };
  uniqueIds(d.inputs, 'inputs');
  uniqueIds(d.outputs, 'outputs');
  if (!d.jobControlOptions.includes('sync-execute') && !d.jobControlOptions.includes('async-execute')) {
    problems.push('jobControlOptions: needs sync-execute or async-execute');
  }

  const checkLiteral = (domain: LiteralDomain, where: string) => {
    for (const [j, v] of (domain.allowedValues?.values ?? []).entries()) {
      try {
        parseLiteral(v, domain.dataType, where);
      } catch {
        problems.push(
          `${where}.allowedValues.values[${j}]: '${String(v)}' is not a valid ${domain.dataType}`,
        );
      }
    }
    for (const [j, r] of (domain.allowedValues?.ranges ?? []).entries()) {
      if (!NUMERIC.has(domain.dataType))
        problems.push(`${where}.allowedValues.ranges[${j}]: ranges need a numeric dataType`);
      if (r.minimum !== undefined && r.maximum !== undefined && r.minimum > r.maximum)
        problems.push(`${where}.allowedValues.ranges[${j}]: minimum is greater than maximum`);
    }
    if (domain.uoms && !domain.uoms.supported.includes(domain.uoms.default))
      problems.push(`${where}.uoms: the default '${domain.uoms.default}' is not among the supported ones`);
  };

  d.inputs.forEach((input, i) => {
    const where = `inputs[${i}] ('${input.id}')`;
    if (input.maxOccurs !== 'unbounded' && input.minOccurs > input.maxOccurs)
      problems.push(`${where}: minOccurs is greater than maxOccurs`);
    if (input.kind === 'literal') {
      checkLiteral(input, where);
      if (input.defaultValue !== undefined) {
        try {
          const typed = parseLiteral(input.defaultValue, input.dataType, input.id);
          if (!isAllowed(typed, input.dataType, input.allowedValues))
            problems.push(`${where}.defaultValue: not among the allowed values`);
        } catch (e) {
          problems.push(`${where}.defaultValue: ${(e as OwsError).message}`);
        }
      }
    }
  });
  d.outputs.forEach((output, i) => {
    if (output.kind === 'literal') checkLiteral(output, `outputs[${i}] ('${output.id}')`);
  });
  return problems;
}
