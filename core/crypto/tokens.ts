/**
 * Bearer secrets the product hands out (session tokens, CSRF tokens, sign-in challenges, visit
 * links): 256 random bits as 43 base64url characters, stored and looked up only as SHA-256 hex.
 */
import { createHash, randomBytes } from 'node:crypto';

const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;

/** A fresh 256-bit random token (base64url, 43 characters). */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** True when `s` has the shape of a token from newToken() (checked before anything is hashed or looked up). */
export function isToken(s: string): boolean {
  return TOKEN_RE.test(s);
}

/** SHA-256 of a secret as lower-case hex: the form in which tokens and codes are stored. */
export function sha256Hex(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}
