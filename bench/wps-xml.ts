/**
 * CPU time of the WPS XML binding's own work on the synchronous Execute hot path (issue 11): parsing
 * the XML POST request and rendering the ExecuteResponse and an exception report, in µs per call
 * (process CPU time, the best of ROUNDS rounds: steadier than wall time on a shared machine).
 *
 *   node bench/wps-xml.ts                 [N=10000 ROUNDS=5 BASELINE=/work/main]
 *
 * BASELINE=<another checkout> measures that checkout's modules in the same process, interleaved.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExecuteResponseDocument } from '../src/wps/render.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const N = Number(process.env.N ?? 10_000);
const ROUNDS = Number(process.env.ROUNDS ?? 5);

/** The request of `bench/profile-http.ts` (sync hello XML POST). */
const BODY = `<?xml version="1.0" encoding="UTF-8"?><wps:Execute service="WPS" version="1.0.0" xmlns:wps="http://www.opengis.net/wps/1.0.0" xmlns:ows="http://www.opengis.net/ows/1.1"><ows:Identifier>hello-world</ows:Identifier><wps:DataInputs><wps:Input><ows:Identifier>name</ows:Identifier><wps:Data><wps:LiteralData>World</wps:LiteralData></wps:Data></wps:Input></wps:DataInputs><wps:ResponseForm><wps:ResponseDocument><wps:Output><ows:Identifier>echo</ows:Identifier></wps:Output></wps:ResponseDocument></wps:ResponseForm></wps:Execute>`;

const DOCUMENT: ExecuteResponseDocument = {
  process: {
    id: 'hello-world',
    version: '1.0.0',
    title: 'Hello World',
    abstract: 'Returns a greeting',
    inputs: [],
    outputs: [],
    jobControlOptions: ['sync-execute', 'async-execute'],
    outputTransmission: ['value'],
  },
  serviceInstance: 'http://127.0.0.1:5000/wps?service=WPS&request=GetCapabilities',
  lang: 'en-US',
  creationTime: new Date(),
  status: { kind: 'ProcessSucceeded', message: 'Process succeeded' },
  outputs: [
    {
      description: { id: 'echo', title: 'Greeting', kind: 'literal', dataType: 'string' },
      literal: { kind: 'literal', value: 'Hello World!' },
      dataType: 'string',
    },
  ],
};

interface Binding {
  name: string;
  parse: (text: string) => unknown;
  render: (d: ExecuteResponseDocument) => string;
  exception: (e: { code: 'InvalidParameterValue'; message: string; locator: string }, lang: string) => string;
}

async function load(root: string, name: string): Promise<Binding> {
  const parse = (await import(path.join(root, 'src/wps/parse.ts'))) as {
    parseXmlRequest: Binding['parse'];
  };
  const render = (await import(path.join(root, 'src/wps/render.ts'))) as {
    executeResponse: Binding['render'];
    exceptionReport: Binding['exception'];
  };
  return {
    name,
    parse: parse.parseXmlRequest,
    render: render.executeResponse,
    exception: render.exceptionReport,
  };
}

/** CPU µs per call of `f`, after a warm-up. */
function cpuPerCall(f: () => unknown): number {
  for (let i = 0; i < N / 10; i++) f();
  const t0 = process.cpuUsage();
  for (let i = 0; i < N; i++) f();
  const t = process.cpuUsage(t0);
  return (t.user + t.system) / N;
}

const bindings = [await load(ROOT, 'this checkout')];
if (process.env.BASELINE) bindings.unshift(await load(path.resolve(process.env.BASELINE), 'baseline'));
const error = { code: 'InvalidParameterValue' as const, message: "Input 'x' is not valid", locator: 'x' };
const cases: Array<[string, (b: Binding) => () => unknown]> = [
  ['parse the Execute request', (b) => () => b.parse(BODY)],
  ['render the ExecuteResponse', (b) => () => b.render(DOCUMENT)],
  ['render an exception report', (b) => () => b.exception(error, 'en-US')],
];
const best = new Map<string, number>();
for (let round = 0; round < ROUNDS; round++) {
  for (const [what, make] of cases) {
    for (const b of bindings) {
      const key = `${what}\0${b.name}`;
      best.set(key, Math.min(best.get(key) ?? Infinity, cpuPerCall(make(b))));
    }
  }
}
console.log(`CPU µs per call, best of ${ROUNDS} rounds of ${N}\n`);
console.log(`| work | ${bindings.map((b) => b.name).join(' | ')} |`);
console.log(`| --- | ${bindings.map(() => '---:').join(' | ')} |`);
for (const [what] of cases) {
  const cells = bindings.map((b) => best.get(`${what}\0${b.name}`)!.toFixed(1));
  console.log(`| ${what} | ${cells.join(' | ')} |`);
}
