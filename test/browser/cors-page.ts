/**
 * The web page of the browser CORS test: a client on its own origin, in plain browser JavaScript
 * (what a web application would ship), calling a gateway on another origin with fetch. Each check
 * logs a line on the page (for the screenshot) and returns what it saw; a blocked request rejects
 * fetch with a TypeError, reported as `{ ok: false, error }`.
 */
export const CORS_PAGE = String.raw`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>CORS client</title>
<style>body{font:14px sans-serif;margin:1em} pre{background:#f4f4f4;padding:.5em;white-space:pre-wrap}</style>
</head>
<body>
<h1>Cross-origin client</h1>
<p>This page: <code id="origin"></code></p>
<pre id="log"></pre>
<script>
document.getElementById('origin').textContent = location.origin;
const log = (line) => { document.getElementById('log').textContent += line + '\n'; };
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function check(label, run) {
  try {
    const seen = await run();
    log('OK      ' + label + ': ' + JSON.stringify(seen));
    return { ok: true, ...seen };
  } catch (error) {
    log('BLOCKED ' + label + ': ' + error);
    return { ok: false, error: String(error) };
  }
}

/** OGC API - Processes: list, then an asynchronous JSON execute (preflighted), polled to its results. */
async function oaproc(api) {
  const list = await check('GET ' + api + '/processes', async () => {
    const r = await fetch(api + '/processes?limit=100');
    const body = await r.json();
    return { status: r.status, ids: body.processes.map((p) => p.id) };
  });
  const execute = await check('POST ' + api + '/processes/hello-world/execution (async)', async () => {
    const r = await fetch(api + '/processes/hello-world/execution', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Prefer: 'respond-async' },
      body: JSON.stringify({ inputs: { name: 'Browser' } }),
    });
    const created = await r.json();
    const location = r.headers.get('Location');
    let info = created;
    for (let i = 0; i < 200 && info.status !== 'successful' && info.status !== 'failed'; i++) {
      await sleep(50);
      info = await (await fetch(location)).json();
    }
    // One literal output: the results come back as the bare value.
    const results = await (await fetch(location + '/results')).text();
    const dismissed = await fetch(location, { method: 'DELETE' });
    return {
      status: r.status,
      location,
      preferenceApplied: r.headers.get('Preference-Applied'),
      jobID: created.jobID,
      finalStatus: info.status,
      results,
      dismissStatus: dismissed.status,
    };
  });
  return { list, execute };
}

const WPS_NS = 'http://www.opengis.net/wps/1.0.0';
const OWS_NS = 'http://www.opengis.net/ows/1.1';
const xml = (text) => new DOMParser().parseFromString(text, 'application/xml');

/** WPS 1.0.0: GetCapabilities (KVP GET), then an XML Execute (preflighted: text/xml) stored and polled. */
async function wps(endpoint) {
  const capabilities = await check('GET ' + endpoint + '?request=GetCapabilities', async () => {
    const r = await fetch(endpoint + '?service=WPS&request=GetCapabilities');
    const doc = xml(await r.text());
    const ids = [...doc.getElementsByTagNameNS(WPS_NS, 'Process')].map(
      (p) => p.getElementsByTagNameNS(OWS_NS, 'Identifier')[0].textContent,
    );
    return { status: r.status, root: doc.documentElement.localName, ids };
  });
  const execute = await check('POST ' + endpoint + ' Execute (XML, stored, status)', async () => {
    const r = await fetch(endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'text/xml' },
      body: '<?xml version="1.0" encoding="UTF-8"?>' +
        '<wps:Execute service="WPS" version="1.0.0" xmlns:wps="' + WPS_NS + '" xmlns:ows="' + OWS_NS + '">' +
        '<ows:Identifier>hello-world</ows:Identifier><wps:DataInputs><wps:Input>' +
        '<ows:Identifier>name</ows:Identifier><wps:Data><wps:LiteralData>Browser</wps:LiteralData></wps:Data>' +
        '</wps:Input></wps:DataInputs><wps:ResponseForm>' +
        '<wps:ResponseDocument storeExecuteResponse="true" status="true"/></wps:ResponseForm></wps:Execute>',
    });
    let doc = xml(await r.text());
    const statusLocation = doc.documentElement.getAttribute('statusLocation');
    const done = () => doc.getElementsByTagNameNS(WPS_NS, 'ProcessSucceeded').length +
      doc.getElementsByTagNameNS(WPS_NS, 'ProcessFailed').length > 0;
    for (let i = 0; i < 200 && !done(); i++) {
      await sleep(50);
      doc = xml(await (await fetch(statusLocation)).text());
    }
    const literal = doc.getElementsByTagNameNS(WPS_NS, 'LiteralData')[0];
    return {
      status: r.status,
      statusLocation,
      succeeded: doc.getElementsByTagNameNS(WPS_NS, 'ProcessSucceeded').length === 1,
      output: literal ? literal.textContent : null,
    };
  });
  return { capabilities, execute };
}
</script>
</body>
</html>
`;
