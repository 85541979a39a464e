/** The bare node:http floor: the fixed documents of ./documents.ts, nothing else. */
import { createServer } from 'node:http';
import { documentFor, port } from './documents.ts';

createServer((req, res) => {
  const { type, body } = documentFor(req.url ?? '/');
  res.writeHead(200, { 'Content-Type': type, 'Content-Length': body.length });
  res.end(body);
}).listen(port, '127.0.0.1');
