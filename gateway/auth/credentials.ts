/**
 * Where a session token travels. Browsers: the `__Host-` cookie (HttpOnly, Secure, SameSite=
 * Strict, Path=/, no Domain — the prefix makes the browser enforce the last three). SDK and CLI:
 * `Authorization: Bearer <token>`. Tokens are 256-bit base64url strings (43 characters); anything
 * else is refused before it reaches Redis.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { parse } from 'hono/utils/cookie';
import { isToken } from '../../core/crypto/tokens.ts';
import { CredentialVia } from './request-auth.ts';

export const SESSION_COOKIE = '__Host-th_session';
export const CSRF_HEADER = 'x-csrf-token';

const MAX_HEADER = 4096;

export interface PresentedToken {
  readonly token: string;
  readonly via: CredentialVia;
}

/** `undefined`: nothing presented. `null`: something presented that cannot be a token. */
export function presentedToken(headers: IncomingHttpHeaders): PresentedToken | null | undefined {
  const authorization = headers.authorization;
  if (authorization !== undefined) {
    if (authorization.length > MAX_HEADER || !authorization.startsWith('Bearer ')) return null;
    const token = authorization.slice(7).trim();
    return isToken(token) ? { token, via: CredentialVia.bearer } : null;
  }
  const cookie = headers.cookie;
  if (cookie === undefined || cookie.length > MAX_HEADER || !cookie.includes(SESSION_COOKIE)) return undefined;
  const token = parse(cookie, SESSION_COOKIE)[SESSION_COOKIE];
  if (token === undefined) return undefined;
  return isToken(token) ? { token, via: CredentialVia.cookie } : null;
}

/** Set-Cookie value for a new session; Max-Age follows the absolute lifetime. */
export function sessionCookie(token: string, maxAgeSec: number): string {
  return `${SESSION_COOKIE}=${token}; Path=/; Max-Age=${Math.max(0, Math.floor(maxAgeSec))}; HttpOnly; Secure; SameSite=Strict`;
}

export function clearedSessionCookie(): string {
  return `${SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict`;
}
