import { describe, expect, it } from 'vitest';
import { OwsError } from '../../src/core/errors.ts';
import type { JobFilter } from '../../src/jobs/store.ts';
import { parseJobListQuery } from '../../src/oaproc/job-list-query.ts';

const parse = (query: string) => parseJobListQuery(new URLSearchParams(query));

function filter(query: string): JobFilter {
  const result = parse(query);
  if (result instanceof OwsError) throw new Error(`unexpected error for ${query}: ${result.message}`);
  return result;
}

function refused(query: string, locator: string): string {
  const result = parse(query);
  expect(result, query).toBeInstanceOf(OwsError);
  const error = result as OwsError;
  expect(error.code, query).toBe('InvalidParameterValue');
  expect(error.locator, query).toBe(locator);
  return error.message;
}

const at = (iso: string) => new Date(iso);

describe('the job-list query', () => {
  it('without parameters: every job, ten at a time', () => {
    expect(filter('')).toEqual({ limit: 10 });
    expect(filter('f=json&unknown=1')).toEqual({ limit: 10 });
  });

  it('lists: repeated parameters, comma lists, both, and empty items ignored', () => {
    expect(filter('status=running&status=failed').statuses).toEqual(['running', 'failed']);
    expect(filter('status=running,failed').statuses).toEqual(['running', 'failed']);
    expect(filter('status=running,failed&status=dismissed').statuses).toEqual([
      'running',
      'failed',
      'dismissed',
    ]);
    expect(filter('processID=buffer,area&processID=sleep').processIds).toEqual(['buffer', 'area', 'sleep']);
    expect(filter('type=process').types).toEqual(['process']);
    expect(filter('type=other,process').types).toEqual(['other', 'process']);
    expect(filter('status=&processID=,').statuses).toBeUndefined();
    expect(filter('status=&processID=,').processIds).toBeUndefined();
  });

  it('refuses a status that is not one', () => {
    expect(refused('status=running,done', 'status')).toMatch(/'done' is not a job status.*accepted/);
    refused('status=Running', 'status');
  });

  it('datetime: an instant is both ends; intervals closed or open on either side', () => {
    expect(filter('datetime=2024-05-01T10:00:00Z')).toMatchObject({
      createdFrom: at('2024-05-01T10:00:00Z'),
      createdTo: at('2024-05-01T10:00:00Z'),
    });
    expect(filter('datetime=2024-05-01T10:00:00Z/2024-05-02T10:00:00.250Z')).toMatchObject({
      createdFrom: at('2024-05-01T10:00:00Z'),
      createdTo: at('2024-05-02T10:00:00.250Z'),
    });
    const openStart = filter('datetime=../2024-05-02T10:00:00Z');
    expect(openStart.createdFrom).toBeUndefined();
    expect(openStart.createdTo).toEqual(at('2024-05-02T10:00:00Z'));
    expect(filter('datetime=/2024-05-02T10:00:00Z')).toEqual(openStart);
    const openEnd = filter('datetime=2024-05-01T10:00:00Z/..');
    expect(openEnd).toMatchObject({ createdFrom: at('2024-05-01T10:00:00Z') });
    expect(openEnd.createdTo).toBeUndefined();
    expect(filter('datetime=2024-05-01T10:00:00Z/')).toEqual(openEnd);
  });

  it('datetime: offsets, fractions, lower-case letters and a space as RFC 3339 allows', () => {
    // '+' must be escaped in a query string.
    expect(filter('datetime=2024-05-01T12:30:00%2B02:30').createdFrom).toEqual(at('2024-05-01T10:00:00Z'));
    expect(filter('datetime=2024-05-01T07:00:00-03:00').createdFrom).toEqual(at('2024-05-01T10:00:00Z'));
    expect(filter('datetime=2024-05-01t10:00:00.1234z').createdFrom).toEqual(at('2024-05-01T10:00:00.123Z'));
    expect(filter('datetime=2024-05-01 10:00:00Z').createdFrom).toEqual(at('2024-05-01T10:00:00Z'));
    expect(filter('datetime=2024-02-29T00:00:00Z').createdFrom).toEqual(at('2024-02-29T00:00:00Z'));
    expect(filter('datetime=0050-01-01T00:00:00Z').createdFrom?.getUTCFullYear()).toBe(50);
  });

  it('refuses a datetime that is not RFC 3339 or not an interval', () => {
    for (const bad of [
      '2024-05-01',
      '2024-05-01T10:00:00',
      '2024-05-01T10:00Z',
      'yesterday',
      '2024-13-01T00:00:00Z',
      '2023-02-29T00:00:00Z',
      '2024-04-31T00:00:00Z',
      '2024-05-01T24:00:00Z',
      '2024-05-01T10:00:00+25:00',
      '../..',
      '/',
      '2024-05-01T00:00:00Z/2024-05-02T00:00:00Z/2024-05-03T00:00:00Z',
      '2024-05-02T00:00:00Z/2024-05-01T00:00:00Z',
    ]) {
      expect(refused(`datetime=${encodeURIComponent(bad)}`, 'datetime')).toMatch(/RFC 3339/);
    }
    refused('datetime=2024-05-01T00:00:00Z&datetime=2024-05-02T00:00:00Z', 'datetime');
  });

  it('durations in whole seconds, kept in milliseconds', () => {
    expect(filter('minDuration=5')).toMatchObject({ minDurationMs: 5000 });
    expect(filter('maxDuration=0')).toMatchObject({ maxDurationMs: 0 });
    expect(filter('minDuration=2&maxDuration=2')).toMatchObject({ minDurationMs: 2000, maxDurationMs: 2000 });
    expect(refused('minDuration=-1', 'minDuration')).toMatch(/negative/);
    expect(refused('maxDuration=-5', 'maxDuration')).toMatch(/negative/);
    refused('minDuration=1.5', 'minDuration');
    refused('maxDuration=ten', 'maxDuration');
    refused('minDuration=1&minDuration=2', 'minDuration');
    expect(refused('minDuration=10&maxDuration=5', 'minDuration')).toMatch(/greater than maxDuration/);
  });

  it('limit from 1 to 10000, and an offset for paging', () => {
    expect(filter('limit=1').limit).toBe(1);
    expect(filter('limit=10000').limit).toBe(10_000);
    expect(filter('limit=50&offset=100')).toEqual({ limit: 50, offset: 100 });
    expect(refused('limit=0', 'limit')).toMatch(/between 1 and 10000/);
    expect(refused('limit=10001', 'limit')).toMatch(/between 1 and 10000/);
    refused('limit=-3', 'limit');
    refused('limit=2.5', 'limit');
    refused('limit=lots', 'limit');
    refused('limit=99999999999999999999', 'limit');
    refused('offset=-1', 'offset');
    refused('offset=x', 'offset');
  });
});
