import { STATUS_CODES } from 'node:http';
import type { OpenAPIV3 } from 'openapi-types';
import { OWS_EXCEPTION_CODES, OwsError, type ErrorReason } from '../core/errors.ts';
import type { ProcessDescription } from '../core/model.ts';
import type { JsonSchema } from './describe.ts';
import { EXCEPTION_MEDIA_TYPE, httpStatus } from './exceptions.ts';
import { JOB_LIST_PARAMETERS, SCHEMAS } from './openapi-components.ts';
import { executeRequestSchema, rawMediaTypes, schemaRef } from './openapi-execute.ts';
import { REPRESENTATIONS } from './negotiate.ts';
import { SWAGGER_UI_PATH, UI_FILES } from './swagger-ui.ts';

/** The media type of the API definition (OGC API - Processes /req/oas30/oas-definition-1). */
export const OPENAPI_MEDIA_TYPE = 'application/vnd.oai.openapi+json;version=3.0';

export interface ApiDefinitionOptions {
  /** The public base URL of the API, no trailing slash. */
  base: string;
  title: string;
  description?: string;
  version: string;
  processes: readonly ProcessDescription[];
  /** Maximum `limit` of the process list. */
  maxProcessLimit: number;
  defaultProcessLimit: number;
}

// ---- Statuses -------------------------------------------------------------------------------------

/** Every reason a core error may carry (a Record: the compiler keeps it complete). */
const REASONS: Record<ErrorReason, true> = {
  'no-such-process': true,
  'no-such-job': true,
  'result-not-ready': true,
  'execution-mode-not-allowed': true,
  'job-timeout': true,
  'sync-timeout': true,
  cancelled: true,
  interrupted: true,
  'lease-lost': true,
  'input-rejected': true,
  'malformed-request': true,
  transient: true,
  permanent: true,
};

/** Every status a core error can become in this binding (exceptions.ts), whatever its code and reason. */
export function coreErrorStatuses(): number[] {
  const statuses = new Set<number>();
  for (const code of OWS_EXCEPTION_CODES) {
    for (const reason of [undefined, ...(Object.keys(REASONS) as ErrorReason[])]) {
      statuses.add(httpStatus(new OwsError(code, '', undefined, reason)));
    }
  }
  return [...statuses].sort((a, b) => a - b);
}

const WHY: Record<number, string> = {
  400: 'The request is invalid: a bad parameter, input or body (the exception names it)',
  404: 'No such resource (no such process, no such job, or results not ready)',
  406: 'None of the media types the request accepts is offered',
  413: 'The request or one of its inputs is larger than allowed',
  415: 'The request body is not JSON',
  500: 'The server (or the process) failed',
  503: 'The server is too busy to accept the job now: try again after Retry-After seconds',
  507: 'The server has no room left for what the job produced',
};

/**
 * An exception response. Where the operation negotiates its representation (negotiate.ts), a client
 * that asked for a page (`f=html`, `Accept: text/html`) gets the exception as a page too (routes.ts
 * sendException): every representation besides JSON is documented next to the exception JSON.
 */
const exceptionResponse = (status: number, negotiatedOp: boolean): OpenAPIV3.ResponseObject => ({
  description: WHY[status] ?? STATUS_CODES[status] ?? 'Error',
  ...(status === 503
    ? {
        headers: {
          'Retry-After': { description: 'Seconds to wait before trying again', schema: { type: 'integer' } },
        },
      }
    : {}),
  content: {
    [EXCEPTION_MEDIA_TYPE]: { schema: schemaRef('exception') },
    ...(negotiatedOp ? pageContent() : {}),
  },
});

/** The representations of negotiate.ts other than JSON (pages), as response content. */
const pageContent = (): Record<string, OpenAPIV3.MediaTypeObject> =>
  Object.fromEntries(
    Object.entries(REPRESENTATIONS)
      .filter(([name]) => name !== 'json')
      .map(([, mediaType]) => [mediaType, { schema: { type: 'string' } }]),
  );

/** The name of an exception response in the components; `negotiated-` when pages are documented too. */
const responseName = (status: number, negotiatedOp: boolean) =>
  `${negotiatedOp ? 'negotiated-' : ''}exception-${status}`;

const responseRef = (status: number, negotiatedOp = false): OpenAPIV3.ReferenceObject => ({
  $ref: `#/components/responses/${responseName(status, negotiatedOp)}`,
});

type Responses = OpenAPIV3.ResponsesObject;
const errors = (...statuses: number[]): Responses =>
  Object.fromEntries(statuses.map((s) => [String(s), responseRef(s)]));

