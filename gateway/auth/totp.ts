/**
 * TOTP second factor (RFC 6238) through otplib, with the parameters every authenticator app
 * understands: SHA-1, 6 digits, 30-second steps. Verification accepts one step either side for
 * clock drift and returns the matched time step, so the caller can refuse a code that was
 * already accepted (users.totp_last_step, updated atomically by the user store).
 */
import { generateSecret as otpGenerateSecret, generateURI, verify } from 'otplib';

export const TOTP_PARAMS = {
  algorithm: 'sha1',
  digits: 6,
  period: 30,
  /** Steps accepted either side of the current one. */
  window: 1,
} as const;

const CODE_RE = /^\d{6}$/;

/** A new Base32 secret (20 random bytes = 160 bits, RFC 4226's recommended length). */
export function generateSecret(): string {
  return otpGenerateSecret({ length: 20 });
}

/** The otpauth:// URI an authenticator app scans (as a QR code) to enrol the secret. */
export function otpauthUri(opts: { readonly secret: string; readonly accountName: string; readonly issuer: string }): string {
  return generateURI({
    issuer: opts.issuer,
    label: opts.accountName,
    secret: opts.secret,
    algorithm: TOTP_PARAMS.algorithm,
    digits: TOTP_PARAMS.digits,
    period: TOTP_PARAMS.period,
  });
}

export type TotpResult = { readonly ok: true; readonly step: number } | { readonly ok: false };

/**
 * Check `code` against `secret` at `now` (±1 step). Malformed input (not six digits) is a plain
 * failure, not an exception. `step` is the RFC 6238 time step the code belongs to.
 */
export async function verifyTotp(secret: string, code: string, now: Date = new Date()): Promise<TotpResult> {
  // Authenticator apps often show "123 456"; accept the space but nothing else.
  if (code.length > 16) return { ok: false };
  const token = code.replace(/\s/g, '');
  if (!CODE_RE.test(token)) return { ok: false };
  const result = await verify({
    secret,
    token,
    algorithm: TOTP_PARAMS.algorithm,
    digits: TOTP_PARAMS.digits,
    period: TOTP_PARAMS.period,
    epoch: Math.floor(now.getTime() / 1000),
    epochTolerance: TOTP_PARAMS.period * TOTP_PARAMS.window,
  });
  return result.valid && 'timeStep' in result ? { ok: true, step: result.timeStep } : { ok: false };
}
