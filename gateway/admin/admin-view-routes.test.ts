/**
 * The admin console's lookups over HTTP on both engines (real app, real Redis): locked-out
 * accounts come from the login throttle (an address block is not an account lockout, and an
 * unlock clears the entry); a provider's care team lists record ids only, newest first, with
 * erased records flagged; non-admins are refused and audited.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import type { DbKind } from '../../core/db/types.ts';
import { connectRedis, type Redis } from '../../core/redis/connect.ts';
import { ENGINES, openTestDb, type TestDb } from '../../test/helpers/databases.ts';
import { identityHarness } from '../testing/identity-harness.ts';

type Harness = ReturnType<typeof identityHarness> & { readonly t: TestDb };

function perTest(kind: DbKind): () => Harness {
  let current: { h: Harness; redis: Redis } | undefined;
  beforeEach(async () => {
    const t = await openTestDb(kind);
    const redis = await connectRedis(inject('redisUrl'));
    current = { h: { ...identityHarness({ db: t.db, redis, env: { LOGIN_MAX_FAILURES: '3', LOGIN_MAX_FAILURES_PER_IP: '4' } }), t }, redis };
  });
  afterEach(async () => {
    if (current === undefined) return;
    const { h, redis } = current;
    current = undefined;
    await h.close();
    redis.disconnect();
    await h.t.dispose();
  });
  return () => {
    if (current === undefined) throw new Error('harness used outside a test');
    return current.h;
  };
}

interface Member {
  patientId: string;
  addedAt: string;
  erased: boolean;
}

describe.each(ENGINES)('admin console lookups (%s)', (kind) => {
  const harness = perTest(kind);

  it('lists accounts locked by failed sign-ins, not address blocks, until unlocked', async () => {
    const h = harness();
    const admin = await h.staffSession(await h.seedStaff('admin'));
    const locked = await h.seedStaff('provider');
    const busy = await h.seedStaff('scheduler');
    const lockouts = async () => {
      const res = await h.call('GET', '/admin/lockouts', admin.token);
      expect(res.status).toBe(200);
      return ((await res.json()) as { lockouts: { userId: string; retryAfterSec: number }[] }).lockouts;
    };
    expect(await lockouts()).toEqual([]);

    // Three failures lock the name (in any letter case); four from one address block only the address.
    for (const ip of ['198.51.100.1', '198.51.100.2', '198.51.100.3']) await h.identity.throttle.recordFailure(locked.username.toUpperCase(), ip);
    await h.identity.throttle.recordFailure(busy.username, '203.0.113.9');
    await h.identity.throttle.recordFailure(busy.username, '203.0.113.9');
    for (let i = 0; i < 2; i++) await h.identity.throttle.recordFailure(`nobody-${randomUUID().slice(0, 6)}`, '203.0.113.9');
    expect(await h.identity.throttle.check(busy.username, '203.0.113.9')).toMatchObject({ allowed: false, scope: 'ip' });

    const found = await lockouts();
    expect(found.map((l) => l.userId)).toEqual([locked.id]);
    expect(found[0]?.retryAfterSec).toBeGreaterThan(800);

    expect((await h.call('POST', `/admin/users/${locked.id}/unlock`, admin.token)).status).toBe(204);
    expect(await lockouts()).toEqual([]);

    const outsider = await h.seedStaff('provider');
    expect((await h.call('GET', '/admin/lockouts', (await h.staffSession(outsider)).token)).status).toBe(403);
    expect((await h.auditRows('access.denied')).map((r) => r.actor_id)).toEqual([outsider.id]);
  });

  it('lists a provider’s care team as record ids, newest first, with erased records flagged', async () => {
    const h = harness();
    const admin = await h.staffSession(await h.seedStaff('admin'));
    const provider = await h.seedStaff('provider');
    const list = async (providerId: string, token = admin.token, query = '') => h.call('GET', `/admin/care-team/${providerId}/patients${query}`, token);
    const members = async (query = '') => (await (await list(provider.id, admin.token, query)).json()) as { patients: Member[]; truncated: boolean };

    expect(await members()).toEqual({ patients: [], truncated: false });
    const first = await h.seedPatient();
    const second = await h.seedPatient({ givenName: 'Grace' });
    for (const p of [first, second]) expect((await h.call('PUT', `/admin/care-team/${provider.id}/patients/${p}`, admin.token)).status).toBe(204);
    await h.t.db.query('UPDATE care_team SET added_at = added_at - interval \'1 hour\' WHERE patient_id = $1', [first]);
    await h.t.db.query('UPDATE patients SET erased_at = now() WHERE id = $1', [first]);

    const all = await members();
    expect(all.patients.map((m) => [m.patientId, m.erased])).toEqual([
      [second, false],
      [first, true],
    ]);
    expect(Object.keys(all.patients[0] ?? {}).sort()).toEqual(['addedAt', 'erased', 'patientId']);
    expect(new Date(all.patients[0]?.addedAt ?? '').toISOString()).toBe(all.patients[0]?.addedAt);
    // No demographics anywhere in the answer (minimum necessary).
    expect(JSON.stringify(all)).not.toMatch(/Ada|Grace|Lovelace|MRN|1990/);
    expect(await members('?limit=1')).toMatchObject({ patients: [{ patientId: second }], truncated: true });
    expect((await list(provider.id, admin.token, '?limit=0')).status).toBe(400);
    expect((await list(provider.id, admin.token, '?limit=501')).status).toBe(400);

    // Removing shows up at once; a scheduler has no care team; unknown and malformed ids are refused.
    expect((await h.call('DELETE', `/admin/care-team/${provider.id}/patients/${second}`, admin.token)).status).toBe(204);
    expect((await members()).patients.map((m) => m.patientId)).toEqual([first]);
    const scheduler = await h.seedStaff('scheduler');
    expect((await list(scheduler.id)).status).toBe(409);
    expect((await list(randomUUID())).status).toBe(404);
    expect((await list('not-a-uuid')).status).toBe(400);

    const other = await h.staffSession(provider);
    expect((await list(provider.id, other.token)).status).toBe(403);
    expect((await h.auditRows('access.denied')).map((r) => r.actor_id)).toEqual([provider.id]);
    expect((await h.call('GET', `/admin/care-team/${provider.id}/patients`)).status).toBe(401);
  });
});
