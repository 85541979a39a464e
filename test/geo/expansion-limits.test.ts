/**
 * Expansion bombs and storage (issue 15, finding 4): small requests that would expand, write or
 * keep far more than they weigh are refused with a clear client error, over WPS and OGC API, with
 * the server's memory bounded; the disk quota removes old jobs or refuses with NotEnoughStorage.
 * The bombs are made here: a zipped Shapefile whose .dbf is tens of megabytes of one repeated
 * record, and a sparse DEFLATE GeoTIFF of 30000 × 30000 pixels (gdal_create).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { folderSize } from '../../src/jobs/disk-quota.ts';
import { execute as oaExecute, request } from '../helpers/oaproc-http.ts';
import {
  doc,
  execute,
  expectException,
  expectValid,
  get,
  literalInput,
  one,
  post,
  startWpsServer,
  text,
  type Reply,
  type WpsServer,
} from '../helpers/wps.ts';

const SHP = 'application/x-zipped-shp';
const TIFF = 'image/tiff; subtype=geotiff';
const MIB = 1024 * 1024;

let work: string;
let s: WpsServer;

function run(command: string, args: string[]): void {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  expect(r.error, `${command} must be installed`).toBeUndefined();
  expect(r.status, r.stderr).toBe(0);
}

/**
 * A zip of the shapefile in `dir`, its .dbf grown to `dbfBytes` by repeating its record (DEFLATE makes
 * that a few kilobytes); with `twice`, the .dbf is also stored as b.dbf; with `declared`, the zip's
 * directories claim that size for a.dbf instead of its real one.
 */
function zipShapefile(dir: string, out: string, dbfBytes: number, declared: number, twice: boolean): void {
  const script = `
import struct, sys, zipfile
src, out, target, declared, twice = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == '1'
dbf = bytearray(open(src + '/a.dbf', 'rb').read())
count, hlen, rlen = struct.unpack_from('<IHH', dbf, 4)
record = bytes(dbf[hlen:hlen + rlen])
n = max(1, (target - hlen) // rlen)
struct.pack_into('<I', dbf, 4, n)
data = bytes(dbf[:hlen]) + record * n + b'\\x1a'
z = zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED, compresslevel=9)
for ext in ('shp', 'shx', 'prj'):
    z.write(src + '/a.' + ext, 'a.' + ext)
z.writestr('a.dbf', data)
if twice:
    z.writestr('b.dbf', data)
z.close()
if declared:
    b = bytearray(open(out, 'rb').read())
    info = zipfile.ZipFile(out).getinfo('a.dbf')
    struct.pack_into('<I', b, info.header_offset + 22, declared)
    eocd = b.rfind(b'PK\\x05\\x06')
    p = struct.unpack_from('<I', b, eocd + 16)[0]
    while b[p:p + 4] == b'PK\\x01\\x02':
        n1, n2, n3 = struct.unpack_from('<HHH', b, p + 28)
        if bytes(b[p + 46:p + 46 + n1]) == b'a.dbf':
            struct.pack_into('<I', b, p + 24, declared)
        p += 46 + n1 + n2 + n3
    open(out, 'wb').write(b)
`;
  run('/usr/bin/python3', [
    '-c',
    script,
    dir,
    out,
    String(Math.floor(dbfBytes)),
    String(declared),
    twice ? '1' : '0',
  ]);
}

/** The zipped Shapefile bomb: one point, its .dbf `dbfBytes` long once inflated (see zipShapefile). */
function bomb(name: string, dbfBytes: number, declared = 0, twice = false): Buffer {
  const dir = path.join(work, name);
  const geojson = path.join(work, `${name}.geojson`);
  const pad = 'x'.repeat(200);
  spawnSync('/usr/bin/python3', [
    '-c',
    `open(${JSON.stringify(geojson)},'w').write('{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"pad":"${pad}"},"geometry":{"type":"Point","coordinates":[1,2]}}]}')`,
  ]);
  run('ogr2ogr', ['-f', 'ESRI Shapefile', dir, geojson, '-nln', 'a']);
  const out = path.join(work, `${name}.zip`);
  zipShapefile(dir, out, dbfBytes, declared, twice);
  return readFileSync(out);
}

