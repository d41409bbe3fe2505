/**
 * Staff sign-in over HTTP end to end: password → TOTP enrollment → session cookie; CSRF on
 * cookie writes; fixation (every sign-in issues a new token); generic failures; time left without
 * activity; logout; bearer mode for the SDK.
 */
import { describe, expect, it } from 'vitest';
import { identityPerTest } from '../../test/helpers/identity.ts';
import { STAFF_PASSWORD, totpCode } from '../testing/identity-harness.ts';
import { SESSION_COOKIE } from './credentials.ts';

interface Json {
  [key: string]: unknown;
}

const cookieOf = (res: Response): string | undefined => {
  const set = res.headers.get('set-cookie') ?? '';
  const m = new RegExp(`${SESSION_COOKIE}=([^;]*)`).exec(set);
  return m?.[1];
};

describe('staff sign-in over HTTP', () => {
  const harness = identityPerTest();

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    harness().app.request(path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

  it('enrolls TOTP at first sign-in, then signs in with password + code into a __Host- cookie session', async () => {
    const h = harness();
    const admin = await h.identity.users.createStaff({ username: 'first-admin', displayName: 'First Admin', role: 'admin', passwordHash: await (await import('./password.ts')).hashPassword(STAFF_PASSWORD), createdBy: null });

    const step1 = await post('/auth/login', { username: 'first-admin', password: STAFF_PASSWORD });
    expect(step1.status).toBe(200);
    const { next, challenge } = (await step1.json()) as { next: string; challenge: string };
    expect(next).toBe('enroll');

    const enroll = await post('/auth/mfa/enroll', { challenge });
    const { secret, otpauthUri } = (await enroll.json()) as { secret: string; otpauthUri: string };
    expect(otpauthUri).toMatch(/^otpauth:\/\/totp\//);

    const confirm = await post('/auth/mfa/enroll/confirm', { challenge, code: await totpCode(secret) });
    expect(confirm.status).toBe(200);
    const confirmed = (await confirm.json()) as { session: Json; recoveryCodes: string[]; token?: string };
    expect(confirmed.recoveryCodes).toHaveLength(10);
    expect(confirmed.token).toBeUndefined();
    expect(confirmed.session).toMatchObject({ kind: 'staff', userId: admin.id, role: 'admin' });
    const setCookie = confirm.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/Secure/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).toMatch(/Path=\//);
    const first = cookieOf(confirm);
    expect(first).toMatch(/^[A-Za-z0-9_-]{43}$/);

    // A second sign-in (code from the next time step) issues a different token: no fixation.
    const again = (await (await post('/auth/login', { username: 'first-admin', password: STAFF_PASSWORD })).json()) as { next: string; challenge: string };
    expect(again.next).toBe('mfa');
    const mfa = await post('/auth/mfa', { challenge: again.challenge, code: await totpCode(secret, new Date(Date.now() + 30_000)) });
    expect(mfa.status).toBe(200);
    const second = cookieOf(mfa);
    expect(second).toBeDefined();
    expect(second).not.toBe(first);

    const success = await h.auditRows('auth.login.success');
    expect(success.length).toBeGreaterThanOrEqual(2);
  });

  it('answers the same 401 for an unknown account and a wrong password, and audits both', async () => {
    const h = harness();
    const staff = await h.seedStaff('scheduler');
    const unknown = await post('/auth/login', { username: 'no-such-user', password: STAFF_PASSWORD });
    const wrong = await post('/auth/login', { username: staff.username, password: 'wrong wrong wrong wrong' });
    expect(unknown.status).toBe(401);
    expect(wrong.status).toBe(401);
    const a = (await unknown.json()) as { error: Json };
    const b = (await wrong.json()) as { error: Json };
    expect({ code: a.error['code'], message: a.error['message'] }).toEqual({ code: b.error['code'], message: b.error['message'] });
    expect((await h.auditRows('auth.login.failure')).length).toBe(2);
  });

  it('requires the CSRF token on cookie-authenticated writes, not on reads or bearer requests', async () => {
    const h = harness();
    const staff = await h.seedStaff('provider');
    const { token, session } = await h.staffSession(staff);
    const cookie = `${SESSION_COOKIE}=${token}`;

    expect((await h.app.request('/auth/session', { headers: { cookie } })).status).toBe(200);
    const noCsrf = await h.app.request('/auth/session/extend', { method: 'POST', headers: { cookie } });
    expect(noCsrf.status).toBe(403);
    expect(((await noCsrf.json()) as { error: Json }).error['code']).toBe('csrf_failed');
    const wrongCsrf = await h.app.request('/auth/session/extend', { method: 'POST', headers: { cookie, 'x-csrf-token': 'nope' } });
    expect(wrongCsrf.status).toBe(403);
    const badOrigin = await h.app.request('/auth/session/extend', { method: 'POST', headers: { cookie, 'x-csrf-token': session.csrfToken, origin: 'https://evil.example' } });
    expect(badOrigin.status).toBe(403);
    const ok = await h.app.request('/auth/session/extend', { method: 'POST', headers: { cookie, 'x-csrf-token': session.csrfToken, origin: 'http://127.0.0.1:8080' } });
    expect(ok.status).toBe(200);
    expect((await h.call('POST', '/auth/session/extend', token)).status).toBe(200);
    const denied = await h.auditRows('access.denied');
    expect(denied.map((r) => r.details['reason'])).toEqual(expect.arrayContaining(['csrf_csrf_token', 'csrf_origin']));
  });

  it('reports time left without counting as activity, and logout ends the session', async () => {
    const h = harness();
    const staff = await h.seedStaff('auditor');
    const { token } = await h.staffSession(staff);
    const info = (await (await h.call('GET', '/auth/session', token)).json()) as { idleMs: number; absoluteMs: number; expiresAt: string };
    expect(info.idleMs).toBeGreaterThan(0);
    expect(info.idleMs).toBeLessThanOrEqual(h.config.sessionIdleTimeoutSec * 1000);
    expect(info.absoluteMs).toBeGreaterThan(info.idleMs);

    const out = await h.call('POST', '/auth/logout', token);
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/Max-Age=0/);
    const after = await h.call('GET', '/auth/session', token);
    expect(after.status).toBe(401);
    expect(((await after.json()) as { error: Json }).error['code']).toBe('session_invalid');
    expect((await h.auditRows('auth.logout')).length).toBe(1);
  });

  it('refuses malformed and unknown tokens with one generic 401, audited once per token', async () => {
    const h = harness();
    const malformed = await h.call('GET', '/auth/session', 'not-a-token');
    const unknown = await h.call('GET', '/auth/session', 'A'.repeat(43));
    await h.call('GET', '/auth/session', 'A'.repeat(43));
    for (const res of [malformed, unknown]) {
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: Json }).error['code']).toBe('session_invalid');
    }
    expect((await h.auditRows('access.denied')).length).toBe(2);
  });
});
