/**
 * Seeding a fresh deployment through its public HTTP API, as a clinic would: the admin signs in
 * (first sign-in enrolls TOTP), creates staff accounts, each of which signs in and enrolls its
 * own authenticator (otplib plays the app); providers register patients, which puts each on that
 * provider's care team, and hand out messaging enrollment codes. All records are synthetic.
 */
import { randomBytes } from 'node:crypto';
import { generate } from 'otplib';
import { z } from 'zod';
import { api } from './api.ts';

const PERIOD_S = 30;

/**
 * An authenticator app for one account. The gateway refuses a code whose time step was already
 * used (replay protection) and accepts one step either side of now, so this hands out each step
 * once, runs at most one step ahead, and otherwise waits for the next step.
 */
export class Authenticator {
  readonly secret: string;
  #lastStep = -1;
  constructor(secret: string) {
    this.secret = secret;
  }
  async code(): Promise<string> {
    for (;;) {
      const now = Math.floor(Date.now() / 1000 / PERIOD_S);
      const step = Math.max(now, this.#lastStep + 1);
      if (step <= now + 1) {
        this.#lastStep = step;
        return generate({ secret: this.secret, epoch: step * PERIOD_S });
      }
      await new Promise((r) => setTimeout(r, ((now + 1) * PERIOD_S - Date.now() / 1000) * 1000 + 50));
    }
  }
}

export interface Staff {
  readonly id: string;
  readonly username: string;
  readonly password: string;
}

export interface StaffSession {
  readonly token: string;
  readonly userId: string;
}

const LoginStep = z.object({ next: z.enum(['mfa', 'enroll']), challenge: z.string() });
const Established = z.object({ session: z.object({ userId: z.string() }), token: z.string() });
const EnrollStart = z.object({ secret: z.string() });
const Id = z.object({ id: z.string() });

function session(body: z.infer<typeof Established>): StaffSession {
  return { token: body.token, userId: body.session.userId };
}

/** First sign-in: password, then enroll a new authenticator; returns the session and the authenticator. */
export async function firstSignIn(baseUrl: string, username: string, password: string): Promise<StaffSession & { authenticator: Authenticator }> {
  const step = (await api(baseUrl, { method: 'POST', path: '/auth/login', body: { username, password } }, LoginStep)).body;
  if (step.next !== 'enroll') throw new Error(`${username}: expected a first sign-in (enroll), got ${step.next}`);
  const { secret } = (await api(baseUrl, { method: 'POST', path: '/auth/mfa/enroll', body: { challenge: step.challenge } }, EnrollStart)).body;
  const authenticator = new Authenticator(secret);
  const code = await authenticator.code();
  const done = await api(baseUrl, { method: 'POST', path: '/auth/mfa/enroll/confirm', body: { challenge: step.challenge, code, mode: 'bearer' } }, Established);
  return { ...session(done.body), authenticator };
}

/** A later sign-in: password, then a TOTP code. Returns the session and each step's latency. */
export async function signIn(baseUrl: string, username: string, password: string, authenticator: Authenticator): Promise<StaffSession & { passwordMs: number; mfaMs: number }> {
  const step = await api(baseUrl, { method: 'POST', path: '/auth/login', body: { username, password } }, LoginStep);
  if (step.body.next !== 'mfa') throw new Error(`${username}: expected the TOTP step, got ${step.body.next}`);
  const code = await authenticator.code();
  const done = await api(baseUrl, { method: 'POST', path: '/auth/mfa', body: { challenge: step.body.challenge, code, mode: 'bearer' } }, Established);
  return { ...session(done.body), passwordMs: step.ms, mfaMs: done.ms };
}

export async function createStaff(baseUrl: string, adminToken: string, role: 'provider' | 'scheduler' | 'admin' | 'auditor', username: string): Promise<Staff> {
  // Random, long, and unrelated to the name: passes the password policy.
  const password = `Lt-${randomBytes(18).toString('base64url')}`;
  const made = await api(baseUrl, { method: 'POST', path: '/admin/users', token: adminToken, body: { username, displayName: `Load ${role} ${username.slice(-4)}`, role, password } }, Id);
  return { id: made.body.id, username, password };
}

/** A synthetic patient registered by `token`'s holder (a provider: also on their care team). */
export async function createPatient(baseUrl: string, token: string, n: number): Promise<string> {
  const body = { givenName: 'Load', familyName: `Patient${String(n).padStart(5, '0')}`, timeZone: 'UTC' };
  return (await api(baseUrl, { method: 'POST', path: '/patients', token, body }, Id)).body.id;
}

export async function enrollmentCode(baseUrl: string, token: string, patientId: string): Promise<string> {
  return (await api(baseUrl, { method: 'POST', path: `/patients/${patientId}/enrollment-codes`, token }, z.object({ code: z.string() }))).body.code;
}

/** Runs `fn` over `items` with at most `limit` in flight, in order of start. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
