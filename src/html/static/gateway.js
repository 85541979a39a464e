/* global document, window, fetch, DOMParser, setTimeout, clearTimeout, ol */
// The HTML pages' enhancements: live jobs monitor and job page, the execute form, the dismiss
// button and the job map. Every page reads well without it. Data comes from this server's own
// pages and JSON documents and is placed with textContent or by moving server-rendered (escaped)
// elements, never with innerHTML.
'use strict';

const $ = (selector, root = document) => root.querySelector(selector);

/** Fetches a page of this server and returns it parsed (scripts in it never run). */
async function fetchPage(url) {
  const res = await fetch(url, { headers: { Accept: 'text/html' }, cache: 'no-store' });
  if (!res.ok) {
    const error = new Error(`HTTP ${res.status}`);
    error.status = res.status;
    throw error;
  }
  return new DOMParser().parseFromString(await res.text(), 'text/html');
}

/** Replaces the elements with these ids by their fresh versions from `doc`. */
function swap(doc, ids) {
  for (const id of ids) {
    const fresh = doc.getElementById(id);
    const current = document.getElementById(id);
    if (fresh && current) current.replaceWith(document.importNode(fresh, true));
  }
}

/** Polls `url` every `ms` while `keepGoing()`; paused while the tab is hidden. */
function poll(ms, step) {
  let timer;
  const tick = async () => {
    let again = true;
    if (!document.hidden) {
      try {
        again = await step();
      } catch (error) {
        again = error.status !== 404;
      }
    }
    if (again) timer = setTimeout(tick, ms);
  };
  timer = setTimeout(tick, ms);
  return () => clearTimeout(timer);
}

const clock = () => new Date().toISOString().slice(11, 19);

// ---- Jobs monitor -------------------------------------------------------------------------------

function jobsMonitor() {
  const live = $('#jobs-live');
  if (!live) return;
  const status = $('#live-status');
  status.textContent = 'Live: updating every second.';
  poll(Number(live.dataset.pollMs) || 1000, async () => {
    const doc = await fetchPage(live.dataset.liveUrl);
    swap(doc, ['job-rows', 'job-count', 'pager']);
    status.textContent = `Live: updated at ${clock()} UTC.`;
    status.dataset.updated = String(Date.now());
    return true;
  });
}

// ---- Job page -----------------------------------------------------------------------------------

function jobPage() {
  const live = $('#job-live');
  if (!live) return;
  wireDismiss();
  // Live updates first and apart from the map: a layer the map cannot draw never stops them.
  if (live.dataset.terminal !== 'true') pollJob(live);
  safeDrawMap();
}

function pollJob(live) {
  poll(Number(live.dataset.pollMs) || 1000, async () => {
    const doc = await fetchPage(live.dataset.liveUrl);
    const fresh = doc.getElementById('job-live');
    if (!fresh) return false;
    const terminal = fresh.dataset.terminal === 'true';
    swap(doc, ['job-live']);
    wireDismiss();
    if (terminal) {
      const before = $('#map')?.dataset.layers;
      swap(doc, ['job-outputs']);
      if (doc.getElementById('map')?.dataset.layers !== before) {
        swap(doc, ['job-map-section']);
        safeDrawMap();
      }
    }
    return !terminal;
  });
}

function wireDismiss() {
  const button = $('#dismiss-button');
  if (!button || button.dataset.wired) return;
  button.dataset.wired = 'true';
  button.disabled = false;
  button.addEventListener('click', async () => {
    button.disabled = true;
    const res = await fetch(button.dataset.url, {
      method: 'DELETE',
      headers: { Accept: 'application/json' },
    });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) {
      button.disabled = false;
      const p = document.createElement('p');
      p.className = 'error';
      p.id = 'dismiss-error';
      p.textContent = body.detail || `Dismiss failed (HTTP ${res.status})`;
      button.after(p);
      return;
    }
    // A finished job is deleted with its results: back to the monitor. A running one shows dismissed.
    if (body.status === 'dismissed' && $('#job-live').dataset.terminal === 'true') {
      window.location.assign(`${document.querySelector('header.site nav a[href*="/jobs"]').href}`);
      return;
    }
    const doc = await fetchPage($('#job-live').dataset.liveUrl).catch(() => undefined);
    if (doc) swap(doc, ['job-live']);
    else window.location.assign(document.querySelector('header.site nav a[href*="/jobs"]').href);
  });
}

