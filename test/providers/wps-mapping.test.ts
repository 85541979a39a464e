import { describe, expect, it } from 'vitest';
import { boxForRemote, readExecuteResponse } from '../../src/providers/wps/execute.ts';
import { parseXml } from '../../src/wps/xml.ts';

const NS = 'xmlns:wps="http://www.opengis.net/wps/1.0.0" xmlns:ows="http://www.opengis.net/ows/1.1"';
const status = (inner: string, extra = '') =>
  readExecuteResponse(
    parseXml(
      `<wps:ExecuteResponse ${NS} statusLocation="http://r/s.xml"><wps:Status>${inner}</wps:Status>${extra}</wps:ExecuteResponse>`,
    ),
    'P',
  );

describe('WPS 1.0.0 remote vocabulary', () => {
  it('maps the five statuses and percentCompleted', () => {
    expect(status('<wps:ProcessAccepted>queued</wps:ProcessAccepted>')).toMatchObject({
      state: 'accepted',
      message: 'queued',
    });
    expect(status('<wps:ProcessStarted percentCompleted="42">half</wps:ProcessStarted>')).toMatchObject({
      state: 'running',
      percent: 42,
      statusLocation: 'http://r/s.xml',
    });
    expect(status('<wps:ProcessPaused percentCompleted="10"/>')).toMatchObject({
      state: 'paused',
      percent: 10,
    });
    const failed = status(
      '<wps:ProcessFailed><wps:ExceptionReport><ows:Exception exceptionCode="InvalidParameterValue" locator="x"><ows:ExceptionText>bad x</ows:ExceptionText></ows:Exception></wps:ExceptionReport></wps:ProcessFailed>',
    );
    expect(failed.state).toBe('failed');
    if (failed.state === 'failed') {
      expect(failed.error.code).toBe('InvalidParameterValue');
      expect(failed.error.locator).toBe('x');
      expect(failed.error.message).toBe('P: bad x');
    }
    const done = status(
      '<wps:ProcessSucceeded>ok</wps:ProcessSucceeded>',
      '<wps:ProcessOutputs><wps:Output><ows:Identifier>b</ows:Identifier><wps:Data><wps:ComplexData mimeType="application/octet-stream" encoding="base64">AAEC</wps:ComplexData></wps:Data></wps:Output></wps:ProcessOutputs>',
    );
    expect(done).toMatchObject({ state: 'succeeded', outputs: { b: { kind: 'complex', base64: 'AAEC' } } });
    expect(() => status('<wps:Whatever/>')).toThrow(/unknown status/);
  });

  it('an unknown remote exception code becomes NoApplicableCode, keeping the remote code in the text', () => {
    const r = readExecuteResponse(
      parseXml(
        `<ows:ExceptionReport ${NS}><ows:Exception exceptionCode="StrangeCode"><ows:ExceptionText>why</ows:ExceptionText></ows:Exception></ows:ExceptionReport>`,
      ),
      'P',
    );
    expect(r.state === 'failed' && r.error.toJSON()).toEqual({
      code: 'NoApplicableCode',
      message: 'P: StrangeCode: why',
    });
  });

  it('sends boxes in the remote spelling of their CRS, swapping EPSG:4326 axes between latitude-first and longitude-first spellings', () => {
    const box = (crs: string) => ({
      kind: 'bbox' as const,
      lowerCorner: [50, 7],
      upperCorner: [51, 8],
      crs,
      dimensions: 2,
    });
    // urn EPSG 4326 is latitude first; the remote's `EPSG:4326` is read longitude first.
    expect(boxForRemote(box('urn:ogc:def:crs:EPSG::4326'), ['EPSG:4326'])).toMatchObject({
      crs: 'EPSG:4326',
      lowerCorner: [7, 50],
      upperCorner: [8, 51],
    });
    expect(boxForRemote(box('http://www.opengis.net/def/crs/OGC/1.3/CRS84'), ['EPSG:4326'])).toMatchObject({
      crs: 'EPSG:4326',
      lowerCorner: [50, 7],
    });
    expect(boxForRemote(box('EPSG:4326'), ['urn:ogc:def:crs:EPSG::4326'])).toMatchObject({
      crs: 'urn:ogc:def:crs:EPSG::4326',
      lowerCorner: [7, 50],
    });
    expect(
      boxForRemote(box('http://www.opengis.net/def/crs/EPSG/0/3857'), ['EPSG:4326', 'EPSG:3857']),
    ).toMatchObject({
      crs: 'EPSG:3857',
      lowerCorner: [50, 7],
    });
  });
});
