/**
 * Read-only lookups the admin console needs beside admin-routes.ts: which staff accounts are
 * locked out of sign-in right now (the lockout lives in the login throttle on Redis, not in the
 * users table), and which patients are on a provider's care team. Minimum necessary: admins
 * manage care-team membership but never read patient records, so the care-team list carries the
 * patient's opaque record id, when it was added and whether the record was erased — no name,
 * date of birth, contact or MRN.
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { Db } from '../../core/db/types.ts';
import { AppError, ErrorCode } from '../../core/errors.ts';
import { StaffRole } from '../../core/identity/principal.ts';
import type { UserStore } from '../../core/identity/user-store.ts';
import type { AccessControl } from '../access/access-control.ts';
import { Action } from '../access/policy.ts';
import type { LoginThrottle } from '../auth/login-throttle.ts';
import type { SessionMiddleware } from '../auth/session-middleware.ts';
import { errorResponse, guardedErrors } from '../openapi/schemas.ts';
import type { RouteModule } from '../route-module.ts';

export interface AdminViewRouteDeps {
  readonly db: Db;
  readonly users: UserStore;
  readonly sessionMw: SessionMiddleware;
  readonly access: AccessControl;
  readonly throttle: LoginThrottle;
}

const guarded = { security: [{ session: [] }], tags: ['administration'] };

const Lockout = z
  .object({
    userId: z.string(),
    retryAfterSec: z.number().int().openapi({ description: 'Seconds until the lockout lifts by itself (POST /admin/users/{id}/unlock lifts it now).' }),
  })
  .openapi('StaffLockout');

const CareTeamMember = z
  .object({
    patientId: z.string().openapi({ description: 'The patient record id (opaque). Admins see no demographics.' }),
    addedAt: z.string(),
    erased: z.boolean().openapi({ description: 'The record was crypto-shredded; the membership can still be removed.' }),
  })
  .openapi('CareTeamMember');

const lockouts = createRoute({
  ...guarded,
  method: 'get',
  path: '/admin/lockouts',
  summary: 'Staff accounts locked out of sign-in now',
  description: 'Too many failed sign-ins lock an account name for LOGIN_LOCKOUT_SEC. Per-address blocks are not listed: they are not a property of an account.',
  responses: { 200: { description: 'Locked accounts', content: { 'application/json': { schema: z.object({ lockouts: z.array(Lockout) }) } } }, ...guardedErrors },
});

const careTeamList = createRoute({
  ...guarded,
  method: 'get',
  path: '/admin/care-team/{providerId}/patients',
  summary: 'The patients on a provider’s care team (record ids only), newest first',
  request: {
    params: z.object({ providerId: z.uuid() }),
    query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(200) }),
  },
  responses: {
    200: { description: 'Members', content: { 'application/json': { schema: z.object({ patients: z.array(CareTeamMember), truncated: z.boolean() }) } } },
    400: errorResponse('`validation_failed`'),
    409: errorResponse('`conflict`: the user is not a provider (only providers have care teams)'),
    ...guardedErrors,
  },
});

/**
 * The throttle is asked about the account name only; the address half of the check gets a key no
 * client address can have, so an address block never shows up as an account lockout.
 */
const NO_ADDRESS = 'admin-lockout-view';
/** Redis round trips in flight at once while checking every account. */
const BATCH = 50;

export function adminViewRoutes(deps: AdminViewRouteDeps): RouteModule {
  const { db, users, access, throttle } = deps;
  const mw = { middleware: [deps.sessionMw.required] };
  const system = { type: 'system' } as const;

  return (app) => {
    app.openapi({ ...lockouts, ...mw }, async (c) => {
      await access.authorize(c, Action.userManage, system);
      const staff = await users.listStaff();
      const found: z.infer<typeof Lockout>[] = [];
      for (let i = 0; i < staff.length; i += BATCH) {
        const batch = staff.slice(i, i + BATCH);
        const decisions = await Promise.all(batch.map((u) => throttle.check(u.username, NO_ADDRESS)));
        for (const [j, d] of decisions.entries()) {
          const user = batch[j];
          if (user !== undefined && !d.allowed && d.scope === 'account') found.push({ userId: user.id, retryAfterSec: d.retryAfterSec });
        }
      }
      return c.json({ lockouts: found }, 200);
    });

    app.openapi({ ...careTeamList, ...mw }, async (c) => {
      const { providerId } = c.req.valid('param');
      const { limit } = c.req.valid('query');
      await access.authorize(c, Action.careTeamManage, system);
      const provider = await users.getById(providerId);
      if (provider === null || provider.kind !== 'staff') throw new AppError(404, ErrorCode.notFound, 'No such staff user');
      if (provider.role !== StaffRole.provider) throw new AppError(409, ErrorCode.conflict, 'Only providers have care teams');
      const rows = await db.query<{ patient_id: string; added_at: Date; erased: boolean }>(
        `SELECT t.patient_id, t.added_at, (p.erased_at IS NOT NULL) AS erased
           FROM care_team t JOIN patients p ON p.id = t.patient_id
          WHERE t.provider_id = $1
          ORDER BY t.added_at DESC, t.patient_id
          LIMIT $2`,
        [providerId, limit + 1],
      );
      const patients = rows.slice(0, limit).map((r) => ({ patientId: r.patient_id, addedAt: r.added_at.toISOString(), erased: r.erased }));
      return c.json({ patients, truncated: rows.length > limit }, 200);
    });
  };
}
