/**
 * GDAL makes no network access and reads no file outside the job's folder, whatever the data names
 * (issue 15, finding 2). A local HTTP listener counts every connection while hostile inputs of each
 * vector and raster format go through WPS; the reference policy refuses loopback (the default), so
 * any connection the listener sees comes from GDAL following something inside the data.
 *
 * The listener's address is put in the GDAL child processes' NO_PROXY, which libcurl honours over
 * any proxy: so the dead proxy of the sandbox configuration (a catch-all) cannot hide a driver that
 * still fetches, and each driver-level protection is proved on its own. (The server itself never
 * passes its NO_PROXY on to those children; this test adds it explicitly.)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  doc,
  execute,
  expectException,
  expectValid,
  literalInput,
  one,
  post,
  startWpsServer,
  text,
  type Reply,
  type WpsServer,
} from '../helpers/wps.ts';

/** A marker that only files outside the job folder contain: it must never come back. */
const CANARY = 'OUTSIDE_CANARY_7f3a';

let s: WpsServer;
let listener: Server;
let L: string;
let outside: string;
const hits: string[] = [];

beforeAll(async () => {
  listener = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    // Answers that would be used if fetched: a CRS, an application schema, KML, bytes.
    if (req.url?.includes('crs')) res.end('+proj=longlat +datum=WGS84 +no_defs');
    else if (/DescribeFeatureType|\.xsd/i.test(req.url ?? ''))
      res.end(
        `<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="http://example.com/t"><xs:element name="${CANARY}"/></xs:schema>`,
      );
    else
      res.end(
        `<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>${CANARY}</name></Document></kml>`,
      );
  });
  listener.on('connection', () => hits.push('connection'));
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  L = `http://127.0.0.1:${(listener.address() as { port: number }).port}`;
  // Files outside every job folder that the data names.
  outside = mkdtempSync(path.join(tmpdir(), 'gw-outside-'));
  writeFileSync(
    path.join(outside, 'secret.wkt'),
    `GEOGCS["${CANARY}",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]]`,
  );
  writeFileSync(
    path.join(outside, 'secret.xsd'),
    `<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:gml="http://www.opengis.net/gml" targetNamespace="http://example.com/t" elementFormDefault="qualified"><xs:import namespace="http://www.opengis.net/gml"/><xs:element name="f" substitutionGroup="gml:_Feature"><xs:complexType><xs:complexContent><xs:extension base="gml:AbstractFeatureType"><xs:sequence><xs:element name="${CANARY}" type="xs:string"/></xs:sequence></xs:extension></xs:complexContent></xs:complexType></xs:element></xs:schema>`,
  );
  writeFileSync(path.join(outside, 'secret.txt'), CANARY);
  s = await startWpsServer({
    processes: ['buffer', 'area', 'reproject', 'raster-stats', 'raster-clip'],
    // The environment libcurl reads is that of the GDAL child processes.
    overrides: { gdalEnv: { NO_PROXY: '127.0.0.1,localhost', no_proxy: '127.0.0.1,localhost' } },
  });
});
afterAll(async () => {
  await s.close();
  await new Promise((resolve) => listener.close(resolve));
  rmSync(outside, { recursive: true, force: true });
});
beforeEach(() => {
  hits.length = 0;
});

const GEOJSON = 'application/geo+json';
const GML3 = 'text/xml; subtype=gml/3.1.1';
const GML2 = 'text/xml; subtype=gml/2.1.2';
const KML = 'application/vnd.google-earth.kml+xml';
const SHP = 'application/x-zipped-shp';
const TIFF = 'image/tiff; subtype=geotiff';

/** Exact bytes reach the server (no XML re-serialisation): base64 ComplexData. */
const complexInput = (id: string, mimeType: string, data: string | Buffer) =>
  `<wps:Input><ows:Identifier>${id}</ows:Identifier><wps:Data><wps:ComplexData mimeType="${mimeType}" encoding="base64">${Buffer.from(data).toString('base64')}</wps:ComplexData></wps:Data></wps:Input>`;

const raw = (output: string, mimeType?: string) =>
  `<wps:ResponseForm><wps:RawDataOutput${mimeType ? ` mimeType="${mimeType}"` : ''}><ows:Identifier>${output}</ows:Identifier></wps:RawDataOutput></wps:ResponseForm>`;

/** The vector processes, each run on `data`: buffer (GeoJSON out), area, reproject (GML out). */
async function vectorRuns(mimeType: string, data: string | Buffer): Promise<Reply[]> {
  const input = complexInput('data', mimeType, data);
  return [
    await post(s.wps, execute('buffer', input + literalInput('distance', '1'), raw('buffered', GEOJSON))),
    await post(s.wps, execute('area', input)),
    await post(
      s.wps,
      execute('reproject', input + literalInput('target_crs', 'EPSG:3857'), raw('reprojected', GML3)),
    ),
  ];
}

