import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createAuditLog } from '../../core/audit/index.ts';
import { createAppointmentStore } from '../../core/appointments/store.ts';
import { ANON_CTX, auditRows, insertPatient, insertStaff, userCtx } from '../../core/appointments/test-fixtures/rows.ts';
import { ENGINES, testDbPerTest } from '../../test/helpers/databases.ts';
import { createVisitLinks, VisitLinkError } from './visit-links.ts';

const MIN = 60_000;
const LEAD = 15;

async function failure(p: Promise<unknown>): Promise<VisitLinkError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof VisitLinkError)) throw new Error(`expected a VisitLinkError, got ${String(err)}`);
  return err;
}

describe.each(ENGINES)('visit links (%s)', (kind) => {
  const open = testDbPerTest(kind);

  async function setup() {
    const { db } = await open();
    const audit = createAuditLog(db);
    const clock = { now: new Date() };
    const appointments = createAppointmentStore({ db, audit });
    const links = createVisitLinks({ db, audit, leadMinutes: LEAD, now: () => clock.now });
    const patientId = await insertPatient(db);
    const providerId = await insertStaff(db, 'provider');
    const staff = userCtx(await insertStaff(db, 'scheduler'));
    // Starts in 10 minutes (inside the 15-minute lead), lasts 30.
    const start = new Date(clock.now.getTime() + 10 * MIN);
    const appt = await appointments.create({ patientId, providerId, startsAt: start, endsAt: new Date(start.getTime() + 30 * MIN) }, staff);
    return { db, clock, appointments, links, appt, staff, patientId, providerId };
  }

  it('creates a link bound to the appointment window; only the token hash is stored', async () => {
    const { db, links, appt, staff, patientId } = await setup();
    const link = await links.create(appt.id, staff);
    expect(link.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(link.token, 'base64url')).toHaveLength(32);
    expect(link.validFrom.getTime()).toBe(appt.startsAt.getTime() - LEAD * MIN);
    expect(link.validUntil.getTime()).toBe(appt.endsAt.getTime());
    const [row] = await db.query<{ token_hash: string }>('SELECT token_hash FROM visit_links WHERE id = $1', [link.id]);
    expect(row?.token_hash).toBe(createHash('sha256').update(link.token).digest('hex'));
    // Nowhere in the table or the audit chain, in any column.
    const dump = await db.query<{ t: string }>(`SELECT (SELECT coalesce(string_agg(v::text, '|'), '') FROM visit_links AS v) || (SELECT coalesce(string_agg(a::text, '|'), '') FROM audit_log AS a) AS t`);
    expect(dump[0]?.t).toContain(link.id);
    expect(dump[0]?.t).not.toContain(link.token);
    const [rec] = await auditRows(db, 'visit.link.create');
    expect(rec).toMatchObject({ patient_id: patientId, resource_id: link.id, actor_id: staff.actorId });
    expect(await links.listForAppointment(appt.id)).toEqual([expect.objectContaining({ id: link.id, usedAt: null, revokedAt: null })]);
    expect(JSON.stringify(await links.listForAppointment(appt.id))).not.toContain(link.token);
  });

  it('N parallel redeems of one token: exactly one succeeds, the rest get link_used', async () => {
    const { db, links, appt, staff, patientId, providerId } = await setup();
    const { token, id } = await links.create(appt.id, staff);
    const n = 8;
    const results = await Promise.allSettled(Array.from({ length: n }, () => links.redeem(token, ANON_CTX)));
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    expect(won[0]?.value).toEqual({ linkId: id, audience: 'patient', appointmentId: appt.id, patientId, providerId, endsAt: appt.endsAt });
    for (const r of results) if (r.status === 'rejected') expect([(r.reason as VisitLinkError).code, (r.reason as VisitLinkError).status]).toEqual(['link_used', 410]);
    const recs = await auditRows(db, 'visit.link.redeem');
    expect(recs.filter((r) => r.outcome === 'success')).toHaveLength(1);
    expect(recs.filter((r) => r.outcome === 'failure').map((r) => r.details)).toEqual(Array(n - 1).fill({ reason: 'link_used' }));
    expect(recs.every((r) => r.actor_type === 'anonymous' && r.patient_id === patientId)).toBe(true);
  });

  it('gives each failure its own code, status and audit reason, revealing nothing', async () => {
    const { db, clock, appointments, links, appt, staff, patientId } = await setup();
    const codeOf = async (token: string) => {
      const e = await failure(links.redeem(token, ANON_CTX));
      expect(e.message).not.toContain(patientId);
      expect(e.message).not.toContain(appt.id);
      expect(e.message).not.toMatch(/\d{2}:\d{2}/);
      return [e.code, e.status];
    };
    expect(await codeOf(randomBytes(32).toString('base64url'))).toEqual(['link_invalid', 404]);
    expect(await codeOf('short')).toEqual(['link_invalid', 404]);

    const revoked = await links.create(appt.id, staff);
    await links.revoke(revoked.id, staff);
    await links.revoke(revoked.id, staff); // no-op
    expect(await codeOf(revoked.token)).toEqual(['link_revoked', 410]);

    // Not yet valid: an hour before the lead window opens.
    const early = await links.create(appt.id, staff);
    const realNow = clock.now;
    clock.now = new Date(appt.startsAt.getTime() - (LEAD + 60) * MIN);
    const e = await failure(links.redeem(early.token, ANON_CTX));
    expect([e.code, e.status]).toEqual(['link_not_yet_valid', 403]);
    expect(e.opensAt?.getTime()).toBe(appt.startsAt.getTime() - LEAD * MIN);
    clock.now = realNow;

    const late = await links.create(appt.id, staff);
    clock.now = new Date(appt.endsAt.getTime() + 1);
    expect(await codeOf(late.token)).toEqual(['link_expired', 410]);
    clock.now = realNow;

    // The early link still works in its window: failures consumed nothing.
    expect((await links.redeem(early.token, ANON_CTX)).appointmentId).toBe(appt.id);

    const cancelled = await links.create(appt.id, staff);
    await appointments.cancel(appt.id, staff);
    expect(await codeOf(cancelled.token)).toEqual(['appointment_cancelled', 410]);

    const reasons = (await auditRows(db, 'visit.link.redeem')).filter((r) => r.outcome === 'failure').map((r) => r.details['reason']);
    expect(reasons).toEqual(['link_invalid', 'link_invalid', 'link_revoked', 'link_not_yet_valid', 'link_expired', 'appointment_cancelled']);
    expect(await auditRows(db, 'visit.link.revoke')).toHaveLength(1);
  });

  it('refuses links for cancelled or ended appointments and unknown ids', async () => {
    const { clock, appointments, links, appt, staff } = await setup();
    expect((await links.create(randomUUID(), staff).catch((e: unknown) => e)) as { status: number }).toMatchObject({ status: 404, code: 'not_found' });
    clock.now = new Date(appt.endsAt.getTime());
    expect(await failure(links.create(appt.id, staff))).toMatchObject({ status: 409, code: 'appointment_ended' });
    clock.now = new Date();
    await appointments.cancel(appt.id, staff);
    expect(await failure(links.create(appt.id, staff))).toMatchObject({ status: 409, code: 'appointment_cancelled' });
    await expect(links.revoke(randomUUID(), staff)).rejects.toMatchObject({ status: 404 });
  });
});
