/**
 * Authenticates a request from its session token and enforces CSRF protection for browsers.
 *
 * - No credential → 401 `unauthorized`. A credential that is malformed, unknown, expired or
 *   ended → 401 `session_invalid` (one answer for all: nothing tells a guesser what exists),
 *   audited as `access.denied` (deduplicated per token for a minute so a client retrying a dead
 *   token cannot flood the chain).
 * - Cookie-authenticated state-changing requests must carry the session's CSRF token in
 *   X-CSRF-Token (synchronizer token; SameSite=Strict is the second layer) and, when the browser
 *   sends an Origin, an allowed one → 403 `csrf_failed`, audited. Bearer requests are exempt:
 *   browsers never attach bearer tokens by themselves.
 * - `touch: false` variant for the "time left" endpoint: reading how long is left must not
 *   count as activity, or the warning dialog would keep the session alive forever.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler, Next } from 'hono';
import { AppError, ErrorCode } from '../../core/errors.ts';
import { nodeIncoming, requestHeader, type AppEnv } from '../app-env.ts';
import { CSRF_HEADER, presentedToken, type PresentedToken } from './credentials.ts';
import type { RefusalAudit } from './refusal-audit.ts';
import { auditContext, CredentialVia } from './request-auth.ts';
import type { Session, SessionStore } from './sessions/session-store.ts';

export const AuthErrorCode = {
  sessionInvalid: 'session_invalid',
  csrfFailed: 'csrf_failed',
} as const;

export interface SessionMiddlewareDeps {
  readonly sessions: Pick<SessionStore, 'authenticate' | 'authenticateCached'>;
  /** Shared with the WebSocket upgrade, so one credential is recorded once whichever way it comes. */
  readonly refusals: RefusalAudit;
  readonly originAllowed: (origin: string) => boolean;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function sameSecret(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y);
}

function presented(c: Context<AppEnv>): PresentedToken | null | undefined {
  const incoming = nodeIncoming(c);
  if (incoming !== undefined) return presentedToken(incoming.headers);
  const authorization = c.req.header('authorization');
  const cookie = c.req.header('cookie');
  return presentedToken({ ...(authorization === undefined ? {} : { authorization }), ...(cookie === undefined ? {} : { cookie }) });
}

export interface SessionMiddleware {
  /** Requires a valid session and counts the request as activity. */
  readonly required: MiddlewareHandler<AppEnv>;
  /** Requires a valid session without counting as activity (time-left polling). */
  readonly peek: MiddlewareHandler<AppEnv>;
}

export function createSessionMiddleware(deps: SessionMiddlewareDeps): SessionMiddleware {
  const auditRefusal = (c: Context<AppEnv>, reason: string, credential: string | null, sessionId: string | null): Promise<void> =>
    deps.refusals.record(auditContext(c), { reason, credential, sessionId, channel: c.req.method });

  const invalid = (): AppError => new AppError(401, AuthErrorCode.sessionInvalid, 'Your session has ended or is not valid; sign in again');

  /** CSRF for cookie-authenticated writes: the refusal reason, or null when the request may pass. */
  const csrfProblem = (c: Context<AppEnv>, via: PresentedToken['via'], session: Session): string | null => {
    if (via !== CredentialVia.cookie || SAFE_METHODS.has(c.req.method)) return null;
    const origin = requestHeader(c, 'origin');
    if (origin !== undefined && !deps.originAllowed(origin)) return 'origin';
    const csrf = requestHeader(c, CSRF_HEADER);
    return csrf === undefined || !sameSecret(csrf, session.csrfToken) ? 'csrf_token' : null;
  };

  const accept = (c: Context<AppEnv>, via: PresentedToken['via'], session: Session): void => {
    c.set('auth', { principal: session.principal, sessionId: session.id, via, breakGlassId: null });
  };

  /** Everything but the cached fast path: the Redis lookup, and every refusal (each audited). */
  const slow = async (c: Context<AppEnv>, next: Next, credential: PresentedToken | null | undefined, touch: boolean, known: Session | undefined): Promise<void> => {
    if (credential === undefined) throw new AppError(401, ErrorCode.unauthorized, 'Sign in required');
    if (credential === null) {
      await auditRefusal(c, 'malformed_credential', 'malformed', null);
      throw invalid();
    }
    const session = known ?? (await deps.sessions.authenticate(credential.token, { touch }));
    if (session === undefined) {
      await auditRefusal(c, 'session_invalid', credential.token, null);
      throw invalid();
    }
    accept(c, credential.via, session);
    const problem = csrfProblem(c, credential.via, session);
    if (problem !== null) {
      await auditRefusal(c, `csrf_${problem}`, null, session.id);
      throw new AppError(403, AuthErrorCode.csrfFailed, 'Missing or wrong CSRF token: send the X-CSRF-Token header from your session');
    }
    await next();
  };

  // Not async on purpose: a session this process has cached passes with no await of its own
  // (every request of a signed-in user pays this path; see `npm run bench -- http`).
  const build = (touch: boolean): MiddlewareHandler<AppEnv> =>
    function session(c, next) {
      const credential = presented(c);
      const cached = credential ? deps.sessions.authenticateCached(credential.token, { touch }) : undefined;
      if (credential && cached !== undefined && csrfProblem(c, credential.via, cached) === null) {
        accept(c, credential.via, cached);
        return next();
      }
      return slow(c, next, credential, touch, cached);
    };

  return { required: build(true), peek: build(false) };
}
