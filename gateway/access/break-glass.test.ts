import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createAuditLog } from '../../core/audit/index.ts';
import { auditRows, insertPatient, insertStaff, markErased, userCtx } from '../../core/appointments/test-fixtures/rows.ts';
import { createMasterKeyring, generateMasterKey } from '../../core/crypto/keyring.ts';
import { createPatientCipher } from '../../core/crypto/patient-cipher.ts';
import { ENGINES, testDbPerTest } from '../../test/helpers/databases.ts';
import { createBreakGlass, reviewCursorAfter } from './break-glass.ts';

const MIN = 60_000;
const REASON = `Unconscious in ED, allergy list needed ${randomUUID()}`;

describe.each(ENGINES)('break-glass (%s)', (kind) => {
  const open = testDbPerTest(kind);

  async function setup() {
    const { db } = await open();
    const clock = { now: new Date() };
    const cipher = createPatientCipher({ db, keyring: createMasterKeyring(generateMasterKey()) });
    const bg = createBreakGlass({ db, audit: createAuditLog(db), cipher, minutes: 60, now: () => clock.now });
    const patientId = await insertPatient(db);
    const providerId = await insertStaff(db, 'provider');
    const officerId = await insertStaff(db, 'privacy_officer');
    return { db, clock, bg, patientId, providerId, officerId, asProvider: userCtx(providerId), asOfficer: userCtx(officerId) };
  }

  it('grants for the configured minutes, encrypts the reason, flags the audit record, expires', async () => {
    const { db, clock, bg, patientId, providerId, asProvider } = await setup();
    const grant = await bg.request({ providerId, patientId, reason: `  ${REASON}  ` }, asProvider);
    expect(grant.expiresAt.getTime()).toBe(clock.now.getTime() + 60 * MIN);
    expect(await bg.activeGrant(providerId, patientId)).toEqual(grant);
    expect(await bg.activeGrant(await insertStaff(db, 'provider'), patientId)).toBeNull();
    const dump = await db.query<{ t: string }>(`SELECT (SELECT string_agg(encode(b.reason, 'escape'), '|') FROM break_glass AS b) || (SELECT string_agg(a::text, '|') FROM audit_log AS a) AS t`);
    expect(dump[0]?.t).not.toContain('allergy');
    const [rec] = await auditRows(db, 'break_glass.request');
    expect(rec).toMatchObject({ break_glass: true, patient_id: patientId, resource_id: grant.id, actor_id: providerId, details: { minutes: 60, superseded: 0 } });
    clock.now = new Date(grant.expiresAt.getTime());
    expect(await bg.activeGrant(providerId, patientId)).toBeNull();
  });

  it('validates the reason, the requester and the patient', async () => {
    const { db, bg, patientId, providerId, asProvider } = await setup();
    await expect(bg.request({ providerId, patientId, reason: ' too short ' }, asProvider)).rejects.toMatchObject({ status: 400, code: 'validation_failed' });
    await expect(bg.request({ providerId, patientId, reason: 'x'.repeat(501) }, asProvider)).rejects.toMatchObject({ status: 400 });
    await expect(bg.request({ providerId, patientId: randomUUID(), reason: REASON }, asProvider)).rejects.toMatchObject({ status: 404, code: 'not_found' });
    const disabled = await insertStaff(db, 'provider', { disabled: true });
    await expect(bg.request({ providerId: disabled, patientId, reason: REASON }, asProvider)).rejects.toMatchObject({ status: 403 });
    const erased = await insertPatient(db);
    await markErased(db, erased);
    await expect(bg.request({ providerId, patientId: erased, reason: REASON }, asProvider)).rejects.toMatchObject({ status: 404 });
    expect(await db.query('SELECT 1 FROM break_glass')).toHaveLength(0);
    expect(await auditRows(db, 'break_glass.request')).toHaveLength(0);
  });

  it('a new request ends the active grant; end() is audited once and 404s unknown ids', async () => {
    const { db, clock, bg, patientId, providerId, asProvider } = await setup();
    const first = await bg.request({ providerId, patientId, reason: REASON }, asProvider);
    clock.now = new Date(clock.now.getTime() + 10 * MIN);
    const second = await bg.request({ providerId, patientId, reason: REASON }, asProvider);
    expect((await bg.activeGrant(providerId, patientId))?.id).toBe(second.id);
    expect(await bg.end(first.id, asProvider)).toBe(false);
    expect(await bg.end(second.id, asProvider)).toBe(true);
    expect(await bg.end(second.id, asProvider)).toBe(false);
    expect(await bg.activeGrant(providerId, patientId)).toBeNull();
    await expect(bg.end(randomUUID(), asProvider)).rejects.toMatchObject({ status: 404 });
    expect((await auditRows(db, 'break_glass.end')).map((r) => [r.resource_id, r.details['cause']])).toEqual([
      [first.id, 'superseded'],
      [second.id, 'ended'],
    ]);
  });

  it('review queue: decrypted reasons, keyset pages, null after crypto-shredding', async () => {
    const { db, clock, bg, patientId, providerId, asProvider } = await setup();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const other = await insertPatient(db);
      ids.push((await bg.request({ providerId, patientId: i === 0 ? patientId : other, reason: `${REASON} #${i}` }, asProvider)).id);
      clock.now = new Date(clock.now.getTime() + MIN);
    }
    const page1 = await bg.listForReview({ status: 'open', limit: 2 });
    expect(page1.map((g) => g.id)).toEqual(ids.slice(0, 2));
    expect(page1[0]).toMatchObject({ reason: `${REASON} #0`, providerId, patientId, status: 'open', outcome: null, reviewNote: null });
    const last = page1.at(-1);
    if (last === undefined) throw new Error('empty page');
    const page2 = await bg.listForReview({ status: 'open', limit: 2, cursor: reviewCursorAfter(last) });
    expect(page2.map((g) => g.id)).toEqual(ids.slice(2));
    expect((await bg.listForReview({ status: 'all', limit: 10 })).map((g) => g.id)).toEqual([...ids].reverse());
    await expect(bg.listForReview({ status: 'open', limit: 2, cursor: 'garbage' })).rejects.toMatchObject({ status: 400 });
    await markErased(db, patientId);
    const after = await bg.listForReview({ status: 'open', limit: 1 });
    expect(after[0]).toMatchObject({ id: ids[0], reason: null });
  });

  it('reviewed once, never by the grant holder; concurrent reviews: one wins', async () => {
    const { db, bg, patientId, providerId, officerId, asProvider, asOfficer } = await setup();
    const grant = await bg.request({ providerId, patientId, reason: REASON }, asProvider);
    await expect(bg.review(grant.id, { reviewerId: providerId, outcome: 'justified' }, asProvider)).rejects.toMatchObject({ status: 409, code: 'own_grant' });
    const second = await insertStaff(db, 'privacy_officer');
    const results = await Promise.allSettled([
      bg.review(grant.id, { reviewerId: officerId, outcome: 'justified', note: 'Confirmed with ED charge nurse' }, asOfficer),
      bg.review(grant.id, { reviewerId: second, outcome: 'escalated' }, userCtx(second)),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const lost = results.find((r) => r.status === 'rejected');
    expect(lost?.reason).toMatchObject({ status: 409, code: 'already_reviewed' });
    const [item] = await bg.listForReview({ status: 'reviewed', limit: 10 });
    expect(item?.status).toBe('reviewed');
    if (item?.outcome === 'justified') expect(item.reviewNote).toBe('Confirmed with ED charge nurse');
    expect(await bg.listForReview({ status: 'open', limit: 10 })).toEqual([]);
    const recs = await auditRows(db, 'break_glass.review');
    expect(recs).toHaveLength(1);
    expect(recs[0]?.details['outcome']).toBe(item?.outcome);
    const dump = await db.query<{ t: string }>(`SELECT string_agg(encode(review_note, 'escape'), '|') AS t FROM break_glass`);
    expect(dump[0]?.t ?? '').not.toContain('charge nurse');
  });

  it('not_justified ends a live grant at once', async () => {
    const { db, bg, patientId, providerId, officerId, asProvider, asOfficer } = await setup();
    const grant = await bg.request({ providerId, patientId, reason: REASON }, asProvider);
    await bg.review(grant.id, { reviewerId: officerId, outcome: 'not_justified' }, asOfficer);
    expect(await bg.activeGrant(providerId, patientId)).toBeNull();
    expect((await auditRows(db, 'break_glass.end'))[0]?.details).toEqual({ cause: 'review' });
    await expect(bg.review(randomUUID(), { reviewerId: officerId, outcome: 'justified' }, asOfficer)).rejects.toMatchObject({ status: 404 });
  });
});