/** The raster processes, each run on `data`. */
async function rasterRuns(data: Buffer): Promise<Reply[]> {
  const input = complexInput('raster', TIFF, data);
  const bbox = `<wps:Input><ows:Identifier>bbox</ows:Identifier><wps:Data><wps:BoundingBoxData crs="EPSG:4326"><ows:LowerCorner>0 0</ows:LowerCorner><ows:UpperCorner>2 2</ows:UpperCorner></wps:BoundingBoxData></wps:Data></wps:Input>`;
  return [
    await post(s.wps, execute('raster-stats', input)),
    await post(s.wps, execute('raster-clip', input + bbox, raw('clipped'))),
  ];
}

/** Nothing reached the listener, nothing from outside came back, and every run was quick. */
async function expectSealed(runs: () => Promise<Reply[]>): Promise<Reply[]> {
  const started = Date.now();
  const replies = await runs();
  // Let a late connection (GDAL retrying in the background) arrive before counting.
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(hits, 'connections GDAL made to the listener').toEqual([]);
  for (const r of replies) {
    expect(r.status, r.body).toBeLessThan(500);
    expect(r.body).not.toContain(CANARY);
  }
  // No network timeout was waited on (GDAL's default is 30 s per request).
  expect(Date.now() - started).toBeLessThan(3000 * replies.length);
  return replies;
}

/**
 * The run failed with InvalidParameterValue on `locator`, its text matching `why`: an exception
 * report (400) for raw output, a ProcessFailed response document (200) otherwise.
 */
function expectRefused(r: Reply, locator: string, why: RegExp): void {
  let exception;
  if (r.status === 200) {
    expectValid(r.body, 'execute');
    exception = one(one(doc(r.body), 'ProcessFailed'), 'Exception');
    expect(exception.attrs.get('exceptionCode')).toBe('InvalidParameterValue');
    expect(exception.attrs.get('locator')).toBe(locator);
  } else exception = expectException(r, 400, 'InvalidParameterValue', locator);
  expect(text(one(exception, 'ExceptionText'))).toMatch(why);
}

const expectOk = (replies: Reply[]) => {
  for (const r of replies) expect(r.status, r.body).toBe(200);
};

const point = '{"type":"Point","coordinates":[1,2]}';
const featureCollection = (members: string, geometry = point) =>
  `{"type":"FeatureCollection",${members}"features":[{"type":"Feature","properties":{"a":1},"geometry":${geometry}}]}`;

describe('the reference policy refuses the listener (so a connection can only come from GDAL)', () => {
  it('a reference input to the listener is refused and never fetched', async () => {
    const r = await post(
      s.wps,
      execute(
        'area',
        `<wps:Input><ows:Identifier>data</ows:Identifier><wps:Reference xlink:href="${L}/data.geojson" mimeType="${GEOJSON}"/></wps:Input>`,
      ),
    );
    expect(r.status, r.body).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
    expect(hits).toEqual([]);
  });
});

describe('GeoJSON', () => {
  it('a linked CRS (GDAL fetches its href) is refused with a clear message, on the layer or on a geometry', async () => {
    for (const data of [
      featureCollection(`"crs":{"type":"link","properties":{"href":"${L}/crs","type":"proj4"}},`),
      // GDAL matches member names and values ignoring case, as C strings (up to a NUL).
      featureCollection(
        '',
        `{"type":"Point","coordinates":[1,2],"CRS":{"Type":"LINK\\u0000x","properties":{"href":"${L}/crs"}}}`,
      ),
    ]) {
      const replies = await expectSealed(() => vectorRuns(GEOJSON, data));
      for (const r of replies) {
        expectRefused(r, 'data', /linked CRS/);
      }
    }
  });

  it('a linked CRS far into a large file is found wherever it falls (the file is scanned in 64 KiB pieces)', async () => {
    const PIECE = 64 * 1024;
    // The member name `crs` (as is, and written with a \u escape) straddling the end of the first piece.
    for (const [name, cut] of [
      ['CRS', 1],
      ['crs', 2],
      ['\\u0063rs', 1],
    ] as const) {
      // No other `crs` or `\u` in the text: only the member name can reveal it.
      const member = `"${name}":{"type":"link","properties":{"href":"${L}/linked"}}`;
      const head = '{"type":"FeatureCollection","features":[';
      const feature = `{"type":"Feature","properties":{"a":1},"geometry":${point}},`;
      const last = (pad: string) =>
        `{"type":"Feature","properties":{"p":"${pad}"},"geometry":{"type":"Point",`;
      const before = head + feature.repeat(Math.floor((PIECE - 200) / feature.length));
      const pad = 'x'.repeat(PIECE - cut - 1 - (before + last('')).length);
      const prefix = before + last(pad);
      expect(prefix.length + 1 + cut).toBe(PIECE);
      const data = `${prefix}${member},"coordinates":[1,2]}}]}`;
      const replies = await expectSealed(() => vectorRuns(GEOJSON, data));
      for (const r of replies) expectRefused(r, 'data', /linked CRS/);
    }
  });

  it('a CRS named by URL or by a file path is neither fetched nor read', async () => {
    for (const name of [`${L}/crs`, path.join(outside, 'secret.wkt')]) {
      const data = featureCollection(`"crs":{"type":"name","properties":{"name":"${name}"}},`);
      await expectSealed(() => vectorRuns(GEOJSON, data));
    }
  });
});

