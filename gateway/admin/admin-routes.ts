/**
 * Administration over the API (admins only): staff accounts and roles, account status, MFA
 * reset and unlock, a user's sessions and revoking them, and care-team membership. A role change
 * or a disable is a privilege change: it ends every session of that user (their next request
 * must sign in again with the new privileges), and each step is audited.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { AuditAction, type AuditLog } from '../../core/audit/index.ts';
import type { Db } from '../../core/db/types.ts';
import { addToCareTeam, removeFromCareTeam } from '../../core/identity/care-team.ts';
import { AppError, ErrorCode } from '../../core/errors.ts';
import { STAFF_ROLES, StaffRole } from '../../core/identity/principal.ts';
import type { StaffUser, UserStore } from '../../core/identity/user-store.ts';
import type { AccessControl } from '../access/access-control.ts';
import { Action } from '../access/policy.ts';
import type { LoginThrottle } from '../auth/login-throttle.ts';
import { hashPassword, passwordPolicy } from '../auth/password.ts';
import { auditContext } from '../auth/request-auth.ts';
import type { SessionMiddleware } from '../auth/session-middleware.ts';
import type { SessionStore } from '../auth/sessions/session-store.ts';
import { errorResponse, guardedErrors, jsonBody, jsonBodyErrors } from '../openapi/schemas.ts';
import type { RouteModule } from '../route-module.ts';

export interface AdminRouteDeps {
  readonly db: Db;
  readonly audit: AuditLog;
  readonly users: UserStore;
  readonly sessions: SessionStore;
  readonly sessionMw: SessionMiddleware;
  readonly access: AccessControl;
  readonly throttle: LoginThrottle;
}

const Id = z.uuid();
const Role = z.enum(STAFF_ROLES as [StaffRole, ...StaffRole[]]);

const UserSchema = z
  .object({
    id: z.string(),
    username: z.string(),
    displayName: z.string(),
    role: Role,
    status: z.enum(['active', 'disabled']),
    mfaEnrolled: z.boolean(),
    createdAt: z.string(),
  })
  .openapi('StaffUser');

const SessionSummary = z
  .object({ id: z.string(), createdAt: z.string(), lastSeenAt: z.string(), expiresAt: z.string() })
  .openapi('SessionSummary');

const guarded = { security: [{ session: [] }], tags: ['administration'] };
const errors = guardedErrors;

const createUser = createRoute({
  ...guarded,
  method: 'post',
  path: '/admin/users',
  summary: 'Create a staff account',
  description: 'The password must pass the strength floor (12+ characters, not common or guessable). The user enrolls TOTP at first sign-in.',
  request: {
    body: jsonBody(
      z.strictObject({
        username: z.string().regex(/^[a-z0-9][a-z0-9._-]{2,63}$/, { message: 'expected 3–64 lower-case letters, digits, . _ -' }),
        displayName: z.string().trim().min(1).max(128),
        role: Role,
        password: z.string().min(1).max(1024),
      }),
    ),
  },
  responses: { 201: { description: 'Created', content: { 'application/json': { schema: UserSchema } } }, 409: errorResponse('`conflict`: username taken'), ...jsonBodyErrors, ...errors },
});

const listUsers = createRoute({
  ...guarded,
  method: 'get',
  path: '/admin/users',
  summary: 'List staff accounts',
  request: { query: z.object({ role: Role.optional(), status: z.enum(['active', 'disabled']).optional() }) },
  responses: { 200: { description: 'Staff', content: { 'application/json': { schema: z.object({ users: z.array(UserSchema) }) } } }, 400: errorResponse('`validation_failed`'), ...errors },
});

const updateUser = createRoute({
  ...guarded,
  method: 'patch',
  path: '/admin/users/{id}',
  summary: 'Change role, status or display name',
  description: 'A role change or disable ends all of the user’s sessions.',
  request: {
    params: z.object({ id: Id }),
    body: jsonBody(
      z
        .strictObject({ role: Role.optional(), status: z.enum(['active', 'disabled']).optional(), displayName: z.string().trim().min(1).max(128).optional() })
        .refine((b) => Object.keys(b).length > 0, { message: 'send at least one field' }),
    ),
  },
  responses: { 200: { description: 'Updated', content: { 'application/json': { schema: UserSchema } } }, 409: errorResponse('`conflict`: an admin cannot demote or disable themselves'), ...jsonBodyErrors, ...errors },
});

const resetMfa = createRoute({
  ...guarded,
  method: 'post',
  path: '/admin/users/{id}/mfa-reset',
  summary: 'Reset MFA (lost device): the user enrolls again at next sign-in; their sessions end',
  request: { params: z.object({ id: Id }) },
  responses: { 204: { description: 'Reset' }, ...errors },
});

const unlock = createRoute({
  ...guarded,
  method: 'post',
  path: '/admin/users/{id}/unlock',
  summary: 'Lift a sign-in lockout',
  request: { params: z.object({ id: Id }) },
  responses: { 204: { description: 'Unlocked' }, ...errors },
});

const userSessions = createRoute({
  ...guarded,
  method: 'get',
  path: '/admin/users/{id}/sessions',
  summary: 'A user’s active sessions',
  request: { params: z.object({ id: Id }) },
  responses: { 200: { description: 'Sessions', content: { 'application/json': { schema: z.object({ sessions: z.array(SessionSummary) }) } } }, ...errors },
});

const revokeSession = createRoute({
  ...guarded,
  method: 'delete',
  path: '/admin/sessions/{id}',
  summary: 'Revoke a session (its WebSockets close at once)',
  request: { params: z.object({ id: z.string().regex(/^[0-9a-f]{32}$/) }) },
  responses: { 204: { description: 'Revoked' }, ...errors },
});

const careTeamPath = '/admin/care-team/{providerId}/patients/{patientId}';
const careTeamParams = z.object({ providerId: Id, patientId: Id });

const careTeamAdd = createRoute({
  ...guarded,
  method: 'put',
  path: careTeamPath,
  summary: 'Put a patient on a provider’s care team',
  request: { params: careTeamParams },
  responses: { 204: { description: 'Added (or already there)' }, ...errors },
});

const careTeamRemove = createRoute({
  ...guarded,
  method: 'delete',
  path: careTeamPath,
  summary: 'Take a patient off a provider’s care team',
  request: { params: careTeamParams },
  responses: { 204: { description: 'Removed' }, ...errors },
});

function userView(u: StaffUser): z.infer<typeof UserSchema> {
  return { id: u.id, username: u.username, displayName: u.displayName, role: u.role, status: u.status, mfaEnrolled: u.mfaEnrolledAt !== null, createdAt: u.createdAt.toISOString() };
}

export function adminRoutes(deps: AdminRouteDeps): RouteModule {
  const { users, sessions, access, audit, db } = deps;
  const mw = { middleware: [deps.sessionMw.required] };
  const system = { type: 'system' } as const;

  const mustGet = async (id: string) => {
    const user = await users.getById(id);
    if (user === null || user.kind !== 'staff') throw new AppError(404, ErrorCode.notFound, 'No such staff user');
    return user;
  };

  return (app) => {
    app.openapi({ ...createUser, ...mw }, async (c) => {
      await access.authorize(c, Action.userManage, system);
      const body = c.req.valid('json');
      const verdict = passwordPolicy.check(body.password, { username: body.username, displayName: body.displayName });
      if (!verdict.ok) throw new AppError(400, ErrorCode.validation, 'The password is too weak', { fields: verdict.reasons.map((message) => ({ path: 'body.password', message })) });
      const ctx = auditContext(c);
      const passwordHash = await hashPassword(body.password);
      const user = await db.transaction(async (tx) => {
        const created = await users.createStaff({ username: body.username, displayName: body.displayName, role: body.role, passwordHash, createdBy: ctx.actorId ?? null }, tx);
        await audit.append({ ...ctx, action: AuditAction.userCreate, resourceType: 'user', resourceId: created.id, outcome: 'success', details: { role: body.role } }, tx);
        return created;
      });
      return c.json(userView(user), 201);
    });

    app.openapi({ ...listUsers, ...mw }, async (c) => {
      await access.authorize(c, Action.userManage, system);
      const q = c.req.valid('query');
      const list = await users.listStaff({ ...(q.role === undefined ? {} : { role: q.role }), ...(q.status === undefined ? {} : { status: q.status }) });
      return c.json({ users: list.map(userView) }, 200);
    });

    app.openapi({ ...updateUser, ...mw }, async (c) => {
      const { id } = c.req.valid('param');
      await access.authorize(c, Action.userManage, { type: 'user', userId: id });
      const patch = c.req.valid('json');
      const ctx = auditContext(c);
      const before = await mustGet(id);
      if (id === ctx.actorId && ((patch.role !== undefined && patch.role !== StaffRole.admin) || patch.status === 'disabled')) {
        throw new AppError(409, ErrorCode.conflict, 'An admin cannot demote or disable their own account; ask another admin');
      }
      const roleChanged = patch.role !== undefined && patch.role !== before.role;
      const statusChanged = patch.status !== undefined && patch.status !== before.status;
      // Every change and its audit record commit together; sessions end once the change is in.
      const after = await db.transaction(async (tx) => {
        let user = before;
        if (roleChanged && patch.role !== undefined) {
          user = (await users.setRole(id, patch.role, tx)) ?? user;
          await audit.append({ ...ctx, action: AuditAction.roleGrant, resourceType: 'user', resourceId: id, outcome: 'success', details: { from: before.role, to: patch.role } }, tx);
        }
        if (statusChanged && patch.status !== undefined) {
          user = (await users.setStatus(id, patch.status, tx)) ?? user;
          await audit.append({ ...ctx, action: patch.status === 'disabled' ? AuditAction.userDisable : AuditAction.userEnable, resourceType: 'user', resourceId: id, outcome: 'success' }, tx);
        }
        if (patch.displayName !== undefined && patch.displayName !== before.displayName) {
          user = (await users.setDisplayName(id, patch.displayName, tx)) ?? user;
          await audit.append({ ...ctx, action: AuditAction.userUpdate, resourceType: 'user', resourceId: id, outcome: 'success', details: { fields: ['display_name'] } }, tx);
        }
        return user;
      });
      if (roleChanged) await sessions.endAllForUser(id, 'revoked', ctx);
      if (statusChanged && patch.status === 'disabled') await sessions.endAllForUser(id, 'user_disabled', ctx);
      return c.json(userView(after), 200);
    });

    app.openapi({ ...resetMfa, ...mw }, async (c) => {
      const { id } = c.req.valid('param');
      await access.authorize(c, Action.userManage, { type: 'user', userId: id });
      await mustGet(id);
      const ctx = auditContext(c);
      await db.transaction(async (tx) => {
        await users.resetMfa(id, tx);
        await audit.append({ ...ctx, action: AuditAction.userMfaReset, resourceType: 'user', resourceId: id, outcome: 'success' }, tx);
      });
      await sessions.endAllForUser(id, 'revoked', ctx);
      return c.body(null, 204);
    });

    app.openapi({ ...unlock, ...mw }, async (c) => {
      const { id } = c.req.valid('param');
      await access.authorize(c, Action.userManage, { type: 'user', userId: id });
      const user = await mustGet(id);
      await deps.throttle.unlock(user.username);
      await audit.append({ ...auditContext(c), action: AuditAction.userUnlock, resourceType: 'user', resourceId: id, outcome: 'success' });
      return c.body(null, 204);
    });

    app.openapi({ ...userSessions, ...mw }, async (c) => {
      const { id } = c.req.valid('param');
      await access.authorize(c, Action.sessionManage, { type: 'user', userId: id });
      const list = await sessions.listForUser(id);
      const iso = (ms: number) => new Date(ms).toISOString();
      return c.json({ sessions: list.map((s) => ({ id: s.id, createdAt: iso(s.createdAt), lastSeenAt: iso(s.lastSeenAt), expiresAt: iso(Math.min(s.idleExpiresAt, s.absoluteExpiresAt)) })) }, 200);
    });

    app.openapi({ ...revokeSession, ...mw }, async (c) => {
      const { id } = c.req.valid('param');
      await access.authorize(c, Action.sessionManage, system);
      const ended = await sessions.end(id, 'revoked', auditContext(c));
      if (!ended) throw new AppError(404, ErrorCode.notFound, 'No such active session');
      return c.body(null, 204);
    });

    app.openapi({ ...careTeamAdd, ...mw }, async (c) => {
      const { providerId, patientId } = c.req.valid('param');
      await access.authorize(c, Action.careTeamManage, system);
      const provider = await mustGet(providerId);
      if (provider.role !== StaffRole.provider) throw new AppError(409, ErrorCode.conflict, 'Only providers have care teams');
      const ctx = auditContext(c);
      await db.transaction(async (tx) => {
        const patient = await tx.query('SELECT 1 FROM patients WHERE id = $1 AND erased_at IS NULL', [patientId]);
        if (patient.length === 0) throw new AppError(404, ErrorCode.notFound, 'No such patient');
        if (await addToCareTeam(tx, providerId, patientId, ctx.actorId ?? null)) await audit.append({ ...ctx, action: AuditAction.careTeamMemberAdd, resourceType: 'care_team', resourceId: providerId, patientId, outcome: 'success' }, tx);
      });
      return c.body(null, 204);
    });

    app.openapi({ ...careTeamRemove, ...mw }, async (c) => {
      const { providerId, patientId } = c.req.valid('param');
      await access.authorize(c, Action.careTeamManage, system);
      const ctx = auditContext(c);
      const removed = await db.transaction(async (tx) => {
        const removed = await removeFromCareTeam(tx, providerId, patientId);
        if (removed) await audit.append({ ...ctx, action: AuditAction.careTeamMemberRemove, resourceType: 'care_team', resourceId: providerId, patientId, outcome: 'success' }, tx);
        return removed;
      });
      if (!removed) throw new AppError(404, ErrorCode.notFound, 'That patient is not on that care team');
      return c.body(null, 204);
    });
  };
}
