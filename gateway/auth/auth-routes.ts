/**
 * Staff sign-in (password, then TOTP — MFA is mandatory for every staff role), first-time MFA
 * enrollment, the session's own endpoints (time left, stay signed in, sign out) and recovery-code
 * regeneration. Every attempt is audited by the login service; every failure answers the same
 * generic 401 whether or not the account exists.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { AppError } from '../../core/errors.ts';
import type { StaffRole } from '../../core/identity/principal.ts';
import { Action } from '../access/policy.ts';
import type { AccessControl } from '../access/access-control.ts';
import { commonErrors, errorResponse, jsonBody, jsonBodyErrors } from '../openapi/schemas.ts';
import type { RouteModule } from '../route-module.ts';
import { clearedSessionCookie } from './credentials.ts';
import { auditContext, requireAuth } from './request-auth.ts';
import { establish, EstablishedSchema, SessionInfoSchema, sessionInfo, TokenMode } from './session-response.ts';
import { AuthErrorCode, type SessionMiddleware } from './session-middleware.ts';
import type { SessionStore } from './sessions/session-store.ts';
import type { StaffLogin } from './staff-login.ts';

export interface AuthRouteDeps {
  readonly staffLogin: StaffLogin;
  readonly sessions: SessionStore;
  readonly sessionMw: SessionMiddleware;
  readonly access: AccessControl;
}

const Username = z.string().min(1).max(64);
const Password = z.string().min(1).max(1024);
const Challenge = z.string().min(20).max(128).openapi({ description: 'From the previous sign-in step; valid for 5 minutes.' });
const TotpCode = z.string().regex(/^\d{6}$/, { message: 'expected the 6-digit code from the authenticator app' });
const RecoveryCode = z.string().min(8).max(64);

const authErrors = {
  401: errorResponse('`invalid_credentials` (same answer for unknown accounts), `session_invalid` or `unauthorized`'),
  429: errorResponse('`too_many_attempts`: the account or address is temporarily locked; see Retry-After'),
} as const;

const tags = ['authentication'];

const login = createRoute({
  method: 'post',
  path: '/auth/login',
  tags,
  summary: 'Sign in, step 1: username and password',
  description: 'Answers with a challenge for step 2: `mfa` (enter a TOTP or recovery code) or `enroll` (first sign-in: set up the authenticator app).',
  request: { body: jsonBody(z.strictObject({ username: Username, password: Password })) },
  responses: {
    200: { description: 'Password accepted', content: { 'application/json': { schema: z.object({ next: z.enum(['mfa', 'enroll']), challenge: z.string() }) } } },
    ...authErrors,
    ...jsonBodyErrors,
    ...commonErrors,
  },
});

const mfa = createRoute({
  method: 'post',
  path: '/auth/mfa',
  tags,
  summary: 'Sign in, step 2: TOTP or recovery code',
  request: {
    body: jsonBody(
      z.strictObject({ challenge: Challenge, code: TotpCode.optional(), recoveryCode: RecoveryCode.optional(), mode: TokenMode }).refine((b) => (b.code === undefined) !== (b.recoveryCode === undefined), {
        message: 'send exactly one of code or recoveryCode',
      }),
    ),
  },
  responses: {
    200: { description: 'Signed in: a new session', content: { 'application/json': { schema: EstablishedSchema } } },
    ...authErrors,
    ...jsonBodyErrors,
    ...commonErrors,
  },
});

const enrollStart = createRoute({
  method: 'post',
  path: '/auth/mfa/enroll',
  tags,
  summary: 'First sign-in: get a TOTP secret to add to an authenticator app',
  request: { body: jsonBody(z.strictObject({ challenge: Challenge })) },
  responses: {
    200: { description: 'Scan the otpauth URI (or type the secret), then confirm with a code', content: { 'application/json': { schema: z.object({ secret: z.string(), otpauthUri: z.string() }) } } },
    ...authErrors,
    ...jsonBodyErrors,
    ...commonErrors,
  },
});

const enrollConfirm = createRoute({
  method: 'post',
  path: '/auth/mfa/enroll/confirm',
  tags,
  summary: 'First sign-in: confirm the authenticator with a code; returns one-time recovery codes',
  request: { body: jsonBody(z.strictObject({ challenge: Challenge, code: TotpCode, mode: TokenMode })) },
  responses: {
    200: {
      description: 'Enrolled and signed in. Show the recovery codes once; they are not retrievable later.',
      content: { 'application/json': { schema: EstablishedSchema.extend({ recoveryCodes: z.array(z.string()) }) } },
    },
    ...authErrors,
    ...jsonBodyErrors,
    ...commonErrors,
  },
});

const sessionGet = createRoute({
  method: 'get',
  path: '/auth/session',
  tags,
  summary: 'The current session and the time left before automatic logoff',
  description: 'Does not count as activity, so a warning dialog can poll it without keeping the session alive.',
  security: [{ session: [] }],
  responses: { 200: { description: 'Current session', content: { 'application/json': { schema: SessionInfoSchema } } }, ...authErrors, ...commonErrors },
});

const sessionExtend = createRoute({
  method: 'post',
  path: '/auth/session/extend',
  tags,
  summary: '"Stay signed in": counts as activity and restarts the idle timer',
  security: [{ session: [] }],
  responses: { 200: { description: 'Current session', content: { 'application/json': { schema: SessionInfoSchema } } }, ...authErrors, 403: errorResponse('`csrf_failed`'), ...commonErrors },
});

const logout = createRoute({
  method: 'post',
  path: '/auth/logout',
  tags,
  summary: 'Sign out: ends the session and closes its WebSockets',
  security: [{ session: [] }],
  responses: { 204: { description: 'Signed out' }, ...authErrors, 403: errorResponse('`csrf_failed`'), ...commonErrors },
});

const recoveryRegenerate = createRoute({
  method: 'post',
  path: '/auth/recovery-codes',
  tags,
  summary: 'Replace all recovery codes (re-authentication required)',
  security: [{ session: [] }],
  request: { body: jsonBody(z.strictObject({ password: Password, code: TotpCode })) },
  responses: {
    200: { description: 'New codes; the old ones no longer work', content: { 'application/json': { schema: z.object({ recoveryCodes: z.array(z.string()) }) } } },
    ...authErrors,
    403: errorResponse('`forbidden` (patients have no recovery codes) or `csrf_failed`'),
    ...jsonBodyErrors,
    ...commonErrors,
  },
});

export function authRoutes(deps: AuthRouteDeps): RouteModule {
  const { staffLogin, sessions, sessionMw } = deps;

  const startStaffSession = async (userId: string, role: StaffRole) => {
    const created = await sessions.create({ kind: 'staff', userId, role, patientId: null, scope: null, appointmentId: null });
    return { created, left: sessions.timeLeft(created.session) };
  };

  return (app) => {
    app.openapi(login, async (c) => {
      const { username, password } = c.req.valid('json');
      const result = await staffLogin.passwordStep(username, password, auditContext(c));
      return c.json({ next: result.next, challenge: result.challenge }, 200);
    });

    app.openapi(enrollStart, async (c) => {
      const { challenge } = c.req.valid('json');
      return c.json(await staffLogin.startEnrollment(challenge), 200);
    });

    app.openapi(enrollConfirm, async (c) => {
      const { challenge, code, mode } = c.req.valid('json');
      const enrolled = await staffLogin.confirmEnrollment(challenge, code, auditContext(c));
      const { created, left } = await startStaffSession(enrolled.userId, enrolled.role);
      return c.json({ ...establish(c, created, mode, left), recoveryCodes: enrolled.recoveryCodes }, 200);
    });

    app.openapi(mfa, async (c) => {
      const body = c.req.valid('json');
      const factor = body.code !== undefined ? { code: body.code } : { recoveryCode: body.recoveryCode ?? '' };
      const verified = await staffLogin.mfaStep(body.challenge, factor, auditContext(c));
      const { created, left } = await startStaffSession(verified.userId, verified.role);
      return c.json(establish(c, created, body.mode, left), 200);
    });

    const current = async (sessionId: string) => {
      const session = await sessions.get(sessionId);
      if (session === undefined) throw new AppError(401, AuthErrorCode.sessionInvalid, 'Your session has ended or is not valid; sign in again');
      return sessionInfo(session, sessions.timeLeft(session));
    };

    app.openapi({ ...sessionGet, middleware: [sessionMw.peek] }, async (c) => c.json(await current(requireAuth(c).sessionId), 200));
    app.openapi({ ...sessionExtend, middleware: [sessionMw.required] }, async (c) => c.json(await current(requireAuth(c).sessionId), 200));

    app.openapi({ ...logout, middleware: [sessionMw.required] }, async (c) => {
      const auth = requireAuth(c);
      await sessions.end(auth.sessionId, 'logout', auditContext(c));
      c.header('Set-Cookie', clearedSessionCookie());
      return c.body(null, 204);
    });

    app.openapi({ ...recoveryRegenerate, middleware: [sessionMw.required] }, async (c) => {
      const auth = requireAuth(c);
      // Patients sign in without passwords or TOTP: they have no recovery codes to replace.
      if (auth.principal.kind !== 'staff') return deps.access.deny(c, Action.sessionSelf, { type: 'user', userId: auth.principal.userId }, 'role');
      const { password, code } = c.req.valid('json');
      await staffLogin.reauthenticate(auth.principal.userId, password, code, auditContext(c));
      return c.json({ recoveryCodes: await staffLogin.regenerateRecoveryCodes(auth.principal.userId, auditContext(c)) }, 200);
    });
  };
}
