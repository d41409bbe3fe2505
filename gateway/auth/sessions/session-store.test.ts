import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { testDbPerTest } from '../../../test/helpers/databases.ts';
import { AppError } from '../../../core/errors.ts';
import type { SessionEnded } from './session-store.ts';
import { hashToken, type NewSession } from './session-store.ts';
import { sessionHarness } from './test-fixtures.ts';

const staff = (userId = `u-${randomUUID()}`): NewSession => ({ kind: 'staff', userId, role: 'provider', patientId: null, scope: null, appointmentId: null });
const admin = { actorType: 'user', actorId: 'admin-1', requestId: 'req-1', ip: '127.0.0.1' } as const;

function waitFor<T>(pred: () => T | undefined, ms = 3000): Promise<T> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      const v = pred();
      if (v !== undefined) resolve(v);
      else if (Date.now() - started > ms) reject(new Error('timed out waiting'));
      else setTimeout(tick, 10);
    };
    tick();
  });
}

describe('session store', () => {
  const open = testDbPerTest('pglite');
  const harness = sessionHarness();

  it('creates a session and authenticates its token, and nothing else', async () => {
    const h = harness((await open()).db);
    const s = await h.store();
    const { token, session } = await s.create(staff('u-1'));
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(session.id).toMatch(/^[0-9a-f]{32}$/);
    expect(session.principal).toEqual({ kind: 'staff', userId: 'u-1', role: 'provider', sessionId: session.id });
    const got = await s.authenticate(token);
    expect(got?.id).toBe(session.id);
    expect(got?.csrfToken).toBe(session.csrfToken);
    // A second process sees it too (no cache there).
    expect((await (await h.store()).authenticate(token))?.principal).toEqual(session.principal);
    expect(await s.authenticate(`${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`)).toBeUndefined();
    expect(await s.authenticate('not-a-token')).toBeUndefined();
  });

  it('keeps patient scope and caps the lifetime at absoluteExpiresAt', async () => {
    const h = harness((await open()).db);
    const s = await h.store();
    const cap = Date.now() + 60_000;
    const { token, session } = await s.create({ kind: 'patient', userId: 'p-user', role: null, patientId: 'pat-1', scope: 'visit', appointmentId: 'appt-1', absoluteExpiresAt: cap });
    expect(session.absoluteExpiresAt).toBe(cap);
    expect((await s.authenticate(token))?.principal).toEqual({ kind: 'patient', userId: 'p-user', patientId: 'pat-1', scope: 'visit', appointmentId: 'appt-1', sessionId: session.id });
    expect(s.timeLeft(session).expiresAt).toBe(cap);
  });

  it('never stores the token in Redis, only its SHA-256', async () => {
    const h = harness((await open()).db);
    const s = await h.store();
    const { token } = await s.create(staff());
    await s.authenticate(token);
    const everything = (await h.dump()).join('\n');
    expect(everything).toContain(hashToken(token));
    expect(everything).not.toContain(token);
  });

  it('logout ends the session once, audited as auth.logout with the caller as actor', async () => {
    const h = harness((await open()).db);
    const s = await h.store();
    const { token, session } = await s.create(staff('u-7'));
    const ctx = { actorType: 'user', actorId: 'u-7', requestId: 'req-9', ip: '10.0.0.1' } as const;
    expect(await s.end(session.id, 'logout', ctx)).toBe(true);
    expect(await s.end(session.id, 'logout', ctx)).toBe(false);
    expect(await s.authenticate(token)).toBeUndefined();
    expect(await s.get(session.id)).toBeUndefined();
    expect(await h.auditRows()).toMatchObject([
      { action: 'auth.logout', actor_type: 'user', actor_id: 'u-7', resource_id: session.id, request_id: 'req-9', ip: '10.0.0.1', patient_id: null },
    ]);
  });

  it('revoke and endAllForUser end only that user’s sessions, audited as session.revoke with the reason', async () => {
    const h = harness((await open()).db);
    const s = await h.store();
    const a = await Promise.all([s.create(staff('u-a')), s.create(staff('u-a')), s.create(staff('u-a'))]);
    const b = await s.create(staff('u-b'));
    expect((await s.listForUser('u-a')).map((x) => x.id).sort()).toEqual(a.map((x) => x.session.id).sort());
    expect(await s.end(a[0].session.id, 'revoked', admin)).toBe(true);
    expect(await s.endAllForUser('u-a', 'user_disabled', admin)).toBe(2);
    expect(await s.listForUser('u-a')).toEqual([]);
    for (const x of a) expect(await s.authenticate(x.token)).toBeUndefined();
    expect((await s.authenticate(b.token))?.id).toBe(b.session.id);
    const rows = await h.auditRows();
    expect(rows.map((r) => [r.action, r.actor_id, r.details['reason']])).toEqual([
      ['session.revoke', 'admin-1', 'revoked'],
      ['session.revoke', 'admin-1', 'user_disabled'],
      ['session.revoke', 'admin-1', 'user_disabled'],
    ]);
  });

  it('rotate gives a new token and id with the new role, invalidates the old token, keeps the absolute deadline', async () => {
    const h = harness((await open()).db);
    const s = await h.store();
    const old = await s.create(staff('u-r'));
    const next = await s.rotate(old.session.id, admin, { role: 'admin' });
    expect(next.token).not.toBe(old.token);
    expect(next.session.id).not.toBe(old.session.id);
    expect(next.session.absoluteExpiresAt).toBe(old.session.absoluteExpiresAt);
    expect(await s.authenticate(old.token)).toBeUndefined();
    expect((await s.authenticate(next.token))?.principal).toEqual({ kind: 'staff', userId: 'u-r', role: 'admin', sessionId: next.session.id });
    expect(await h.auditRows()).toMatchObject([{ action: 'session.rotate', resource_id: old.session.id, details: { replacedBy: next.session.id } }]);
    await expect(s.rotate(old.session.id, admin)).rejects.toMatchObject({ status: 401 });
  });

  it('onEnded fires once in every process, and a cached session does not outlive an end elsewhere', async () => {
    const h = harness((await open()).db);
    const a = await h.store({ cacheMs: 60_000 });
    const b = await h.store({ cacheMs: 60_000 });
    const seenA: SessionEnded[] = [];
    const seenB: SessionEnded[] = [];
    a.onEnded((e) => seenA.push(e));
    const off = b.onEnded((e) => seenB.push(e));
    const { token, session } = await a.create(staff('u-e'));
    expect((await a.authenticate(token))?.id).toBe(session.id); // now cached in A for a minute
    expect(await b.end(session.id, 'revoked', admin)).toBe(true);
    await waitFor(() => (seenA.length > 0 && seenB.length > 0 ? true : undefined));
    expect(await a.authenticate(token)).toBeUndefined();
    await new Promise((r) => setTimeout(r, 100));
    expect(seenA).toEqual([{ sessionId: session.id, userId: 'u-e', reason: 'revoked' }]);
    expect(seenB).toEqual(seenA);
    off();
    const other = await a.create(staff());
    await a.end(other.session.id, 'logout', admin);
    await waitFor(() => (seenA.length === 2 ? true : undefined));
    expect(seenB).toHaveLength(1);
  });

  it('a listener that throws does not stop the others', async () => {
    const h = harness((await open()).db);
    const s = await h.store();
    const seen: string[] = [];
    s.onEnded(() => {
      throw new Error('boom');
    });
    s.onEnded((e) => seen.push(e.sessionId));
    const { session } = await s.create(staff());
    await s.end(session.id, 'logout', admin);
    await waitFor(() => seen[0]);
    expect(seen).toEqual([session.id]);
  });

  it('fails with 503 when Redis is unreachable, never as signed out', async () => {
    const h = harness((await open()).db);
    const s = await h.store({ redisTimeoutMs: 300 });
    const { token } = await s.create(staff());
    s.redis.disconnect();
    const err: unknown = await s.authenticate(token).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ status: 503 });
  });
});
