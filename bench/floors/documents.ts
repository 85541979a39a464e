/**
 * What a floor server answers: a fixed XML document of the size of our Capabilities for every path
 * but /processes…, which gets a fixed JSON document of the size of our process list. Both read once
 * at start from the files named by FLOOR_XML and FLOOR_JSON; FLOOR_PORT is the loopback port.
 */
import { readFileSync } from 'node:fs';

export const port = Number(process.env.FLOOR_PORT);
export const xml = readFileSync(process.env.FLOOR_XML!);
export const json = readFileSync(process.env.FLOOR_JSON!);

export const documentFor = (url: string): { type: string; body: Buffer } =>
  url.startsWith('/processes')
    ? { type: 'application/json', body: json }
    : { type: 'text/xml; charset=utf-8', body: xml };
