import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPrivateAddress } from '../../src/references/address-policy.ts';
import { isInside } from '../../src/references/fetch.ts';
import {
  execute,
  expectException,
  expectValid,
  literalInput,
  one,
  post,
  doc,
  all,
  kids,
  text,
  startWpsServer,
  type WpsServer,
} from '../helpers/wps.ts';

let origin: Server;
let originUrl: string;
const posted: string[] = [];
const hits = { counted: 0, maxInFlight: 0 };
let inFlight = 0;
const files = mkdtempSync(path.join(tmpdir(), 'gw-refs-'));

beforeAll(async () => {
  origin = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      if (req.url === '/doc.json') {
        res.setHeader('Content-Type', 'application/json; charset=utf-8');
        res.end('{"from":"reference"}');
      } else if (req.url === '/echo' && req.method === 'POST') {
        posted.push(`${req.headers['x-token'] ?? ''}|${body}`);
        res.setHeader('Content-Type', 'text/plain');
        res.end(`posted:${body}`);
      } else if (req.url === '/redirect') {
        res.statusCode = 302;
        res.setHeader('Location', '/doc.json');
        res.end();
      } else if (req.url === '/to-file') {
        res.statusCode = 302;
        res.setHeader('Location', 'file:///etc/passwd');
        res.end();
      } else if (req.url?.startsWith('/counted')) {
        hits.counted++;
        inFlight++;
        hits.maxInFlight = Math.max(hits.maxInFlight, inFlight);
        setTimeout(() => {
          inFlight--;
          res.end('"x"'.padEnd(1500, ' '));
        }, 150);
      } else if (req.url === '/big') {
        res.end('x'.repeat(5000));
      } else if (req.url === '/slow') {
        setTimeout(() => res.end('late'), 3000);
      } else if (req.url === '/literal') {
        res.end(' 0.25 \n');
      } else {
        res.statusCode = 404;
        res.end('no');
      }
    });
  });
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  originUrl = `http://127.0.0.1:${(origin.address() as { port: number }).port}`;
  mkdirSync(path.join(files, 'pub'));
  mkdirSync(path.join(files, 'public-secret'));
  writeFileSync(path.join(files, 'pub', 'ok.json'), '{"from":"file"}');
  writeFileSync(path.join(files, 'public-secret', 'secret.json'), '{"secret":true}');
  symlinkSync(path.join(files, 'public-secret', 'secret.json'), path.join(files, 'pub', 'link.json'));
});

let s: WpsServer;
beforeAll(async () => {
  s = await startWpsServer({
    extraServer: [
      `  allowed_input_paths: [${path.join(files, 'pub')}]`,
      '  allowed_reference_hosts: [127.0.0.1]',
      '  reference_timeout_seconds: 1',
      '  max_single_input_size: 2kb',
    ],
  });
});
afterAll(async () => {
  await s.close();
  origin.close();
  rmSync(files, { recursive: true, force: true });
});

const ref = (href: string, attrs = '', inner = '') =>
  `<wps:Input><ows:Identifier>complexInput</ows:Identifier><wps:Reference xlink:href="${href.replace(/&/g, '&amp;')}"${attrs}>${inner}</wps:Reference></wps:Input>`;
const run = (inputs: string, server = s) =>
  post(server.wps, execute('echo', literalInput('stringInput', 's') + inputs));
const complexOut = (xml: string) => {
  const out = all(one(doc(xml), 'ProcessOutputs'), 'Output').find(
    (o) => text(kids(o, 'Identifier')[0]!) === 'complexOutput',
  )!;
  return one(out, 'ComplexData');
};

