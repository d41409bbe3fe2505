/**
 * Patient enrollment for messaging: staff create a one-time code for a patient (handed over out
 * of band: printed, read aloud, sent by the clinic's usual channel); the patient's own client
 * (SDK, messenger app) redeems it for a patient account and a messaging-scoped session. All
 * failures answer one generic `code_invalid`; the audit record keeps the precise reason.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { AppError } from '../../core/errors.ts';
import type { AccessControl } from '../access/access-control.ts';
import { Action } from '../access/policy.ts';
import { commonErrors, errorResponse, jsonBody, jsonBodyErrors } from '../openapi/schemas.ts';
import type { RouteModule } from '../route-module.ts';
import type { Enrollment } from './enrollment.ts';
import type { RedeemThrottle } from './redeem-throttle.ts';
import { auditContext } from './request-auth.ts';
import { establish, EstablishedSchema } from './session-response.ts';
import type { SessionMiddleware } from './session-middleware.ts';
import type { SessionStore } from './sessions/session-store.ts';

export interface EnrollmentRouteDeps {
  readonly enrollment: Enrollment;
  readonly sessions: SessionStore;
  readonly sessionMw: SessionMiddleware;
  readonly access: AccessControl;
  readonly throttle: RedeemThrottle;
}

const create = createRoute({
  method: 'post',
  path: '/patients/{id}/enrollment-codes',
  tags: ['patients'],
  security: [{ session: [] }],
  summary: 'Create a one-time messaging enrollment code for a patient (older unused codes stop working)',
  request: { params: z.object({ id: z.uuid() }) },
  responses: {
    201: { description: 'Give the code to the patient; it is shown once', content: { 'application/json': { schema: z.object({ id: z.string(), code: z.string(), expiresAt: z.string() }) } } },
    401: errorResponse('`unauthorized` or `session_invalid`'),
    403: errorResponse('`forbidden` or `csrf_failed`'),
    404: errorResponse('`not_found`'),
    ...commonErrors,
  },
});

const redeem = createRoute({
  method: 'post',
  path: '/enroll',
  tags: ['patients'],
  summary: 'Redeem an enrollment code: a patient account and a messaging session (bearer token)',
  request: { body: jsonBody(z.strictObject({ code: z.string().min(1).max(64) })) },
  responses: {
    200: { description: 'Enrolled', content: { 'application/json': { schema: EstablishedSchema } } },
    ...jsonBodyErrors,
    400: errorResponse('`code_invalid` (unknown, used, expired or revoked), `malformed_json` or `validation_failed`'),
    429: errorResponse('`too_many_attempts`'),
    ...commonErrors,
  },
});

export function enrollmentRoutes(deps: EnrollmentRouteDeps): RouteModule {
  const { enrollment, sessions, access } = deps;
  return (app) => {
    app.openapi({ ...create, middleware: [deps.sessionMw.required] }, async (c) => {
      const { id } = c.req.valid('param');
      await access.authorize(c, Action.enrollmentCreate, { type: 'patient', patientId: id });
      const made = await enrollment.createCode(id, auditContext(c));
      return c.json({ id: made.id, code: made.code, expiresAt: made.expiresAt.toISOString() }, 201);
    });

    app.openapi(redeem, async (c) => {
      const { code } = c.req.valid('json');
      const ip = c.get('clientIp');
      await deps.throttle.assertAllowed(ip);
      let enrolled;
      try {
        enrolled = await enrollment.redeem(code, auditContext(c));
      } catch (err) {
        if (err instanceof AppError && err.status < 500) await deps.throttle.recordFailure(ip);
        throw err;
      }
      const created = await sessions.create({ kind: 'patient', userId: enrolled.patientUserId, role: null, patientId: enrolled.patientId, scope: 'messaging', appointmentId: null });
      return c.json(establish(c, created, 'bearer', sessions.timeLeft(created.session)), 200);
    });
  };
}
