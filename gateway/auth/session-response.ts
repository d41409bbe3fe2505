/**
 * The JSON shapes that describe a session to its holder, and how a freshly created session is
 * handed over: a `__Host-` cookie for browsers (the token never reaches page script), or the
 * token in the body for the SDK and CLI (`mode: "bearer"`).
 */
import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { sessionCookie } from './credentials.ts';
import type { Session } from './sessions/session-store.ts';

export const TokenMode = z.enum(['cookie', 'bearer']).default('cookie').openapi({
  description: '`cookie` (browsers: HttpOnly __Host- cookie, send X-CSRF-Token on writes) or `bearer` (SDK/CLI: token in the response body).',
});

export const SessionInfoSchema = z
  .object({
    id: z.string().openapi({ description: 'Public session id (what admins revoke); not a credential.' }),
    kind: z.enum(['staff', 'patient', 'guest']),
    userId: z.string(),
    role: z.string().nullable(),
    scope: z.enum(['visit', 'messaging']).nullable(),
    idleMs: z.number().int().openapi({ description: 'Milliseconds until automatic logoff without activity.' }),
    absoluteMs: z.number().int().openapi({ description: 'Milliseconds until the session ends regardless of activity.' }),
    expiresAt: z.string().openapi({ description: 'When the session ends if nothing else happens (ISO 8601).' }),
    csrfToken: z.string().openapi({ description: 'Send as X-CSRF-Token on state-changing requests made with the cookie.' }),
  })
  .openapi('SessionInfo');
export type SessionInfo = z.infer<typeof SessionInfoSchema>;

export const EstablishedSchema = z
  .object({
    session: SessionInfoSchema,
    token: z.string().optional().openapi({ description: 'Only in bearer mode: send as `Authorization: Bearer <token>`.' }),
  })
  .openapi('EstablishedSession');

export function sessionInfo(session: Session, left: { idleMs: number; absoluteMs: number; expiresAt: number }): SessionInfo {
  const p = session.principal;
  return {
    id: session.id,
    kind: p.kind,
    userId: p.userId,
    role: p.kind === 'staff' ? p.role : null,
    scope: p.kind === 'patient' ? p.scope : null,
    idleMs: Math.max(0, Math.round(left.idleMs)),
    absoluteMs: Math.max(0, Math.round(left.absoluteMs)),
    expiresAt: new Date(left.expiresAt).toISOString(),
    csrfToken: session.csrfToken,
  };
}

/** Hand a new session to the client in the requested mode. */
export function establish(
  c: Context<AppEnv>,
  created: { token: string; session: Session },
  mode: 'cookie' | 'bearer',
  left: { idleMs: number; absoluteMs: number; expiresAt: number },
): z.infer<typeof EstablishedSchema> {
  const info = sessionInfo(created.session, left);
  if (mode === 'bearer') return { session: info, token: created.token };
  c.header('Set-Cookie', sessionCookie(created.token, left.absoluteMs / 1000));
  return { session: info };
}
