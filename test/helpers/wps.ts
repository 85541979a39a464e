import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { createGateway, type Gateway, type GatewayOverrides } from '../../src/gateway.ts';
import { listen, type RunningServer } from '../../src/server.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { isElement, parseXml, type XmlElement } from '../../src/wps/xml.ts';
import { testConfigYaml, type TestGatewayOptions } from './gateway.ts';
import { checkOrSkip, OGC_DIR, XSD_CATALOG } from './ogc-schemas.ts';

const SCHEMA_FILES = {
  capabilities: 'schemas/wps/1.0.0/wpsGetCapabilities_response.xsd',
  describe: 'schemas/wps/1.0.0/wpsDescribeProcess_response.xsd',
  execute: 'schemas/wps/1.0.0/wpsExecute_response.xsd',
  exception: 'schemas/ows/1.1.0/owsExceptionReport.xsd',
  executeRequest: 'schemas/wps/1.0.0/wpsExecute_request.xsd',
} as const;

/** Validates a document against an official schema with `xmllint --nonet` through the OGC catalog. */
export function expectValid(xml: string, schema: keyof typeof SCHEMA_FILES): void {
  // Without the schemas the rest of the test still runs, and the test is reported skipped (CI: fails).
  if (!checkOrSkip(XSD_CATALOG)) return;
  const dir = mkdtempSync(path.join(tmpdir(), 'gw-xsd-'));
  try {
    const file = path.join(dir, 'doc.xml');
    writeFileSync(file, xml);
    const r = spawnSync(
      'xmllint',
      ['--nonet', '--noout', '--schema', path.join(OGC_DIR, SCHEMA_FILES[schema]), file],
      {
        encoding: 'utf8',
        env: { ...process.env, XML_CATALOG_FILES: path.join(OGC_DIR, 'catalog.xml') },
      },
    );
    expect(r.error, 'xmllint must be installed (libxml2-utils)').toBeUndefined();
    expect(r.stderr.trim(), `${schema} validation of:\n${xml.slice(0, 3000)}`).toMatch(/validates$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export interface WpsServer {
  gateway: Gateway;
  server: RunningServer;
  base: string;
  wps: string;
  dir: string;
  close(): Promise<void>;
}

/** A gateway listening on a free port whose public URL is that address (so absolute URLs resolve). */
export async function startWpsServer(
  options: TestGatewayOptions & {
    extraServer?: string[];
    overrides?: GatewayOverrides;
    /** Off when the test starts its own callback delivery. */
    callbacks?: boolean;
  } = {},
): Promise<WpsServer> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const dir = mkdtempSync(path.join(tmpdir(), 'gw-wps-'));
  const server = [
    `  url: ${base}`,
    '  languages: [en-US, fr-CA]',
    ...(options.extraServer ?? []),
    ...(options.server ? [options.server] : []),
  ].join('\n');
  const yaml = testConfigYaml(dir, { ...options, server }).replace('port: 0}', `port: ${port}}`);
  const gateway = await createGateway(
    parseConfig(yaml, path.join(dir, 'gateway.yml'), {}).config,
    silentLogger(),
    options.overrides,
  );
  const running = await listen(gateway, undefined, options.callbacks === false ? { callbacks: false } : {});
  return {
    gateway,
    server: running,
    base,
    wps: `${base}/wps`,
    dir,
    async close() {
      await running.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---- Reading responses ----------------------------------------------------------------------------------

export const doc = (xml: string): XmlElement => parseXml(xml);

/** Descendants (or self) with the given local name. */
export function all(el: XmlElement, local: string): XmlElement[] {
  const found: XmlElement[] = el.local === local ? [el] : [];
  for (const c of el.children) if (isElement(c)) found.push(...all(c, local));
  return found;
}

export const one = (el: XmlElement, local: string): XmlElement => {
  const found = all(el, local);
  expect(found.length, `one <${local}> expected`).toBeGreaterThan(0);
  return found[0]!;
};

export const text = (el: XmlElement): string =>
  el.children
    .map((c) => ('text' in c ? c.text : 'cdata' in c ? c.cdata : isElement(c) ? text(c) : ''))
    .join('');

/** The direct element children, by local name. */
export const kids = (el: XmlElement, local?: string): XmlElement[] =>
  el.children.filter((c): c is XmlElement => isElement(c) && (local === undefined || c.local === local));

export interface Reply {
  status: number;
  contentType: string | null;
  body: string;
  headers: Headers;
}

export async function get(url: string): Promise<Reply> {
  const res = await fetch(url);
  return {
    status: res.status,
    contentType: res.headers.get('content-type'),
    body: await res.text(),
    headers: res.headers,
  };
}

export async function post(url: string, body: string, contentType = 'text/xml'): Promise<Reply> {
  const res = await fetch(url, { method: 'POST', body, headers: { 'Content-Type': contentType } });
  return {
    status: res.status,
    contentType: res.headers.get('content-type'),
    body: await res.text(),
    headers: res.headers,
  };
}

/** Asserts an OWS ExceptionReport with this code, locator and HTTP status, valid against the schema. */
export function expectException(reply: Reply, status: number, code: string, locator?: string): XmlElement {
  expect(reply.status, reply.body).toBe(status);
  expect(reply.contentType).toBe('text/xml');
  expectValid(reply.body, 'exception');
  const exception = one(doc(reply.body), 'Exception');
  expect(exception.attrs.get('exceptionCode')).toBe(code);
  expect(exception.attrs.get('locator')).toBe(locator);
  expect(text(one(exception, 'ExceptionText')).length).toBeGreaterThan(0);
  return exception;
}

export const execute = (
  identifier: string,
  inputs: string,
  responseForm = '',
) => `<?xml version="1.0" encoding="UTF-8"?>
<wps:Execute service="WPS" version="1.0.0" xmlns:wps="http://www.opengis.net/wps/1.0.0"
  xmlns:ows="http://www.opengis.net/ows/1.1" xmlns:xlink="http://www.w3.org/1999/xlink">
  <ows:Identifier>${identifier}</ows:Identifier>
  <wps:DataInputs>${inputs}</wps:DataInputs>${responseForm}
</wps:Execute>`;

export const literalInput = (id: string, value: string, attrs = '') =>
  `<wps:Input><ows:Identifier>${id}</ows:Identifier><wps:Data><wps:LiteralData${attrs}>${value}</wps:LiteralData></wps:Data></wps:Input>`;
