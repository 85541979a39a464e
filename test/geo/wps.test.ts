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

let s: WpsServer;
beforeAll(async () => {
  s = await startWpsServer({
    processes: ['buffer', 'bbox-transform', 'area'],
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
    ]).toEqual(['1', '64', '8']);
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
    expect(upper[0]).toBeCloseTo(111319.49079327357, 5);
    expect(upper[1]).toBeCloseTo(111325.1428663851, 5);
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

  it('GML 3.1.1 with no local GML schema is refused under VERYSTRICT, saying which schema is missing', async () => {
    const gml = `<gml:FeatureCollection xmlns:gml="http://www.opengis.net/gml"><gml:featureMember><gml:Point><gml:pos>3 4</gml:pos></gml:Point></gml:featureMember></gml:FeatureCollection>`;
    const e = expectException(
      await buffer('buffer-verystrict', complexInput('text/xml; subtype=gml/3.1.1', gml), 'application/wkt'),
      400,
      'InvalidParameterValue',
      'data',
    );
    expect(text(one(e, 'ExceptionText'))).toMatch(/gml\/3\.1\.1\/base\/feature\.xsd is not available/);
  });

  it('GeoJSON against the RFC 7946 schema: valid runs, invalid is refused', async () => {
    const point = (coordinates: string) =>
      complexInput('application/geo+json', `{"type":"Point","coordinates":${coordinates}}`);
    const ok = await buffer('buffer-verystrict', point('[3,4]'), 'application/wkt');
    expect([ok.status, ok.body.startsWith('POLYGON')]).toEqual([200, true]);
    const bad = await buffer('buffer-verystrict', point('"3,4"'), 'application/wkt');
    expectException(bad, 400, 'InvalidParameterValue', 'data');
  });
});
