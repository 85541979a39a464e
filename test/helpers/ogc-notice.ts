/** vitest global set-up: one line, once per run, when OGC material the tests need is missing. */
import { hasOgc, IN_CI, missingMessage, OGC_PARTS } from './ogc-material.ts';

export default function notice(): void {
  const missing = OGC_PARTS.filter((sub) => !hasOgc(sub));
  if (missing.length === 0) return;
  const consequence = IN_CI ? 'CI=true: the tests needing it FAIL' : 'the tests needing it are SKIPPED';
  console.warn(`WARNING: ${missingMessage(missing)}; ${consequence}.`);
}
