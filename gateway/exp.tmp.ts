import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
import { OpenAPIHono } from '@hono/zod-openapi';
import type { AddressInfo } from 'node:net';
import { echoRoutes } from './bench/echo-route.ts';
const mode = process.env['MODE'] ?? 'plain';
let fetchFn: (r: Request) => Response | Promise<Response>;
if (mode === 'plain') {
  const app = new Hono();
  app.post('/bench/echo', (c) => c.json({ ok: true }));
  fetchFn = app.fetch;
} else if (mode === 'plainjson') {
  const app = new Hono();
  app.post('/bench/echo', async (c) => { const b = await c.req.json<{kind: string}>(); return c.json({ ok: true, k: b.kind }); });
  fetchFn = app.fetch;
} else {
  const app = new OpenAPIHono();
  echoRoutes(app as never);
  fetchFn = app.fetch;
}
const server = createAdaptorServer({ fetch: fetchFn });
server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));
process.once('SIGTERM', () => process.exit(0));