// ---- Map ----------------------------------------------------------------------------------------

/** Says which layers the map could not draw (and why, when known), below the map. */
function showSkipped(target, skipped) {
  target.dataset.skipped = skipped.join(', ');
  $('#map-skipped')?.remove();
  if (skipped.length === 0) return;
  const note = document.createElement('p');
  note.className = 'note';
  note.id = 'map-skipped';
  note.textContent = `Not drawn: ${skipped.join('; ')}.`;
  target.after(note);
}

/** Draws the map; a failure shows on the page and stops nothing else. */
function safeDrawMap() {
  try {
    drawMap();
  } catch (error) {
    const target = $('#map');
    if (target) target.dataset.error = String(error && error.message);
  }
}

function drawMap() {
  const target = $('#map');
  if (!target || typeof ol === 'undefined') return;
  let layers;
  try {
    layers = JSON.parse(target.dataset.layers || '[]');
  } catch {
    layers = [];
  }
  if (layers.length === 0) return;
  target.textContent = '';
  const format = new ol.format.GeoJSON();
  const colours = { input: '#1f6feb', output: '#d9480f' };
  const style = (role) =>
    new ol.style.Style({
      stroke: new ol.style.Stroke({ color: colours[role], width: 2 }),
      fill: new ol.style.Fill({ color: role === 'input' ? 'rgba(31,111,235,0.25)' : 'rgba(217,72,15,0.45)' }),
      image: new ol.style.Circle({ radius: 5, fill: new ol.style.Fill({ color: colours[role] }) }),
    });
  const source = new ol.source.Vector();
  const vectors = [];
  const skipped = [];
  const options = { dataProjection: 'EPSG:4326', featureProjection: 'EPSG:3857' };
  const add = (layer, features, layerSource) => {
    for (const f of features) f.set('layer', `${layer.role}: ${layer.id}`);
    layerSource.addFeatures(features);
    source.addFeatures(features);
  };
  // Layers converted by the server (GML, KML, zipped Shapefile, WKT) come as GeoJSON from their URL.
  const load = async (layer, layerSource) => {
    const res = await fetch(layer.url, { headers: { Accept: 'application/geo+json' }, cache: 'no-store' });
    if (!res.ok) {
      const body = await res.json().catch(() => ({}));
      throw new Error(res.status === 413 ? 'too large to draw' : body.detail || `HTTP ${res.status}`);
    }
    add(layer, format.readFeatures(await res.json(), options), layerSource);
  };
  const pending = [];
  for (const layer of layers) {
    // Each layer on its own: one the map cannot read is left out, the others are drawn.
    try {
      const layerSource = new ol.source.Vector();
      if (layer.kind === 'geojson' && typeof layer.url === 'string') {
        pending.push(
          load(layer, layerSource).catch((error) => {
            skipped.push(`${layer.role}: ${layer.id} (${error.message})`);
          }),
        );
      } else if (layer.kind === 'geojson') {
        add(layer, format.readFeatures(layer.data, options), layerSource);
      } else if (layer.kind === 'bbox') {
        const extent = ol.proj.transformExtent(layer.extent, layer.projection, 'EPSG:3857');
        add(layer, [new ol.Feature(ol.geom.Polygon.fromExtent(extent))], layerSource);
      }
      vectors.push(new ol.layer.Vector({ source: layerSource, style: style(layer.role) }));
    } catch {
      skipped.push(`${layer.role}: ${layer.id}`);
    }
  }
  showSkipped(target, skipped);
  const base = target.dataset.baseMap
    ? [
        new ol.layer.Tile({
          source: new ol.source.XYZ({
            url: target.dataset.baseMap,
            attributions: target.dataset.baseMapAttribution || undefined,
          }),
        }),
      ]
    : [];
  const map = new ol.Map({
    target,
    layers: [...base, ...vectors],
    view: new ol.View({ center: [0, 0], zoom: 1 }),
  });
  const fit = () => {
    const extent = source.getExtent();
    if (extent.every(Number.isFinite)) map.getView().fit(extent, { padding: [30, 30, 30, 30], maxZoom: 16 });
    target.dataset.features = String(source.getFeatures().length);
  };
  fit();
  map.once('rendercomplete', () => {
    target.dataset.rendered = 'true';
  });
  if (pending.length === 0) {
    target.dataset.loaded = 'true';
    return;
  }
  void Promise.all(pending).then(() => {
    fit();
    showSkipped(target, skipped);
    map.once('rendercomplete', () => {
      target.dataset.loaded = 'true';
    });
    map.render();
  });
}

