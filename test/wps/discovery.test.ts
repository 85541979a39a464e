import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NS } from '../../src/wps/xml.ts';
import {
  all,
  doc,
  expectException,
  expectValid,
  get,
  kids,
  one,
  post,
  startWpsServer,
  text,
  type WpsServer,
} from '../helpers/wps.ts';

let s: WpsServer;
beforeAll(async () => {
  s = await startWpsServer({ manager: { enable_async_job_execution: true } });
});
afterAll(() => s.close());

describe('GetCapabilities', () => {
  it('answers the QGIS request (mixed-case keys, empty identifier) with valid Capabilities', async () => {
    const r = await get(`${s.wps}?Request=GetCapabilities&identifier=&Service=WPS&Version=1.0.0`);
    expect(r.status).toBe(200);
    expect(r.contentType).toBe('text/xml');
    expectValid(r.body, 'capabilities');
    const caps = doc(r.body);
    expect([caps.ns, caps.local, caps.attrs.get('version')]).toEqual([NS.wps, 'Capabilities', '1.0.0']);
    // QGIS aligns processes by index: exactly one Title and one Abstract before the offerings.
    const si = one(caps, 'ServiceIdentification');
    expect(kids(si, 'Title')).toHaveLength(1);
    expect(kids(si, 'Abstract')).toHaveLength(1);
    const beforeOfferings = r.body.slice(0, r.body.indexOf('<wps:ProcessOfferings'));
    expect(beforeOfferings.match(/<ows:Title>/g)).toHaveLength(1);
    expect(beforeOfferings.match(/<ows:Abstract>/g)).toHaveLength(1);
    const processes = all(caps, 'Process');
    expect(processes.map((p) => text(one(p, 'Identifier')))).toEqual([
      'hello-world',
      'echo',
      'sleep',
      'fail',
      'crash',
      'stubborn',
    ]);
    for (const p of processes) {
      expect(kids(p, 'Title')).toHaveLength(1);
      expect(kids(p, 'Abstract')).toHaveLength(1);
      expect(p.attrs.get(`{${NS.wps}}processVersion`)).toBe('1.0.0');
    }
    const gets = all(caps, 'Get').map((g) => g.attrs.get(`{${NS.xlink}}href`));
    expect(gets).toEqual([`${s.wps}?`, `${s.wps}?`, `${s.wps}?`]);
    expect(all(caps, 'Post').map((g) => g.attrs.get(`{${NS.xlink}}href`))).toEqual([s.wps, s.wps, s.wps]);
    expect(text(one(one(caps, 'Default'), 'Language'))).toBe('en-US');
    expect(all(one(caps, 'Supported'), 'Language').map(text)).toEqual(['en-US', 'fr-CA']);
    // No provider name configured: the mandatory ProviderName falls back to the service title.
    expect(text(one(caps, 'ProviderName'))).toBe('WPS / OGC API - Processes gateway');
  });

  it('answers the OWSLib request and an XML POST the same way', async () => {
    const kvp = await get(`${s.wps}?service=WPS&request=GetCapabilities&version=1.0.0`);
    const xml = await post(
      s.wps,
      `<wps:GetCapabilities service="WPS" xmlns:wps="${NS.wps}" xmlns:ows="${NS.ows}"><wps:AcceptVersions><ows:Version>1.0.0</ows:Version></wps:AcceptVersions></wps:GetCapabilities>`,
    );
    expect(xml.status).toBe(200);
    expectValid(xml.body, 'capabilities');
    expect(xml.body).toBe(kvp.body);
  });

  it('negotiates versions and languages; tolerates AcceptFormats and updateSequence', async () => {
    for (const q of [
      'AcceptVersions=1.0.0',
      'aCcepTVersioNS=1.0.0',
      'AcceptVersions=2.0.0,1.0.0',
      'AcceptFormats=text/xml',
      'AcceptFormats=application/x-bxml',
      'updateSequence=5',
    ]) {
      const r = await get(`${s.wps}?service=WPS&request=GetCapabilities&${q}`);
      expect(r.status, q).toBe(200);
      expect(doc(r.body).attrs.get('version')).toBe('1.0.0');
    }
    for (const v of ['3.0.0', '0.0.1']) {
      expectException(
        await get(`${s.wps}?service=WPS&request=GetCapabilities&AcceptVersions=${v}`),
        400,
        'VersionNegotiationFailed',
      );
    }
    const fr = await get(`${s.wps}?service=WPS&request=GetCapabilities&language=fr-CA`);
    expect(doc(fr.body).attrs.get(`{${NS.xml}}lang`)).toBe('fr-CA');
    expectException(
      await get(`${s.wps}?service=WPS&request=GetCapabilities&language=de-DE`),
      400,
      'InvalidParameterValue',
      'language',
    );
  });
});

