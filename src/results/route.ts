import Router from '@koa/router';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { JobManager } from '../jobs/manager.ts';
import { contentSafetyHeaders, type ResultDelivery } from './delivery.ts';

/** The folder part of the public output URL: where this server serves stored outputs. */
export function outputPath(outputUrl: string): string {
  const pathname = new URL(outputUrl).pathname.replace(/\/+$/, '');
  return pathname === '' ? '/outputs' : pathname;
}

/**
 * `GET {output path}/{job}/{file}`: stored outputs of every job, whichever protocol created it,
 * streamed from the output folder (never read whole into memory).
 */
export function resultsRouter(jobs: JobManager, delivery: ResultDelivery, outputUrl: string): Router {
  const router = new Router();
  router.get(`${outputPath(outputUrl)}/:job/:file`, async (ctx) => {
    const jobId = String(ctx.params.job);
    const served = await delivery.served(await jobs.find(jobId), String(ctx.params.file));
    if (!served) {
      ctx.status = 404;
      ctx.body = { type: 'about:blank', title: 'Not Found', status: 404, detail: 'No such output' };
      return;
    }
    let size: number | undefined;
    if (typeof served.body !== 'string') {
      // A stored file that has gone (removed by hand, a full disk's cleanup) is a 404, not a 500.
      size = await stat(served.body.file).then(
        (s) => s.size,
        () => undefined,
      );
      if (size === undefined) {
        ctx.status = 404;
        ctx.body = {
          type: 'about:blank',
          title: 'Not Found',
          status: 404,
          detail: 'The output is no longer stored',
        };
        return;
      }
    }
    ctx.set('Content-Type', served.mediaType);
    ctx.set(contentSafetyHeaders(served.mediaType, served.fileName));
    if (typeof served.body === 'string') {
      ctx.body = served.body;
    } else {
      ctx.length = size!;
      ctx.body = createReadStream(served.body.file);
    }
  });
  return router;
}
