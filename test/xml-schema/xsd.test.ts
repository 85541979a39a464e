import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateComplex } from '../../src/core/complex.ts';
import { OwsError } from '../../src/core/errors.ts';
import type { ComplexDomain } from '../../src/core/model.ts';
import { DEFAULT_SCHEMA_CHECKERS } from '../../src/core/schema-checks.ts';
import { loadRegistry } from '../../src/registry/registry.ts';
import { unavailableSchemas } from '../../src/xml-schema/coverage.ts';
import { SchemaLibrary } from '../../src/xml-schema/library.ts';
import { xsdSchemaChecker } from '../../src/xml-schema/xsd-checker.ts';
import { XsdContentValidator } from '../../src/xml-schema/xsd-validator.ts';
import { itWithOgc, OGC_SCHEMAS } from '../helpers/ogc-schemas.ts';

/** Installed by .ci/setup.sh from Debian's python3-mapproxy: the official KML 2.2 schema and its imports. */
const KML_DIR = fileURLToPath(new URL('../../.schemas/', import.meta.url));
const KML_XSD = 'http://schemas.opengis.net/kml/2.2.0/ogckml22.xsd';
const WPS_XSD = 'http://schemas.opengis.net/wps/1.0.0/wpsGetCapabilities_request.xsd';

