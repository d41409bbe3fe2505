/**
 * Reference point for the http bench: Hono on @hono/node-server with one POST route that parses
 * the JSON body and answers JSON — the framework alone, with none of the gateway's middleware,
 * validation, headers, logging or metrics. Shows how much of the gap to raw node:http is the
 * framework's. Prints its port on stdout when listening; exits on SIGTERM/SIGINT.
 */
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';

const app = new Hono();
app.post('/', async (c) => {
  const body = await c.req.json<{ kind?: unknown }>();
  return c.json({ hello: 'world', kind: body.kind });
});

const server = createAdaptorServer({ fetch: app.fetch });
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
});
const stop = (): void => {
  server.close(() => process.exit(0));
  if ('closeAllConnections' in server) server.closeAllConnections();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
