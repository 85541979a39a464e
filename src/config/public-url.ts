import type { Config, ServerConfig } from './types.ts';

/**
 * The public URLs of a server. An explicitly configured URL (YAML `server.url`, INI `[server] url`,
 * `GATEWAY_URL` in the shipped config, `serve --url`) always wins; otherwise the public URL follows
 * the address the server listens on, and the output URL follows the public URL.
 */

/** `http://{host}:{port}` for a server bound to `host`; a wildcard bind (0.0.0.0, ::) shows as localhost. */
export function listenerUrl(host: string, port: number): string {
  const h = host.trim();
  const shown = h === '' || h === '0.0.0.0' || h === '::' || h === '[::]' ? 'localhost' : h;
  return `http://${shown.includes(':') && !shown.startsWith('[') ? `[${shown}]` : shown}:${port}`;
}

/** The WPS path as a prefix of routes and URLs: empty when WPS answers at the root. */
export const wpsPrefix = (wpsPath: string): string => (wpsPath === '/' ? '' : wpsPath);

/** The public URL of the WPS endpoint (the base URL without a trailing slash, plus the WPS path). */
export const wpsEndpoint = (server: Pick<ServerConfig, 'url' | 'wpsPath'>): string =>
  `${server.url.replace(/\/+$/, '')}${wpsPrefix(server.wpsPath)}`;

/** Stored outputs are served under the WPS path unless an output URL is configured. */
export const defaultOutputUrl = (url: string, wpsPath: string): string =>
  `${url}${wpsPrefix(wpsPath)}/outputs`;

/** The server settings with `url` / `outputUrl` for a server that actually listens on `port`. */
export function atListeningPort(server: ServerConfig, port: number): ServerConfig {
  const url = server.urlConfigured ? server.url : listenerUrl(server.host, port);
  const outputUrl = server.outputUrlConfigured ? server.outputUrl : defaultOutputUrl(url, server.wpsPath);
  return { ...server, port, url, outputUrl };
}

/** `serve --url`: an explicitly configured public base URL (WPS at `url + wpsPath`). */
export function withPublicUrl(config: Config, url: string): Config {
  if (!/^https?:\/\/[^/?#]+(\/[^?#]*)?$/.test(url))
    throw new TypeError(`'${url}' is not an http(s) URL without query or fragment`);
  const server: ServerConfig = { ...config.server, url: url.replace(/\/+$/, ''), urlConfigured: true };
  return { ...config, server: atListeningPort(server, server.port) };
}
