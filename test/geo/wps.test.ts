import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SchemaLibrary } from '../../src/xml-schema/library.ts';
import { XsdContentValidator } from '../../src/xml-schema/xsd-validator.ts';
import {
  all,
  expectException,
  doc,
  execute,
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
import { FIXTURES } from '../helpers/gateway.ts';
import { mercator } from '../helpers/mercator.ts';
import { describeWithOgc, OGC_SCHEMAS } from '../helpers/ogc-schemas.ts';

/** KML 2.2 (installed by .ci/setup.sh), the OGC schemas (GML 2.1.2, 3.1.1) and the test application schemas. */
const KML_DIR = fileURLToPath(new URL('../../.schemas/', import.meta.url));
const APP_SCHEMAS = path.join(FIXTURES, 'schemas');

let s: WpsServer;
beforeAll(async () => {
  s = await startWpsServer({
    processes: ['buffer', 'bbox-transform', 'area'],
    extraServer: [`  schema_dirs: [${KML_DIR}, ${OGC_SCHEMAS}, ${APP_SCHEMAS}]`],
    // The same processor published again with VERYSTRICT validation of its complex inputs.
    extraResources: [
      '  buffer-verystrict:\n    type: process\n    validation_mode: VERYSTRICT\n    processor: {name: buffer}',
    ],
  });
});
afterAll(() => s.close());

const wktInput = (id: string, wkt: string) =>
  `<wps:Input><ows:Identifier>${id}</ows:Identifier><wps:Data><wps:ComplexData mimeType="application/wkt">${wkt}</wps:ComplexData></wps:Data></wps:Input>`;

describe('geospatial processes over WPS', () => {
  it('DescribeProcess shows the formats, CRSs and allowed values', async () => {
    const r = await get(
      `${s.wps}?service=WPS&request=DescribeProcess&version=1.0.0&identifier=buffer,bbox-transform`,
    );
    expectValid(r.body, 'describe');
    const [buffer, bbox] = kids(doc(r.body), 'ProcessDescription');
    const data = one(buffer!, 'ComplexData');
    expect(text(one(one(data, 'Default'), 'MimeType'))).toBe('application/geo+json');
    expect(all(one(data, 'Supported'), 'MimeType').map(text)).toEqual([
      'application/geo+json',
      'application/json',
      'application/gml+xml',
      'text/xml; subtype=gml/3.1.1',
      'text/xml; subtype=gml/2.1.2',
      'text/xml',
      'application/vnd.google-earth.kml+xml',
      'application/x-zipped-shp',
      'application/wkt',
    ]);
    const quadsegs = all(buffer!, 'Input').find((i) => text(kids(i, 'Identifier')[0]!) === 'quadsegs')!;
    expect([
      text(one(quadsegs, 'MinimumValue')),
      text(one(quadsegs, 'MaximumValue')),
      text(one(quadsegs, 'DefaultValue')),
    ]).toEqual(['1', '64', '30']);
    expect(all(one(one(bbox!, 'BoundingBoxData'), 'Supported'), 'CRS').map(text)).toEqual([
      'EPSG:4326',
      'EPSG:3857',
    ]);
    const target = all(bbox!, 'Input').find((i) => text(kids(i, 'Identifier')[0]!) === 'target_crs')!;
    expect(all(target, 'Value').map(text)).toEqual(['EPSG:4326', 'EPSG:3857']);
  });

  it('OpenLayers 2: buffer with a WKT input and a RawDataOutput of application/wkt', async () => {
    const r = await post(
      s.wps,
      execute(
        'buffer',
        wktInput('data', 'POINT(3 4)') + literalInput('distance', '1') + literalInput('quadsegs', '1'),
        `<wps:ResponseForm><wps:RawDataOutput mimeType="application/wkt"><ows:Identifier>buffered</ows:Identifier></wps:RawDataOutput></wps:ResponseForm>`,
      ),
    );
    expect([r.status, r.contentType, r.body]).toEqual([
      200,
      'application/wkt',
      'POLYGON ((4 4,3 3,2 4,3 5,4 4))',
    ]);
  });

  it('asynchronously, with the result as a GML reference', async () => {
    const r = await post(
      s.wps,
      execute(
        'buffer',
        wktInput('data', 'POINT(3 4)') + literalInput('distance', '1'),
        `<wps:ResponseForm><wps:ResponseDocument storeExecuteResponse="true" status="true"><wps:Output asReference="true" mimeType="application/gml+xml"><ows:Identifier>buffered</ows:Identifier></wps:Output></wps:ResponseDocument></wps:ResponseForm>`,
      ),
    );
    const location = doc(r.body).attrs.get('statusLocation')!;
    let body = '';
    for (let i = 0; i < 100; i++) {
      body = (await get(location)).body;
      if (/ProcessSucceeded|ProcessFailed/.test(body)) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    expectValid(body, 'execute');
    const ref = one(doc(body), 'Reference');
    expect(ref.attrs.get('mimeType')).toBe('application/gml+xml');
    const gml = await get(ref.attrs.get('href')!);
    expect(gml.contentType).toBe('application/gml+xml');
    expect(gml.body).toMatch(/<gml:(Polygon|MultiPolygon|Surface|MultiSurface)/);
  });

  it('bounding boxes in and out', async () => {
    const r = await post(
      s.wps,
      execute(
        'bbox-transform',
        `<wps:Input><ows:Identifier>bbox</ows:Identifier><wps:Data><wps:BoundingBoxData crs="urn:ogc:def:crs:EPSG::4326" dimensions="2"><ows:LowerCorner>0 0</ows:LowerCorner><ows:UpperCorner>1 1</ows:UpperCorner></wps:BoundingBoxData></wps:Data></wps:Input>` +
          literalInput('target_crs', 'EPSG:3857'),
      ),
    );
    expectValid(r.body, 'execute');
    const box = one(doc(r.body), 'BoundingBoxData');
    expect(box.attrs.get('crs')).toBe('EPSG:3857');
    const upper = text(one(box, 'UpperCorner')).split(' ').map(Number);
    const [x1, y1] = mercator(1, 1);
    expect(upper[0]).toBeCloseTo(x1, 5);
    expect(upper[1]).toBeCloseTo(y1, 5);
  });
});

describe('VERYSTRICT over WPS (validation_mode in the configuration)', () => {
  const KML = 'application/vnd.google-earth.kml+xml';
  const KML_XSD = 'http://schemas.opengis.net/kml/2.2.0/ogckml22.xsd';
  const complexInput = (mimeType: string, body: string, attrs = '') =>
    `<wps:Input><ows:Identifier>data</ows:Identifier><wps:Data><wps:ComplexData mimeType="${mimeType}"${attrs}>${body}</wps:ComplexData></wps:Data></wps:Input>`;
  const placemark = (inner: string) =>
    `<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark>${inner}<Point><coordinates>3,4</coordinates></Point></Placemark></Document></kml>`;
  const raw = (mimeType: string) =>
    `<wps:ResponseForm><wps:RawDataOutput mimeType="${mimeType}"><ows:Identifier>buffered</ows:Identifier></wps:RawDataOutput></wps:ResponseForm>`;
  const buffer = (process: string, data: string, out = KML) =>
    post(
      s.wps,
      execute(process, data + literalInput('distance', '1') + literalInput('quadsegs', '2'), raw(out)),
    );

  it('DescribeProcess names the KML schema the content is checked against', async () => {
    const r = await get(
      `${s.wps}?service=WPS&request=DescribeProcess&version=1.0.0&identifier=buffer-verystrict`,
    );
    expectValid(r.body, 'describe');
    const kml = all(one(one(doc(r.body), 'ComplexData'), 'Supported'), 'Format').find(
      (f) => text(one(f, 'MimeType')) === KML,
    )!;
    expect(text(one(kml, 'Schema'))).toBe(KML_XSD);
  });

  it('valid KML runs, and the KML the process writes validates against the official schema too', async () => {
    const r = await buffer('buffer-verystrict', complexInput(KML, placemark('<name>p</name>')));
    expect([r.status, r.contentType]).toEqual([200, KML]);
    expect(r.body).toMatch(/<Polygon>/);
    const xsd = new XsdContentValidator(new SchemaLibrary([s.gateway.config.server.schemaDirs[0]!]));
    expect(xsd.validate(r.body, [KML_XSD])).toEqual({ ok: true });
  });

  it('KML that GDAL would read but the schema forbids: runs under STRICT, refused under VERYSTRICT', async () => {
    const sloppy = complexInput(KML, placemark('<title>not a KML element</title>'));
    const strict = await buffer('buffer', sloppy);
    expect(strict.status, strict.body).toBe(200);
    const refused = await buffer('buffer-verystrict', sloppy);
    const e = expectException(refused, 400, 'InvalidParameterValue', 'data');
    expect(text(one(e, 'ExceptionText'))).toMatch(/does not validate against .*ogckml22\.xsd.*title/);
  });

  it('GML whose application schema is not installed is refused under VERYSTRICT, naming that schema', async () => {
    const missing = 'http://example.org/gateway-test/not-installed.xsd';
    const gml = `<gml:FeatureCollection xmlns:gml="http://www.opengis.net/gml" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://example.org/x ${missing}"><gml:featureMember><gml:Point><gml:pos>3 4</gml:pos></gml:Point></gml:featureMember></gml:FeatureCollection>`;
    const e = expectException(
      await buffer('buffer-verystrict', complexInput('text/xml; subtype=gml/3.1.1', gml), 'application/wkt'),
      400,
      'InvalidParameterValue',
      'data',
    );
    expect(text(one(e, 'ExceptionText'))).toMatch(
      /the schema .*example\.org\/gateway-test\/not-installed\.xsd.* is not available on this server/,
    );
  });

  it('GeoJSON against the RFC 7946 schema: valid runs, invalid is refused', async () => {
    const point = (coordinates: string) =>
      complexInput('application/geo+json', `{"type":"Point","coordinates":${coordinates}}`);
    const ok = await buffer('buffer-verystrict', point('[3,4]'), 'application/wkt');
    expect([ok.status, ok.body.startsWith('POLYGON')]).toEqual([200, true]);
    const bad = await buffer('buffer-verystrict', point('"3,4"'), 'application/wkt');
    expectException(bad, 400, 'InvalidParameterValue', 'data');
  });

  // GML 2.1.2 and 3.1.1 from the OGC schemas, with application schemas from test/fixtures/schemas.
  describeWithOgc('schemas/gml')('GML 2.1.2 and 3.1.1 (OGC schemas and an application schema)', () => {
    const GML3 = 'text/xml; subtype=gml/3.1.1';
    const GML2 = 'text/xml; subtype=gml/2.1.2';
    const XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"';
    const gml3 = (site: string) =>
      `<gml:FeatureCollection xmlns:gml="http://www.opengis.net/gml" xmlns:app="http://example.org/gateway-test/sites" ${XSI} xsi:schemaLocation="http://example.org/gateway-test/sites http://example.org/gateway-test/sites-gml3.xsd"><gml:featureMember>${site}</gml:featureMember></gml:FeatureCollection>`;
    const gml2 = (site: string) =>
      `<app:Sites xmlns:gml="http://www.opengis.net/gml" xmlns:app="http://example.org/gateway-test/sites2" ${XSI} xsi:schemaLocation="http://example.org/gateway-test/sites2 http://example.org/gateway-test/sites-gml2.xsd"><gml:boundedBy><gml:null>unknown</gml:null></gml:boundedBy><gml:featureMember>${site}</gml:featureMember></app:Sites>`;
    const site = (label: string, point: string) =>
      `<app:Site>${label}<app:location><gml:Point srsName="EPSG:4326">${point}</gml:Point></app:location></app:Site>`;
    const LABEL = '<app:label>a well</app:label>';
    const POS = '<gml:pos>3 4</gml:pos>';
    const COORDINATES = '<gml:coordinates>3,4</gml:coordinates>';

    /** The buffer of the point (3 4) by 1, as WKT: its envelope is (2 3, 4 5) if GDAL read the point sent. */
    const expectBufferOf34 = (r: { status: number; body: string }) => {
      expect(r.status, r.body).toBe(200);
      const numbers = [...r.body.matchAll(/(-?[\d.]+) (-?[\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
      expect(r.body).toMatch(/^POLYGON/);
      expect([
        Math.min(...numbers.map((p) => p[0]!)),
        Math.min(...numbers.map((p) => p[1]!)),
        Math.max(...numbers.map((p) => p[0]!)),
        Math.max(...numbers.map((p) => p[1]!)),
      ]).toEqual([2, 3, 4, 5]);
    };
    const refusal = async (mimeType: string, body: string) =>
      text(
        one(
          expectException(
            await buffer('buffer-verystrict', complexInput(mimeType, body), 'application/wkt'),
            400,
            'InvalidParameterValue',
            'data',
          ),
          'ExceptionText',
        ),
      );

    it('GML 3.1.1 valid against GML and its application schema runs', async () => {
      expectBufferOf34(
        await buffer('buffer-verystrict', complexInput(GML3, gml3(site(LABEL, POS))), 'application/wkt'),
      );
    });

    it('GML 2.1.2 valid against GML and its application schema runs', async () => {
      expectBufferOf34(
        await buffer(
          'buffer-verystrict',
          complexInput(GML2, gml2(site(LABEL, COORDINATES))),
          'application/wkt',
        ),
      );
    });

    it('GML 3.1.1 that GDAL reads but the application schema forbids: runs under STRICT, refused under VERYSTRICT', async () => {
      const noLabel = gml3(site('', POS));
      expectBufferOf34(await buffer('buffer', complexInput(GML3, noLabel), 'application/wkt'));
      expect(await refusal(GML3, noLabel)).toMatch(
        /does not validate against .*gml\/3\.1\.1\/base\/feature\.xsd \(line 1: .*location.*not expected/,
      );
    });

    it('GML 3.1.1 that breaks GML itself is refused: a feature member that is no feature, a bad coordinate', async () => {
      const bare = `<gml:FeatureCollection xmlns:gml="http://www.opengis.net/gml"><gml:featureMember><gml:Point><gml:pos>3 4</gml:pos></gml:Point></gml:featureMember></gml:FeatureCollection>`;
      expect(await refusal(GML3, bare)).toMatch(/Point.*not expected/);
      expect(await refusal(GML3, gml3(site(LABEL, '<gml:pos>3 north</gml:pos>')))).toMatch(
        /'north' is not a valid value of the atomic type 'xs:double'/,
      );
    });

    it('GML 3 content declared as GML 2.1.2: runs under STRICT, refused under VERYSTRICT by the GML 2 schema', async () => {
      const gml3Point = gml2(site(LABEL, POS));
      expectBufferOf34(await buffer('buffer', complexInput(GML2, gml3Point), 'application/wkt'));
      expect(await refusal(GML2, gml3Point)).toMatch(
        /does not validate against .*gml\/2\.1\.2\/feature\.xsd .*pos.*not expected/,
      );
    });
  });
});