// ---- Execute form -------------------------------------------------------------------------------

function literalValue(text, dataType) {
  if (/integer/i.test(dataType)) return Number.parseInt(text, 10);
  if (dataType === 'double' || dataType === 'float') return Number(text);
  if (dataType === 'boolean') return text === 'true';
  return text;
}

/** The execute request the fields describe (inputs left empty are left out). */
function buildRequest(form) {
  const inputs = {};
  for (const set of form.querySelectorAll('fieldset.input')) {
    const id = set.dataset.inputId;
    const kind = set.dataset.kind;
    const value = set.querySelector('[data-role="value"]');
    if (kind === 'literal') {
      if (value.value === '') continue;
      const literal = literalValue(value.value, set.dataset.dataType);
      const uom = set.querySelector('[data-role="uom"]');
      inputs[id] = uom ? { value: literal, uom: uom.value } : literal;
    } else if (kind === 'complex') {
      const format = set.querySelector('[data-role="format"]').selectedOptions[0];
      const href = set.querySelector('[data-role="href"]').value.trim();
      const mediaType = format.value;
      if (href) {
        inputs[id] = { href, type: mediaType };
        continue;
      }
      if (value.value.trim() === '') continue;
      let data = value.value;
      if (/json/i.test(mediaType)) {
        try {
          data = JSON.parse(data);
        } catch {
          // sent as text: the server says what is wrong with it
        }
      }
      inputs[id] = {
        value: data,
        mediaType,
        ...(format.dataset.encoding ? { encoding: format.dataset.encoding } : {}),
        ...(format.dataset.schema ? { schema: format.dataset.schema } : {}),
      };
    } else {
      const corners = [...set.querySelectorAll('[data-role="bbox"]')].map((i) => i.value);
      if (corners.every((c) => c === '')) continue;
      inputs[id] = { bbox: corners.map(Number), crs: set.querySelector('[data-role="crs"]').value };
    }
  }
  return { inputs, response: 'document' };
}

function executeForm() {
  const form = $('#execute-form');
  if (!form) return;
  const request = $('#execute-request');
  const submit = $('#execute-submit');
  const result = $('#execute-result');
  submit.disabled = false;
  const rebuild = () => {
    request.value = JSON.stringify(buildRequest(form), null, 2);
  };
  form.addEventListener('input', (event) => {
    if (event.target !== request) rebuild();
  });
  form.addEventListener('change', (event) => {
    if (event.target !== request && event.target.id !== 'execute-mode') rebuild();
  });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    submit.disabled = true;
    result.textContent = 'Sending…';
    const headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
    if ($('#execute-mode')?.value === 'async') headers.Prefer = 'respond-async';
    try {
      const res = await fetch(form.dataset.executeUrl, { method: 'POST', headers, body: request.value });
      const location = res.headers.get('Location');
      if (res.status === 201 && location) {
        await res.text(); // read to its end: leaving the page during the body would abort the request
        window.location.assign(`${location}?f=html`);
        return;
      }
      const text = await res.text();
      result.textContent = '';
      const heading = document.createElement('p');
      heading.id = 'execute-status';
      heading.dataset.status = String(res.status);
      heading.className = res.ok ? '' : 'error';
      let shown = text;
      try {
        const json = JSON.parse(text);
        shown = JSON.stringify(json, null, 2);
        heading.textContent = res.ok
          ? `Done (HTTP ${res.status}).`
          : `${json.title || 'Error'}: ${json.detail || ''}`;
      } catch {
        heading.textContent = `HTTP ${res.status}`;
      }
      const pre = document.createElement('pre');
      pre.id = 'execute-response';
      pre.textContent = shown;
      result.append(heading, pre);
    } catch (error) {
      result.textContent = `The request failed: ${error.message}`;
    } finally {
      submit.disabled = false;
    }
  });
}

document.addEventListener('DOMContentLoaded', () => {
  jobsMonitor();
  jobPage();
  executeForm();
});
