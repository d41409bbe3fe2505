import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { testDbPerTest, ENGINES } from '../../test/helpers/databases.ts';
import { createAuditLog } from '../audit/index.ts';
import { AppointmentInputSchema, createAppointmentStore } from './store.ts';
import { auditRows, insertClinic, insertPatient, insertStaff, markErased, rejects, userCtx } from './test-fixtures/rows.ts';

const H = 60 * 60_000;
const at = (ms: number) => new Date(Date.UTC(2031, 0, 1) + ms);

describe.each(ENGINES)('appointment store (%s)', (kind) => {
  const open = testDbPerTest(kind);

  async function setup() {
    const { db } = await open();
    const store = createAppointmentStore({ db, audit: createAuditLog(db) });
    const patientId = await insertPatient(db);
    const providerId = await insertStaff(db, 'provider');
    const schedulerId = await insertStaff(db, 'scheduler');
    return { db, store, patientId, providerId, schedulerId, ctx: userCtx(schedulerId) };
  }

  it('books, reads back and audits with ids only', async () => {
    const { db, store, patientId, providerId, ctx } = await setup();
    const a = await store.create({ patientId, providerId, startsAt: at(0), endsAt: at(H / 2) }, ctx);
    expect(a).toMatchObject({ patientId, providerId, status: 'scheduled', clinicId: null });
    expect(a.startsAt.toISOString()).toBe(at(0).toISOString());
    expect(await store.get(a.id)).toEqual(a);
    expect(await store.get(randomUUID())).toBeNull();
    expect(await store.get('not-a-uuid')).toBeNull();
    const [rec] = await auditRows(db, 'appointment.create');
    expect(rec).toMatchObject({ patient_id: patientId, resource_id: a.id, actor_id: ctx.actorId, outcome: 'success' });
    expect(rec?.details).toEqual({ providerId, clinicId: null, durationMinutes: 30 });
  });

  it('books at a live clinic (audited with its id) and refuses unknown, archived or malformed clinics naming clinicId', async () => {
    const { db, store, patientId, providerId, ctx } = await setup();
    const clinicId = await insertClinic(db);
    const a = await store.create({ patientId, providerId, startsAt: at(0), endsAt: at(H), clinicId }, ctx);
    expect(a.clinicId).toBe(clinicId);
    expect(await store.get(a.id)).toEqual(a);
    expect((await store.create({ patientId, providerId, startsAt: at(0), endsAt: at(H), clinicId: null }, ctx)).clinicId).toBeNull();
    expect((await auditRows(db, 'appointment.create'))[0]?.details).toEqual({ providerId, clinicId, durationMinutes: 60 });

    const base = { patientId, providerId, startsAt: at(0), endsAt: at(H) };
    for (const bad of [randomUUID(), await insertClinic(db, { archived: true }), 'not-a-uuid']) {
      const err = await rejects(store.create({ ...base, clinicId: bad }, ctx));
      expect([err.status, err.code, err.fields?.map((f) => f.path)]).toEqual([400, 'validation_failed', ['clinicId']]);
    }
    expect(await auditRows(db, 'appointment.create')).toHaveLength(2);
  });

  it('moves an appointment to another clinic or to none when rescheduling, keeps it when clinicId is absent', async () => {
    const { db, store, patientId, providerId, ctx } = await setup();
    const [east, west, closed] = [await insertClinic(db), await insertClinic(db), await insertClinic(db, { archived: true })];
    const a = await store.create({ patientId, providerId, startsAt: at(0), endsAt: at(H), clinicId: east }, ctx);
    expect((await store.reschedule(a.id, { startsAt: at(H), endsAt: at(2 * H) }, ctx)).clinicId).toBe(east);
    expect((await store.reschedule(a.id, { startsAt: at(H), endsAt: at(2 * H), clinicId: west }, ctx)).clinicId).toBe(west);
    const refused = await rejects(store.reschedule(a.id, { startsAt: at(3 * H), endsAt: at(4 * H), clinicId: closed }, ctx));
    expect([refused.status, refused.fields?.map((f) => f.path)]).toEqual([400, ['clinicId']]);
    // Refused as a whole: the times did not move either.
    expect(await store.get(a.id)).toMatchObject({ clinicId: west, startsAt: at(H) });
    expect((await store.reschedule(a.id, { startsAt: at(H), endsAt: at(2 * H), clinicId: null }, ctx)).clinicId).toBeNull();
    expect((await auditRows(db, 'appointment.update')).map((r) => r.details)).toEqual([
      { durationMinutes: 60 },
      { durationMinutes: 60, clinicId: west },
      { durationMinutes: 60, clinicId: null },
    ]);
    // An appointment at a clinic archived later keeps it, and can still be moved in time.
    const b = await store.create({ patientId, providerId, startsAt: at(0), endsAt: at(H), clinicId: east }, ctx);
    await db.query('UPDATE clinics SET archived_at = now() WHERE id = $1', [east]);
    expect((await store.reschedule(b.id, { startsAt: at(H), endsAt: at(2 * H) }, ctx)).clinicId).toBe(east);
    await store.cancel(b.id, ctx);
    expect((await rejects(store.reschedule(b.id, { startsAt: at(H), endsAt: at(2 * H), clinicId: west }, ctx))).status).toBe(409);
  });

  it('refuses bad times, non-providers, disabled providers and unknown or erased patients', async () => {
    const { db, store, patientId, providerId, schedulerId, ctx } = await setup();
    const base = { patientId, providerId, startsAt: at(0), endsAt: at(H) };
    const codeOf = async (input: typeof base) => (await rejects(store.create(input, ctx))).code;
    expect(await codeOf({ ...base, endsAt: at(0) })).toBe('validation_failed');
    expect(await codeOf({ ...base, endsAt: at(-H) })).toBe('validation_failed');
    expect(await codeOf({ ...base, endsAt: at(12 * H + 1) })).toBe('validation_failed');
    expect(await codeOf({ ...base, startsAt: new Date(Number.NaN) })).toBe('validation_failed');
    expect(await codeOf({ ...base, providerId: schedulerId })).toBe('validation_failed');
    expect(await codeOf({ ...base, providerId: await insertStaff(db, 'provider', { disabled: true }) })).toBe('validation_failed');
    expect(await codeOf({ ...base, patientId: randomUUID() })).toBe('not_found');
    const erased = await insertPatient(db);
    await markErased(db, erased);
    expect(await codeOf({ ...base, patientId: erased })).toBe('not_found');
    // Exactly 12 hours is allowed.
    await store.create({ ...base, endsAt: at(12 * H) }, ctx);
    expect(await auditRows(db, 'appointment.create')).toHaveLength(1);
  });

  it('lists by provider window (overlap) and by patient', async () => {
    const { db, store, patientId, providerId, ctx } = await setup();
    const other = await insertStaff(db, 'provider');
    const a1 = await store.create({ patientId, providerId, startsAt: at(0), endsAt: at(H) }, ctx);
    const a2 = await store.create({ patientId, providerId, startsAt: at(3 * H), endsAt: at(4 * H) }, ctx);
    await store.create({ patientId, providerId: other, startsAt: at(H), endsAt: at(2 * H) }, ctx);
    expect((await store.listForProvider(providerId, at(H / 2), at(3 * H + 1))).map((a) => a.id)).toEqual([a1.id, a2.id]);
    expect((await store.listForProvider(providerId, at(H), at(3 * H))).map((a) => a.id)).toEqual([]);
    expect(await store.listForPatient(patientId)).toHaveLength(3);
    expect((await rejects(store.listForProvider(providerId, at(H), at(0)))).code).toBe('validation_failed');
    expect((await rejects(store.listForProvider(providerId, at(0), at(400 * 24 * H)))).code).toBe('validation_failed');
  });

  it('cancels once (audited), repeats idempotently, 404s unknown ids', async () => {
    const { db, store, patientId, providerId, ctx } = await setup();
    const a = await store.create({ patientId, providerId, startsAt: at(0), endsAt: at(H) }, ctx);
    expect((await store.cancel(a.id, ctx)).status).toBe('cancelled');
    expect((await store.cancel(a.id, ctx)).status).toBe('cancelled');
    expect(await auditRows(db, 'appointment.cancel')).toHaveLength(1);
    expect((await rejects(store.cancel(randomUUID(), ctx))).status).toBe(404);
    const b = await store.create({ patientId, providerId, startsAt: at(0), endsAt: at(H) }, ctx);
    await db.query(`UPDATE appointments SET status = 'completed' WHERE id = $1`, [b.id]);
    const err = await rejects(store.cancel(b.id, ctx));
    expect([err.status, err.code]).toEqual([409, 'appointment_completed']);
  });

  it('reschedules a scheduled appointment (audited with the duration only), refuses bad times and cancelled ones', async () => {
    const { db, store, patientId, providerId, ctx } = await setup();
    const a = await store.create({ patientId, providerId, startsAt: at(0), endsAt: at(H) }, ctx);
    const moved = await store.reschedule(a.id, { startsAt: at(24 * H), endsAt: at(24 * H + 30 * 60_000) }, ctx);
    expect([moved.startsAt, moved.endsAt, moved.status]).toEqual([at(24 * H), at(24 * H + 30 * 60_000), 'scheduled']);
    expect(await auditRows(db, 'appointment.update')).toHaveLength(1);
    expect((await rejects(store.reschedule(a.id, { startsAt: at(2 * H), endsAt: at(H) }, ctx))).code).toBe('validation_failed');
    await store.cancel(a.id, ctx);
    expect((await rejects(store.reschedule(a.id, { startsAt: at(0), endsAt: at(H) }, ctx))).status).toBe(409);
    expect((await rejects(store.reschedule(randomUUID(), { startsAt: at(0), endsAt: at(H) }, ctx))).status).toBe(404);
  });
});

describe('AppointmentInputSchema', () => {
  it('accepts ISO date-times with offsets and rejects extra keys', () => {
    const ok = { patientId: randomUUID(), providerId: randomUUID(), startsAt: '2031-01-01T09:00:00+01:00', endsAt: '2031-01-01T09:30:00Z' };
    expect(AppointmentInputSchema.safeParse(ok).success).toBe(true);
    expect(AppointmentInputSchema.safeParse({ ...ok, startsAt: 'tomorrow' }).success).toBe(false);
    expect(AppointmentInputSchema.safeParse({ ...ok, note: 'x' }).success).toBe(false);
    expect(AppointmentInputSchema.safeParse({ ...ok, clinicId: randomUUID() }).success).toBe(true);
    expect(AppointmentInputSchema.safeParse({ ...ok, clinicId: null }).success).toBe(true);
    expect(AppointmentInputSchema.safeParse({ ...ok, clinicId: 'riverside' }).success).toBe(false);
  });

});