/**
 * The errors of an operation that negotiates its representation: an error found before the
 * representation is known (406: none fits) is JSON only, the others may be pages.
 */
const negotiatedErrors = (...statuses: number[]): Responses =>
  Object.fromEntries(statuses.map((s) => [String(s), responseRef(s, s !== 406)]));

/** Statuses whose negotiated exception response is in the components. */
const NEGOTIATED_ERROR_STATUSES = [400, 404, 500];

// ---- Building blocks -------------------------------------------------------------------------------

const asSchema = (s: JsonSchema): OpenAPIV3.SchemaObject => s as OpenAPIV3.SchemaObject;
const paramRef = (name: string): OpenAPIV3.ReferenceObject => ({ $ref: `#/components/parameters/${name}` });
const bytes: OpenAPIV3.SchemaObject = { type: 'string', format: 'binary' };

/** The 200 response of a resource with negotiated representations (negotiate.ts), JSON first. */
function negotiated(description: string, schema: string): OpenAPIV3.ResponseObject {
  const content: Record<string, OpenAPIV3.MediaTypeObject> = {};
  for (const [name, mediaType] of Object.entries(REPRESENTATIONS)) {
    content[mediaType] = { schema: name === 'json' ? schemaRef(schema) : { type: 'string' } };
  }
  return { description, content };
}

/** A GET of a negotiated resource: `f`, then Accept; 400 for an unknown `f`, 406 for an impossible Accept. */
function negotiatedGet(
  operationId: string,
  summary: string,
  tag: string,
  ok: OpenAPIV3.ResponseObject,
  parameters: Array<OpenAPIV3.ParameterObject | OpenAPIV3.ReferenceObject>,
  extraErrors: number[] = [],
): OpenAPIV3.OperationObject {
  return {
    operationId,
    summary,
    tags: [tag],
    parameters: [...parameters, paramRef('f')],
    responses: {
      '200': ok,
      ...negotiatedErrors(...[400, ...extraErrors, 406, 500].sort((a, b) => a - b)),
    },
  };
}

const preferHeader: OpenAPIV3.ParameterObject = {
  name: 'Prefer',
  in: 'header',
  description:
    '`respond-async` to run the process as a job (201), `wait=N` to wait at most N seconds for the results before a job is made (RFC 7240)',
  schema: { type: 'string' },
  example: 'respond-async',
};

const preferenceApplied: Record<string, OpenAPIV3.HeaderObject> = {
  'Preference-Applied': { description: 'The preferences honoured', schema: { type: 'string' } },
};

/**
 * The responses of an execution: results (sync), a job (async), or an exception; `pages` when the
 * exceptions may be pages too (the results of a job, negotiated).
 */
function executeResponses(mediaTypes: string[], async: boolean, pages = false): Responses {
  const content: Record<string, OpenAPIV3.MediaTypeObject> = {};
  for (const type of mediaTypes) {
    content[type] =
      type === 'application/json'
        ? {
            schema: {
              description: 'The results document (response=document), or the one output asked raw, in JSON',
            },
          }
        : { schema: bytes };
  }
  return {
    '200': {
      description:
        'The results: a results document (response=document), one output raw in its media type, or several as multipart/related',
      headers: preferenceApplied,
      content,
    },
    ...(async
      ? {
          '201': {
            description: 'A job was made: its status is at Location',
            headers: {
              Location: { description: 'The job', schema: { type: 'string', format: 'uri' } },
              ...preferenceApplied,
            },
            content: { 'application/json': { schema: schemaRef('statusInfo') } },
          },
        }
      : {}),
    '204': {
      description: 'Raw outputs all by reference: one Link header (rel results) per output',
      headers: { Link: { description: 'The outputs (RFC 8288)', schema: { type: 'string' } } },
    },
    ...(pages ? negotiatedErrors : errors)(...[...coreErrorStatuses(), 415].sort((a, b) => a - b)),
  };
}

const componentName = (id: string) => id.replace(/[^A-Za-z0-9._-]/g, '_');

// ---- The document ----------------------------------------------------------------------------------

/**
 * The OpenAPI 3.0 definition of this server's OGC API - Processes, generated from the processes it
 * publishes: every path with its parameters, request bodies and the responses (statuses and media
 * types) the routes really answer with, and for each process a path of its own whose request body is
 * that process's execute request, built from the same model as its description.
 */
