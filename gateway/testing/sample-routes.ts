/**
 * A route module shaped like a real feature's, used by the gateway tests: path, query and strict
 * JSON body validation, a typed AppError, an unexpected failure, and a route that needs the
 * library's general validation path (a header schema). Not registered in production.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { AppError, ErrorCode } from '../../core/errors.ts';
import { commonErrors, errorResponse, jsonBody, jsonBodyErrors } from '../openapi/schemas.ts';
import type { RouteModule } from '../route-module.ts';

export const NoteRequest = z.strictObject({
  email: z.email().max(254),
  text: z.string().min(1).max(200),
  priority: z.number().int().min(0).max(5),
  tags: z.array(z.string().min(1).max(20)).max(5),
});

const NoteAccepted = z.object({ ok: z.literal(true), patientId: z.string(), limit: z.number().optional() }).openapi('NoteAccepted');

const addNote = createRoute({
  method: 'post',
  path: '/patients/{patientId}/notes',
  summary: 'Add a note (test route)',
  request: {
    params: z.object({ patientId: z.string().regex(/^[a-z0-9-]{1,40}$/) }),
    query: z.object({ limit: z.coerce.number().int().min(1).max(50).optional() }),
    body: jsonBody(NoteRequest),
  },
  responses: {
    200: { description: 'Accepted', content: { 'application/json': { schema: NoteAccepted } } },
    ...jsonBodyErrors,
    ...commonErrors,
  },
});

const conflict = createRoute({
  method: 'get',
  path: '/conflict',
  responses: { 409: errorResponse('`conflict`'), ...commonErrors },
});

const boom = createRoute({
  method: 'get',
  path: '/boom',
  responses: { 200: { description: 'never' }, ...commonErrors },
});

const versioned = createRoute({
  method: 'post',
  path: '/versioned',
  request: {
    headers: z.object({ 'x-client-version': z.string().regex(/^\d+\.\d+$/) }),
    body: jsonBody(z.strictObject({ n: z.number() })),
  },
  responses: { 200: { description: 'ok', content: { 'application/json': { schema: z.object({ n: z.number() }) } } }, ...jsonBodyErrors },
});

export const sampleRoutes: RouteModule = (app) => {
  app.openapi(addNote, (c) => {
    const { patientId } = c.req.valid('param');
    const { limit } = c.req.valid('query');
    const note = c.req.valid('json');
    // Deliberately logs a PHI field: redaction must keep its value out of the output.
    c.get('log').info({ email: note.email, length: note.text.length }, 'note received');
    return c.json({ ok: true as const, patientId, ...(limit === undefined ? {} : { limit }) }, 200);
  });

  app.openapi(conflict, () => {
    throw new AppError(409, ErrorCode.conflict, 'Already exists');
  });

  app.openapi(boom, () => {
    throw new Error('connection to db at 10.0.0.5 failed: password authentication failed', { cause: new Error('socket hang up') });
  });

  app.openapi(versioned, (c) => c.json({ n: c.req.valid('json').n }, 200));

  // A plain Hono route that throws something that is not an Error.
  app.get('/throws-string', () => {
    // eslint-disable-next-line @typescript-eslint/only-throw-error -- the case under test
    throw 'not an error';
  });
};
