/**
 * Signing in to the gateway from a non-browser client, in bearer mode: staff with password then
 * TOTP (POST /auth/login, /auth/mfa), patients by redeeming an enrollment code (POST /enroll);
 * and signing out. The session token returned is a secret: keep it in the encrypted local store.
 */
import { z } from 'zod';
import { SdkError, SdkErrorCode } from './errors.ts';
import { request, type HttpOptions } from './http-client.ts';

const Session = z.looseObject({ id: z.string(), kind: z.enum(['staff', 'patient']), userId: z.string(), expiresAt: z.string() });
const Established = z.object({ session: Session, token: z.string().optional() });
const LoginStep = z.object({ next: z.enum(['mfa', 'enroll']), challenge: z.string() });

export interface SignedIn {
  readonly token: string;
  readonly userId: string;
  readonly kind: 'staff' | 'patient';
  readonly sessionId: string;
  readonly expiresAt: string;
}

type Base = Omit<HttpOptions, 'token'>;

function signedIn(out: z.infer<typeof Established> | undefined): SignedIn {
  if (out?.token === undefined) throw new SdkError(SdkErrorCode.invalidResponse, 'the gateway did not return a bearer token');
  return { token: out.token, userId: out.session.userId, kind: out.session.kind, sessionId: out.session.id, expiresAt: out.session.expiresAt };
}

/** Staff sign-in. `totp` is the 6-digit authenticator code (MFA is mandatory for staff). */
export async function signInStaff(opts: Base, username: string, password: string, totp: string): Promise<SignedIn> {
  const step = await request(opts, 'POST', '/auth/login', { username, password }, LoginStep);
  if (step === undefined) throw new SdkError(SdkErrorCode.invalidResponse, 'empty sign-in response');
  if (step.next === 'enroll') {
    throw new SdkError('mfa_enrollment_required', 'this account has not set up its authenticator app yet; sign in once in the web console to enroll');
  }
  return signedIn(await request(opts, 'POST', '/auth/mfa', { challenge: step.challenge, code: totp, mode: 'bearer' }, Established));
}

/** Patient enrollment: redeem the one-time code from the clinic for a messaging session. */
export async function redeemEnrollmentCode(opts: Base, code: string): Promise<SignedIn> {
  return signedIn(await request(opts, 'POST', '/enroll', { code }, Established));
}

export async function signOut(opts: HttpOptions): Promise<void> {
  await request(opts, 'POST', '/auth/logout', undefined, null);
}