export function openApiDocument(options: ApiDefinitionOptions): OpenAPIV3.Document {
  const schemas: Record<string, OpenAPIV3.SchemaObject> = {};
  for (const [name, schema] of Object.entries(SCHEMAS)) schemas[name] = asSchema(schema);
  const paths: OpenAPIV3.PathsObject = {
    '/': {
      get: negotiatedGet(
        'getLandingPage',
        'Landing page: links to the API definition, the conformance, the processes and the jobs',
        'Capabilities',
        negotiated('The landing page', 'landingPage'),
        [],
      ),
    },
    '/api': {
      get: {
        operationId: 'getAPI',
        summary: 'This API definition (JSON), or its documentation (HTML)',
        tags: ['Capabilities'],
        parameters: [
          {
            name: 'f',
            in: 'query',
            description: 'The representation: `json` (OpenAPI 3.0) or `html` (Swagger UI)',
            schema: { type: 'string', enum: ['json', 'html'] },
          },
        ],
        responses: {
          '200': {
            description: 'The API definition',
            content: {
              [OPENAPI_MEDIA_TYPE]: { schema: { type: 'object' } },
              'application/json': { schema: { type: 'object' } },
              'text/html': { schema: { type: 'string' } },
            },
          },
          ...errors(400, 406, 500),
        },
      },
    },
    [`${SWAGGER_UI_PATH}/{file}`]: {
      get: {
        operationId: 'getAPIDocumentationFile',
        summary: 'A file of the API documentation (Swagger UI)',
        tags: ['Capabilities'],
        parameters: [
          {
            name: 'file',
            in: 'path',
            required: true,
            schema: { type: 'string', enum: Object.keys(UI_FILES) },
          },
        ],
        responses: {
          '200': {
            description: 'The file',
            content: Object.fromEntries(
              [...new Set(Object.values(UI_FILES).map((t) => t.split(';')[0]!))].map((t) => [
                t,
                { schema: bytes },
              ]),
            ),
          },
          ...errors(404, 500),
        },
      },
    },
    '/conformance': {
      get: negotiatedGet(
        'getConformanceClasses',
        'The conformance classes this server implements',
        'Capabilities',
        negotiated('The conformance declaration', 'confClasses'),
        [],
      ),
    },
    '/processes': {
      get: negotiatedGet(
        'getProcesses',
        'The processes offered, a page at a time',
        'Processes',
        negotiated('A page of process summaries, with next/prev links', 'processList'),
        [paramRef('processLimit'), paramRef('offset')],
      ),
    },
    '/processes/{processID}': {
      get: negotiatedGet(
        'getProcessDescription',
        'The description of a process: its inputs and outputs with their schemas',
        'Processes',
        negotiated('The process description', 'process'),
        [paramRef('processID')],
        [404],
      ),
    },
    '/processes/{processID}/execution': {
      post: {
        operationId: 'execute',
        summary: 'Executes a process (each process also has a path of its own, with its own request schema)',
        tags: ['Processes'],
        parameters: [paramRef('processID'), paramRef('Prefer')],
        requestBody: {
          required: true,
          content: { 'application/json': { schema: schemaRef('execute') } },
        },
        responses: executeResponses(['application/json', 'multipart/related', '*/*'], true),
      },
    },
    '/jobs': {
      get: negotiatedGet(
        'getJobs',
        'The jobs of both protocols, a page at a time',
        'Jobs',
        negotiated('A page of jobs', 'jobList'),
        JOB_LIST_PARAMETERS.map((p) => p as unknown as OpenAPIV3.ParameterObject),
      ),
    },
    '/jobs/{jobId}': {
      get: negotiatedGet(
        'getStatus',
        'The status of a job',
        'Jobs',
        negotiated('The status of the job', 'statusInfo'),
        [paramRef('jobId')],
        [404],
      ),
      delete: {
        operationId: 'dismiss',
        summary: 'Dismisses a job: cancels it if running, and removes it and its outputs',
        tags: ['Jobs'],
        parameters: [paramRef('jobId')],
        responses: {
          '200': {
            description: 'The job, dismissed',
            content: { 'application/json': { schema: schemaRef('statusInfo') } },
          },
          ...errors(400, 404, 500),
        },
      },
    },
    '/jobs/{jobId}/results': {
      get: {
        operationId: 'getResult',
        summary:
          'The results of a finished job, as its execute request asked for them (`f=html` or Accept text/html: a page)',
        tags: ['Jobs'],
        parameters: [paramRef('jobId'), paramRef('f')],
        responses: (() => {
          const { '201': _created, ...responses } = executeResponses(
            ['application/json', 'multipart/related', '*/*'],
            false,
            true,
          );
          // No request body here: an unsupported body type (415) cannot happen.
          delete responses['415'];
          return responses;
        })(),
      },
    },
    '/jobs/{jobId}/layers/output/{outputId}.geojson': {
      get: {
        operationId: 'getOutputLayer',
        summary:
          'A vector output (GML, KML, zipped Shapefile, WKT) as GeoJSON in WGS 84, for the map of the job page',
        tags: ['Jobs'],
        parameters: [
          paramRef('jobId'),
          { name: 'outputId', in: 'path', required: true, schema: { type: 'string' } },
        ],
        responses: {
          '200': {
            description: 'The layer',
            content: { 'application/geo+json': { schema: { type: 'object' } } },
          },
          ...errors(404, 413, 422, 500),
        },
      },
    },
    '/jobs/{jobId}/layers/input/{inputId}/{index}.geojson': {
      get: {
        operationId: 'getInputLayer',
        summary:
          'A vector input value (GML, KML, zipped Shapefile, WKT) as GeoJSON in WGS 84, for the map of the job page',
        tags: ['Jobs'],
        parameters: [
          paramRef('jobId'),
          { name: 'inputId', in: 'path', required: true, schema: { type: 'string' } },
          { name: 'index', in: 'path', required: true, schema: { type: 'integer', minimum: 0 } },
        ],
        responses: {
          '200': {
            description: 'The layer',
            content: { 'application/geo+json': { schema: { type: 'object' } } },
          },
          ...errors(404, 413, 422, 500),
        },
      },
    },
    '/health': {
      get: {
        operationId: 'getHealth',
        summary: 'Whether the server can run every process (for supervisors and load balancers)',
        tags: ['Server'],
        responses: {
          '200': {
            description: 'The server is up',
            content: { 'application/json': { schema: schemaRef('health') } },
          },
          '503': {
            description: 'Some processes cannot run until the server is restarted',
            content: { 'application/json': { schema: schemaRef('health') } },
          },
          ...errors(500),
        },
      },
    },
  };

  const used = new Set<string>(Object.keys(schemas));
  for (const process of options.processes) {
    let name = `execute.${componentName(process.id)}`;
    for (let n = 2; used.has(name); n++) name = `execute.${componentName(process.id)}.${n}`;
    used.add(name);
    schemas[name] = asSchema(executeRequestSchema(process));
    const asyncAllowed = process.jobControlOptions.includes('async-execute');
    paths[`/processes/${encodeURIComponent(process.id)}/execution`] = {
      post: {
        operationId: name.replace(/^execute\./, 'execute_'),
        summary: `Executes ${process.title}`,
        ...(process.abstract ? { description: process.abstract } : {}),
        tags: ['Processes'],
        parameters: [paramRef('Prefer')],
        requestBody: {
          required: true,
          content: { 'application/json': { schema: schemaRef(name) } },
        },
        responses: executeResponses(rawMediaTypes(process), asyncAllowed),
      },
    };
  }

  const representations = Object.keys(REPRESENTATIONS);
  return {
    openapi: '3.0.3',
    info: {
      title: options.title,
      ...(options.description ? { description: options.description } : {}),
      version: options.version,
    },
    servers: [{ url: options.base }],
    tags: [
      { name: 'Capabilities', description: 'The landing page, this definition and the conformance' },
      { name: 'Processes', description: 'The processes, their descriptions and their execution' },
      { name: 'Jobs', description: 'The jobs of both protocols (OGC API - Processes and WPS 1.0.0)' },
      { name: 'Server', description: 'The state of the server' },
    ],
    paths,
    components: {
      schemas,
      parameters: {
        f: {
          name: 'f',
          in: 'query',
          description: 'The representation (instead of the Accept header)',
          schema: { type: 'string', enum: representations },
        },
        processID: { name: 'processID', in: 'path', required: true, schema: { type: 'string' } },
        jobId: { name: 'jobId', in: 'path', required: true, schema: { type: 'string' } },
        processLimit: {
          name: 'limit',
          in: 'query',
          schema: {
            type: 'integer',
            minimum: 1,
            maximum: options.maxProcessLimit,
            default: options.defaultProcessLimit,
          },
        },
        offset: { name: 'offset', in: 'query', schema: { type: 'integer', minimum: 0, default: 0 } },
        Prefer: preferHeader,
      },
      responses: Object.fromEntries(
        [...new Set([400, 404, 406, 415, 422, 500, ...coreErrorStatuses()])]
          .sort((a, b) => a - b)
          .flatMap((s) => [
            [responseName(s, false), exceptionResponse(s, false)],
            ...(NEGOTIATED_ERROR_STATUSES.includes(s) || coreErrorStatuses().includes(s)
              ? [[responseName(s, true), exceptionResponse(s, true)]]
              : []),
          ]),
      ),
    },
  };
}
