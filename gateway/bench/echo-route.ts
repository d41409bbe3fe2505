/**
 * Bench-only route module: POST /bench/echo, session-authenticated, a strict zod-validated JSON
 * body answered with a small JSON document. Never registered by the real gateway; used by gateway/bench/http-target.ts.
 */
import { randomUUID } from 'node:crypto';
import { createRoute, z } from '@hono/zod-openapi';
import { jsonBody, jsonBodyErrors } from '../openapi/schemas.ts';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env.ts';
import type { RouteModule } from '../route-module.ts';

const EchoRequest = z.strictObject({
  kind: z.enum(['note', 'reminder', 'result']),
  ref: z.string().min(1).max(64),
  priority: z.number().int().min(0).max(5),
  tags: z.array(z.string().min(1).max(32)).max(10),
  flags: z.strictObject({ urgent: z.boolean(), followUp: z.boolean() }),
});

const EchoResponse = z.object({
  id: z.uuid(),
  kind: z.enum(['note', 'reminder', 'result']),
  priority: z.number().int(),
  tagCount: z.number().int(),
  urgent: z.boolean(),
});

const echo = createRoute({
  method: 'post',
  path: '/bench/echo',
  tags: ['bench'],
  summary: 'Validate a JSON body and answer (benchmark only)',
  request: { body: jsonBody(EchoRequest) },
  responses: {
    200: { description: 'Accepted', content: { 'application/json': { schema: EchoResponse } } },
    ...jsonBodyErrors,
  },
});

/**
 * `authenticate`: the session middleware, so /bench/echo measures the session check every real
 * route pays. /bench/echo-open is the same route without it (the frame and validation alone).
 */
export const echoRoutes = (authenticate: MiddlewareHandler<AppEnv>): RouteModule => (app) => {
  app.openapi({ ...echo, middleware: [authenticate] }, (c) => {
    const body = c.req.valid('json');
    return c.json({ id: randomUUID(), kind: body.kind, priority: body.priority, tagCount: body.tags.length, urgent: body.flags.urgent }, 200);
  });
  app.openapi({ ...echo, path: '/bench/echo-open', summary: 'Validate a JSON body and answer, no session (benchmark only)' }, (c) => {
    const body = c.req.valid('json');
    return c.json({ id: randomUUID(), kind: body.kind, priority: body.priority, tagCount: body.tags.length, urgent: body.flags.urgent }, 200);
  });
};