const kml = (placemark: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2">\n<Document>${placemark}</Document>\n</kml>`;
const GOOD_KML = kml('<Placemark><name>a</name><Point><coordinates>1,2</coordinates></Point></Placemark>');
const BAD_KML = kml('<Placemark><title>a</title><Point><coordinates>1,2</coordinates></Point></Placemark>');

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(path.join(tmpdir(), 'xsd-test-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('SchemaLibrary', () => {
  it('finds schemas by URL in the OGC mirror layout (schemas.opengis.net at the top)', () => {
    const lib = new SchemaLibrary([KML_DIR]);
    expect(lib.resolve(KML_XSD)).toBe(path.join(KML_DIR, 'kml/2.2.0/ogckml22.xsd'));
    expect(lib.resolve('https://schemas.opengis.net/kml/2.2.0/xAL.xsd')).toBe(
      path.join(KML_DIR, 'kml/2.2.0/xAL.xsd'),
    );
    expect(lib.resolve('http://schemas.opengis.net/gml/3.1.1/base/feature.xsd')).toBeUndefined();
  });

  itWithOgc('schemas')('finds schemas in the host layout, and in the next folder of the list', () => {
    const lib = new SchemaLibrary([KML_DIR, OGC_SCHEMAS]);
    expect(lib.resolve(KML_XSD)).toBe(path.join(KML_DIR, 'kml/2.2.0/ogckml22.xsd'));
    expect(lib.resolve('http://www.w3.org/1999/xlink.xsd')).toBe(
      path.join(OGC_SCHEMAS, 'www.w3.org/1999/xlink.xsd'),
    );
    expect(lib.resolve('http://schemas.opengis.net/wps/1.0.0/wpsAll.xsd')).toBe(
      path.join(OGC_SCHEMAS, 'wps/1.0.0/wpsAll.xsd'),
    );
    expect(lib.resolve('http://schemas.opengis.net/gml/9.9.9/gml.xsd')).toBeUndefined();
  });

  it('never maps a URL outside its folders, nor queries, other schemes or relative names', () => {
    const root = path.join(scratch, 'lib');
    mkdirSync(path.join(root, 'example.org'), { recursive: true });
    writeFileSync(path.join(scratch, 'secret.xsd'), '<secret/>');
    writeFileSync(path.join(root, 'example.org', 'a.xsd'), '<a/>');
    const lib = new SchemaLibrary([root]);
    expect(lib.resolve('http://example.org/a.xsd')).toBe(path.join(root, 'example.org', 'a.xsd'));
    for (const url of [
      'http://example.org/../secret.xsd',
      'http://example.org/%2e%2e/%2e%2e/secret.xsd',
      'http://example.org/x%2F..%2F..%2F..%2Fsecret.xsd',
      'http://example.org/a.xsd?request=DescribeFeatureType',
      'http://example.org:8080/a.xsd',
      `file://${path.join(root, 'example.org', 'a.xsd')}`,
      'a.xsd',
      'http://example.org/',
    ]) {
      expect(lib.resolve(url), url).toBeUndefined();
    }
  });
});

describe('XsdContentValidator (libxml2, schemas from the library only)', () => {
  const validator = new XsdContentValidator(new SchemaLibrary([KML_DIR, OGC_SCHEMAS]));

  it('accepts a KML document that is valid against the official KML 2.2 schema', () => {
    expect(validator.validate(GOOD_KML, [KML_XSD])).toEqual({ ok: true });
    expect(validator.validate(new TextEncoder().encode(GOOD_KML), [KML_XSD])).toEqual({ ok: true });
  });

  it('reports the first violation with its line', () => {
    const r = validator.validate(BAD_KML, [KML_XSD]);
    expect(r).toMatchObject({ ok: false, problem: 'invalid', line: 3 });
    expect(r.ok === false && 'message' in r && r.message).toMatch(/title.*not expected/);
  });

  it('refuses a root element the schema does not declare', () => {
    const r = validator.validate('<kml/>', [KML_XSD]);
    expect(r).toMatchObject({ ok: false, problem: 'invalid' });
    expect(r.ok === false && 'message' in r && r.message).toMatch(/No matching global declaration/);
  });

  itWithOgc('schemas')(
    'validates across imports from several hosts (WPS request: OWS 1.1 and W3C xlink)',
    () => {
      const request = (version: string) =>
        `<wps:GetCapabilities xmlns:wps="http://www.opengis.net/wps/1.0.0" xmlns:ows="http://www.opengis.net/ows/1.1" service="WPS"><wps:AcceptVersions><ows:Version>${version}</ows:Version></wps:AcceptVersions></wps:GetCapabilities>`;
      expect(validator.validate(request('1.0.0'), [WPS_XSD])).toEqual({ ok: true });
      expect(validator.validate(request('one'), [WPS_XSD])).toMatchObject({ ok: false, problem: 'invalid' });
    },
  );

  itWithOgc('schemas')('also validates against the schemas the document names in xsi:schemaLocation', () => {
    const withLocation = (extra: string) =>
      `<kml xmlns="http://www.opengis.net/kml/2.2" xmlns:wps="http://www.opengis.net/wps/1.0.0" xmlns:ows="http://www.opengis.net/ows/1.1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://www.opengis.net/wps/1.0.0 ${WPS_XSD}"><Document><ExtendedData>${extra}</ExtendedData></Document></kml>`;
    // ExtendedData allows any foreign element; with its schema known it is validated too (strict wildcard).
    const ok = `<wps:GetCapabilities service="WPS"><wps:AcceptVersions><ows:Version>1.0.0</ows:Version></wps:AcceptVersions></wps:GetCapabilities>`;
    expect(validator.validate(withLocation(ok), [KML_XSD])).toEqual({ ok: true });
    expect(validator.validate(withLocation(ok.replace('1.0.0', 'x')), [KML_XSD])).toMatchObject({
      ok: false,
      problem: 'invalid',
    });
  });

  it('reports schemas it does not hold (format or document), and never fetches them', () => {
    const city = 'http://schemas.opengis.net/citygml/2.0/cityGMLBase.xsd';
    expect(validator.validate('<a/>', [city])).toEqual({
      ok: false,
      problem: 'missing-schema',
      schemas: [city],
    });
    const app = `<kml xmlns="http://www.opengis.net/kml/2.2" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://ogr.maptools.org/ http://127.0.0.1:9/app.xsd urn:x app.xsd"/>`;
    expect(validator.validate(app, [KML_XSD])).toEqual({
      ok: false,
      problem: 'missing-schema',
      schemas: ['http://127.0.0.1:9/app.xsd', 'app.xsd'],
    });
  });

  it('reports a schema whose own import is missing instead of using it half-loaded', () => {
    const root = path.join(scratch, 'partial');
    mkdirSync(path.join(root, 'example.org'), { recursive: true });
    writeFileSync(
      path.join(root, 'example.org', 'p.xsd'),
      `<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:p" xmlns:p="urn:p" elementFormDefault="qualified">
        <xs:import namespace="urn:q" schemaLocation="http://example.org/q.xsd"/>
        <xs:element name="p" type="xs:string"/></xs:schema>`,
    );
    const partial = new XsdContentValidator(new SchemaLibrary([root]));
    expect(partial.validate('<p xmlns="urn:p">x</p>', ['http://example.org/p.xsd'])).toEqual({
      ok: false,
      problem: 'missing-schema',
      schemas: ['http://example.org/q.xsd'],
    });
  });

  it('refuses documents with a DTD: no entity is ever expanded or loaded', () => {
    const root = path.join(scratch, 'xxe');
    mkdirSync(path.join(root, 'example.org'), { recursive: true });
    writeFileSync(
      path.join(root, 'example.org', 's.xsd'),
      `<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="s"><xs:simpleType><xs:restriction base="xs:string"><xs:enumeration value="LEAKED"/></xs:restriction></xs:simpleType></xs:element></xs:schema>`,
    );
    writeFileSync(path.join(scratch, 'leak.txt'), 'LEAKED');
    const v = new XsdContentValidator(new SchemaLibrary([root]));
    const s = 'http://example.org/s.xsd';
    expect(v.validate('<s>LEAKED</s>', [s])).toEqual({ ok: true });
    const refused = {
      ok: false,
      problem: 'not-well-formed',
      message: 'XML with a DTD or entity declarations is not accepted',
    };
    const external = `<!DOCTYPE s [<!ENTITY e SYSTEM "file://${path.join(scratch, 'leak.txt')}">]><s>&e;</s>`;
    expect(v.validate(external, [s])).toEqual(refused);
    expect(v.validate(new TextEncoder().encode(external), [s])).toEqual(refused);
    expect(v.validate('<!doctype s [<!ENTITY e "LEAKED">]><s>&e;</s>', [s])).toEqual(refused);
  });
});

describe('VERYSTRICT complex validation with the XSD checker', () => {
  const domain: ComplexDomain = {
    kind: 'complex',
    formats: [
      { mimeType: 'application/vnd.google-earth.kml+xml', schema: KML_XSD },
      {
        mimeType: 'text/xml; subtype=gml/3.1.1',
        schema: 'http://schemas.opengis.net/gml/3.1.1/base/feature.xsd',
      },
      { mimeType: 'application/gml+xml' },
    ],
  };
  const checkers = [...DEFAULT_SCHEMA_CHECKERS, xsdSchemaChecker(new SchemaLibrary([KML_DIR]))];
  const run = (data: string, mimeType: string, mode: 'STRICT' | 'VERYSTRICT', schema?: string) =>
    validateComplex(
      { type: 'complex', data, mimeType, ...(schema ? { schema } : {}) },
      domain,
      mode,
      'data',
      {
        schemaCheckers: checkers,
      },
    );
  const refusal = (f: () => unknown): OwsError => {
    try {
      f();
    } catch (e) {
      if (e instanceof OwsError) return e;
      throw e;
    }
    throw new Error('expected an OwsError');
  };

  it('KML: valid passes, invalid is InvalidParameterValue naming the input and the schema', () => {
    expect(run(GOOD_KML, 'application/vnd.google-earth.kml+xml', 'VERYSTRICT').format.schema).toBe(KML_XSD);
    expect(run(BAD_KML, 'application/vnd.google-earth.kml+xml', 'STRICT').kind).toBe('complex');
    const e = refusal(() => run(BAD_KML, 'application/vnd.google-earth.kml+xml', 'VERYSTRICT'));
    expect([e.code, e.locator]).toEqual(['InvalidParameterValue', 'data']);
    expect(e.message).toMatch(/does not validate against .*ogckml22\.xsd \(line 3: .*title/);
  });

  it("the process's schema counts, not one the client declares instead", () => {
    const e = refusal(() =>
      run(BAD_KML, 'application/vnd.google-earth.kml+xml', 'VERYSTRICT', 'http://example.org/lax.xsd'),
    );
    expect(e.message).toMatch(/ogckml22\.xsd/);
  });

  it('GML with a schema that is not installed is refused, saying why (fail closed)', () => {
    const gml = `<gml:Point xmlns:gml="http://www.opengis.net/gml"><gml:pos>1 2</gml:pos></gml:Point>`;
    expect(run(gml, 'text/xml; subtype=gml/3.1.1', 'STRICT').kind).toBe('complex');
    const e = refusal(() => run(gml, 'text/xml; subtype=gml/3.1.1', 'VERYSTRICT'));
    expect([e.code, e.locator]).toEqual(['InvalidParameterValue', 'data']);
    expect(e.message).toMatch(/gml\/3\.1\.1\/base\/feature\.xsd is not available on this server/);
    // A format that names no schema has nothing more to check than STRICT does.
    expect(run(gml, 'application/gml+xml', 'VERYSTRICT').kind).toBe('complex');
  });

  it('without an XSD checker, a format naming a schema cannot pass VERYSTRICT', () => {
    const e = refusal(() =>
      validateComplex(
        { type: 'complex', data: GOOD_KML, mimeType: 'application/vnd.google-earth.kml+xml' },
        domain,
        'VERYSTRICT',
        'data',
      ),
    );
    expect(e.message).toMatch(/names the schema .*ogckml22\.xsd, which this server cannot validate against/);
  });

  it('STRICT refuses XML content with a DTD before any processor sees it', () => {
    const e = refusal(() =>
      run(
        `<!DOCTYPE kml [<!ENTITY a "b">]>${GOOD_KML.replace(/^<\?xml[^>]*>\n/, '')}`,
        'application/vnd.google-earth.kml+xml',
        'STRICT',
      ),
    );
    expect(e.message).toMatch(/DTD or entity declarations/);
    const commented = `<?xml version="1.0"?>\n<!-- a comment -->\n<!DOCTYPE kml SYSTEM "http://example.org/x.dtd">${GOOD_KML.replace(/^<\?xml[^>]*>\n/, '')}`;
    expect(refusal(() => run(commented, 'application/vnd.google-earth.kml+xml', 'STRICT')).message).toMatch(
      /DTD or entity declarations/,
    );
    // The text "<!DOCTYPE" inside content (HTML in a KML description) is no DTD.
    const html = kml(
      '<Placemark><name>a</name><description><![CDATA[<!DOCTYPE html><p>hi</p>]]></description><Point><coordinates>1,2</coordinates></Point></Placemark>',
    );
    expect(run(html, 'application/vnd.google-earth.kml+xml', 'VERYSTRICT').kind).toBe('complex');
  });
});

describe('start-up report of VERYSTRICT schemas that are not installed', () => {
  it('names each process input and format whose schema the library lacks', async () => {
    const registry = await loadRegistry({
      baseDir: process.cwd(),
      syncEnabled: true,
      asyncEnabled: true,
      processes: [
        { id: 'strict', processor: 'buffer' },
        { id: 'very', processor: 'buffer', validationMode: 'VERYSTRICT' },
      ],
    });
    expect(unavailableSchemas(registry, new SchemaLibrary([KML_DIR]))).toEqual([
      {
        process: 'very',
        input: 'data',
        mimeType: 'text/xml; subtype=gml/3.1.1',
        schema: 'http://schemas.opengis.net/gml/3.1.1/base/feature.xsd',
      },
      {
        process: 'very',
        input: 'data',
        mimeType: 'text/xml; subtype=gml/2.1.2',
        schema: 'http://schemas.opengis.net/gml/2.1.2/feature.xsd',
      },
    ]);
    expect(unavailableSchemas(registry, new SchemaLibrary([])).map((g) => g.mimeType)).toContain(
      'application/vnd.google-earth.kml+xml',
    );
  });

  itWithOgc('schemas/gml')('with the OGC GML schemas mirrored, nothing is missing', async () => {
    const registry = await loadRegistry({
      baseDir: process.cwd(),
      syncEnabled: true,
      asyncEnabled: true,
      processes: [{ id: 'very', processor: 'buffer', validationMode: 'VERYSTRICT' }],
    });
    expect(unavailableSchemas(registry, new SchemaLibrary([KML_DIR, OGC_SCHEMAS]))).toEqual([]);
  });
});