describe('GML', () => {
  const feature = (extra = '') =>
    `<gml:featureMember><t:f gml:id="f1"><t:a>1</t:a><t:geometry><gml:Point gml:id="p1" srsName="EPSG:4326"><gml:pos>1 2</gml:pos></gml:Point></t:geometry>${extra}</t:f></gml:featureMember>`;
  // A function: `L` is only known once the listener runs (after collection).
  const describeFeatureType = () =>
    `${L}/wfs?SERVICE=WFS&amp;VERSION=1.1.0&amp;REQUEST=DescribeFeatureType&amp;TYPENAME=t:f`;

  it('a WFS FeatureCollection naming its DescribeFeatureType schema (GDAL downloads it by default) runs offline', async () => {
    const wfs = `<?xml version="1.0" encoding="UTF-8"?><wfs:FeatureCollection xmlns:wfs="http://www.opengis.net/wfs" xmlns:t="http://example.com/t" xmlns:gml="http://www.opengis.net/gml" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://example.com/t ${describeFeatureType()} http://www.opengis.net/wfs ${L}/wfs.xsd">${feature()}</wfs:FeatureCollection>`;
    expectOk(await expectSealed(() => vectorRuns(GML3, wfs)));
    const gml32 = `<?xml version="1.0" encoding="UTF-8"?><gml:FeatureCollection xmlns:t="http://example.com/t" xmlns:gml="http://www.opengis.net/gml/3.2" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://example.com/t ${describeFeatureType()}">${feature()}</gml:FeatureCollection>`;
    expectOk(await expectSealed(() => vectorRuns('application/gml+xml', gml32)));
  });

  it('schemas, xlinks, CRSs and entities named by URL or by outside path are neither fetched nor read', async () => {
    const doc = (attrs: string, body: string, prolog = '') =>
      `<?xml version="1.0" encoding="UTF-8"?>${prolog}<t:FC xmlns:t="http://example.com/t" xmlns:gml="http://www.opengis.net/gml" xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ${attrs}>${body}</t:FC>`;
    const cases = [
      doc(`xsi:schemaLocation="http://example.com/t ${L}/schema.xsd"`, feature()),
      doc(`xsi:schemaLocation="http://example.com/t ${path.join(outside, 'secret.xsd')}"`, feature()),
      doc(
        `xsi:schemaLocation="http://example.com/t ../../../../../../..${path.join(outside, 'secret.xsd')}"`,
        feature(),
      ),
      doc('', feature(`<t:g xlink:href="${L}/remote.gml#g1"/>`)),
      doc('', feature().replace('srsName="EPSG:4326"', `srsName="${L}/crs"`)),
      doc(
        '',
        feature().replace('<t:a>1</t:a>', '<t:a>&x;</t:a>'),
        `<!DOCTYPE t:FC [<!ENTITY x SYSTEM "${L}/entity">]>`,
      ),
      doc(
        '',
        feature().replace('<t:a>1</t:a>', '<t:a>&x;</t:a>'),
        `<!DOCTYPE t:FC [<!ENTITY x SYSTEM "file://${path.join(outside, 'secret.txt')}">]>`,
      ),
    ];
    for (const gml of cases) {
      await expectSealed(() => vectorRuns(GML3, gml));
      await expectSealed(() => vectorRuns(GML2, gml));
    }
  });
});

describe('KML', () => {
  it('network links, remote styles and icons are not followed', async () => {
    const kml = `<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document><Style id="s"><IconStyle><Icon><href>${L}/icon.png</href></Icon></IconStyle></Style><NetworkLink><Link><href>${L}/network.kml</href></Link></NetworkLink><Placemark><name>p</name><styleUrl>${L}/style.kml#s</styleUrl><Point><coordinates>1,2</coordinates></Point></Placemark></Document></kml>`;
    expectOk(await expectSealed(() => vectorRuns(KML, kml)));
  });
});

