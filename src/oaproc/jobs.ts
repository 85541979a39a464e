import type Router from '@koa/router';
import type { Context } from 'koa';
import { OwsError } from '../core/errors.ts';
import { isTerminal, type Job } from '../core/job.ts';
import type { Gateway } from '../gateway.ts';
import { BodyTextError, jsonBodyText, readBodyBytes, releaseBytes } from '../http/body-text.ts';
import { LayerConverter, type LayerRole } from '../html/layer-geojson.ts';
import type { ResultDelivery } from '../results/delivery.ts';
import { BoundedJsonError, parseBoundedJson } from '../util/bounded-json.ts';
import { cacheDirectives } from '../http/cache-control.ts';
import { checkSubscriber, checkSubscriberHosts } from './callbacks.ts';
import { HttpProblem } from './exceptions.ts';
import { DEFERRED_VALUES, toRawExecuteRequest } from './execute-request.ts';
import { parseJobListQuery } from './job-list-query.ts';
import { apiUrl, type Link } from './links.ts';
import { negotiate, REPRESENTATIONS, wantsHtml } from './negotiate.ts';
import { resultsReply, type ResultsReply } from './results.ts';
import { jobUrl, statusInfo, type StatusUrls } from './status.ts';
import { htmlAlternate, pageBase, sendPage, withFormat } from './html/common.ts';
import { filterView, inputsView, jobView, outputsView } from './html/job-pages.ts';

const JSON_TYPE = REPRESENTATIONS.json;

async function readJsonBody(ctx: Context, limit: number): Promise<unknown> {
  if (!ctx.is('application/json', '+json')) {
    throw new HttpProblem(
      415,
      `An execute request is JSON: send it with Content-Type application/json (got ${ctx.get('Content-Type') || 'none'})`,
    );
  }
  let text: string;
  try {
    const bytes = await readBodyBytes(
      ctx.req,
      { contentLength: ctx.get('Content-Length'), contentEncoding: ctx.get('Content-Encoding') },
      limit,
    );
    try {
      text = jsonBodyText(bytes, ctx.request.charset || undefined);
    } finally {
      // The text is what is read from here on: the bytes are freed now, not at the next collection.
      releaseBytes(bytes);
    }
  } catch (error) {
    if (!(error instanceof BodyTextError)) throw error;
    switch (error.kind) {
      case 'too-large':
        throw new OwsError('FileSizeExceeded', error.message, 'body');
      case 'content-coding':
      case 'unsupported-charset':
        throw new HttpProblem(415, error.message);
      default:
        throw new OwsError('InvalidParameterValue', error.message, 'body', 'malformed-request');
    }
  }
  try {
    // Depth and member count are bounded before JSON.parse builds anything; large input values
    // stay text (a slice of the body, not a tree of it).
    return parseBoundedJson(text, {}, DEFERRED_VALUES);
  } catch (error) {
    const message =
      error instanceof BoundedJsonError && error.limit !== 'syntax'
        ? `The request body exceeds a limit (${error.message})`
        : `The request body is not valid JSON (${(error as Error).message})`;
    throw new OwsError('InvalidParameterValue', message, 'body', 'malformed-request');
  }
}

function sendReply(ctx: Context, reply: ResultsReply): void {
  ctx.status = reply.status;
  for (const [k, v] of Object.entries(reply.headers)) ctx.set(k, v);
  const body = reply.body;
  if (body === undefined) return;
  if (typeof body === 'object' && !Buffer.isBuffer(body) && 'json' in body) {
    ctx.type = JSON_TYPE;
    ctx.body = body.json;
  } else {
    ctx.body = body;
  }
}

/**
 * True when the client would rather have JSON than text for a bare literal: `f=json` (the JSON
 * alternate of the results page), else an Accept header that ranks JSON above text.
 */
const prefersJson = (ctx: Context): boolean => {
  const f = ctx.query.f;
  if (f !== undefined) return (Array.isArray(f) ? f[0] : f)?.toLowerCase() === 'json';
  const accept = ctx.get('Accept');
  return accept !== '' && ctx.accepts('text/plain', 'application/json') === 'application/json';
};

/** A failed (or dismissed) job's results: its exception, with the status its error maps to. */
export function failure(job: Job): OwsError {
  if (job.status === 'dismissed') {
    return new OwsError('InvalidParameterValue', `Job '${job.id}' was dismissed`, 'jobID', 'no-such-job');
  }
  return OwsError.fromJSON(
    job.error ?? { code: 'NoApplicableCode', message: job.message ?? 'The job failed' },
  );
}

/**
 * Execution and jobs of OGC API - Processes: execute (sync and async, the whole response matrix),
 * job status, results, the job list and dismiss. Jobs are the shared jobs: one made through WPS
 * is listed and shown here with the same id.
 */
