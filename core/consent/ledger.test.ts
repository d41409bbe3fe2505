/**
 * The consent ledger on both engines: versions, revocation as a new version, append-only rows,
 * repeats that add nothing, concurrent writers, and audit records that carry ids only.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ENGINES, testDbPerTest } from '../../test/helpers/databases.ts';
import { createAuditLog, type AuditRecord } from '../audit/index.ts';
import type { Db } from '../db/types.ts';
import { AppError } from '../errors.ts';
import { createConsentLedger } from './ledger.ts';

const staff = { actorType: 'user', actorId: randomUUID(), requestId: 'req-1', ip: '203.0.113.9' } as const;

async function seedPatient(db: Db): Promise<string> {
  const id = randomUUID();
  await db.query('INSERT INTO patients (id) VALUES ($1)', [id]);
  return id;
}

const grant = (patientId: string, extra: Record<string, unknown> = {}) =>
  ({ patientId, channel: 'sms', purpose: 'appointment_reminders', state: 'granted', method: 'form', evidenceRef: 'form-7731', ...extra }) as const;

describe.each(ENGINES)('consent ledger (%s)', (kind) => {
  const open = testDbPerTest(kind);

  const setup = async () => {
    const { db } = await open();
    const ledger = createConsentLedger({ db, audit: createAuditLog(db) });
    const auditRows = (action: string) => db.query<AuditRecord>('SELECT * FROM audit_log WHERE action = $1 ORDER BY seq', [action]);
    return { db, ledger, auditRows, patientId: await seedPatient(db) };
  };

  it('adds a version per change, revokes with a new version, and reports current state and history', async () => {
    const { ledger, auditRows, patientId } = await setup();
    expect(await ledger.currentFor(patientId, 'sms', 'appointment_reminders')).toBeNull();

    const first = await ledger.record(grant(patientId), staff);
    const outreach = await ledger.record(grant(patientId, { purpose: 'general_outreach', method: 'verbal', evidenceRef: null }), staff);
    const revoked = await ledger.record(grant(patientId, { state: 'revoked', method: 'portal', evidenceRef: 'portal-req-1' }), { actorType: 'patient', actorId: randomUUID() });

    expect([first.record.version, outreach.record.version, revoked.record.version]).toEqual([1, 1, 2]);
    expect(first.record).toMatchObject({ recordedByType: 'user', recordedBy: staff.actorId, evidenceRef: 'form-7731' });
    expect(await ledger.currentFor(patientId, 'sms', 'appointment_reminders')).toEqual({ recordId: revoked.record.id, version: 2, state: 'revoked' });
    expect(await ledger.currentFor(patientId, 'email', 'appointment_reminders')).toBeNull();
    // The batched form answers the same, in the order asked, null for unknown or never-consented.
    const stranger = randomUUID();
    expect(await ledger.currentForMany([stranger, patientId, patientId], 'sms', 'appointment_reminders')).toEqual([
      null,
      { recordId: revoked.record.id, version: 2, state: 'revoked' },
      { recordId: revoked.record.id, version: 2, state: 'revoked' },
    ]);
    expect(await ledger.currentForMany([patientId], 'email', 'appointment_reminders')).toEqual([null]);

    const current = await ledger.current(patientId);
    expect(current.map((r) => [r.channel, r.purpose, r.version, r.state])).toEqual([
      ['sms', 'appointment_reminders', 2, 'revoked'],
      ['sms', 'general_outreach', 1, 'granted'],
    ]);
    const history = await ledger.history(patientId);
    expect(history.map((r) => [r.purpose, r.version, r.state])).toEqual([
      ['appointment_reminders', 1, 'granted'],
      ['appointment_reminders', 2, 'revoked'],
      ['general_outreach', 1, 'granted'],
    ]);

    const recorded = await auditRows('consent.record');
    const revokes = await auditRows('consent.revoke');
    expect(recorded).toHaveLength(2);
    expect(revokes).toHaveLength(1);
    expect(revokes[0]).toMatchObject({
      patient_id: patientId,
      resource_type: 'consent',
      resource_id: revoked.record.id,
      details: { recordId: revoked.record.id, version: 2, channel: 'sms', purpose: 'appointment_reminders', method: 'portal' },
    });
    expect(JSON.stringify(recorded[0]?.details)).not.toContain('form-7731');
  });

  it('refuses UPDATE and DELETE of consent rows', async () => {
    const { db, ledger, patientId } = await setup();
    await ledger.record(grant(patientId), staff);
    await expect(db.query("UPDATE consent_records SET state = 'revoked'")).rejects.toThrow(/append-only/);
    await expect(db.query('DELETE FROM consent_records')).rejects.toThrow(/append-only/);
    await expect(db.exec('TRUNCATE consent_records')).rejects.toThrow(/append-only/);
    expect(await ledger.currentFor(patientId, 'sms', 'appointment_reminders')).toMatchObject({ version: 1, state: 'granted' });
  });

  it('treats a repeated evidence reference or an unchanged state as a repeat when asked', async () => {
    const { ledger, auditRows, patientId } = await setup();
    const stop = grant(patientId, { state: 'revoked', method: 'keyword', evidenceRef: 'SM0123456789abcdef0123456789abcdef' });
    const a = await ledger.record(stop, { actorType: 'system', actorId: 'sms-keyword' }, { dedupe: 'evidence' });
    const again = await ledger.record(stop, { actorType: 'system', actorId: 'sms-keyword' }, { dedupe: 'evidence' });
    expect(a.created).toBe(true);
    expect(again).toEqual({ record: a.record, created: false });

    await ledger.record(grant(patientId, { evidenceRef: 'form-2' }), staff);
    // The same STOP redelivered after a re-consent still must not revoke again.
    expect((await ledger.record(stop, { actorType: 'system', actorId: 'sms-keyword' }, { dedupe: 'evidence' })).created).toBe(false);
    expect(await ledger.currentFor(patientId, 'sms', 'appointment_reminders')).toMatchObject({ version: 2, state: 'granted' });

    const unsub = grant(patientId, { channel: 'email', state: 'revoked', method: 'unsubscribe_link', evidenceRef: 'unsubscribe:abc' });
    expect((await ledger.record(unsub, { actorType: 'system', actorId: 'unsubscribe-link' }, { dedupe: 'state' })).created).toBe(true);
    expect((await ledger.record({ ...unsub, evidenceRef: 'unsubscribe:def' }, { actorType: 'system', actorId: 'unsubscribe-link' }, { dedupe: 'state' })).created).toBe(false);
    expect(await auditRows('consent.revoke')).toHaveLength(2);
  });

  it('gives concurrent changes of one consent distinct consecutive versions', async () => {
    const { ledger, patientId } = await setup();
    const n = 12;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) => ledger.record(grant(patientId, { state: i % 2 === 0 ? 'granted' : 'revoked', evidenceRef: `form-${i}` }), staff)),
    );
    expect(results.map((r) => r.record.version).sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    const history = await ledger.history(patientId);
    expect(history.map((r) => r.version)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
  });

  it('writes several changes atomically and refuses bad input, unknown and erased patients', async () => {
    const { db, ledger, patientId } = await setup();
    const status = (p: Promise<unknown>) => p.then(() => 0, (e: unknown) => (e instanceof AppError ? e.status : -1));

    // Free text or an e-mail address is not an evidence reference; one bad change rejects the batch.
    expect(await status(ledger.recordMany([grant(patientId), grant(patientId, { evidenceRef: 'ada@example.org' })], staff))).toBe(400);
    expect(await status(ledger.record(grant(patientId, { evidenceRef: 'signed by Ada on paper' }), staff))).toBe(400);
    expect(await status(ledger.record(grant(patientId, { channel: 'fax' }), staff))).toBe(400);
    expect(await ledger.history(patientId)).toEqual([]);

    expect(await status(ledger.record(grant(randomUUID()), staff))).toBe(404);
    const erased = await seedPatient(db);
    await db.query('UPDATE patients SET erased_at = now() WHERE id = $1', [erased]);
    expect(await status(ledger.record(grant(erased), staff))).toBe(409);

    const both = await ledger.recordMany(
      [grant(patientId, { state: 'revoked', method: 'keyword' }), grant(patientId, { purpose: 'general_outreach', state: 'revoked', method: 'keyword' })],
      { actorType: 'system', actorId: 'sms-keyword' },
    );
    expect(both.map((r) => [r.record.purpose, r.record.version, r.created])).toEqual([
      ['appointment_reminders', 1, true],
      ['general_outreach', 1, true],
    ]);
    expect(await ledger.current('not-a-uuid')).toEqual([]);
  });
});