/** A GeoTIFF from gdal_create (options as given), read back as bytes. */
function geotiff(name: string, args: string[]): Buffer {
  const file = path.join(work, `${name}.tif`);
  run('gdal_create', ['-of', 'GTiff', '-a_srs', 'EPSG:4326', ...args, file]);
  return readFileSync(file);
}

/** Runs `work` while sampling the resident memory of this process (the server runs in it): the peak growth. */
async function peakGrowth<T>(work: () => Promise<T>): Promise<{ result: T; growth: number }> {
  const before = process.memoryUsage().rss;
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  try {
    const result = await work();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { result, growth: peak - before };
  } finally {
    clearInterval(timer);
  }
}

const complexInput = (id: string, mimeType: string, data: Buffer | string, base64 = true) =>
  `<wps:Input><ows:Identifier>${id}</ows:Identifier><wps:Data><wps:ComplexData mimeType="${mimeType}"${base64 ? ' encoding="base64"' : ''}>${base64 ? Buffer.from(data).toString('base64') : data}</wps:ComplexData></wps:Data></wps:Input>`;

const bboxInput = (lower: string, upper: string) =>
  `<wps:Input><ows:Identifier>bbox</ows:Identifier><wps:Data><wps:BoundingBoxData crs="EPSG:4326"><ows:LowerCorner>${lower}</ows:LowerCorner><ows:UpperCorner>${upper}</ows:UpperCorner></wps:BoundingBoxData></wps:Data></wps:Input>`;

const raw = (output: string) =>
  `<wps:ResponseForm><wps:RawDataOutput><ows:Identifier>${output}</ows:Identifier></wps:RawDataOutput></wps:ResponseForm>`;

const documentOf = (output: string, asReference: boolean) =>
  `<wps:ResponseForm><wps:ResponseDocument><wps:Output asReference="${asReference}"><ows:Identifier>${output}</ows:Identifier></wps:Output></wps:ResponseDocument></wps:ResponseForm>`;

/** A failed synchronous WPS job: a ProcessFailed document (valid), its exception's code, locator and text. */
function processFailed(r: Reply): { code?: string; locator?: string; text: string } {
  expect(r.status, r.body).toBe(200);
  expectValid(r.body, 'execute');
  const exception = one(one(doc(r.body), 'ProcessFailed'), 'Exception');
  return {
    ...(exception.attrs.get('exceptionCode') ? { code: exception.attrs.get('exceptionCode')! } : {}),
    ...(exception.attrs.get('locator') ? { locator: exception.attrs.get('locator')! } : {}),
    text: text(one(exception, 'ExceptionText')),
  };
}

