import { JOB_STATUSES } from '../core/job.ts';
import { JOB_CONTROL_OPTIONS } from '../core/model.ts';
import type { JsonSchema } from './describe.ts';
import { JOB_LIST_LIMIT } from './job-list-query.ts';
import { schemaRef } from './openapi-execute.ts';

/**
 * The schemas of the OGC API - Processes 1.0 documents this server writes (core/openapi/schemas of
 * the standard, in the OpenAPI 3.0 dialect), as the responses of the API definition refer to them.
 */
const stringArray: JsonSchema = { type: 'array', items: { type: 'string' } };
const links: JsonSchema = { type: 'array', items: schemaRef('link') };
const dateTime: JsonSchema = { type: 'string', format: 'date-time' };

export const SCHEMAS: Record<string, JsonSchema> = {
  link: {
    type: 'object',
    required: ['href'],
    properties: {
      href: { type: 'string' },
      rel: { type: 'string' },
      type: { type: 'string' },
      hreflang: { type: 'string' },
      title: { type: 'string' },
    },
  },
  landingPage: {
    type: 'object',
    required: ['links'],
    properties: { title: { type: 'string' }, description: { type: 'string' }, links },
  },
  confClasses: { type: 'object', required: ['conformsTo'], properties: { conformsTo: stringArray } },
  metadata: {
    type: 'object',
    properties: { title: { type: 'string' }, role: { type: 'string' }, href: { type: 'string' } },
  },
  additionalParameters: {
    type: 'object',
    properties: {
      parameters: {
        type: 'array',
        items: {
          type: 'object',
          required: ['name', 'value'],
          properties: { name: { type: 'string' }, value: { type: 'array', items: {} } },
        },
      },
    },
  },
  processSummary: {
    type: 'object',
    required: ['id', 'version'],
    properties: {
      id: { type: 'string' },
      version: { type: 'string' },
      title: { type: 'string' },
      description: { type: 'string' },
      keywords: stringArray,
      metadata: { type: 'array', items: schemaRef('metadata') },
      additionalParameters: schemaRef('additionalParameters'),
      jobControlOptions: { type: 'array', items: { type: 'string', enum: [...JOB_CONTROL_OPTIONS] } },
      outputTransmission: { type: 'array', items: { type: 'string', enum: ['value', 'reference'] } },
      links,
    },
  },
  processList: {
    type: 'object',
    required: ['processes', 'links'],
    properties: { processes: { type: 'array', items: schemaRef('processSummary') }, links },
  },
  inputDescription: {
    type: 'object',
    required: ['schema'],
    properties: {
      title: { type: 'string' },
      description: { type: 'string' },
      keywords: stringArray,
      metadata: { type: 'array', items: schemaRef('metadata') },
      additionalParameters: schemaRef('additionalParameters'),
      schema: { type: 'object', description: 'The JSON Schema of a value (schema.yaml)' },
      minOccurs: { type: 'integer', minimum: 0, default: 1 },
      maxOccurs: {
        anyOf: [
          { type: 'integer', minimum: 1 },
          { type: 'string', enum: ['unbounded'] },
        ],
      },
    },
  },
  outputDescription: {
    type: 'object',
    required: ['schema'],
    properties: {
      title: { type: 'string' },
      description: { type: 'string' },
      keywords: stringArray,
      metadata: { type: 'array', items: schemaRef('metadata') },
      additionalParameters: schemaRef('additionalParameters'),
      schema: { type: 'object', description: 'The JSON Schema of a value (schema.yaml)' },
    },
  },
  process: {
    allOf: [
      schemaRef('processSummary'),
      {
        type: 'object',
        properties: {
          inputs: { type: 'object', additionalProperties: schemaRef('inputDescription') },
          outputs: { type: 'object', additionalProperties: schemaRef('outputDescription') },
        },
      },
    ],
  },
  statusInfo: {
    type: 'object',
    required: ['jobID', 'status', 'type'],
    properties: {
      jobID: { type: 'string' },
      processID: { type: 'string' },
      type: { type: 'string', enum: ['process'] },
      status: { type: 'string', enum: [...JOB_STATUSES] },
      message: { type: 'string' },
      created: dateTime,
      started: dateTime,
      finished: dateTime,
      updated: dateTime,
      progress: { type: 'integer', minimum: 0, maximum: 100 },
      links,
    },
  },
  jobList: {
    type: 'object',
    required: ['jobs', 'links'],
    properties: {
      jobs: { type: 'array', items: schemaRef('statusInfo') },
      links,
      numberMatched: { type: 'integer', minimum: 0 },
    },
  },
  exception: {
    type: 'object',
    description: 'An exception (RFC 7807 members, with the OWS exception code and locator)',
    required: ['type'],
    properties: {
      type: { type: 'string' },
      title: { type: 'string' },
      status: { type: 'integer' },
      detail: { type: 'string' },
      instance: { type: 'string' },
      code: { type: 'string', description: 'The OWS exception code' },
      locator: { type: 'string', description: 'The parameter or input the error is about' },
    },
    additionalProperties: true,
  },
  bbox: {
    type: 'object',
    required: ['bbox'],
    properties: {
      bbox: {
        type: 'array',
        items: { type: 'number' },
        anyOf: [
          { minItems: 4, maxItems: 4 },
          { minItems: 6, maxItems: 6 },
        ],
      },
      crs: { type: 'string', format: 'uri' },
    },
  },
  format: {
    type: 'object',
    properties: {
      mediaType: { type: 'string' },
      encoding: { type: 'string' },
      schema: { anyOf: [{ type: 'string', format: 'uri' }, { type: 'object' }] },
    },
  },
  reference: {
    type: 'object',
    description: 'A value by reference: the server fetches it',
    required: ['href'],
    properties: {
      href: { type: 'string', format: 'uri' },
      rel: { type: 'string' },
      type: { type: 'string' },
      hreflang: { type: 'string' },
      title: { type: 'string' },
    },
  },
  qualifiedValue: {
    type: 'object',
    required: ['value'],
    properties: {
      value: {},
      mediaType: { type: 'string' },
      encoding: { type: 'string' },
      schema: { anyOf: [{ type: 'string', format: 'uri' }, { type: 'object' }] },
      uom: { type: 'string' },
    },
  },
  subscriber: {
    type: 'object',
    description: 'Where the server posts callbacks about the job (class callback)',
    required: ['successUri'],
    properties: {
      successUri: { type: 'string', format: 'uri' },
      inProgressUri: { type: 'string', format: 'uri' },
      failedUri: { type: 'string', format: 'uri' },
    },
  },
  output: {
    type: 'object',
    properties: {
      format: schemaRef('format'),
      transmissionMode: { type: 'string', enum: ['value', 'reference'], default: 'value' },
    },
  },
  execute: {
    type: 'object',
    properties: {
      inputs: {
        type: 'object',
        additionalProperties: {
          description: 'A value (bare, qualified or by reference), or an array of them',
        },
      },
      outputs: { type: 'object', additionalProperties: schemaRef('output') },
      response: { type: 'string', enum: ['raw', 'document'], default: 'raw' },
      subscriber: schemaRef('subscriber'),
    },
  },
  results: {
    type: 'object',
    description: 'Every output by id: a value, a qualified value, a bounding box or a link',
    additionalProperties: {
      anyOf: [
        { type: 'string' },
        { type: 'number' },
        { type: 'boolean' },
        { type: 'array', items: {} },
        schemaRef('bbox'),
        schemaRef('qualifiedValue'),
        schemaRef('link'),
      ],
    },
  },
  health: {
    type: 'object',
    required: ['status', 'started', 'processes'],
    properties: {
      status: { type: 'string', enum: ['ok', 'degraded'] },
      started: dateTime,
      processes: { type: 'integer', minimum: 0 },
    },
    additionalProperties: true,
  },
};

