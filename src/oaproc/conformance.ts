const CONF = 'http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/';

/** The conformance classes `/conformance` declares: exactly those whose tests pass. */
export const CONFORMANCE_CLASSES: readonly string[] = [
  'core',
  'ogc-process-description',
  'json',
  'html',
  'job-list',
  'dismiss',
  'callback',
  'oas30',
].map((c) => `${CONF}${c}`);
