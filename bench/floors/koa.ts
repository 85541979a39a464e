/** The bare koa floor: the fixed documents of ./documents.ts through one koa middleware. */
import Koa from 'koa';
import { documentFor, port } from './documents.ts';

const app = new Koa();
app.use((ctx) => {
  const { type, body } = documentFor(ctx.url);
  ctx.type = type;
  ctx.body = body;
});
app.listen(port, '127.0.0.1');
