/**
 * GET /v1/contacts through the real app on both engines (real Redis sessions, real policy, real
 * encrypted patient records): a provider sees the other active providers and their care team's
 * enrolled patients by name — never a patient off the team, one not enrolled, one erased, or one
 * reachable only under break-glass — and that read is audited per patient with ids only; a
 * patient sees the providers on their care team; schedulers and visit sessions are refused.
 */
import { afterEach, describe, expect, inject, it } from 'vitest';
import { connectRedis, type Redis } from '../../core/redis/connect.ts';
import type { StaffRole } from '../../core/identity/principal.ts';
import { ENGINES, testDbPerTest } from '../../test/helpers/databases.ts';
import { identityHarness } from '../testing/identity-harness.ts';
import { contactRoutes, type Contact } from './contact-routes.ts';
import { seedDevice } from './test-fixtures.ts';

describe.each(ENGINES)('GET /v1/contacts (%s)', (kind) => {
  const open = testDbPerTest(kind);
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function setup() {
    const { db } = await open();
    const redis: Redis = await connectRedis(inject('redisUrl'));
    cleanups.push(() => redis.quit());
    const h = identityHarness({
      db,
      redis,
      routes: (identity, { audit }) => [contactRoutes({ db, audit, patients: identity.patients, sessionMw: identity.sessionMw, access: identity.access })],
    });
    cleanups.push(() => h.close());
    const staff = async (role: StaffRole, displayName: string) => {
      const s = await h.seedStaff(role);
      await h.identity.users.setDisplayName(s.id, displayName);
      return s;
    };
    /** A patient with a messaging account (enrolled): their users.id. */
    const enrolled = async (givenName: string, familyName: string) => {
      const patientId = await h.seedPatient({ givenName, familyName });
      const session = await h.patientSession(patientId, 'messaging');
      return { patientId, userId: session.session.principal.userId, token: session.token };
    };
    const list = async (token: string | undefined) => {
      const res = await h.call('GET', '/v1/contacts', token);
      return { status: res.status, body: (await res.json()) as { contacts: Contact[]; truncated: boolean; error?: { code: string } } };
    };
    return { db, h, staff, enrolled, list };
  }

  it('lists a provider’s colleagues and enrolled care-team patients by name, audits the patient names as views with ids only', async () => {
    const { db, h, staff, enrolled, list } = await setup();
    const me = await staff('provider', 'Dr Mira Okafor');
    const colleague = await staff('provider', 'Dr Ben Adler');
    const away = await staff('provider', 'Dr Gone Away');
    await h.identity.users.setStatus(away.id, 'disabled');
    await staff('scheduler', 'Sam Scheduler');
    await staff('admin', 'Ada Admin');

    const zoe = await enrolled('Zoe', 'Zimmer');
    const carl = await enrolled('Carl', 'Cruz');
    const stranger = await enrolled('Quinn', 'Stranger');
    const emergency = await enrolled('Eve', 'Emergency');
    const erased = await enrolled('Ed', 'Erased');
    const notEnrolled = await h.seedPatient({ givenName: 'Nora', familyName: 'Noaccount' });
    for (const p of [zoe, carl, erased]) await h.addToCareTeam(me.id, p.patientId);
    await h.addToCareTeam(me.id, notEnrolled);
    await h.addToCareTeam(colleague.id, stranger.patientId);
    await h.identity.patients.erase(erased.patientId, { actorType: 'system', actorId: 'test' });
    // Break-glass makes Eve messageable in an emergency; it must not put her in the list.
    await h.identity.breakGlass.request({ providerId: me.id, patientId: emergency.patientId, reason: 'Collapsed in the waiting room' }, { actorType: 'user', actorId: me.id });
    expect(await h.identity.breakGlass.activeGrant(me.id, emergency.patientId)).not.toBeNull();
    await seedDevice(db, colleague.id, 1);
    await seedDevice(db, zoe.userId, 1);

    const pro = await h.staffSession(me);
    const { status, body } = await list(pro.token);
    expect(status).toBe(200);
    expect(body).toEqual({
      truncated: false,
      contacts: [
        { userId: carl.userId, kind: 'patient', displayName: 'Carl Cruz', hasDevice: false },
        { userId: colleague.id, kind: 'provider', displayName: 'Dr Ben Adler', hasDevice: true },
        { userId: zoe.userId, kind: 'patient', displayName: 'Zoe Zimmer', hasDevice: true },
      ],
    });

    const views = await h.auditRows('patient.view');
    expect(views.map((r) => r.patient_id).sort()).toEqual([carl.patientId, zoe.patientId].sort());
    for (const r of views) {
      expect(r).toMatchObject({ actor_id: me.id, resource_type: 'patient', resource_id: r.patient_id, outcome: 'success', break_glass: false });
      expect(r.details).toEqual({ view: 'name', list: true, source: 'contacts' });
    }
    const trail = JSON.stringify(await h.auditRows());
    for (const name of ['Zoe', 'Zimmer', 'Carl', 'Cruz']) expect(trail).not.toContain(name);
  });

  it('lists a messaging patient’s care-team providers only, and writes no patient view', async () => {
    const { h, staff, enrolled, list } = await setup();
    const mine = await staff('provider', 'Dr Lee');
    const alsoMine = await staff('provider', 'Dr Abara');
    await staff('provider', 'Dr Not Mine');
    const patient = await enrolled('Ada', 'Lovelace');
    const other = await enrolled('Grace', 'Hopper');
    await h.addToCareTeam(mine.id, patient.patientId);
    await h.addToCareTeam(alsoMine.id, patient.patientId);
    await h.addToCareTeam(mine.id, other.patientId);

    const { status, body } = await list(patient.token);
    expect(status).toBe(200);
    expect(body.contacts).toEqual([
      { userId: alsoMine.id, kind: 'provider', displayName: 'Dr Abara', hasDevice: false },
      { userId: mine.id, kind: 'provider', displayName: 'Dr Lee', hasDevice: false },
    ]);
    expect(await h.auditRows('patient.view')).toEqual([]);
  });

  it('refuses roles that never message (403, audited) and anonymous callers (401)', async () => {
    const { h, staff, list } = await setup();
    const scheduler = await h.staffSession(await staff('scheduler', 'Sam Scheduler'));
    const provider = await staff('provider', 'Dr Lee');
    const patientId = await h.seedPatient();
    await h.addToCareTeam(provider.id, patientId);
    const appointment = await h.seedAppointment(patientId, provider.id);
    const visit = await h.patientSession(patientId, 'visit', appointment.id);

    for (const token of [scheduler.token, visit.token]) {
      const { status, body } = await list(token);
      expect(status).toBe(403);
      expect(body.error?.code).toBe('forbidden');
      expect(body.contacts).toBeUndefined();
    }
    expect((await h.auditRows('access.denied')).map((r) => r.details)).toEqual([
      { action: 'message.send', reason: 'role' },
      { action: 'message.send', reason: 'role' },
    ]);
    expect((await list(undefined)).status).toBe(401);
    expect(await h.auditRows('patient.view')).toEqual([]);
  });
});
