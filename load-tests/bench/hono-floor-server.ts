/**
 * Reference point for the http bench: Hono on @hono/node-server with one POST route that parses
 * the JSON body and answers JSON — the framework alone, with none of the gateway's middleware,
 * validation, headers, logging or metrics. Shows how much of the gap to raw node:http is the
 * framework's. Prints its port on stdout when listening; exits on SIGTERM/SIGINT.
 */
import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
import { listenForBench } from './listen-child.ts';

const app = new Hono();
app.post('/', async (c) => {
  const body = await c.req.json<{ kind?: unknown }>();
  return c.json({ hello: 'world', kind: body.kind });
});

const server = createAdaptorServer({ fetch: app.fetch });
listenForBench(server);
