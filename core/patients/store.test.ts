// The patients store on both engines: encrypted round trip, audited writes without PHI, crypto-shredding.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ENGINES, testDbPerTest } from '../../test/helpers/databases.ts';
import { AppError } from '../errors.ts';
import { CLI_CTX, distinctivePatient, storeOn } from './test-fixtures/patients.ts';

interface AuditRow {
  action: string;
  patient_id: string | null;
  resource_id: string | null;
  actor_id: string | null;
  details: Record<string, unknown>;
}
const auditRows = (db: { query<R extends object>(t: string, p?: readonly unknown[]): Promise<R[]> }) =>
  db.query<AuditRow>('SELECT action, patient_id, resource_id, actor_id, details FROM audit_log ORDER BY seq');

async function rejection(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe.each(ENGINES)('patient store (%s)', (kind) => {
  const open = testDbPerTest(kind);

  it('creates with every PHI column encrypted, reads it back, and audits patient.create without PHI', async () => {
    const { db } = await open();
    const { store } = storeOn(db);
    const input = distinctivePatient();
    const { id } = await store.create(input, CLI_CTX);
    expect(await store.get(id)).toMatchObject({ id, erased: false, ...input });
    const [row] = await db.query<Record<string, unknown>>('SELECT given_name, family_name, birth_date, phone, email, mrn, time_zone FROM patients WHERE id = $1', [id]);
    for (const col of ['given_name', 'family_name', 'birth_date', 'phone', 'email', 'mrn'] as const) {
      expect(Buffer.isBuffer(row?.[col]), col).toBe(true);
    }
    expect(row?.['time_zone']).toBe('America/Chicago');
    const audit = await auditRows(db);
    expect(audit).toEqual([{ action: 'patient.create', patient_id: id, resource_id: id, actor_id: 'test', details: {} }]);
  });

  it('leaves nothing behind when the caller transaction rolls back', async () => {
    const { db } = await open();
    const { store } = storeOn(db);
    await expect(
      db.transaction(async (tx) => {
        await store.create(distinctivePatient(), CLI_CTX, tx);
        throw new Error('rollback');
      }),
    ).rejects.toThrow('rollback');
    for (const t of ['patients', 'patient_keys', 'audit_log']) expect(await db.query(`SELECT 1 FROM ${t}`), t).toHaveLength(0);
  });

  it('refuses invalid input with field names only (400), before writing anything', async () => {
    const { db } = await open();
    const { store } = storeOn(db);
    const err = await rejection(store.create({ ...distinctivePatient(), phone: 'call-me-maybe', birthDate: '2001-02-30' }, CLI_CTX));
    expect(err.status).toBe(400);
    expect(err.fields?.map((f) => f.path).sort()).toEqual(['birthDate', 'phone']);
    expect(JSON.stringify(err.fields)).not.toContain('call-me-maybe');
    expect(await db.query('SELECT 1 FROM patients')).toHaveLength(0);
  });

  it('updates fields, clears optional ones, and audits only the field names', async () => {
    const { db } = await open();
    const { store } = storeOn(db);
    const { id } = await store.create(distinctivePatient(), CLI_CTX);
    const res = await store.update(id, { familyName: 'Newname', phone: null, timeZone: 'Europe/Paris' }, CLI_CTX);
    expect(res.fields).toEqual(['familyName', 'phone', 'timeZone']);
    expect(await store.get(id)).toMatchObject({ familyName: 'Newname', phone: null, timeZone: 'Europe/Paris' });
    const last = (await auditRows(db)).at(-1);
    expect(last).toMatchObject({ action: 'patient.update', patient_id: id, details: { fields: ['familyName', 'phone', 'timeZone'] } });
    expect(JSON.stringify(last)).not.toContain('Newname');
    expect((await rejection(store.update(randomUUID(), { mrn: 'X1' }, CLI_CTX))).status).toBe(404);
  });

  it('lists by ids in the order asked, skipping unknown and malformed ids', async () => {
    const { db } = await open();
    const { store } = storeOn(db);
    const a = await store.create(distinctivePatient(), CLI_CTX);
    const b = await store.create(distinctivePatient(), CLI_CTX);
    const got = await store.getMany([b.id, randomUUID(), 'nope', a.id, b.id]);
    expect(got.map((p) => p.id)).toEqual([b.id, a.id]);
    expect(await store.get('not-a-uuid')).toBeNull();
    expect(await store.get(randomUUID())).toBeNull();
  });

  it('erase destroys the key: get() says erased, old ciphertexts decrypt to null, the shred is audited once', async () => {
    const { db } = await open();
    const { store, cipher } = storeOn(db);
    const { id } = await store.create(distinctivePatient(), CLI_CTX);
    const keep = await store.create(distinctivePatient(), CLI_CTX);
    const [before] = await db.query<{ given_name: Buffer }>('SELECT given_name FROM patients WHERE id = $1', [id]);
    if (!before) throw new Error('patient row missing');
    expect(await cipher.decrypt(id, 'given_name', before.given_name)).not.toBeNull();

    const erased = await store.erase(id, CLI_CTX);
    expect(erased.alreadyErased).toBe(false);
    expect(await store.get(id)).toEqual({ id, erased: true, erasedAt: erased.erasedAt });
    expect(await cipher.decrypt(id, 'given_name', before.given_name)).toBeNull();
    expect(await db.query('SELECT 1 FROM patient_keys WHERE patient_id = $1', [id])).toHaveLength(0);
    expect(await store.get(keep.id)).toMatchObject({ erased: false });

    const shreds = (await auditRows(db)).filter((r) => r.action === 'patient.crypto_shred');
    expect(shreds).toEqual([{ action: 'patient.crypto_shred', patient_id: id, resource_id: id, actor_id: 'test', details: { keyDestroyed: true } }]);

    // Idempotent: a second erase is reported, not repeated; the record cannot be written again.
    expect(await store.erase(id, CLI_CTX)).toEqual({ id, erasedAt: erased.erasedAt, alreadyErased: true });
    expect((await auditRows(db)).filter((r) => r.action === 'patient.crypto_shred')).toHaveLength(1);
    expect((await rejection(store.update(id, { mrn: 'X1' }, CLI_CTX))).status).toBe(409);
    expect((await rejection(store.erase(randomUUID(), CLI_CTX))).status).toBe(404);
  });
});