const jobListLimit = { ...JOB_LIST_LIMIT };

/** The query parameters of the job list (job-list class), as job-list-query.ts reads them. */
export const JOB_LIST_PARAMETERS: JsonSchema[] = [
  {
    name: 'type',
    in: 'query',
    description: 'Only jobs of these types (every job, whichever protocol made it, is of type `process`)',
    schema: stringArray,
    style: 'form',
    explode: false,
  },
  {
    name: 'processID',
    in: 'query',
    description: 'Only jobs of these processes (repeated or comma-separated)',
    schema: stringArray,
    style: 'form',
    explode: false,
  },
  {
    name: 'status',
    in: 'query',
    description: 'Only jobs in these states (repeated or comma-separated)',
    schema: { type: 'array', items: { type: 'string', enum: [...JOB_STATUSES] } },
    style: 'form',
    explode: false,
  },
  {
    name: 'datetime',
    in: 'query',
    description: 'Jobs created at this instant or in this interval (RFC 3339, `..` for an open end)',
    schema: { type: 'string' },
  },
  {
    name: 'minDuration',
    in: 'query',
    description: 'Jobs that ran at least this many seconds',
    schema: { type: 'integer', minimum: 0 },
  },
  {
    name: 'maxDuration',
    in: 'query',
    description: 'Jobs that ran at most this many seconds',
    schema: { type: 'integer', minimum: 0 },
  },
  {
    name: 'limit',
    in: 'query',
    schema: { type: 'integer', ...jobListLimit },
  },
  { name: 'offset', in: 'query', schema: { type: 'integer', minimum: 0, default: 0 } },
];
