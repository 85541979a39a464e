/**
 * Tests that need the official OGC material (see ogc-material.ts): without it they are SKIPPED
 * (vitest's own skip, counted in the summary), under CI=true they FAIL. No test ever counts as
 * passed without checking. Each helper takes the part of OGC_DIR it needs, e.g. `catalog.xml`,
 * `schemas/gml/3.1.1` or `ogcapi-processes-1.0`.
 */
import path from 'node:path';
import { describe, it, onTestFinished } from 'vitest';
import { hasOgc, IN_CI, missingMessage, OGC_DIR, XSD_CATALOG } from './ogc-material.ts';

export { hasOgc, IN_CI, OGC_DIR, OGC_SCHEMAS, XSD_CATALOG } from './ogc-material.ts';

const ciFailure = (sub: string) => new Error(`CI=true and ${missingMessage([sub])}`);

/** Whether `sub` is there; under CI=true its absence throws (where tests are declared, the file fails). */
function available(sub: string): boolean {
  if (hasOgc(sub)) return true;
  if (IN_CI) throw ciFailure(sub);
  return false;
}

/** `it` for tests that need `sub`: skipped without it, a failure under CI=true. */
export const itWithOgc = (sub: string): ReturnType<typeof it.skipIf> => it.skipIf(!available(sub));
/** `describe` for groups that need `sub`: all their tests skipped without it, a failure under CI=true. */
export const describeWithOgc = (sub: string): ReturnType<typeof describe.skipIf> =>
  describe.skipIf(!available(sub));

/** The absolute path of `sub`, which must be there (inside tests declared with itWithOgc/describeWithOgc). */
export function ogcPath(sub: string): string {
  if (!hasOgc(sub)) throw new Error(missingMessage([sub]));
  return path.join(OGC_DIR, sub);
}

/** The WPS/OWS XSDs and their catalog, what expectValid needs. */
export const SCHEMAS_AVAILABLE = hasOgc(XSD_CATALOG);

/**
 * For a check inside a test that needs `sub`: true when it is there. When it is not, the test body
 * still runs to its end (its other assertions can fail it), and a test that passed is then reported
 * SKIPPED, never passed. Under CI=true its absence throws at once.
 */
export function checkOrSkip(sub: string): boolean {
  if (hasOgc(sub)) return true;
  if (IN_CI) throw ciFailure(sub);
  onTestFinished((ctx) => {
    // A dynamic skip once the body has passed: vitest reports the test as skipped, with this note.
    if (ctx.task.result?.state === 'pass') ctx.skip(`not fully checked: ${missingMessage([sub])}`);
  });
  return false;
}