/** ogr2ogr / gdal_translate (the GDAL command-line tools) make real test data. */
function tool(command: string, args: string[]): void {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
}

describe('zipped Shapefile', () => {
  function zip(dir: string, entries: Record<string, string | Buffer>): Buffer {
    // Python's ZipInfo keeps member names exactly as given (../ and absolute ones included).
    const list = path.join(dir, 'entries.json');
    const files = Object.entries(entries).map(([name, content], i) => {
      const file = path.join(dir, `entry-${i}`);
      writeFileSync(file, content);
      return [name, file];
    });
    writeFileSync(list, JSON.stringify(files));
    const out = path.join(dir, 'out.zip');
    const r = spawnSync('/usr/bin/python3', [
      '-c',
      'import json,sys,zipfile\nz=zipfile.ZipFile(sys.argv[2],"w")\nfor n,f in json.load(open(sys.argv[1])): z.writestr(zipfile.ZipInfo(n),open(f,"rb").read())\nz.close()',
      list,
      out,
    ]);
    expect(r.status, String(r.stderr)).toBe(0);
    return readFileSync(out);
  }

  it('a .prj naming a URL or an outside file is neither fetched nor read; members named ../ are refused, absolute ones unseen', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gw-shp-'));
    try {
      writeFileSync(path.join(dir, 'in.geojson'), featureCollection(''));
      tool('ogr2ogr', [
        '-f',
        'ESRI Shapefile',
        path.join(dir, 'shp'),
        path.join(dir, 'in.geojson'),
        '-nln',
        'a',
      ]);
      const part = (ext: string) => readFileSync(path.join(dir, 'shp', `a.${ext}`));
      const parts = { 'a.shp': part('shp'), 'a.shx': part('shx'), 'a.dbf': part('dbf') };
      for (const prj of [`${L}/crs`, path.join(outside, 'secret.wkt')]) {
        expectOk(await expectSealed(() => vectorRuns(SHP, zip(dir, { ...parts, 'a.prj': prj }))));
      }
      const members = (prefix: string) =>
        zip(dir, {
          ...parts,
          [`${prefix}b.shp`]: parts['a.shp'],
          [`${prefix}b.shx`]: parts['a.shx'],
          [`${prefix}b.dbf`]: parts['a.dbf'],
        });
      for (const r of await expectSealed(() => vectorRuns(SHP, members('../../')))) {
        expectRefused(r, 'data', /absolute or parent path/);
      }
      // /vsizip/ does not even list members with absolute names: only a.* is read.
      expectOk(await expectSealed(() => vectorRuns(SHP, members(path.join(outside, '/')))));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('GeoTIFF', () => {
  let geotiff: Buffer;
  beforeAll(() => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gw-tif-'));
    try {
      const asc = path.join(dir, 'in.asc');
      writeFileSync(
        asc,
        'ncols 4\nnrows 4\nxllcorner 0\nyllcorner 0\ncellsize 1\n1 2 3 4\n5 6 7 8\n9 10 11 12\n13 14 15 16\n',
      );
      tool('gdal_translate', ['-q', '-of', 'GTiff', '-a_srs', 'EPSG:4326', asc, path.join(dir, 'out.tif')]);
      geotiff = readFileSync(path.join(dir, 'out.tif'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a real GeoTIFF runs (the control)', async () => {
    const [stats, clip] = await expectSealed(() => rasterRuns(geotiff));
    expect(stats!.status, stats!.body).toBe(200);
    expect(doc(stats!.body).local).toBe('ExecuteResponse');
    expect([clip!.status, clip!.contentType]).toEqual([200, TIFF]);
  });

  it('a VRT posing as a GeoTIFF, naming a URL or an outside file, is refused unread', async () => {
    const vrt = (source: string) =>
      `<VRTDataset rasterXSize="1" rasterYSize="1"><VRTRasterBand dataType="Byte" band="1"><SimpleSource><SourceFilename relativeToVRT="0">${source}</SourceFilename><SourceBand>1</SourceBand></SimpleSource></VRTRasterBand></VRTDataset>`;
    for (const source of [`/vsicurl/${L}/x.tif`, path.join(outside, 'secret.txt'), '/etc/passwd']) {
      for (const r of await expectSealed(() => rasterRuns(Buffer.from(vrt(source))))) {
        expectRefused(r, 'raster', /not a readable GeoTIFF/);
      }
    }
  });
});
