import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { atListeningPort, listenerUrl, withPublicUrl } from '../../src/config/public-url.ts';
import { attr, NS } from '../../src/wps/xml.ts';
import { testConfigYaml } from '../helpers/gateway.ts';
import { all, doc, freePort, get, one, post } from '../helpers/wps.ts';

const CLI = path.resolve('src/cli.ts');
const DEFAULT_CONFIG = path.resolve('config/default.yml');
const dir = mkdtempSync(path.join(tmpdir(), 'gw-url-'));
const children: ChildProcess[] = [];
afterAll(async () => {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null) return resolve();
          c.once('exit', () => resolve());
          c.kill('SIGTERM');
        }),
    ),
  );
  rmSync(dir, { recursive: true, force: true });
});

/** Spawns `gateway serve …` and resolves with the public URL it announces once it listens. */
async function serve(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}) {
  const child = spawn(process.execPath, [CLI, 'serve', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    cwd: options.cwd ?? dir,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...options.env },
  });
  children.push(child);
  let err = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /\(public URL (\S+)\)/.exec(err);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${err}`)));
  });
  return url;
}

function configFile(name: string, serverLines: string[] = []): string {
  const work = path.join(dir, name);
  const file = path.join(dir, `${name}.yml`);
  const yaml = testConfigYaml(work, serverLines.length ? { server: serverLines.join('\n') } : {});
  if (serverLines.length === 0) expect(yaml).not.toMatch(/^\s*url:/m);
  writeFileSync(file, yaml);
  return file;
}

/** Every absolute URL the Capabilities' OperationsMetadata gives (the GET and POST DCP of each operation). */
async function operationHrefs(wps: string): Promise<string[]> {
  const caps = await get(`${wps}?service=WPS&request=GetCapabilities`);
  expect(caps.status, caps.body).toBe(200);
  const ops = one(doc(caps.body), 'OperationsMetadata');
  const hrefs = [...all(ops, 'Get'), ...all(ops, 'Post')].map((e) => attr(e, 'href', NS.xlink)!);
  expect(hrefs).toHaveLength(6);
  return hrefs;
}

const EXECUTE_XML = `<wps:Execute service="WPS" version="1.0.0" xmlns:wps="http://www.opengis.net/wps/1.0.0" xmlns:ows="http://www.opengis.net/ows/1.1">
  <ows:Identifier>hello-world</ows:Identifier>
  <wps:DataInputs><wps:Input><ows:Identifier>name</ows:Identifier><wps:Data><wps:LiteralData>Port</wps:LiteralData></wps:Data></wps:Input></wps:DataInputs>
</wps:Execute>`;

/** Fetches every Capabilities URL, and the URLs of an async ExecuteResponse and a reference output. */
async function expectUrlsResolve(wps: string, origin: string): Promise<void> {
  for (const href of await operationHrefs(wps)) {
    expect(href.startsWith(`${origin}/wps`), href).toBe(true);
    const reply = href.endsWith('?')
      ? await get(`${href}service=WPS&request=GetCapabilities`)
      : await post(href, EXECUTE_XML);
    expect(reply.status, `${href}: ${reply.body}`).toBe(200);
    if (href.endsWith('?')) expect(doc(reply.body).local).toBe('Capabilities');
    else expect(reply.body).toMatch(/Hello Port!/);
  }
  const accepted = await get(
    `${wps}?service=WPS&version=1.0.0&request=Execute&identifier=hello-world&DataInputs=name=Port` +
      '&ResponseDocument=echo@asReference=true&storeExecuteResponse=true&status=true',
  );
  expect(accepted.status, accepted.body).toBe(200);
  const root = doc(accepted.body);
  const serviceInstance = root.attrs.get('serviceInstance')!;
  const statusLocation = root.attrs.get('statusLocation')!;
  expect(serviceInstance.startsWith(`${origin}/wps?`), serviceInstance).toBe(true);
  expect(statusLocation.startsWith(`${origin}/wps/status/`), statusLocation).toBe(true);
  const caps = await get(serviceInstance);
  expect(doc(caps.body).local).toBe('Capabilities');
  let status = doc((await get(statusLocation)).body);
  for (let i = 0; i < 100 && all(status, 'ProcessSucceeded').length === 0; i++) {
    expect(all(status, 'ProcessFailed')).toEqual([]);
    await new Promise((r) => setTimeout(r, 100));
    status = doc((await get(statusLocation)).body);
  }
  const href = one(one(status, 'ProcessOutputs'), 'Reference').attrs.get('href')!;
  expect(href.startsWith(`${origin}/wps/outputs/`), href).toBe(true);
  const output = await get(href);
  expect([output.status, output.body]).toEqual([200, 'Hello Port!']);
}

describe('absolute URLs follow the address the server serves on', () => {
  it('--port alone: Capabilities, an async ExecuteResponse and a reference output resolve on that port', async () => {
    const port = await freePort();
    const url = await serve(['--config', configFile('port-only'), '--port', String(port)]);
    expect(url).toBe(`http://127.0.0.1:${port}`);
    await expectUrlsResolve(`${url}/wps`, `http://127.0.0.1:${port}`);
  });

  it('the shipped config/default.yml follows GATEWAY_PORT (and --port over it)', async () => {
    const cwd = mkdtempSync(path.join(dir, 'default-'));
    const port = await freePort();
    const url = await serve(['--config', DEFAULT_CONFIG], {
      cwd,
      env: { GATEWAY_PORT: String(port), GATEWAY_LOG_LEVEL: 'silent' },
    });
    expect(url).toBe(`http://localhost:${port}`);
    await expectUrlsResolve(`${url}/wps`, `http://localhost:${port}`);
    const other = await freePort();
    // Its own folder: two servers may not share a job store (the shipped config keeps it under var/).
    const second = await serve(['--config', DEFAULT_CONFIG, '--port', String(other)], {
      cwd: mkdtempSync(path.join(dir, 'default-')),
      env: { GATEWAY_PORT: String(port), GATEWAY_LOG_LEVEL: 'silent' },
    });
    expect(second).toBe(`http://localhost:${other}`);
    for (const href of await operationHrefs(`${second}/wps`))
      expect(href.startsWith(`http://localhost:${other}/wps`), href).toBe(true);
  });

  it('an explicitly configured URL wins over the listening port', async () => {
    const port = await freePort();
    const url = await serve([
      '--config',
      configFile('explicit', ['  url: https://gis.example.org/gateway/']),
      '--port',
      String(port),
    ]);
    expect(url).toBe('https://gis.example.org/gateway');
    const hrefs = await operationHrefs(`http://127.0.0.1:${port}/wps`);
    expect(new Set(hrefs)).toEqual(
      new Set(['https://gis.example.org/gateway/wps?', 'https://gis.example.org/gateway/wps']),
    );
  });

  it('--url sets the public URL, over a configured one; GATEWAY_URL sets it in the shipped config', async () => {
    const port = await freePort();
    const url = await serve([
      '--config',
      configFile('cli-url', ['  url: https://gis.example.org/']),
      '--port',
      String(port),
      '--url',
      `http://localhost:${port}/`,
    ]);
    expect(url).toBe(`http://localhost:${port}`);
    await expectUrlsResolve(`${url}/wps`, `http://localhost:${port}`);

    const cwd = mkdtempSync(path.join(dir, 'env-url-'));
    const envUrl = await serve(['--config', DEFAULT_CONFIG, '--port', '0'], {
      cwd,
      env: { GATEWAY_URL: 'https://proxy.example.org/x', GATEWAY_LOG_LEVEL: 'silent' },
    });
    expect(envUrl).toBe('https://proxy.example.org/x');
  });

  it('--url must be an http(s) URL', () => {
    const child = spawn(process.execPath, [CLI, 'serve', '--url', 'ftp://x', '--port', '0']);
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    return new Promise<void>((resolve) =>
      child.once('exit', (code) => {
        expect(code).toBe(2);
        expect(err).toMatch(/--url: 'ftp:\/\/x' is not an http\(s\) URL/);
        resolve();
      }),
    );
  });
});

