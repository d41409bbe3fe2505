import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createAuditLog, type AuditLog } from '../../../core/audit/index.ts';
import { testDbPerTest } from '../../../test/helpers/databases.ts';
import type { NewSession } from './session-store.ts';
import { captureLog, fakeClock, sessionHarness } from './test-fixtures.ts';

const staff = (userId = `u-${randomUUID()}`): NewSession => ({ kind: 'staff', userId, role: 'scheduler', patientId: null, scope: null, appointmentId: null });
const IDLE = 10_000;
const ABSOLUTE = 30_000;

describe('automatic logoff', () => {
  const open = testDbPerTest('pglite');
  const harness = sessionHarness();

  it('an idle session ends on authenticate, audited once as session.expire.idle by the system', async () => {
    const h = harness((await open()).db);
    const clock = fakeClock();
    const opts = { now: clock.now, idleTimeoutMs: IDLE, absoluteTimeoutMs: ABSOLUTE };
    const [a, b] = [await h.store(opts), await h.store(opts)];
    const { token, session } = await a.create(staff());
    clock.advance(IDLE - 1);
    expect(await a.authenticate(token, { touch: false })).toBeDefined();
    clock.advance(1);
    const both = await Promise.all([a.authenticate(token), b.authenticate(token)]);
    expect(both).toEqual([undefined, undefined]);
    expect(await a.get(session.id)).toBeUndefined();
    expect(await h.auditRows()).toMatchObject([
      { action: 'session.expire.idle', actor_type: 'system', actor_id: 'gateway', resource_id: session.id },
    ]);
  });

  it('activity pushes the idle deadline back; touch:false does not', async () => {
    const h = harness((await open()).db);
    const clock = fakeClock();
    const s = await h.store({ now: clock.now, idleTimeoutMs: IDLE, absoluteTimeoutMs: ABSOLUTE });
    const active = await s.create(staff());
    const peeked = await s.create(staff());
    clock.advance(6_000);
    expect(await s.authenticate(active.token)).toBeDefined();
    const peek = await s.authenticate(peeked.token, { touch: false });
    expect(peek?.idleExpiresAt).toBe(peeked.session.idleExpiresAt);
    clock.advance(6_000); // 12 s after creation, 6 s after the last activity
    expect(await s.authenticate(peeked.token)).toBeUndefined();
    const still = await s.authenticate(active.token);
    expect(still?.id).toBe(active.session.id);
    expect(s.timeLeft(still ?? active.session).idleMs).toBe(IDLE);
  });

  it('activity served from the in-process cache reaches Redis, so the sweeper spares an active session', async () => {
    const h = harness((await open()).db);
    const clock = fakeClock();
    const s = await h.store({ now: clock.now, idleTimeoutMs: IDLE, absoluteTimeoutMs: ABSOLUTE, cacheMs: 60_000 });
    const { token, session } = await s.create(staff());
    expect(await s.authenticate(token, { touch: false })).toBeDefined(); // a miss: cached from here on
    clock.advance(6_000);
    expect(await s.authenticate(token)).toBeDefined(); // a hit ("stay signed in" right after a time-left poll)
    await expect.poll(async () => (await s.get(session.id))?.lastSeenAt).toBe(session.createdAt + 6_000);
    clock.advance(6_000); // past the deadline Redis had before the hit
    expect(await s.sweep()).toBe(0);
    expect((await s.get(session.id))?.id).toBe(session.id);
    expect(await h.auditRows()).toEqual([]);
  });

  it('the absolute deadline ends a session however active it is', async () => {
    const h = harness((await open()).db);
    const clock = fakeClock();
    const s = await h.store({ now: clock.now, idleTimeoutMs: IDLE, absoluteTimeoutMs: ABSOLUTE });
    const { token, session } = await s.create({ kind: 'patient', userId: 'pu-1', role: null, patientId: 'pat-9', scope: 'messaging', appointmentId: null });
    for (let t = 5_000; t < ABSOLUTE; t += 5_000) {
      clock.advance(5_000);
      expect(await s.authenticate(token)).toBeDefined();
    }
    clock.advance(5_000);
    expect(await s.authenticate(token)).toBeUndefined();
    expect(await h.auditRows()).toMatchObject([{ action: 'session.expire.absolute', resource_id: session.id, patient_id: 'pat-9' }]);
  });

  it('two processes sweeping at once end each expired session once and audit it once', async () => {
    const h = harness((await open()).db);
    const clock = fakeClock();
    const opts = { now: clock.now, idleTimeoutMs: IDLE, absoluteTimeoutMs: ABSOLUTE };
    const [a, b] = [await h.store(opts), await h.store(opts)];
    const expiring = await Promise.all(Array.from({ length: 20 }, () => a.create(staff())));
    clock.advance(IDLE / 2);
    const fresh = await a.create(staff());
    clock.advance(IDLE / 2);
    const [na, nb] = await Promise.all([a.sweep(), b.sweep()]);
    expect(na + nb).toBe(20);
    const rows = await h.auditRows();
    expect(rows).toHaveLength(20);
    expect(new Set(rows.map((r) => r.resource_id))).toEqual(new Set(expiring.map((e) => e.session.id)));
    expect(rows.every((r) => r.action === 'session.expire.idle')).toBe(true);
    expect(await a.authenticate(fresh.token)).toBeDefined();
    expect(await Promise.all([a.sweep(), b.sweep()])).toEqual([0, 0]);
  });

  it('a failed audit append still ends the session, is logged loudly, and is retried by the sweeper', async () => {
    const { db } = await open();
    const real = createAuditLog(db);
    let failing = true;
    const flaky: AuditLog = {
      append: (entry, tx) => (failing ? Promise.reject(new Error('database unavailable')) : real.append(entry, tx)),
      appendMany: (entries, tx) => (failing ? Promise.reject(new Error('database unavailable')) : real.appendMany(entries, tx)),
      head: () => real.head(),
    };
    const h = harness(db, flaky);
    const captured = captureLog();
    const s = await h.store({ log: captured.log });
    const { token, session } = await s.create(staff());
    expect(await s.end(session.id, 'logout', { actorType: 'user', actorId: 'u-x' })).toBe(true);
    expect(await s.authenticate(token)).toBeUndefined();
    expect(await h.auditRows()).toEqual([]);
    expect(captured.lines().some((l) => l['level'] === 'error' && String(l['msg']).includes('AUDIT APPEND FAILED'))).toBe(true);
    await s.sweep(); // still failing: kept
    failing = false;
    await Promise.all([s.sweep(), (await h.store()).sweep()]);
    await s.sweep();
    expect(await h.auditRows()).toMatchObject([
      { action: 'auth.logout', actor_id: 'u-x', resource_id: session.id, details: { delayed: true } },
    ]);
  });

  it('the sweeper started with startSweeper ends idle sessions on its own', async () => {
    const h = harness((await open()).db);
    const s = await h.store({ idleTimeoutMs: 300, absoluteTimeoutMs: 60_000 });
    const ended: string[] = [];
    s.onEnded((e) => ended.push(e.reason));
    await s.create(staff());
    s.startSweeper(100);
    const started = Date.now();
    while (ended.length === 0 && Date.now() - started < 5_000) await new Promise((r) => setTimeout(r, 50));
    expect(ended).toEqual(['idle']);
    expect(await h.auditRows()).toMatchObject([{ action: 'session.expire.idle' }]);
  });
});
