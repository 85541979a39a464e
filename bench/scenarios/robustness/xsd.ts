/**
 * VERYSTRICT XML cost: XSD validation (libxml2-wasm, official KML 2.2 schema) of a 1 MiB KML document,
 * against the floor of the STRICT check (fast-xml-parser well-formedness) measured in the same run.
 * Both run on the main thread before a job is accepted. Prints one JSON line (scenario 7 of
 * bench/run.ts reads it).   node bench/scenarios/robustness/xsd.ts   [ROUNDS=15]
 */
import { XMLValidator } from 'fast-xml-parser';
import { fileURLToPath } from 'node:url';
import { SchemaLibrary } from '../../../src/xml-schema/library.ts';
import { XsdContentValidator } from '../../../src/xml-schema/xsd-validator.ts';

const KML_XSD = 'http://schemas.opengis.net/kml/2.2.0/ogckml22.xsd';
const ROUNDS = Number(process.env.ROUNDS ?? 15);

const placemark = (i: number) =>
  `<Placemark><name>p${i}</name><description>feature number ${i}</description><Point><coordinates>${i % 180},${i % 90}</coordinates></Point></Placemark>`;
const parts: string[] = [];
let size = 0;
while (size < 1024 * 1024) {
  const p = placemark(parts.length);
  parts.push(p);
  size += p.length;
}
const doc = `<kml xmlns="http://www.opengis.net/kml/2.2"><Document>${parts.join('')}</Document></kml>`;

const validator = new XsdContentValidator(
  new SchemaLibrary([fileURLToPath(new URL('../../../.schemas/', import.meta.url))]),
);
const time = (f: () => void) => {
  const t = performance.now();
  f();
  return performance.now() - t;
};
const compile = time(() => validator.validate('<kml xmlns="http://www.opengis.net/kml/2.2"/>', [KML_XSD]));
const xsd: number[] = [];
const floor: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  xsd.push(
    time(() => {
      const r = validator.validate(doc, [KML_XSD]);
      if (!r.ok) throw new Error(JSON.stringify(r));
    }),
  );
  floor.push(time(() => XMLValidator.validate(doc)));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
process.stdout.write(
  `${JSON.stringify({
    bytes: doc.length,
    placemarks: parts.length,
    rounds: ROUNDS,
    xsdMs: median(xsd),
    wellFormedMs: median(floor),
    compileMs: compile,
  })}\n`,
);