export function addJobRoutes(
  router: Router,
  gateway: Gateway,
  delivery: ResultDelivery,
  urls: () => StatusUrls,
): void {
  const server = gateway.config.server;
  const converter = new LayerConverter(gateway.runner, delivery, server.limits);
  /** Where the job page's map fetches a converted layer: `{job}/layers/{role}/{id}[/{index}].geojson`. */
  const layerUrls =
    (jobId: string) =>
    (role: LayerRole, id: string, index?: number): string =>
      `${jobUrl(urls().base, jobId)}/layers/${role}/${encodeURIComponent(id)}${index === undefined ? '' : `/${index}`}.geojson`;

  /**
   * Reads and submits an execute request. The job is returned as a promise: nothing of the request
   * (a large input's text) is held while the job runs, its input being on disk by then.
   */
  const submit = async (ctx: Context) => {
    const { description } = gateway.registry.get(String(ctx.params.id));
    const body = await readJsonBody(ctx, server.maxRequestSize);
    const { request, preferences } = toRawExecuteRequest(body, description, ctx.get('Prefer') || undefined);
    if (request.binding.subscriber !== undefined) {
      const refused =
        checkSubscriber(request.binding.subscriber, gateway.outboundPolicy) ??
        (await checkSubscriberHosts(request.binding.subscriber, gateway.outboundPolicy));
      if (refused) throw refused;
    }
    const applied = [...preferences.applied];
    // Past the synchronous limit (or the client's `wait=N`, capped by that limit), a process that may
    // run asynchronously goes on as a job the client is pointed at (201); a sync-only one is cancelled.
    const asyncAllowed = description.jobControlOptions.includes('async-execute');
    const syncLimitMs = gateway.config.jobs.syncTimeoutSeconds * 1000;
    const wait = preferences.wait;
    const waitMs =
      wait !== undefined && request.mode !== 'prefer-async' && asyncAllowed
        ? Math.min(wait * 1000, syncLimitMs)
        : undefined;
    const cache = cacheDirectives(ctx.get('Cache-Control') || undefined);
    const job = gateway.jobs.execute(cache ? { ...request, cache } : request, {
      onSyncTimeout: asyncAllowed ? 'detach' : 'cancel',
      ...(waitMs !== undefined ? { waitMs } : {}),
    });
    return { job, applied, wait, waitMs };
  };

  router.post('/processes/:id/execution', async (ctx) => {
    const submitted = await submit(ctx);
    const { applied, wait, waitMs } = submitted;
    const job = await submitted.job;
    if (wait !== undefined && job.mode === 'sync' && waitMs === wait * 1000) applied.push(`wait=${wait}`);
    if (applied.length > 0) ctx.set('Preference-Applied', applied.join(', '));
    // An asynchronous job answers 201 even when it is done at once (served from the result cache).
    if (!isTerminal(job.status) || job.mode === 'async') {
      ctx.status = 201;
      ctx.set('Location', jobUrl(urls().base, job.id));
      ctx.type = JSON_TYPE;
      ctx.body = statusInfo(job, urls());
      return;
    }
    if (job.status !== 'successful') throw failure(job);
    ctx.vary('Accept');
    sendReply(ctx, await resultsReply(job, delivery, prefersJson(ctx)));
  });

  const dismissable = (job: Job) =>
    gateway.registry.find(job.processId)?.description.jobControlOptions.includes('dismiss') ?? true;

  router.get('/jobs', async (ctx) => {
    const format = negotiate(ctx);
    const params = new URLSearchParams(ctx.querystring);
    const filter = parseJobListQuery(params);
    if (filter instanceof OwsError) throw filter;
    const { jobs, total } = await gateway.jobs.list(filter);
    const query = Object.fromEntries(
      [...params.keys()]
        .filter((k) => k !== 'limit' && k !== 'offset' && k !== 'f')
        .map((k): [string, string] => [k, params.getAll(k).join(',')]),
    );
    const base = urls().base;
    const limit = filter.limit ?? 10;
    const offset = filter.offset ?? 0;
    const at = (o: number) => apiUrl(base, '/jobs', { ...query, limit, offset: o });
    const links: Link[] = [{ href: at(offset), rel: 'self', type: JSON_TYPE, title: 'This page' }];
    if (offset + jobs.length < total) {
      links.push({ href: at(offset + limit), rel: 'next', type: JSON_TYPE, title: 'Next page' });
    }
    if (offset > 0) {
      links.push({
        href: at(Math.max(0, offset - limit)),
        rel: 'prev',
        type: JSON_TYPE,
        title: 'Previous page',
      });
    }
    links.push(htmlAlternate(at(offset)));
    ctx.set('Cache-Control', 'no-store');
    if (format === 'html') {
      const now = new Date();
      const html = (o: number) => withFormat(at(o), 'html');
      return sendPage(ctx, gateway, 'jobs', {
        ...pageBase(gateway, base, 'Jobs', at(offset), [{ label: 'Jobs' }]),
        page: 'jobs',
        jobs: jobs.map((j) => jobView(j, urls(), dismissable(j), now)),
        numberMatched: total,
        filters: filterView(
          params,
          gateway.registry.list().map((e) => e.description.id),
          limit,
        ),
        liveUrl: html(offset),
        pager: {
          prev: offset > 0 ? html(Math.max(0, offset - limit)) : undefined,
          next: offset + jobs.length < total ? html(offset + limit) : undefined,
          position: `${jobs.length === 0 ? 0 : offset + 1}–${offset + jobs.length} of ${total}`,
        },
      });
    }
    ctx.type = JSON_TYPE;
    ctx.body = { jobs: jobs.map((j) => statusInfo(j, urls())), links, numberMatched: total };
  });

  router.get('/jobs/:id', async (ctx) => {
    const format = negotiate(ctx);
    const job = await gateway.jobs.get(String(ctx.params.id));
    ctx.set('Cache-Control', 'no-store');
    const info = statusInfo(job, urls());
    const self = jobUrl(urls().base, job.id);
    if (format === 'html') {
      const layerUrl = layerUrls(job.id);
      const [inputs, outputs] = await Promise.all([
        inputsView(job, layerUrl),
        outputsView(job, delivery, layerUrl),
      ]);
      const layers = [...inputs.layers, ...outputs.layers];
      const map = server.map;
      return sendPage(ctx, gateway, 'job', {
        ...pageBase(gateway, urls().base, `Job ${job.id}`, self, [
          { href: `${urls().base}/jobs?f=html`, label: 'Jobs' },
          { label: job.id },
        ]),
        page: 'job',
        scripts: ['ol.js'],
        styles: ['ol.css'],
        job: jobView(job, urls(), dismissable(job)),
        liveUrl: withFormat(self, 'html'),
        inputs: inputs.rows,
        outputs: outputs.rows,
        mapLayers: JSON.stringify(layers),
        baseMap: map?.url,
        baseMapAttribution: map?.attribution,
        mapNote:
          layers.length > 0
            ? 'The map needs JavaScript.'
            : 'Nothing of this job can be drawn on a map (no GeoJSON, other vector data or bounding box in WGS 84 or Web Mercator).',
      });
    }
    ctx.type = JSON_TYPE;
    ctx.body = { ...info, links: [...info.links, htmlAlternate(self)] };
  });

  // The job map's converted layers (GML, KML, zipped Shapefile, WKT values) as GeoJSON.
  const layer = async (ctx: Context, file: string, name?: string) => {
    const role = String(ctx.params.role);
    const m = /^(.+)\.geojson$/.exec(file);
    const index = name === undefined ? 0 : Number(m?.[1]);
    const id = name ?? m?.[1];
    const job = await gateway.jobs.get(String(ctx.params.id));
    const result =
      (role === 'input' || role === 'output') &&
      m &&
      id !== undefined &&
      Number.isSafeInteger(index) &&
      index >= 0
        ? await converter.geojson(job, role, id, index)
        : undefined;
    if (!result) throw new HttpProblem(404, `Job '${job.id}' has no such map layer`);
    if (result.kind === 'too-large') throw new HttpProblem(413, result.detail);
    if (result.kind === 'unreadable') throw new HttpProblem(422, result.detail);
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'application/geo+json';
    ctx.body = result.body;
  };
  router.get('/jobs/:id/layers/:role/:file', (ctx) => layer(ctx, String(ctx.params.file)));
  router.get('/jobs/:id/layers/:role/:name/:file', (ctx) =>
    layer(ctx, String(ctx.params.file), String(ctx.params.name)),
  );

  router.get('/jobs/:id/results', async (ctx) => {
    // A page, a results document, a literal as text or as JSON: all by the Accept header.
    ctx.vary('Accept');
    const html = wantsHtml(ctx);
    const job = await gateway.jobs.get(String(ctx.params.id));
    if (!isTerminal(job.status)) {
      throw new OwsError(
        'InvalidParameterValue',
        `The results of job '${job.id}' are not ready: it is ${job.status}`,
        'jobID',
        'result-not-ready',
      );
    }
    if (job.status !== 'successful') throw failure(job);
    const self = `${jobUrl(urls().base, job.id)}/results`;
    if (html) {
      const outputs = await outputsView(job, delivery, layerUrls(job.id));
      return sendPage(ctx, gateway, 'results', {
        ...pageBase(gateway, urls().base, `Results of job ${job.id}`, self, [
          { href: `${urls().base}/jobs?f=html`, label: 'Jobs' },
          { href: withFormat(jobUrl(urls().base, job.id), 'html'), label: job.id },
          { label: 'Results' },
        ]),
        page: 'results',
        job: jobView(job, urls(), dismissable(job)),
        outputs: outputs.rows,
      });
    }
    const reply = await resultsReply(job, delivery, prefersJson(ctx));
    // Neither a results document (its members are the outputs) nor a raw value can carry links of
    // its own: the header links the page, next to the outputs' links of a 204.
    const alternate = `<${withFormat(self, 'html')}>; rel="alternate"; type="text/html"`;
    const links = reply.headers.Link;
    reply.headers = {
      ...reply.headers,
      Link: links === undefined ? alternate : [...[links].flat(), alternate],
    };
    sendReply(ctx, reply);
  });

  router.delete('/jobs/:id', async (ctx) => {
    const job = await gateway.jobs.dismiss(String(ctx.params.id));
    ctx.type = JSON_TYPE;
    ctx.body = statusInfo(job, urls());
  });
}
