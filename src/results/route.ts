import Router from '@koa/router';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { JobManager } from '../jobs/manager.ts';
import type { ResultDelivery } from './delivery.ts';

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
    ctx.set('Content-Type', served.mediaType);
    ctx.set('Content-Disposition', `inline; filename="${served.fileName.replace(/["\\\r\n]/g, '')}"`);
    if (typeof served.body === 'string') {
      ctx.body = served.body;
    } else {
      ctx.length = (await stat(served.body.file)).size;
      ctx.body = createReadStream(served.body.file);
    }
  });
  return router;
}