/** An OGC API exception document with this status, OWS code and locator; its detail. */
function oaException(
  r: { status: number; json: unknown; text: string },
  status: number,
  code: string,
  locator?: string,
) {
  expect(r.status, r.text).toBe(status);
  const body = r.json as { status: number; code: string; locator?: string; detail: string };
  expect(body.status).toBe(status);
  expect(body.code).toBe(code);
  expect(body.locator).toBe(locator);
  return body.detail;
}

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'gw-bombs-'));
  s = await startWpsServer({
    processes: ['echo', 'area', 'raster-stats', 'raster-clip'],
    extraServer: [
      '  max_single_input_size: 3mb',
      '  limits:',
      '    max_uncompressed_size: 4mb',
      '    max_uncompressed_member_size: 3mb',
      '    max_raster_pixels: 4000000',
      '    max_output_size: 1mb',
      '    max_job_output_size: 1.5mb',
      '    max_inline_output_size: 64kb',
    ],
  });
});
afterAll(async () => {
  await s?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('zipped Shapefile bombs', () => {
  it('a zip that inflates to 64 MiB (limit 4 MiB) is refused before GDAL reads it, over WPS and OGC API, memory bounded', async () => {
    const zip = bomb('bomb', 64 * MIB);
    expect(zip.length).toBeLessThan(MIB);
    const { result, growth } = await peakGrowth(async () => [
      await post(s.wps, execute('area', complexInput('data', SHP, zip))),
      await oaExecute(s.base, 'area', {
        inputs: { data: { value: zip.toString('base64'), mediaType: SHP, encoding: 'base64' } },
      }),
    ]);
    const [wps, oa] = result as [Reply, Awaited<ReturnType<typeof oaExecute>>];
    const failed = processFailed(wps);
    expect([failed.code, failed.locator]).toEqual(['FileSizeExceeded', 'data']);
    expect(failed.text).toMatch(
      /one of its members expands to 64 MiB, more than the 3 MiB allowed \(server\.limits\.max_uncompressed_member_size\)/,
    );
    expect(oaException(oa, 413, 'FileSizeExceeded', 'data')).toMatch(/max_uncompressed_member_size/);
    expect(growth, 'resident memory growth').toBeLessThan(200 * MIB);
  });

  it('members each within max_uncompressed_member_size but together over max_uncompressed_size are refused; a real one runs', async () => {
    const control = await post(
      s.wps,
      execute('area', complexInput('data', SHP, bomb('control', MIB)), raw('area')),
    );
    expect(control.status, control.body).toBe(200);
    const zip = bomb('total', 2.5 * MIB, 0, true);
    const r = await post(s.wps, execute('area', complexInput('data', SHP, zip), raw('area')));
    const exception = expectException(r, 400, 'FileSizeExceeded', 'data');
    expect(text(one(exception, 'ExceptionText'))).toMatch(
      /its members expand to 5 MiB, more than the 4 MiB allowed \(server\.limits\.max_uncompressed_size\)/,
    );
  });

  it('a zip whose directory understates a member is refused as it inflates (GDAL never reads it)', async () => {
    const zip = bomb('liar', 64 * MIB, 4000);
    const { result, growth } = await peakGrowth(() =>
      post(s.wps, execute('area', complexInput('data', SHP, zip), raw('area'))),
    );
    const exception = expectException(result, 400, 'InvalidParameterValue', 'data');
    expect(text(one(exception, 'ExceptionText'))).toMatch(/does not inflate as the archive's directory says/);
    expect(growth).toBeLessThan(200 * MIB);
  });
});

describe('GeoTIFF bombs', () => {
  it('a sparse DEFLATE GeoTIFF of 30000 × 30000 pixels (limit 4 million) is refused unread by raster-stats and raster-clip', async () => {
    const tiff = geotiff('huge', [
      '-outsize',
      '30000',
      '30000',
      '-bands',
      '1',
      '-ot',
      'Byte',
      '-a_ullr',
      '0',
      '3',
      '3',
      '0',
      '-co',
      'COMPRESS=DEFLATE',
      '-co',
      'TILED=YES',
      '-co',
      'BLOCKXSIZE=1024',
      '-co',
      'BLOCKYSIZE=1024',
      '-co',
      'SPARSE_OK=TRUE',
    ]);
    expect(tiff.length).toBeLessThan(64 * 1024);
    const started = Date.now();
    const { result, growth } = await peakGrowth(async () => [
      await post(s.wps, execute('raster-stats', complexInput('raster', TIFF, tiff), raw('stats'))),
      await post(
        s.wps,
        execute('raster-clip', complexInput('raster', TIFF, tiff) + bboxInput('0 0', '3 3'), raw('clipped')),
      ),
      await oaExecute(s.base, 'raster-stats', {
        inputs: { raster: { value: tiff.toString('base64'), mediaType: TIFF, encoding: 'base64' } },
      }),
    ]);
    const [stats, clip, oa] = result as [Reply, Reply, Awaited<ReturnType<typeof oaExecute>>];
    for (const r of [stats, clip]) {
      const exception = expectException(r, 400, 'FileSizeExceeded', 'raster');
      expect(text(one(exception, 'ExceptionText'))).toMatch(
        /30000 × 30000 pixels .* more than the 4000000 pixels allowed \(server\.limits\.max_raster_pixels\)/,
      );
    }
    expect(oaException(oa, 413, 'FileSizeExceeded', 'raster')).toMatch(/max_raster_pixels/);
    // Nothing was read: reading 900 million pixels takes far longer.
    expect(Date.now() - started).toBeLessThan(5000);
    expect(growth).toBeLessThan(200 * MIB);
  });

  it('raster-clip sizes its output before writing it: a small raster and a large box are refused, a small box is not', async () => {
    // 10 × 10 pixels of 0.001°: a 1.5° box would be a 1501 × 1501 output (2.1 MiB, limit 1 MiB).
    const tiff = geotiff('small', [
      '-outsize',
      '10',
      '10',
      '-bands',
      '1',
      '-ot',
      'Byte',
      '-burn',
      '7',
      '-a_ullr',
      '0',
      '0.01',
      '0.01',
      '0',
    ]);
    const input = complexInput('raster', TIFF, tiff);
    const big = await post(
      s.wps,
      execute('raster-clip', input + bboxInput('0 0', '1.5 1.5'), raw('clipped')),
    );
    const exception = expectException(big, 400, 'FileSizeExceeded', 'bbox');
    expect(text(one(exception, 'ExceptionText'))).toMatch(
      /the clipped raster would be .* more than the 1 MiB allowed \(server\.limits\.max_output_size\)/,
    );
    const oa = await oaExecute(s.base, 'raster-clip', {
      inputs: {
        raster: { value: tiff.toString('base64'), mediaType: TIFF, encoding: 'base64' },
        bbox: { bbox: [0, 0, 1.5, 1.5], crs: 'http://www.opengis.net/def/crs/EPSG/0/4326' },
      },
    });
    expect(oaException(oa, 413, 'FileSizeExceeded', 'bbox')).toMatch(/max_output_size/);
    // No output file was left behind for the refused jobs.
    const outputs = path.join(s.dir, 'outputs');
    expect(existsSync(outputs) ? await folderSize(outputs) : 0).toBeLessThan(64 * 1024);
    const small = await post(
      s.wps,
      execute('raster-clip', input + bboxInput('0 0', '0.005 0.005'), raw('clipped')),
    );
    expect([small.status, small.contentType]).toEqual([200, TIFF]);
  });
});

describe('output sizes', () => {
  const echo = (document: string, binary?: Buffer, form = raw('complexOutput')) =>
    execute(
      'echo',
      literalInput('stringInput', 'x') +
        complexInput('complexInput', 'text/plain', document, false) +
        (binary ? complexInput('binaryInput', 'application/octet-stream', binary) : ''),
      form,
    );

  it('an output over max_output_size, or outputs together over max_job_output_size, fail the job naming the output', async () => {
    const tooBig = await post(s.wps, echo('a'.repeat(1.2 * MIB)));
    const one1 = expectException(tooBig, 400, 'FileSizeExceeded', 'complexOutput');
    expect(text(one(one1, 'ExceptionText'))).toMatch(/1\.2 MiB, more than the 1 MiB .*max_output_size/);
    const both = `<wps:ResponseForm><wps:ResponseDocument><wps:Output asReference="true"><ows:Identifier>binaryOutput</ows:Identifier></wps:Output><wps:Output asReference="true"><ows:Identifier>complexOutput</ows:Identifier></wps:Output></wps:ResponseDocument></wps:ResponseForm>`;
    const r = await post(s.wps, echo('a'.repeat(0.9 * MIB), Buffer.alloc(Math.floor(0.9 * MIB), 1), both));
    const failed = processFailed(r);
    expect(failed.code).toBe('FileSizeExceeded');
    expect(failed.text).toMatch(/1\.8 MiB, more than the 1\.5 MiB one job may store .*max_job_output_size/);
  });

  it('an output too large to inline: an exception that says to ask for a reference (WPS and OGC API); by reference it works', async () => {
    const content = 'b'.repeat(100 * 1024);
    // WPS ResponseDocument, by value.
    const inline = await post(s.wps, echo(content, undefined, documentOf('complexOutput', false)));
    const exception = expectException(inline, 400, 'FileSizeExceeded', 'complexOutput');
    const message = text(one(exception, 'ExceptionText'));
    expect(message).toMatch(
      /100 KiB, more than the 64 KiB that can be returned inline .* asReference="true"/,
    );
    // The message names where the output already is.
    const href = /download it from (\S+)$/.exec(message)![1]!;
    const fetched = await fetch(href);
    expect([fetched.status, (await fetched.text()).length]).toEqual([200, content.length]);
    // Asynchronously, the status document still renders (valid), as ProcessFailed carrying that exception.
    const stored = `<wps:ResponseForm><wps:ResponseDocument storeExecuteResponse="true" status="true"><wps:Output asReference="false"><ows:Identifier>complexOutput</ows:Identifier></wps:Output></wps:ResponseDocument></wps:ResponseForm>`;
    const accepted = await post(s.wps, echo(content, undefined, stored));
    const location = doc(accepted.body).attrs.get('statusLocation')!;
    let statusDoc = '';
    for (let i = 0; i < 100 && !/ProcessSucceeded|ProcessFailed/.test(statusDoc); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const st = await get(location);
      expect(st.status, st.body).toBe(200);
      statusDoc = st.body;
    }
    expectValid(statusDoc, 'execute');
    const failedStatus = one(one(doc(statusDoc), 'ProcessFailed'), 'Exception');
    expect(failedStatus.attrs.get('exceptionCode')).toBe('FileSizeExceeded');
    expect(text(one(failedStatus, 'ExceptionText'))).toMatch(/asReference="true"/);
    // By reference: the document, then the file.
    const ref = await post(s.wps, echo(content, undefined, documentOf('complexOutput', true)));
    expect(ref.status, ref.body).toBe(200);
    expectValid(ref.body, 'execute');
    const reference = one(doc(ref.body), 'Reference').attrs.get('href')!;
    expect(await (await get(reference)).body).toBe(content);

    // OGC API - Processes: a document response by value, then by reference.
    const body = (transmissionMode: 'value' | 'reference') => ({
      inputs: { stringInput: 'x', complexInput: { value: content, mediaType: 'text/plain' } },
      outputs: { complexOutput: { transmissionMode } },
      response: 'document',
    });
    const tooLarge = await oaExecute(s.base, 'echo', body('value'));
    expect(oaException(tooLarge, 413, 'FileSizeExceeded', 'complexOutput')).toMatch(
      /returned inline .*"transmissionMode": "reference"/,
    );
    const byRef = await oaExecute(s.base, 'echo', body('reference'));
    expect(byRef.status, byRef.text).toBe(200);
    const link = (byRef.json as { complexOutput: { href: string } }).complexOutput.href;
    expect((await request(link)).text).toBe(content);
  });
});

describe('disk quota', () => {
  let q: WpsServer;
  beforeAll(async () => {
    q = await startWpsServer({
      processes: ['echo', 'hello-world'],
      // Each job below keeps a 100 KiB output (and, while it runs, its 100 KiB input).
      extraServer: ['  limits: {max_storage_size: 350kb}'],
    });
  });
  afterAll(() => q?.close());

  const byReference = (bytes: number) =>
    execute(
      'echo',
      literalInput('stringInput', 'x') + complexInput('complexInput', 'text/plain', 'c'.repeat(bytes), false),
      documentOf('complexOutput', true),
    );
  const jobIdOf = (r: Reply) => /outputs\/([0-9a-f-]{36})\//.exec(r.body)![1]!;

  it('the oldest finished jobs are removed to make room; the job folders stay under the quota', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await post(q.wps, byReference(100 * 1024));
      expect(r.status, r.body).toBe(200);
      expect(r.body).toContain('ProcessSucceeded');
      ids.push(jobIdOf(r));
    }
    const kept = await Promise.all(ids.map(async (id) => (await request(`${q.base}/jobs/${id}`)).status));
    // The first jobs made room for the last ones; the newest are still there.
    expect(kept.slice(-2)).toEqual([200, 200]);
    expect(kept[0]).toBe(404);
    const used = await folderSize(path.join(q.dir, 'outputs'));
    expect(used).toBeLessThanOrEqual(350 * 1024);
  });

  it('a job that cannot fit fails with NotEnoughStorage (WPS ProcessFailed, OGC API 507), removing no other job; the server goes on', async () => {
    const before = await post(q.wps, byReference(10 * 1024));
    const keptId = jobIdOf(before);
    const failed = processFailed(await post(q.wps, byReference(400 * 1024)));
    expect(failed.code).toBe('NotEnoughStorage');
    expect(failed.text).toMatch(
      /more than the server's whole storage quota of 350 KiB \(server\.limits\.max_storage_size\)/,
    );
    const oa = await oaExecute(q.base, 'echo', {
      inputs: { stringInput: 'x', complexInput: { value: 'd'.repeat(400 * 1024), mediaType: 'text/plain' } },
      outputs: { complexOutput: { transmissionMode: 'reference' } },
      response: 'document',
    });
    expect(oaException(oa, 507, 'NotEnoughStorage')).toMatch(/max_storage_size/);
    expect((await request(`${q.base}/jobs/${keptId}`)).status).toBe(200);
    const hello = await post(q.wps, execute('hello-world', literalInput('name', 'quota')));
    expect(hello.body).toContain('ProcessSucceeded');
  });
});
