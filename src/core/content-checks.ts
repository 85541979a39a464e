import { XMLValidator } from 'fast-xml-parser';
import { scanJson } from '../util/json-scan.ts';
import { invalidParameter } from './errors.ts';
import { isJsonMimeType, isXmlMimeType } from './formats.ts';
import type { Format } from './model.ts';

/**
 * A STRICT-mode check that content really is of its declared format. For text data, `bytes` is made
 * (a UTF-8 copy) only when a checker reads it. Returns true when it has
 * checked the content (so later checkers are skipped), false when the format is not its business;
 * throws InvalidParameterValue when the content is not what it claims to be.
 */
export type ContentChecker = (
  content: { text: string | undefined; bytes: Uint8Array },
  format: Format,
  locator: string,
) => boolean;

const decoder = new TextDecoder('utf-8', { fatal: true });

/** A DTD (and so any entity declaration) can only come in the prolog: before the root element. */
const DOCTYPE_IN_PROLOG = /^\uFEFF?\s*(?:<\?[\s\S]*?\?>\s*|<!--[\s\S]*?-->\s*)*<!DOCTYPE/i;
export const hasDoctype = (xml: string): boolean => DOCTYPE_IN_PROLOG.test(xml);

function asText(content: { text: string | undefined; bytes: Uint8Array }, locator: string): string {
  if (content.text !== undefined) return content.text;
  try {
    return decoder.decode(content.bytes);
  } catch {
    throw invalidParameter(locator, `Input '${locator}': content is not valid UTF-8 text`);
  }
}

export const checkJson: ContentChecker = (content, format, locator) => {
  if (!isJsonMimeType(format.mimeType)) return false;
  const text = asText(content, locator);
  try {
    // Syntax only: a scan that builds nothing (a 30 MB GeoJSON parsed into a tree took ~85 MB).
    scanJson(text);
  } catch (e) {
    throw invalidParameter(
      locator,
      `Input '${locator}': content declared as ${format.mimeType} is not valid JSON (${(e as Error).message})`,
    );
  }
  return true;
};

export const checkXml: ContentChecker = (content, format, locator) => {
  if (!isXmlMimeType(format.mimeType)) return false;
  const text = asText(content, locator);
  // Processors (GDAL's GML and KML readers among them) must never see entity declarations.
  if (hasDoctype(text)) {
    throw invalidParameter(
      locator,
      `Input '${locator}': XML with a DTD or entity declarations is not accepted`,
    );
  }
  const result = XMLValidator.validate(text, { allowBooleanAttributes: true });
  if (result !== true) {
    throw invalidParameter(
      locator,
      `Input '${locator}': content declared as ${format.mimeType} is not well-formed XML (line ${result.err.line}: ${result.err.msg})`,
    );
  }
  return true;
};

export const DEFAULT_CONTENT_CHECKERS: readonly ContentChecker[] = [checkJson, checkXml];
