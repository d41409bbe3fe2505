/**
 * The authenticated side of a request: who (principal), through which session, how the
 * credential arrived, and whether an emergency-access grant is in use. Set by the session
 * middleware; read by routes through `requireAuth(c)` and turned into audit context by
 * `auditContext(c)` so that every record written under break-glass carries the flag.
 */
import { isIP } from 'node:net';
import type { Context } from 'hono';
import { ActorType, type AuditActor } from '../../core/audit/index.ts';
import { actorTypeOf } from '../../core/identity/principal.ts';
import { AppError, ErrorCode } from '../../core/errors.ts';
import type { RequestAuth } from './request-auth-types.ts';
import type { AppEnv } from '../app-env.ts';

export { CredentialVia, type RequestAuth } from './request-auth-types.ts';

/** The request's auth; a route without the session middleware calling this is a programming error (500). */
export function requireAuth(c: Context<AppEnv>): RequestAuth {
  const auth = c.get('auth');
  if (auth === undefined) throw new AppError(401, ErrorCode.unauthorized, 'Sign in required');
  return auth;
}

export type AuditContext = AuditActor;

/** Actor, request id, client address and break-glass flag for audit records written by this request. */
export function auditContext(c: Context<AppEnv>): AuditContext {
  const auth = c.get('auth');
  const ip = c.get('clientIp');
  const base = { requestId: c.get('requestId'), ip: isIP(ip) === 0 ? null : ip };
  if (auth === undefined) return { ...base, actorType: ActorType.anonymous, actorId: null, breakGlass: false };
  const actorType = actorTypeOf(auth.principal);
  return { ...base, actorType, actorId: auth.principal.userId, breakGlass: auth.breakGlassId !== null };
}
