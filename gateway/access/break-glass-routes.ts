/**
 * Break-glass (HIPAA 164.312(a)(2)(ii), emergency access): a provider asks for time-boxed access
 * to a patient outside their care team, stating a reason and re-authenticating with password and
 * TOTP. The session is rotated (new token, new id: a privilege change never keeps the old
 * credential), everything done under the grant is flagged in the audit chain, and privacy
 * officers work a review queue in which every grant must be closed with an outcome.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { AuditAction, type AuditLog } from '../../core/audit/index.ts';
import type { Db } from '../../core/db/types.ts';
import type { StaffLogin } from '../auth/staff-login.ts';
import { auditContext, requireAuth } from '../auth/request-auth.ts';
import { establish, EstablishedSchema } from '../auth/session-response.ts';
import type { SessionMiddleware } from '../auth/session-middleware.ts';
import type { SessionStore } from '../auth/sessions/session-store.ts';
import { errorResponse, guardedErrors, jsonBody, jsonBodyErrors } from '../openapi/schemas.ts';
import type { RouteModule } from '../route-module.ts';
import type { AccessControl } from './access-control.ts';
import type { BreakGlass } from './break-glass.ts';
import { Action } from './policy.ts';

export interface BreakGlassRouteDeps {
  readonly db: Db;
  readonly audit: AuditLog;
  readonly breakGlass: BreakGlass;
  readonly staffLogin: StaffLogin;
  readonly sessions: SessionStore;
  readonly sessionMw: SessionMiddleware;
  readonly access: AccessControl;
}

const guarded = { security: [{ session: [] }], tags: ['emergency access'] };
const errors = {
  ...guardedErrors,
  401: errorResponse('`unauthorized`, `session_invalid` or `invalid_credentials` (re-authentication failed)'),
} as const;

const request = createRoute({
  ...guarded,
  method: 'post',
  path: '/break-glass',
  summary: 'Emergency access to a patient outside your care team (re-authentication required)',
  request: {
    body: jsonBody(
      z.strictObject({
        patientId: z.uuid(),
        reason: z.string().trim().min(10).max(500).openapi({ description: 'Why access is needed now; stored encrypted, reviewed by a privacy officer.' }),
        password: z.string().min(1).max(1024),
        code: z.string().regex(/^\d{6}$/),
      }),
    ),
  },
  responses: {
    201: {
      description: 'Granted. The session was rotated: use the new session (cookie or token) from now on.',
      content: { 'application/json': { schema: EstablishedSchema.extend({ grant: z.object({ id: z.string(), expiresAt: z.string() }) }) } },
    },
    429: errorResponse('`too_many_attempts`'),
    ...jsonBodyErrors,
    ...errors,
  },
});

const ReviewItem = z
  .object({
    id: z.string(),
    providerId: z.string(),
    patientId: z.string(),
    reason: z.string().nullable().openapi({ description: 'null when the patient’s record was erased (crypto-shredded).' }),
    startedAt: z.string(),
    expiresAt: z.string(),
    status: z.enum(['open', 'reviewed']),
    outcome: z.enum(['justified', 'not_justified', 'escalated']).nullable(),
  })
  .openapi('BreakGlassGrant');

const queue = createRoute({
  ...guarded,
  method: 'get',
  path: '/break-glass/reviews',
  summary: 'The review queue (privacy officers)',
  request: { query: z.object({ status: z.enum(['open', 'reviewed', 'all']).default('open'), limit: z.coerce.number().int().min(1).max(200).default(50) }) },
  responses: { 200: { description: 'Grants', content: { 'application/json': { schema: z.object({ grants: z.array(ReviewItem) }) } } }, 400: errorResponse('`validation_failed`'), ...errors },
});

const review = createRoute({
  ...guarded,
  method: 'post',
  path: '/break-glass/{id}/review',
  summary: 'Close a grant with an outcome (privacy officers; once)',
  request: {
    params: z.object({ id: z.uuid() }),
    body: jsonBody(z.strictObject({ outcome: z.enum(['justified', 'not_justified', 'escalated']), note: z.string().trim().max(1000).optional() })),
  },
  responses: { 204: { description: 'Reviewed' }, 409: errorResponse('`already_reviewed` or `own_grant`'), ...jsonBodyErrors, ...errors },
});

export function breakGlassRoutes(deps: BreakGlassRouteDeps): RouteModule {
  const { breakGlass, access, sessions } = deps;
  const mw = { middleware: [deps.sessionMw.required] };
  return (app) => {
    app.openapi({ ...request, ...mw }, async (c) => {
      await access.authorize(c, Action.breakGlassRequest, { type: 'system' });
      const auth = requireAuth(c);
      const body = c.req.valid('json');
      const ctx = auditContext(c);
      await deps.staffLogin.reauthenticate(auth.principal.userId, body.password, body.code, ctx);
      const grant = await breakGlass.request({ providerId: auth.principal.userId, patientId: body.patientId, reason: body.reason }, ctx);
      const rotated = await sessions.rotate(auth.sessionId, ctx);
      const established = establish(c, rotated, auth.via, sessions.timeLeft(rotated.session));
      return c.json({ ...established, grant: { id: grant.id, expiresAt: grant.expiresAt.toISOString() } }, 201);
    });

    app.openapi({ ...queue, ...mw }, async (c) => {
      await access.authorize(c, Action.breakGlassReview, { type: 'system' });
      const { status, limit } = c.req.valid('query');
      const items = await breakGlass.listForReview({ status, limit });
      // A grant's reason describes the patient: reading it is a PHI access like any other.
      const ctx = auditContext(c);
      const shown = items.filter((g) => g.reason !== null);
      if (shown.length > 0) {
        await deps.db.transaction(async (tx) => {
          for (const g of shown) {
            await deps.audit.append({ ...ctx, action: AuditAction.patientView, resourceType: 'break_glass', resourceId: g.id, patientId: g.patientId, outcome: 'success', details: { view: 'break_glass_reason' } }, tx);
          }
        });
      }
      return c.json(
        {
          grants: items.map((g) => ({
            id: g.id,
            providerId: g.providerId,
            patientId: g.patientId,
            reason: g.reason,
            startedAt: g.startedAt.toISOString(),
            expiresAt: g.expiresAt.toISOString(),
            status: g.status,
            outcome: g.outcome,
          })),
        },
        200,
      );
    });

    app.openapi({ ...review, ...mw }, async (c) => {
      await access.authorize(c, Action.breakGlassReview, { type: 'system' });
      const auth = requireAuth(c);
      const { id } = c.req.valid('param');
      const body = c.req.valid('json');
      await breakGlass.review(id, { reviewerId: auth.principal.userId, outcome: body.outcome, ...(body.note === undefined ? {} : { note: body.note }) }, auditContext(c));
      return c.body(null, 204);
    });
  };
}