describe('reference inputs', () => {
  it('GET by xlink:href, with the media type the server declares', async () => {
    const r = await run(ref(`${originUrl}/doc.json`));
    expect(r.status, r.body).toBe(200);
    expectValid(r.body, 'execute');
    const cx = complexOut(r.body);
    expect([cx.attrs.get('mimeType'), text(cx)]).toEqual(['application/json', '{"from":"reference"}']);
  });

  it('POST with a wps:Body and headers; redirects are followed', async () => {
    const r = await run(
      ref(
        `${originUrl}/echo`,
        ' method="POST" mimeType="text/plain"',
        '<wps:Header key="X-Token" value="t1"/><wps:Body>hello body</wps:Body>',
      ),
    );
    expect(text(complexOut(r.body))).toBe('posted:hello body');
    expect(posted).toContain('t1|hello body');
    const viaBodyReference = await run(
      ref(
        `${originUrl}/echo`,
        ' method="POST" mimeType="text/plain"',
        `<wps:BodyReference xlink:href="${originUrl}/doc.json"/>`,
      ),
    );
    expect(text(complexOut(viaBodyReference.body))).toBe('posted:{"from":"reference"}');
    const redirected = await run(ref(`${originUrl}/redirect`));
    expect(text(complexOut(redirected.body))).toBe('{"from":"reference"}');
  });

  it('a literal input by reference takes the fetched text; KVP references work too', async () => {
    const r = await post(
      s.wps,
      execute(
        'sleep',
        `<wps:Input><ows:Identifier>seconds</ows:Identifier><wps:Reference xlink:href="${originUrl}/literal"/></wps:Input>`,
      ),
    );
    expect(text(one(doc(r.body), 'LiteralData'))).toBe('0.25');
    const kvp = await fetch(
      `${s.wps}?service=WPS&request=Execute&version=1.0.0&identifier=echo&DataInputs=stringInput=s;complexInput=@xlink:href=${encodeURIComponent(`${originUrl}/doc.json`)}@mimeType=application/json&RawDataOutput=complexOutput`,
    );
    expect(await kvp.text()).toBe('{"from":"reference"}');
  });

  it('errors: HTTP 404, too large, too slow, a bad URL, a redirect to another scheme', async () => {
    expect(
      text(
        expectException(await run(ref(`${originUrl}/missing`)), 400, 'InvalidParameterValue', 'complexInput'),
      ),
    ).toMatch(/answered HTTP 404/);
    expectException(await run(ref(`${originUrl}/big`)), 400, 'FileSizeExceeded', 'complexInput');
    const t0 = Date.now();
    expect(
      text(
        expectException(await run(ref(`${originUrl}/slow`)), 400, 'InvalidParameterValue', 'complexInput'),
      ),
    ).toMatch(/could not be fetched: no complete HTTP response within the 1 s limit/);
    expect(Date.now() - t0).toBeLessThan(2500);
    expectException(await run(ref('not a url')), 400, 'InvalidParameterValue', 'complexInput');
    expectException(await run(ref('ftp://example.org/x')), 400, 'InvalidParameterValue', 'complexInput');
    expect(
      text(
        expectException(await run(ref(`${originUrl}/to-file`)), 400, 'InvalidParameterValue', 'complexInput'),
      ),
    ).toMatch(/scheme file: is not allowed/);
  });

  it('file:// only inside the allowed input paths, on real path boundaries', async () => {
    const ok = await run(ref(`file://${path.join(files, 'pub', 'ok.json')}`, ' mimeType="application/json"'));
    expect(text(complexOut(ok.body))).toBe('{"from":"file"}');
    for (const href of [
      `file://${path.join(files, 'public-secret', 'secret.json')}`, // shares the prefix /pub, not the folder
      `file://${path.join(files, 'pub', '..', 'public-secret', 'secret.json')}`,
      `file://${path.join(files, 'pub', 'link.json')}`, // a symlink out of the folder
      'file:///etc/passwd',
      `file://${path.join(files, 'pub', 'nope.json')}`,
    ]) {
      const r = await run(ref(href, ' mimeType="application/json"'));
      expectException(r, 400, 'InvalidParameterValue', 'complexInput');
      expect(r.body).not.toMatch(/"secret"/); // the content, not the path the client named
    }
  });

  it('private and loopback addresses are refused unless the host is allowed', async () => {
    const strict = await startWpsServer();
    try {
      const r = await run(ref(`${originUrl}/doc.json`), strict);
      expect(text(expectException(r, 400, 'InvalidParameterValue', 'complexInput'))).toMatch(
        /private address/,
      );
      expectException(
        await run(ref(`http://localhost:${new URL(originUrl).port}/doc.json`), strict),
        400,
        'InvalidParameterValue',
        'complexInput',
      );
      expectException(
        await run(ref(`file://${path.join(files, 'pub', 'ok.json')}`), strict),
        400,
        'InvalidParameterValue',
        'complexInput',
      );
    } finally {
      await strict.close();
    }
  });

  it('nothing is fetched for a request that is invalid: unknown inputs, too many values, a bad literal', async () => {
    hits.counted = 0;
    const many = Array.from(
      { length: 300 },
      (_, i) =>
        `<wps:Input><ows:Identifier>nope</ows:Identifier><wps:Reference xlink:href="${originUrl}/counted/${i}"/></wps:Input>`,
    ).join('');
    expectException(await run(many), 400, 'InvalidParameterValue', 'nope');
    // A valid reference beside an invalid inline value: refused before anything is fetched.
    const mixed = await post(
      s.wps,
      execute(
        'echo',
        literalInput('stringInput', 's') +
          literalInput('pause', 'not a number') +
          ref(`${originUrl}/counted/a`, ' mimeType="application/json"'),
      ),
    );
    expectException(mixed, 400, 'InvalidParameterValue', 'pause');
    // A bounding box cannot come by reference.
    const bbox = await post(
      s.wps,
      execute(
        'echo',
        literalInput('stringInput', 's') +
          `<wps:Input><ows:Identifier>bboxInput</ows:Identifier><wps:Reference xlink:href="${originUrl}/counted/b"/></wps:Input>`,
      ),
    );
    expectException(bbox, 400, 'InvalidParameterValue', 'bboxInput');
    expect(hits.counted).toBe(0);
  });

  it('an asynchronous Execute is answered before its references are fetched; a refused one fails the job', async () => {
    const asyncDoc = (inputs: string) =>
      execute(
        'echo',
        literalInput('stringInput', 's') + inputs,
        '<wps:ResponseForm><wps:ResponseDocument storeExecuteResponse="true" status="true"/></wps:ResponseForm>',
      );
    const t0 = Date.now();
    const r = await post(s.wps, asyncDoc(ref(`${originUrl}/slow`)));
    expect(Date.now() - t0).toBeLessThan(900);
    expect(r.status, r.body).toBe(200);
    expect(r.body).toMatch(/ProcessAccepted/);
    const location = doc(r.body).attrs.get('statusLocation')!;
    let status = '';
    for (let i = 0; i < 50 && !/ProcessFailed|ProcessSucceeded/.test(status); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      status = (await fetch(location).then((x) => x.text())) ?? '';
    }
    expect(status).toMatch(/ProcessFailed/);
    expect(status).toMatch(
      /exceptionCode="InvalidParameterValue"[^>]*locator="complexInput"|locator="complexInput"[^>]*exceptionCode="InvalidParameterValue"/,
    );
    expect(status).toMatch(/could not be fetched/);
  });

  it('the references of one job are fetched at most four at a time, within one byte budget', async () => {
    hits.counted = 0;
    hits.maxInFlight = 0;
    const values = Array.from(
      { length: 10 },
      (_, i) =>
        `<wps:Input><ows:Identifier>arrayInput</ows:Identifier><wps:Reference xlink:href="${originUrl}/counted/${i}"/></wps:Input>`,
    ).join('');
    const r = await run(values);
    expect(r.status, r.body).toBe(200);
    expect(hits.counted).toBe(10);
    expect(hits.maxInFlight).toBeGreaterThan(1);
    expect(hits.maxInFlight).toBeLessThanOrEqual(4);
    // 1.5 kB each under a 2 kB single-input cap, but 10 of them exceed a 6 kB budget for the job.
    const tight = await startWpsServer({
      extraServer: [
        '  allowed_reference_hosts: [127.0.0.1]',
        '  max_single_input_size: 2kb',
        '  max_request_size: 6kb',
      ],
    });
    try {
      const over = await run(values, tight);
      expect(text(expectException(over, 400, 'FileSizeExceeded', 'arrayInput'))).toMatch(/in all/);
    } finally {
      await tight.close();
    }
  });

  it('address and path policies', () => {
    for (const a of [
      '127.0.0.1',
      '10.1.2.3',
      '172.20.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '::1',
      'fe80::1',
      'fd00::1',
      '::ffff:127.0.0.1',
      '0.0.0.0',
    ]) {
      expect(isPrivateAddress(a), a).toBe(true);
    }
    for (const a of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111'])
      expect(isPrivateAddress(a), a).toBe(false);
    expect(isInside('/data/pub', '/data/pub/a/b')).toBe(true);
    expect(isInside('/data/pub', '/data/pub')).toBe(true);
    expect(isInside('/data/pub', '/data/public-secret/x')).toBe(false);
    expect(isInside('/data/pub', '/data')).toBe(false);
  });
});
