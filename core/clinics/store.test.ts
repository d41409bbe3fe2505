import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { testDbPerTest, ENGINES } from '../../test/helpers/databases.ts';
import { createAuditLog } from '../audit/index.ts';
import { auditRows, insertStaff, rejects, userCtx } from '../appointments/test-fixtures/rows.ts';
import { AppError } from '../errors.ts';
import { createClinicStore } from './store.ts';

describe.each(ENGINES)('clinic store (%s)', (kind) => {
  const open = testDbPerTest(kind);

  async function setup() {
    const { db } = await open();
    const store = createClinicStore({ db, audit: createAuditLog(db) });
    const adminId = await insertStaff(db, 'admin');
    return { db, store, adminId, ctx: userCtx(adminId) };
  }

  it('creates (name normalized), reads back, lists by name and audits with ids only', async () => {
    const { db, store, adminId, ctx } = await setup();
    const river = await store.create({ name: '  Riverside Family Medicine ', timeZone: 'America/Chicago' }, ctx);
    expect(river).toMatchObject({ name: 'Riverside Family Medicine', timeZone: 'America/Chicago', archivedAt: null });
    expect(river.createdAt).toBeInstanceOf(Date);
    const hill = await store.create({ name: 'Hillcrest Clinic', timeZone: 'Europe/Paris' }, ctx);
    expect(await store.get(river.id)).toEqual(river);
    expect(await store.get(randomUUID())).toBeNull();
    expect(await store.get('not-a-uuid')).toBeNull();
    expect((await store.list()).map((c) => c.id)).toEqual([hill.id, river.id]);
    const [row] = await db.query<{ created_by: string | null }>('SELECT created_by FROM clinics WHERE id = $1', [river.id]);
    expect(row?.created_by).toBe(adminId);

    const recs = await auditRows(db, 'clinic.create');
    expect(recs.map((r) => r.resource_id)).toEqual([river.id, hill.id]);
    expect(recs[0]).toMatchObject({ actor_id: adminId, outcome: 'success', patient_id: null, details: {} });
    // The name is not PHI, but the chain keeps ids only.
    expect(JSON.stringify(recs)).not.toMatch(/Riverside|Hillcrest/);
  });

  it('refuses empty, over-long, multi-line or control-character names and unknown time zones, naming the field', async () => {
    const { db, store, ctx } = await setup();
    const fieldOf = async (name: string, timeZone = 'UTC') => {
      const err = await rejects(store.create({ name, timeZone }, ctx));
      return [err.status, err.code, err.fields?.map((f) => f.path)];
    };
    expect(await fieldOf('')).toEqual([400, 'validation_failed', ['name']]);
    expect(await fieldOf('   ')).toEqual([400, 'validation_failed', ['name']]);
    expect(await fieldOf('x'.repeat(121))).toEqual([400, 'validation_failed', ['name']]);
    expect(await fieldOf('Riverside\nFamily')).toEqual([400, 'validation_failed', ['name']]);
    expect(await fieldOf('Riverside\u0007')).toEqual([400, 'validation_failed', ['name']]);
    expect(await fieldOf('Riverside \u202eenicidem')).toEqual([400, 'validation_failed', ['name']]);
    expect(await fieldOf('Riverside', 'Mars/Olympus_Mons')).toEqual([400, 'validation_failed', ['timeZone']]);
    expect(await fieldOf('Riverside', '+01:00')).toEqual([400, 'validation_failed', ['timeZone']]);
    // Exactly 120 characters, and non-Latin letters, are fine.
    await store.create({ name: 'x'.repeat(120), timeZone: 'UTC' }, ctx);
    await store.create({ name: 'Clinique Saint-Éloi · 東京', timeZone: 'Asia/Tokyo' }, ctx);
    expect(await auditRows(db, 'clinic.create')).toHaveLength(2);
  });

  it('keeps live names unique whatever the case, also under concurrent creates; archiving frees the name', async () => {
    const { db, store, ctx } = await setup();
    const first = await store.create({ name: 'Riverside', timeZone: 'UTC' }, ctx);
    const dup = await rejects(store.create({ name: 'RIVERSIDE', timeZone: 'UTC' }, ctx));
    expect([dup.status, dup.code]).toEqual([409, 'conflict']);

    const race = await Promise.allSettled([store.create({ name: 'Lakeside', timeZone: 'UTC' }, ctx), store.create({ name: 'Lakeside', timeZone: 'UTC' }, ctx)]);
    expect(race.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const lost = race.find((r) => r.status === 'rejected');
    expect(lost?.reason).toBeInstanceOf(AppError);
    expect((lost?.reason as AppError).status).toBe(409);

    await store.archive(first.id, ctx);
    const again = await store.create({ name: 'Riverside', timeZone: 'UTC' }, ctx);
    expect(again.id).not.toBe(first.id);
    expect(await auditRows(db, 'clinic.create')).toHaveLength(3);
  });

  it('archives once (audited), repeats idempotently, hides archived clinics from the default list, 404s unknown ids', async () => {
    const { db, store, ctx } = await setup();
    const a = await store.create({ name: 'Old Town', timeZone: 'UTC' }, ctx);
    const b = await store.create({ name: 'New Town', timeZone: 'UTC' }, ctx);
    const archived = await store.archive(a.id, ctx);
    expect(archived.archivedAt).toBeInstanceOf(Date);
    expect(await store.archive(a.id, ctx)).toEqual(archived);
    const recs = await auditRows(db, 'clinic.archive');
    expect(recs.map((r) => [r.resource_id, r.actor_id, r.details])).toEqual([[a.id, ctx.actorId, {}]]);
    expect((await store.list()).map((c) => c.id)).toEqual([b.id]);
    expect((await store.list({ includeArchived: true })).map((c) => c.id)).toEqual([b.id, a.id]);
    expect((await rejects(store.archive(randomUUID(), ctx))).status).toBe(404);
    expect((await rejects(store.archive('nope', ctx))).status).toBe(404);
  });

  it('is refused by the database when written around the store', async () => {
    const { db } = await setup();
    const insert = (name: string) => db.query('INSERT INTO clinics (id, name, time_zone) VALUES ($1, $2, $3)', [randomUUID(), name, 'UTC']);
    await insert('Riverside');
    await expect(insert('riverside')).rejects.toMatchObject({ code: '23505' });
    await expect(insert(' padded')).rejects.toThrow();
    await expect(insert('tab\there')).rejects.toThrow();
    await expect(insert('')).rejects.toThrow();
  });
});