describe('public URL resolution', () => {
  const load = (yaml: string, env: NodeJS.ProcessEnv = {}) => parseConfig(yaml, 'gw.yml', env).config;

  it('a configured URL is marked as such; an absent or empty one is derived and follows the port', () => {
    const derived = load('server:\n  bind: {host: 0.0.0.0, port: 6000}\n  wps_path: /ows\n').server;
    expect(derived).toMatchObject({
      url: 'http://localhost:6000',
      urlConfigured: false,
      outputUrl: 'http://localhost:6000/ows/outputs',
      outputUrlConfigured: false,
    });
    expect(atListeningPort(derived, 6123)).toMatchObject({
      port: 6123,
      url: 'http://localhost:6123',
      outputUrl: 'http://localhost:6123/ows/outputs',
    });
    // The shipped config's `url: ${GATEWAY_URL:-}` with GATEWAY_URL unset or empty.
    for (const env of [{}, { GATEWAY_URL: '' }]) {
      expect(load('server:\n  url: ${GATEWAY_URL:-}\n', env).server.urlConfigured).toBe(false);
    }
    const ini = parseConfig('[server]\nurl =\noutputurl =\nport = 7001\n', 'pywps.cfg', {}).config.server;
    expect([ini.url, ini.urlConfigured, ini.outputUrlConfigured]).toEqual([
      'http://localhost:7001',
      false,
      false,
    ]);

    const configured = load('server:\n  url: https://a.example/p\n  bind: {port: 6000}\n').server;
    expect(atListeningPort(configured, 6123)).toMatchObject({
      url: 'https://a.example/p',
      outputUrl: 'https://a.example/p/wps/outputs',
    });
    const output = load('server:\n  output_url: https://cdn.example/out\n').server;
    expect(atListeningPort(output, 6123)).toMatchObject({
      url: 'http://localhost:6123',
      outputUrl: 'https://cdn.example/out',
      outputUrlConfigured: true,
    });
  });

  it('wildcard binds show as localhost, IPv6 literals in brackets', () => {
    expect(listenerUrl('0.0.0.0', 1)).toBe('http://localhost:1');
    expect(listenerUrl('::', 2)).toBe('http://localhost:2');
    expect(listenerUrl('::1', 3)).toBe('http://[::1]:3');
    expect(listenerUrl('gw.local', 4)).toBe('http://gw.local:4');
  });

  it('withPublicUrl (serve --url) makes the URL configured and the output URL follow it', () => {
    const config = withPublicUrl(load('server:\n  bind: {port: 6000}\n'), 'https://b.example/');
    expect(atListeningPort(config.server, 6001)).toMatchObject({
      url: 'https://b.example',
      urlConfigured: true,
      outputUrl: 'https://b.example/wps/outputs',
    });
    expect(() => withPublicUrl(config, 'b.example')).toThrow(/not an http\(s\) URL/);
  });
});
