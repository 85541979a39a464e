import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load.ts';
import { thrown } from '../helpers/errors.ts';

const yaml = (text: string) => parseConfig(text, 'gw.yml', {});
const ini = (text: string) => parseConfig(text, 'pywps.cfg', {});
const configError = (fn: () => unknown) => thrown(fn, ConfigError);

describe('CORS configuration', () => {
  it('defaults to any origin and a 10-minute preflight cache, in both dialects and the shipped files', () => {
    const expected = { allowedOrigins: ['*'], maxAgeSeconds: 600 };
    expect(yaml('').config.server.cors).toEqual(expected);
    expect(ini('[server]\nlanguage = en-US\n').config.server.cors).toEqual(expected);
    expect(loadConfig('config/default.yml', {}).config.server.cors).toEqual(expected);
    expect(loadConfig('config/pywps.cfg', {}).config.server.cors).toEqual(expected);
  });

  it('YAML server.cors.allowed_origins (list or one) and max_age_seconds, written as browsers send Origin', () => {
    const { config, warnings } = yaml(`
server:
  cors:
    allowed_origins: [https://App.Example.org/, 'http://localhost:8080', 'https://b.example:443']
    max_age_seconds: 60
    credentials: true
`);
    expect(config.server.cors).toEqual({
      allowedOrigins: ['https://app.example.org', 'http://localhost:8080', 'https://b.example'],
      maxAgeSeconds: 60,
    });
    expect(warnings).toEqual(['server.cors.credentials: unknown key, ignored']);
    expect(yaml('server: {cors: {allowed_origins: https://one.example}}').config.server.cors).toEqual({
      allowedOrigins: ['https://one.example'],
      maxAgeSeconds: 600,
    });
  });

  it("YAML server.cors as pygeoapi's boolean: true = any origin, false = off", () => {
    expect(yaml('server: {cors: true}').config.server.cors.allowedOrigins).toEqual(['*']);
    expect(yaml('server: {cors: false}').config.server.cors.allowedOrigins).toEqual([]);
    expect(yaml('server: {cors: {allowed_origins: []}}').config.server.cors.allowedOrigins).toEqual([]);
    expect(configError(() => yaml('server: {cors: maybe}')).key).toBe('server.cors');
  });

  it('INI [server] cors_allowed_origins (comma list; empty = off) and cors_max_age', () => {
    const { config, warnings } = ini(
      '[server]\ncors_allowed_origins = https://a.example, http://127.0.0.1:5173\ncors_max_age = 0\n',
    );
    expect(warnings).toEqual([]);
    expect(config.server.cors).toEqual({
      allowedOrigins: ['https://a.example', 'http://127.0.0.1:5173'],
      maxAgeSeconds: 0,
    });
    expect(ini('[server]\ncors_allowed_origins =\n').config.server.cors.allowedOrigins).toEqual([]);
  });

  it.each([
    'https://app.example.org/path',
    'app.example.org',
    'ftp://files.example',
    'https://user@app.example.org',
    'https://app.example.org?x=1',
    'https://*.example.org',
    'null',
  ])('rejects %j as an origin, naming the key', (origin) => {
    const e = configError(() => yaml(`server: {cors: {allowed_origins: ['${origin}']}}`));
    expect(e.key).toBe('server.cors.allowed_origins');
    expect(e.problem).toContain(`'${origin}' is not '*' or an origin`);
    const i = configError(() => ini(`[server]\ncors_allowed_origins = ${origin}\n`));
    expect(i.key).toBe('[server] cors_allowed_origins');
  });

  it('rejects a negative or fractional max age through the schema', () => {
    expect(configError(() => yaml('server: {cors: {max_age_seconds: -1}}')).key).toBe(
      'server.cors.max_age_seconds',
    );
    expect(configError(() => ini('[server]\ncors_max_age = 1.5\n')).key).toBe('[server] cors_max_age');
  });
});
