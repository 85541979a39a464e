import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NS } from '../../src/wps/xml.ts';
import {
  all,
  doc,
  execute,
  expectException,
  expectValid,
  get,
  kids,
  literalInput,
  one,
  post,
  startWpsServer,
  text,
  type WpsServer,
} from '../helpers/wps.ts';

let s: WpsServer;
beforeAll(async () => {
  s = await startWpsServer({ manager: { parallel_processes: 2 } });
});
afterAll(() => s.close());

const outputs = (xml: string) => {
  const map = new Map<string, ReturnType<typeof doc>>();
  for (const o of all(one(doc(xml), 'ProcessOutputs'), 'Output')) map.set(text(kids(o, 'Identifier')[0]!), o);
  return map;
};
const statusOf = (xml: string) => kids(one(doc(xml), 'Status'))[0]!;

async function poll(url: string, until: (status: string) => boolean, timeoutMs = 10_000): Promise<string[]> {
  const seen: string[] = [];
  const t0 = Date.now();
  for (;;) {
    const r = await get(url);
    expect(r.status).toBe(200);
    expectValid(r.body, 'execute');
    seen.push(r.body);
    if (until(statusOf(r.body).local)) return seen;
    if (Date.now() - t0 > timeoutMs) throw new Error(`status never reached: ${statusOf(r.body).local}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

describe('Execute, synchronous', () => {
  it('no ResponseForm: an ExecuteResponse with every output inline', async () => {
    const r = await post(
      s.wps,
      execute('hello-world', literalInput('name', 'World') + literalInput('message', 'Hi &amp; bye &lt;3')),
    );
    expect(r.status).toBe(200);
    expect(r.contentType).toBe('text/xml');
    expectValid(r.body, 'execute');
    const root = doc(r.body);
    expect(root.attrs.get('serviceInstance')).toBe(`${s.wps}?service=WPS&request=GetCapabilities`);
    expect(root.attrs.get('statusLocation')).toBeUndefined();
    expect(text(one(one(root, 'Process'), 'Identifier'))).toBe('hello-world');
    expect(statusOf(r.body).local).toBe('ProcessSucceeded');
    expect(one(root, 'Status').attrs.get('creationTime')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const echo = one(outputs(r.body).get('echo')!, 'LiteralData');
    expect(text(echo)).toBe('Hello World! Hi & bye <3');
    expect(echo.attrs.get('dataType')).toBe('string');
    expect(all(root, 'OutputDefinitions')).toHaveLength(0);
  });

  it('bad inputs are refused before anything runs, with the input as locator', async () => {
    expectException(
      await post(s.wps, execute('sleep', literalInput('seconds', 'ten'))),
      400,
      'InvalidParameterValue',
      'seconds',
    );
    expectException(
      await post(s.wps, execute('sleep', literalInput('seconds', '99'))),
      400,
      'InvalidParameterValue',
      'seconds',
    );
    expectException(await post(s.wps, execute('hello-world', '')), 400, 'MissingParameterValue', 'name');
    expectException(
      await post(s.wps, execute('hello-world', literalInput('nom', 'x') + literalInput('name', 'x'))),
      400,
      'InvalidParameterValue',
      'nom',
    );
    expectException(await post(s.wps, execute('nope', '')), 400, 'InvalidParameterValue', 'Identifier');
    const complex = (mime: string, body: string) =>
      literalInput('stringInput', 's') +
      `<wps:Input><ows:Identifier>complexInput</ows:Identifier><wps:Data><wps:ComplexData mimeType="${mime}">${body}</wps:ComplexData></wps:Data></wps:Input>`;
    expectException(
      await post(s.wps, execute('echo', complex('image/png', 'x'))),
      400,
      'InvalidParameterValue',
      'complexInput',
    );
    const bbox = (attrs: string, lower: string, upper: string) =>
      literalInput('stringInput', 's') +
      `<wps:Input><ows:Identifier>bboxInput</ows:Identifier><wps:Data><wps:BoundingBoxData${attrs}><ows:LowerCorner>${lower}</ows:LowerCorner><ows:UpperCorner>${upper}</ows:UpperCorner></wps:BoundingBoxData></wps:Data></wps:Input>`;
    expectException(
      await post(s.wps, execute('echo', bbox(' crs="EPSG:32633"', '0 0', '1 1'))),
      400,
      'InvalidParameterValue',
      'bboxInput',
    );
    expectException(
      await post(s.wps, execute('echo', bbox('', '2 0', '1 1'))),
      400,
      'InvalidParameterValue',
      'bboxInput',
    );
    expectException(
      await post(s.wps, execute('echo', bbox('', 'a b', '1 1'))),
      400,
      'InvalidParameterValue',
      'bboxInput',
    );
    expectException(
      await post(s.wps, execute('echo', literalInput('stringInput', 's') + literalInput('bboxInput', '1'))),
      400,
      'InvalidParameterValue',
      'bboxInput',
    );
    // maxsingleinputsize (16 MiB by default) bounds inline data too.
    const small = await startWpsServer({ extraServer: ['  max_single_input_size: 1kb'] });
    try {
      expectException(
        await post(small.wps, execute('echo', complex('text/plain', 'x'.repeat(2000)))),
        400,
        'FileSizeExceeded',
        'complexInput',
      );
    } finally {
      await small.close();
    }
    const ex = `<wps:Execute service="WPS" xmlns:wps="${NS.wps}" xmlns:ows="${NS.ows}"><ows:Identifier>echo</ows:Identifier></wps:Execute>`;
    expectException(await post(s.wps, ex), 400, 'MissingParameterValue', 'version');
  });

  it('KVP Execute: URL-decoded values, encoded separators kept, repeated ids, bounding boxes', async () => {
    const data = `stringInput=a%3Bb%40c%3Dd;arrayInput=x;arrayInput=y%20z;bboxInput=1,2,3,4,EPSG:3857`;
    const r = await get(
      `${s.wps}?service=WPS&request=Execute&version=1.0.0&identifier=echo&DataInputs=${data}`,
    );
    expect(r.status, r.body).toBe(200);
    expectValid(r.body, 'execute');
    const out = outputs(r.body);
    expect(text(one(out.get('stringInput')!, 'LiteralData'))).toBe('a;b@c=d');
    expect(JSON.parse(text(one(out.get('arrayOutput')!, 'ComplexData')))).toEqual(['x', 'y z']);
    const bbox = one(out.get('bboxOutput')!, 'BoundingBoxData');
    expect([bbox.attrs.get('crs'), text(one(bbox, 'LowerCorner')), text(one(bbox, 'UpperCorner'))]).toEqual([
      'EPSG:3857',
      '1 2',
      '3 4',
    ]);
  });

  it('KVP Execute with RawDataOutput and ResponseDocument', async () => {
    const q = `${s.wps}?service=WPS&request=Execute&version=1.0.0&identifier=hello-world&DataInputs=name=K`;
    const raw = await get(`${q}&RawDataOutput=echo`);
    expect([raw.status, raw.contentType, raw.body]).toEqual([200, 'text/plain; charset=utf-8', 'Hello K!']);
    const docReply = await get(`${q}&ResponseDocument=echo@asReference=true`);
    expectValid(docReply.body, 'execute');
    const href = one(outputs(docReply.body).get('echo')!, 'Reference').attrs.get('href')!;
    expect((await get(href)).body).toBe('Hello K!');
    expectException(
      await get(`${q}&ResponseDocument=echo&RawDataOutput=echo`),
      400,
      'InvalidParameterValue',
      'RawDataOutput',
    );
    expectException(await get(`${q}&RawDataOutput=nope`), 400, 'InvalidParameterValue', 'nope');
  });

  it('complex inputs: inline XML keeps its mixed content and namespaces, CDATA JSON, plain text', async () => {
    const gml = `<gml:Point xmlns:gml="http://www.opengis.net/gml" srsName="EPSG:4326">text <gml:pos>1 2</gml:pos> tail</gml:Point>`;
    const xmlInput = `<wps:Input><ows:Identifier>complexInput</ows:Identifier><wps:Data><wps:ComplexData mimeType="text/xml">${gml}</wps:ComplexData></wps:Data></wps:Input>`;
    const r = await post(
      s.wps,
      execute(
        'echo',
        literalInput('stringInput', 's') + xmlInput,
        `<wps:ResponseForm><wps:RawDataOutput mimeType="text/xml"><ows:Identifier>complexOutput</ows:Identifier></wps:RawDataOutput></wps:ResponseForm>`,
      ),
    );
    expect(r.status, r.body).toBe(200);
    expect(r.contentType).toBe('text/xml');
    expect(r.body).toBe(gml);

    // Namespaces declared on the request root travel with the fragment.
    const outer = execute(
      'echo',
      literalInput('stringInput', 's') +
        `<wps:Input><ows:Identifier>complexInput</ows:Identifier><wps:Data><wps:ComplexData mimeType="application/gml+xml"><gml:Point><gml:pos>5 6</gml:pos></gml:Point></wps:ComplexData></wps:Data></wps:Input>`,
      `<wps:ResponseForm><wps:RawDataOutput><ows:Identifier>complexOutput</ows:Identifier></wps:RawDataOutput></wps:ResponseForm>`,
    ).replace('<wps:Execute ', '<wps:Execute xmlns:gml="http://www.opengis.net/gml" ');
    const r2 = await post(s.wps, outer);
    expect(r2.body).toMatch(
      /^<gml:Point xmlns:gml="http:\/\/www.opengis.net\/gml"[^>]*><gml:pos>5 6<\/gml:pos><\/gml:Point>$/,
    );

    const json = '{"type":"Point","coordinates":[1,2],"note":"<&>"}';
    const cdata = `<wps:Input><ows:Identifier>complexInput</ows:Identifier><wps:Data><wps:ComplexData mimeType="application/json">
        <![CDATA[${json}]]>
      </wps:ComplexData></wps:Data></wps:Input>`;
    const r3 = await post(s.wps, execute('echo', literalInput('stringInput', 's') + cdata));
    expectValid(r3.body, 'execute');
    const cx = one(outputs(r3.body).get('complexOutput')!, 'ComplexData');
    expect(cx.attrs.get('mimeType')).toBe('application/json');
    expect(text(cx)).toBe(json);

    const plain = `<wps:Input><ows:Identifier>complexInput</ows:Identifier><wps:Data><wps:ComplexData mimeType="text/plain">  line one
line two &lt;x&gt;</wps:ComplexData></wps:Data></wps:Input>`;
    const r4 = await post(s.wps, execute('echo', literalInput('stringInput', 's') + plain));
    expect(text(one(outputs(r4.body).get('complexOutput')!, 'ComplexData'))).toBe('line one\nline two <x>');
  });

  it('QGIS: ows:Title inside wps:Input, base64 file data with 76-column lines, bbox with ows:dimensions and no crs, asReference outputs without storing', async () => {
    const bytes = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 13) % 256));
    const b64 = bytes.toString('base64').replace(/(.{76})/g, '$1\n');
    const body = execute(
      'echo',
      `<wps:Input><ows:Identifier>stringInput</ows:Identifier><ows:Title>String</ows:Title><wps:Data><wps:LiteralData>qgis</wps:LiteralData></wps:Data></wps:Input>
       <wps:Input><ows:Identifier>binaryInput</ows:Identifier><ows:Title>Binary</ows:Title><wps:Data><wps:ComplexData mimeType="image/tiff; application=geotiff" encoding="base64">${b64}</wps:ComplexData></wps:Data></wps:Input>
       <wps:Input><ows:Identifier>bboxInput</ows:Identifier><ows:Title>Area</ows:Title><wps:Data><wps:BoundingBoxData ows:dimensions="2"><ows:LowerCorner>10 20</ows:LowerCorner><ows:UpperCorner>11 21</ows:UpperCorner></wps:BoundingBoxData></wps:Data></wps:Input>`,
      `<wps:ResponseForm><wps:ResponseDocument storeExecuteResponse="false" status="false" lineage="false">
         <wps:Output asReference="true" mimeType="image/tiff; application=geotiff"><ows:Identifier>binaryOutput</ows:Identifier></wps:Output>
         <wps:Output asReference="false"><ows:Identifier>bboxOutput</ows:Identifier></wps:Output>
       </wps:ResponseDocument></wps:ResponseForm>`,
    );
    const r = await post(s.wps, body);
    expect(r.status, r.body).toBe(200);
    expectValid(r.body, 'execute');
    const out = outputs(r.body);
    expect([...out.keys()]).toEqual(['binaryOutput', 'bboxOutput']);
    const ref = one(out.get('binaryOutput')!, 'Reference');
    const href = ref.attrs.get('href')!;
    expect(href).toMatch(new RegExp(`^${s.base}/wps/outputs/[0-9a-f-]{36}/binaryOutput\\.tif$`));
    expect(ref.attrs.get('mimeType')).toBe('image/tiff; application=geotiff');
    const fetched = await fetch(href);
    expect(fetched.headers.get('content-type')).toBe('image/tiff; application=geotiff');
    expect(Buffer.from(await fetched.arrayBuffer())).toEqual(bytes);
    const bbox = one(out.get('bboxOutput')!, 'BoundingBoxData');
    expect([bbox.attrs.get('crs'), bbox.attrs.get('dimensions'), text(one(bbox, 'LowerCorner'))]).toEqual([
      'EPSG:4326',
      '2',
      '10 20',
    ]);
  });

  it('binary outputs by value are base64; base64 that is not base64 is refused', async () => {
    const r = await post(
      s.wps,
      execute(
        'echo',
        literalInput('stringInput', 's') +
          `<wps:Input><ows:Identifier>binaryInput</ows:Identifier><wps:Data><wps:ComplexData mimeType="application/octet-stream" encoding="base64">AAEC/w==</wps:ComplexData></wps:Data></wps:Input>`,
      ),
    );
    const cx = one(outputs(r.body).get('binaryOutput')!, 'ComplexData');
    expect([cx.attrs.get('encoding'), text(cx).trim()]).toEqual(['base64', 'AAEC/w==']);
    expectException(
      await post(
        s.wps,
        execute(
          'echo',
          literalInput('stringInput', 's') +
            `<wps:Input><ows:Identifier>binaryInput</ows:Identifier><wps:Data><wps:ComplexData mimeType="application/octet-stream" encoding="base64">not*base64!</wps:ComplexData></wps:Data></wps:Input>`,
        ),
      ),
      400,
      'InvalidParameterValue',
      'binaryInput',
    );
  });

  it('OpenLayers 2: RawDataOutput of application/json returns exactly that body and Content-Type', async () => {
    const geojson = '{"type":"Point","coordinates":[7,45]}';
    const r = await post(
      s.wps,
      execute(
        'echo',
        literalInput('stringInput', 'ol') +
          `<wps:Input><ows:Identifier>complexInput</ows:Identifier><wps:Data><wps:ComplexData mimeType="application/json"><![CDATA[${geojson}]]></wps:ComplexData></wps:Data></wps:Input>`,
        `<wps:ResponseForm><wps:RawDataOutput mimeType="application/json"><ows:Identifier>complexOutput</ows:Identifier></wps:RawDataOutput></wps:ResponseForm>`,
      ),
    );
    expect(r.status).toBe(200);
    expect(r.contentType).toBe('application/json');
    expect(r.headers.get('content-disposition')).toBe('attachment; filename="complexOutput.json"');
    expect(r.body).toBe(geojson);
  });

  it('lineage="true" echoes the DataInputs and OutputDefinitions', async () => {
    const r = await post(
      s.wps,
      execute(
        'hello-world',
        literalInput('name', 'L'),
        `<wps:ResponseForm><wps:ResponseDocument lineage="true"><wps:Output><ows:Identifier>echo</ows:Identifier></wps:Output></wps:ResponseDocument></wps:ResponseForm>`,
      ),
    );
    expectValid(r.body, 'execute');
    const root = doc(r.body);
    expect(text(one(one(one(root, 'DataInputs'), 'Input'), 'LiteralData'))).toBe('L');
    expect(text(one(one(root, 'OutputDefinitions'), 'Identifier'))).toBe('echo');
    expect(text(one(outputs(r.body).get('echo')!, 'LiteralData'))).toBe('Hello L!');
  });

  it('lineage of a KVP complex input that is not well-formed XML stays a valid document', async () => {
    const r = await get(
      `${s.wps}?service=WPS&request=Execute&version=1.0.0&identifier=echo&lineage=true&DataInputs=stringInput=s;complexInput=${encodeURIComponent('<a><b></a>')}@mimeType=text/plain`,
    );
    expect(r.status, r.body).toBe(200);
    expectValid(r.body, 'execute');
    expect(text(one(one(doc(r.body), 'DataInputs'), 'ComplexData'))).toBe('<a><b></a>');
  });

  it('a process that fails after it was accepted gives ProcessFailed with HTTP 200', async () => {
    const r = await post(s.wps, execute('fail', literalInput('how', 'ows')));
    expect(r.status).toBe(200);
    expectValid(r.body, 'execute');
    const failed = statusOf(r.body);
    expect(failed.local).toBe('ProcessFailed');
    const exception = one(failed, 'Exception');
    expect([
      exception.attrs.get('exceptionCode'),
      exception.attrs.get('locator'),
      text(one(exception, 'ExceptionText')),
    ]).toEqual(['InvalidParameterValue', 'data', 'the data has no features']);
    // Raw output of a failed process: an exception report with the failure's code.
    const raw = await post(
      s.wps,
      execute(
        'fail',
        literalInput('how', 'error'),
        `<wps:ResponseForm><wps:RawDataOutput><ows:Identifier>never</ows:Identifier></wps:RawDataOutput></wps:ResponseForm>`,
      ),
    );
    expect(text(expectException(raw, 500, 'NoApplicableCode'))).toContain('boom: the processor broke');
  });
});

describe('Execute, asynchronous', () => {
  it('storeExecuteResponse + status: ProcessAccepted at once, then a status document that moves to ProcessSucceeded', async () => {
    const r = await post(
      s.wps,
      execute(
        'sleep',
        literalInput('seconds', '1'),
        `<wps:ResponseForm><wps:ResponseDocument storeExecuteResponse="true" status="true"/></wps:ResponseForm>`,
      ),
    );
    expect(r.status).toBe(200);
    expectValid(r.body, 'execute');
    const location = doc(r.body).attrs.get('statusLocation')!;
    expect(location).toMatch(new RegExp(`^${s.base}/wps/status/[0-9a-f-]{36}\\.xml$`));
    expect(statusOf(r.body).local).toBe('ProcessAccepted');
    const seen = await poll(location, (st) => st === 'ProcessSucceeded');
    const started = seen.map(statusOf).filter((st) => st.local === 'ProcessStarted');
    expect(started.length).toBeGreaterThan(0);
    const percents = started.map((st) => Number(st.attrs.get('percentCompleted')));
    expect(percents.every((p) => p >= 0 && p <= 99)).toBe(true);
    expect(Math.max(...percents)).toBeGreaterThan(0);
    const last = seen.at(-1)!;
    expect(doc(last).attrs.get('statusLocation')).toBe(location);
    expect(text(one(outputs(last).get('slept')!, 'LiteralData'))).toBe('1');
  });

  it('storeExecuteResponse="true" status="false": answered at once, the stored document changes only at completion', async () => {
    const r = await post(
      s.wps,
      execute(
        'sleep',
        literalInput('seconds', '0.6'),
        `<wps:ResponseForm><wps:ResponseDocument storeExecuteResponse="true" status="false"/></wps:ResponseForm>`,
      ),
    );
    const location = doc(r.body).attrs.get('statusLocation')!;
    const seen = await poll(location, (st) => st === 'ProcessSucceeded');
    expect(new Set(seen.map((x) => statusOf(x).local))).toEqual(
      new Set(['ProcessAccepted', 'ProcessSucceeded']),
    );
  });

  it('status="true" without storeExecuteResponse is an exception; store on a sync-only process is StorageNotSupported', async () => {
    expectException(
      await post(
        s.wps,
        execute(
          'sleep',
          literalInput('seconds', '0'),
          `<wps:ResponseForm><wps:ResponseDocument status="true"/></wps:ResponseForm>`,
        ),
      ),
      400,
      'InvalidParameterValue',
      'status',
    );
    const sync = await startWpsServer({ manager: { enable_async_job_execution: false } });
    try {
      expectException(
        await post(
          sync.wps,
          execute(
            'sleep',
            literalInput('seconds', '0'),
            `<wps:ResponseForm><wps:ResponseDocument storeExecuteResponse="true" status="true"/></wps:ResponseForm>`,
          ),
        ),
        400,
        'StorageNotSupported',
      );
    } finally {
      await sync.close();
    }
  });

  it('a failed async job renders ProcessFailed; an unknown status document is a 404', async () => {
    const r = await post(
      s.wps,
      execute(
        'fail',
        literalInput('how', 'error'),
        `<wps:ResponseForm><wps:ResponseDocument storeExecuteResponse="true" status="true"/></wps:ResponseForm>`,
      ),
    );
    const seen = await poll(doc(r.body).attrs.get('statusLocation')!, (st) => st === 'ProcessFailed');
    expect(text(one(statusOf(seen.at(-1)!), 'ExceptionText'))).toBe('boom: the processor broke');
    expectException(
      await get(`${s.wps}/status/00000000-0000-4000-8000-000000000000.xml`),
      404,
      'InvalidParameterValue',
      'JobID',
    );
    expect((await get(`${s.wps}/outputs/00000000-0000-4000-8000-000000000000/x.txt`)).status).toBe(404);
    expect((await get(`${s.wps}/outputs/..%2F..%2Fetc/passwd`)).status).toBe(404);
  });

  it('jobs created outside WPS (through the core, as OGC API - Processes will) get a status document too', async () => {
    const job = await s.gateway.jobs.submit({
      processId: 'hello-world',
      inputs: { name: [{ type: 'literal', value: 'core' }] },
      mode: 'async',
    });
    const seen = await poll(`${s.wps}/status/${job.id}.xml`, (st) => st === 'ProcessSucceeded');
    expect(text(one(outputs(seen.at(-1)!).get('echo')!, 'LiteralData'))).toBe('Hello core!');
  });
});

describe('capacity and time limits', () => {
  it('a full queue answers ServerBusy with HTTP 503', async () => {
    const busy = await startWpsServer({ manager: { parallel_processes: 1, max_queued_jobs: 0 } });
    try {
      const async = `<wps:ResponseForm><wps:ResponseDocument storeExecuteResponse="true" status="true"/></wps:ResponseForm>`;
      const first = await post(busy.wps, execute('sleep', literalInput('seconds', '5'), async));
      expect(first.status).toBe(200);
      expectException(
        await post(busy.wps, execute('hello-world', literalInput('name', 'x'))),
        503,
        'ServerBusy',
      );
    } finally {
      await busy.close();
    }
  });

  it('a synchronous Execute past the sync timeout gets a clear exception and the job is cancelled', async () => {
    const slow = await startWpsServer({ manager: { sync_job_execution_timeout_seconds: 0.3 } });
    try {
      const e = expectException(
        await post(slow.wps, execute('sleep', literalInput('seconds', '20'))),
        500,
        'NoApplicableCode',
      );
      expect(text(e)).toMatch(/did not finish within the synchronous execution limit of 0.3 s/);
      const { jobs } = await slow.gateway.jobs.list({});
      expect((await slow.gateway.jobs.waitFor(jobs[0]!.id, 3000))?.status).toBe('failed');
    } finally {
      await slow.close();
    }
  });
});