describe('DescribeProcess', () => {
  it('describes literal inputs with data type, allowed ranges, units; outputs too', async () => {
    const r = await get(`${s.wps}?service=WPS&request=DescribeProcess&version=1.0.0&identifier=sleep`);
    expect(r.status).toBe(200);
    expectValid(r.body, 'describe');
    const pd = doc(r.body);
    const description = kids(pd, 'ProcessDescription');
    expect(description).toHaveLength(1);
    expect(description[0]!.ns).toBe(''); // unqualified, as the XSD has it (OWSLib, QGIS)
    expect(description[0]!.attrs.get('storeSupported')).toBe('true');
    expect(description[0]!.attrs.get('statusSupported')).toBe('true');
    const input = one(pd, 'Input');
    expect([input.ns, input.attrs.get('minOccurs'), input.attrs.get('maxOccurs')]).toEqual(['', '1', '1']);
    const dataType = one(input, 'DataType');
    expect(text(dataType)).toBe('double');
    expect(dataType.attrs.get(`{${NS.ows}}reference`)).toBe('http://www.w3.org/TR/xmlschema-2/#double');
    const range = one(input, 'Range');
    expect(range.attrs.get(`{${NS.ows}}rangeClosure`)).toBe('closed');
    expect([text(one(range, 'MinimumValue')), text(one(range, 'MaximumValue'))]).toEqual(['0', '60']);
    expect(text(one(one(input, 'UOMs'), 'UOM'))).toBe('s');
    expect(text(one(one(pd, 'LiteralOutput'), 'DataType'))).toBe('double');
  });

  it('describes complex and bounding-box inputs, AnyValue, occurrences; a comma list and ALL', async () => {
    const r = await get(
      `${s.wps}?service=WPS&request=DescribeProcess&version=1.0.0&identifier=echo,hello-world`,
    );
    expectValid(r.body, 'describe');
    const pds = kids(doc(r.body), 'ProcessDescription');
    expect(pds.map((p) => text(kids(p, 'Identifier')[0]!))).toEqual(['echo', 'hello-world']);
    const inputs = all(pds[0]!, 'Input');
    const byId = (id: string) => inputs.find((i) => text(kids(i, 'Identifier')[0]!) === id)!;
    expect(all(byId('stringInput'), 'AnyValue')).toHaveLength(1);
    expect(byId('arrayInput').attrs.get('maxOccurs')).toBe('1000');
    expect(byId('arrayInput').attrs.get('minOccurs')).toBe('0');
    const complex = one(byId('complexInput'), 'ComplexData');
    expect(text(one(one(complex, 'Default'), 'MimeType'))).toBe('application/json');
    expect(all(one(complex, 'Supported'), 'MimeType').map(text)).toEqual([
      'application/json',
      'text/xml',
      'application/gml+xml',
      'text/plain',
    ]);
    const bbox = one(byId('bboxInput'), 'BoundingBoxData');
    expect(text(one(one(bbox, 'Default'), 'CRS'))).toBe('EPSG:4326');
    expect(all(one(bbox, 'Supported'), 'CRS').map(text)).toEqual([
      'EPSG:4326',
      'http://www.opengis.net/def/crs/OGC/1.3/CRS84',
      'EPSG:3857',
    ]);
    expect(one(pds[0]!, 'BoundingBoxOutput')).toBeDefined();

    const everything = await get(`${s.wps}?service=WPS&request=DescribeProcess&version=1.0.0&identifier=ALL`);
    expectValid(everything.body, 'describe');
    expect(kids(doc(everything.body), 'ProcessDescription')).toHaveLength(6);
  });

  it('describes a process named many times once (no response, or cache entry, grows with the repeats)', async () => {
    const once = await get(
      `${s.wps}?service=WPS&request=DescribeProcess&version=1.0.0&identifier=hello-world`,
    );
    const names = Array.from({ length: 1000 }, (_, i) => (i % 2 ? 'hello-world' : 'echo'));
    const repeated = await get(
      `${s.wps}?service=WPS&request=DescribeProcess&version=1.0.0&identifier=${names.join(',')}`,
    );
    expectValid(repeated.body, 'describe');
    const pds = kids(doc(repeated.body), 'ProcessDescription');
    expect(pds.map((p) => text(kids(p, 'Identifier')[0]!))).toEqual(['echo', 'hello-world']);
    expect(repeated.body.length).toBeLessThan(10 * once.body.length);
    const byPost = await post(
      s.wps,
      `<wps:DescribeProcess service="WPS" version="1.0.0" xmlns:wps="${NS.wps}" xmlns:ows="${NS.ows}">${'<ows:Identifier>hello-world</ows:Identifier>'.repeat(5000)}</wps:DescribeProcess>`,
    );
    expect(byPost.status).toBe(200);
    expect(kids(doc(byPost.body), 'ProcessDescription')).toHaveLength(1);
  });

  it('answers an XML POST DescribeProcess', async () => {
    const r = await post(
      s.wps,
      `<wps:DescribeProcess service="WPS" version="1.0.0" xmlns:wps="${NS.wps}" xmlns:ows="${NS.ows}"><ows:Identifier>hello-world</ows:Identifier></wps:DescribeProcess>`,
    );
    expect(r.status).toBe(200);
    expectValid(r.body, 'describe');
    expect(text(one(doc(r.body), 'Identifier'))).toBe('hello-world');
  });

  it('storeSupported/statusSupported tell the truth for a sync-only process', async () => {
    const sync = await startWpsServer({ manager: { enable_async_job_execution: false } });
    try {
      const r = await get(`${sync.wps}?service=WPS&request=DescribeProcess&version=1.0.0&identifier=echo`);
      const pd = one(doc(r.body), 'ProcessDescription');
      expect([pd.attrs.get('storeSupported'), pd.attrs.get('statusSupported')]).toEqual(['false', 'false']);
    } finally {
      await sync.close();
    }
  });

  it('errors: unknown process, missing identifier, missing or wrong version', async () => {
    const q = `${s.wps}?service=WPS&request=DescribeProcess`;
    expectException(
      await get(`${q}&version=1.0.0&identifier=nope`),
      400,
      'InvalidParameterValue',
      'Identifier',
    );
    expectException(
      await get(`${q}&version=1.0.0&identifier=echo,nope`),
      400,
      'InvalidParameterValue',
      'Identifier',
    );
    expectException(await get(`${q}&version=1.0.0&identifier=`), 400, 'MissingParameterValue', 'identifier');
    expectException(await get(`${q}&identifier=echo`), 400, 'MissingParameterValue', 'version');
    expectException(await get(`${q}&version=2.0.0&identifier=echo`), 400, 'InvalidParameterValue', 'version');
  });
});

