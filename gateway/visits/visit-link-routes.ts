/**
 * Patient visit links. Staff create an appointment-bound link; the token rides in the URL
 * FRAGMENT (`/visit/#<token>`), which browsers never send to servers, proxies or Referer headers,
 * and which carries no PHI. The visit page posts it to /visit-links/redeem, which exchanges it —
 * once — for a short, visit-scoped patient session (it can read and join that one visit, nothing
 * else), ending when the visit ends. Replayed, expired and revoked links get distinct codes that
 * reveal nothing about the appointment; every attempt is audited; failures are throttled per address.
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { Config } from '../../core/config/schema.ts';
import type { Db } from '../../core/db/types.ts';
import { AppError, ErrorCode } from '../../core/errors.ts';
import { ensurePatientPrincipal } from '../../core/identity/patient-principal.ts';
import type { AppointmentStore } from '../../core/appointments/store.ts';
import type { AccessControl } from '../access/access-control.ts';
import { Action } from '../access/policy.ts';
import type { RedeemThrottle } from '../auth/redeem-throttle.ts';
import { auditContext } from '../auth/request-auth.ts';
import { establish, EstablishedSchema, TokenMode } from '../auth/session-response.ts';
import type { SessionMiddleware } from '../auth/session-middleware.ts';
import type { SessionStore } from '../auth/sessions/session-store.ts';
import { commonErrors, errorResponse, guardedErrors, jsonBody, jsonBodyErrors } from '../openapi/schemas.ts';
import type { RouteModule } from '../route-module.ts';
import { appointmentResource } from './appointment-routes.ts';
import type { VisitLinks } from './visit-links.ts';

export interface VisitLinkRouteDeps {
  readonly config: Config;
  readonly db: Db;
  readonly appointments: AppointmentStore;
  readonly visitLinks: VisitLinks;
  readonly sessions: SessionStore;
  readonly sessionMw: SessionMiddleware;
  readonly access: AccessControl;
  readonly throttle: RedeemThrottle;
  /** Origin put in front of `/visit/#<token>`. */
  readonly publicOrigin: () => string;
}

const guarded = { security: [{ session: [] }], tags: ['visits'] };
const errors = guardedErrors;

const LinkSchema = z
  .object({
    id: z.string(),
    url: z.string().openapi({ description: 'Send to the patient out of band. Shown once: only a hash of the token is stored.' }),
    validFrom: z.string(),
    validUntil: z.string(),
  })
  .openapi('VisitLink');

const create = createRoute({
  ...guarded,
  method: 'post',
  path: '/appointments/{id}/visit-links',
  summary: 'Create a single-use visit link for the appointment’s patient, or for an invited guest',
  description: 'A `guest` link (an interpreter, a family member) joins the visit as a guest: it waits in the lobby like the patient and can reach nothing else.',
  request: {
    params: z.object({ id: z.uuid() }),
    query: z.object({ audience: z.enum(['patient', 'guest']).default('patient').openapi({ description: 'Who the link is for.' }) }),
  },
  responses: { 201: { description: 'Created', content: { 'application/json': { schema: LinkSchema } } }, 409: errorResponse('`appointment_cancelled` or `appointment_ended`'), ...errors },
});

const revoke = createRoute({
  ...guarded,
  method: 'delete',
  path: '/visit-links/{id}',
  summary: 'Revoke a visit link',
  request: { params: z.object({ id: z.uuid() }) },
  responses: { 204: { description: 'Revoked' }, ...errors },
});

const redeem = createRoute({
  method: 'post',
  path: '/visit-links/redeem',
  tags: ['visits'],
  summary: 'Exchange a visit link token for a visit-scoped patient session (once)',
  request: { body: jsonBody(z.strictObject({ token: z.string().min(1).max(128), mode: TokenMode })) },
  responses: {
    200: { description: 'A patient session limited to this visit', content: { 'application/json': { schema: EstablishedSchema.extend({ appointmentId: z.string() }) } } },
    403: errorResponse('`link_not_yet_valid`: opens shortly before the visit (see `opensAt`)'),
    404: errorResponse('`link_invalid`'),
    410: errorResponse('`link_used`, `link_expired`, `link_revoked` or `appointment_cancelled`'),
    429: errorResponse('`too_many_attempts`'),
    ...jsonBodyErrors,
    ...commonErrors,
  },
});

export function visitLinkRoutes(deps: VisitLinkRouteDeps): RouteModule {
  const { appointments, visitLinks, access, sessions, db } = deps;
  const mw = { middleware: [deps.sessionMw.required] };
  const graceMs = 30 * 60_000;

  return (app) => {
    app.openapi({ ...create, ...mw }, async (c) => {
      const a = await appointments.get(c.req.valid('param').id);
      if (a === null) throw new AppError(404, ErrorCode.notFound, 'No such appointment');
      await access.authorize(c, Action.visitLinkManage, appointmentResource(a));
      const link = await visitLinks.create(a.id, auditContext(c), c.req.valid('query').audience);
      return c.json({ id: link.id, url: `${deps.publicOrigin()}/visit/#${link.token}`, validFrom: link.validFrom.toISOString(), validUntil: link.validUntil.toISOString() }, 201);
    });

    app.openapi({ ...revoke, ...mw }, async (c) => {
      const { id } = c.req.valid('param');
      const [row] = await db.query<{ appointment_id: string }>('SELECT appointment_id FROM visit_links WHERE id = $1', [id]);
      const a = row === undefined ? null : await appointments.get(row.appointment_id);
      if (a === null) throw new AppError(404, ErrorCode.notFound, 'No such visit link');
      await access.authorize(c, Action.visitLinkManage, appointmentResource(a));
      await visitLinks.revoke(id, auditContext(c));
      return c.body(null, 204);
    });

    app.openapi(redeem, async (c) => {
      const { token, mode } = c.req.valid('json');
      const ctx = auditContext(c);
      const ip = c.get('clientIp');
      await deps.throttle.assertAllowed(ip);
      let visit;
      try {
        visit = await visitLinks.redeem(token, ctx);
      } catch (err) {
        if (err instanceof AppError && err.status < 500) await deps.throttle.recordFailure(ip);
        throw err;
      }
      const absoluteExpiresAt = visit.endsAt.getTime() + graceMs;
      // A guest has no account: the link's id is its identity (unique, and what the audit names).
      const created =
        visit.audience === 'guest'
          ? await sessions.create({ kind: 'guest', userId: visit.linkId, role: null, patientId: null, scope: null, appointmentId: visit.appointmentId, absoluteExpiresAt })
          : await sessions.create({
              kind: 'patient',
              userId: (await ensurePatientPrincipal(db, visit.patientId)).id,
              role: null,
              patientId: visit.patientId,
              scope: 'visit',
              appointmentId: visit.appointmentId,
              absoluteExpiresAt,
            });
      return c.json({ ...establish(c, created, mode, sessions.timeLeft(created.session)), appointmentId: visit.appointmentId }, 200);
    });
  };
}
