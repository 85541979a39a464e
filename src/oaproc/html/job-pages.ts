import { readFile, stat } from 'node:fs/promises';
import { JOB_STATUSES, isTerminal, type Job } from '../../core/job.ts';
import type { JobInputValue, LiteralScalar } from '../../core/values.ts';
import { convertible } from '../../html/layer-geojson.ts';
import type { ResultDelivery } from '../../results/delivery.ts';
import { jobUrl, type StatusUrls } from '../status.ts';
import { durationText, safeHref, timeText, withFormat } from './common.ts';
import { bboxLayer, geoJson, mayBeGeoJson, MAX_INLINE_GEOJSON, type MapLayer } from './map-layers.ts';

/** Longest value text shown on a page (the rest is in the JSON documents and the stored files). */
const MAX_TEXT = 4000;

const clip = (text: string): string =>
  text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}… (${text.length} characters in all)` : text;

const scalarText = (v: LiteralScalar): string => (v instanceof Date ? v.toISOString() : String(v));

export const protocolName = (job: Job): string =>
  job.request.binding?.protocol === 'wps' ? 'WPS 1.0.0' : 'OGC API - Processes';

/** A job as a row of the jobs monitor and the head of its page. */
export function jobView(job: Job, urls: StatusUrls, dismissable: boolean, now = new Date()) {
  const href = withFormat(jobUrl(urls.base, job.id), 'html');
  const created = job.created.toISOString();
  const started = job.started?.toISOString();
  const finished = job.finished?.toISOString();
  const updated = job.updated.toISOString();
  const self = jobUrl(urls.base, job.id);
  return {
    id: job.id,
    href,
    processId: job.processId,
    processHref: `${urls.base}/processes/${encodeURIComponent(job.processId)}?f=html`,
    protocol: protocolName(job),
    status: job.status,
    terminal: isTerminal(job.status),
    progress: Math.max(0, Math.min(100, Math.round(job.progress))),
    message: job.message,
    created,
    createdText: timeText(created),
    started,
    startedText: timeText(started),
    finished,
    finishedText: timeText(finished),
    updated,
    updatedText: timeText(updated),
    duration: job.started ? durationText((job.finished ?? now).getTime() - job.started.getTime()) : undefined,
    jsonHref: withFormat(self, 'json'),
    resultsHref: job.status === 'successful' ? withFormat(`${self}/results`, 'html') : undefined,
    resultsJsonHref: job.status === 'successful' ? withFormat(`${self}/results`, 'json') : undefined,
    wpsStatusHref: urls.wpsStatus(job.id),
    dismissable: dismissable && job.status !== 'dismissed',
    dismissUrl: self,
    attempts: (job.execution?.attempts ?? []).map((a) => ({
      number: a.number,
      startedText: timeText(a.started.toISOString()),
      finishedText: timeText(a.finished?.toISOString()),
      error: a.error?.message,
    })),
    cachedFrom: job.execution?.cachedFrom,
    cachedFromHref:
      job.execution?.cachedFrom !== undefined
        ? withFormat(jobUrl(urls.base, job.execution.cachedFrom), 'html')
        : undefined,
  };
}

interface ValueView {
  id: string;
  kind: string;
  text?: string;
  format?: string;
  href?: string;
  linkText?: string;
}

async function complexText(value: { text?: string; file?: string }): Promise<string | undefined> {
  if (value.text !== undefined) return value.text;
  return undefined;
}

/** The inputs of a job as the page lists them, and the ones its map can draw. */
/** Whether a work file is still there (work files may be removed once the job is over). */
const isFile = (file: string | undefined): Promise<boolean> =>
  file === undefined
    ? Promise.resolve(false)
    : stat(file).then(
        (i) => i.isFile(),
        () => false,
      );

/** Where the map fetches a converted layer (GML, KML, zipped Shapefile, WKT) as GeoJSON. */
export type LayerUrl = (role: 'input' | 'output', id: string, index?: number) => string;

export async function inputsView(
  job: Job,
  layerUrl: LayerUrl,
): Promise<{ rows: ValueView[]; layers: MapLayer[] }> {
  const rows: ValueView[] = [];
  const layers: MapLayer[] = [];
  for (const [id, values] of Object.entries(job.request.inputs)) {
    for (const [index, value] of (values as JobInputValue[]).entries()) {
      switch (value.kind) {
        case 'literal':
          rows.push({
            id,
            kind: 'literal',
            text: `${scalarText(value.value)}${value.uom ? ` ${value.uom}` : ''}`,
          });
          break;
        case 'bbox': {
          rows.push({
            id,
            kind: 'bounding box',
            text: `${value.lowerCorner.join(' ')} … ${value.upperCorner.join(' ')} (${value.crs})`,
          });
          const layer = bboxLayer('input', id, value);
          if (layer) layers.push(layer);
          break;
        }
        case 'complex': {
          const text = await complexText(value);
          rows.push({
            id,
            kind: 'complex',
            format: value.format.mimeType,
            text: text === undefined ? '(held in a file, not shown)' : clip(text),
          });
          if (text !== undefined && mayBeGeoJson(value.format.mimeType)) {
            const data = geoJson(text);
            if (data) layers.push({ role: 'input', id, kind: 'geojson', data });
          } else if (
            convertible(value.format.mimeType) &&
            (text !== undefined || (await isFile(value.file)))
          ) {
            layers.push({ role: 'input', id, kind: 'geojson', url: layerUrl('input', id, index) });
          }
          break;
        }
        case 'reference': {
          const href = safeHref(value.href);
          rows.push({
            id,
            kind: 'reference',
            ...(href ? { href } : { text: value.href }),
            ...(value.mimeType ? { format: value.mimeType } : {}),
          });
          break;
        }
      }
    }
  }
  return { rows, layers };
}

/** The outputs of a successful job (none otherwise), with links to the stored values. */
export async function outputsView(
  job: Job,
  delivery: ResultDelivery,
  layerUrl: LayerUrl,
): Promise<{ rows: ValueView[]; layers: MapLayer[] }> {
  const rows: ValueView[] = [];
  const layers: MapLayer[] = [];
  for (const output of delivery.outputs(job)) {
    const ref = delivery.reference(job.id, output);
    switch (output.kind) {
      case 'literal':
        rows.push({
          id: output.id,
          kind: 'literal',
          text: `${output.text}${output.value.uom ? ` ${output.value.uom}` : ''}`,
          href: ref.href,
          linkText: 'as text',
        });
        break;
      case 'bbox': {
        const v = output.value;
        rows.push({
          id: output.id,
          kind: 'bounding box',
          text: `${v.lowerCorner.join(' ')} … ${v.upperCorner.join(' ')} (${v.crs})`,
          href: ref.href,
          linkText: 'download',
        });
        const layer = bboxLayer('output', output.id, v);
        if (layer) layers.push(layer);
        break;
      }
      case 'complex': {
        const format = output.stored.format;
        rows.push({
          id: output.id,
          kind: 'complex',
          format: `${format.mimeType}, ${output.stored.size} bytes`,
          href: ref.href,
          linkText: output.stored.file,
        });
        if (mayBeGeoJson(format.mimeType) && output.stored.size <= MAX_INLINE_GEOJSON) {
          const data = await readGeoJson(delivery.file(job.id, output));
          if (data) layers.push({ role: 'output', id: output.id, kind: 'geojson', data });
        } else if (convertible(format.mimeType)) {
          layers.push({ role: 'output', id: output.id, kind: 'geojson', url: layerUrl('output', output.id) });
        }
        break;
      }
      case 'reference':
        // Held by a remote server: a link to it, nothing read from it.
        rows.push({
          id: output.id,
          kind: 'complex',
          format: `${output.stored.format.mimeType}, on the remote server`,
          href: ref.href,
          linkText: 'remote result',
        });
        break;
    }
  }
  return { rows, layers };
}

/** A stored output's GeoJSON (read only when small), or undefined. */
async function readGeoJson(file: string): Promise<unknown> {
  try {
    if ((await stat(file)).size > MAX_INLINE_GEOJSON) return undefined;
    return geoJson(await readFile(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** The filter form's state, from the query of `/jobs`. */
export function filterView(params: URLSearchParams, processes: string[], limit: number) {
  const all = (name: string) =>
    params
      .getAll(name)
      .flatMap((v) => v.split(','))
      .map((v) => v.trim())
      .filter(Boolean);
  return {
    processes,
    processIDs: all('processID'),
    statuses: all('status'),
    allStatuses: JOB_STATUSES,
    datetime: params.get('datetime') ?? undefined,
    minDuration: params.get('minDuration') ?? undefined,
    maxDuration: params.get('maxDuration') ?? undefined,
    limit,
  };
}