describe('protocol errors', () => {
  it('a bare GET answers MissingParameterValue for service, well-formed and with a Content-Type', async () => {
    expectException(await get(s.wps), 400, 'MissingParameterValue', 'service');
  });

  it('service, request and routing', async () => {
    expectException(await get(`${s.wps}?request=GetCapabilities`), 400, 'MissingParameterValue', 'service');
    expectException(
      await get(`${s.wps}?service=WFS&request=GetCapabilities`),
      400,
      'InvalidParameterValue',
      'service',
    );
    expectException(await get(`${s.wps}?service=WPS`), 400, 'MissingParameterValue', 'request');
    expectException(
      await get(`${s.wps}?service=WPS&request=GetFeature`),
      400,
      'OperationNotSupported',
      'GetFeature',
    );
    // Other query parameters never change the routing (QGIS keeps e.g. map=).
    const r = await get(`${s.wps}?map=/x.map&service=wps&request=getcapabilities`);
    expect(r.status).toBe(200);
  });

  it('POST with an empty body, KVP by POST, malformed XML, a non-WPS document', async () => {
    expectException(await post(s.wps, ''), 400, 'NoApplicableCode');
    expectException(
      await post(s.wps, 'service=WPS&request=GetCapabilities', 'application/x-www-form-urlencoded'),
      400,
      'NoApplicableCode',
    );
    expectException(
      await post(s.wps, 'service=WPS&request=GetCapabilities', 'text/plain'),
      400,
      'NoApplicableCode',
    );
    const bad = expectException(
      await post(s.wps, '<wps:Execute xmlns:wps="x"><unclosed></wps:Execute>'),
      400,
      'NoApplicableCode',
    );
    expect(text(bad)).toMatch(/Malformed XML/);
    expectException(await post(s.wps, '<foo/>'), 400, 'OperationNotSupported', 'foo');
    expectException(
      await post(s.wps, `<wps:GetCapabilities xmlns:wps="${NS.wps}"/>`),
      400,
      'MissingParameterValue',
      'service',
    );
  });

  it('refuses DTDs: an XXE body reads nothing from disk, billion laughs expands nothing, the server keeps answering', async () => {
    const xxe = `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><wps:GetCapabilities service="WPS" xmlns:wps="${NS.wps}">&x;</wps:GetCapabilities>`;
    const r1 = await post(s.wps, xxe);
    expectException(r1, 400, 'NoApplicableCode');
    expect(r1.body).not.toMatch(/root:/);
    const lol = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">${Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i || ''};`.repeat(10)}">`).join('')}]><lolz>&lol9;</lolz>`;
    const t0 = Date.now();
    expectException(await post(s.wps, lol), 400, 'NoApplicableCode');
    expect(Date.now() - t0).toBeLessThan(1000);
    expect((await get(`${s.wps}?service=WPS&request=GetCapabilities`)).status).toBe(200);
  });

  it('bounds request bodies by maxrequestsize', async () => {
    const small = await startWpsServer({ extraServer: ['  max_request_size: 2kb'] });
    try {
      const body = `<wps:GetCapabilities service="WPS" xmlns:wps="${NS.wps}"><!--${'x'.repeat(5000)}--></wps:GetCapabilities>`;
      expectException(await post(small.wps, body), 400, 'FileSizeExceeded', 'request');
    } finally {
      await small.close();
    }
  });
});
