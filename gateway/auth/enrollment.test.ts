import { createHash, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createAuditLog } from '../../core/audit/index.ts';
import { ANON_CTX, auditRows, insertPatient, insertStaff, markErased, userCtx } from '../../core/appointments/test-fixtures/rows.ts';
import { AppError } from '../../core/errors.ts';
import { ENGINES, testDbPerTest } from '../../test/helpers/databases.ts';
import { createEnrollment, normalizeEnrollmentCode } from './enrollment.ts';

const HOUR = 60 * 60_000;

async function codeInvalid(p: Promise<unknown>): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  expect(err).toMatchObject({ status: 400, code: 'code_invalid', message: 'This enrollment code is not valid' });
}

describe('normalizeEnrollmentCode', () => {
  it('ignores case, spaces and dashes and reads look-alikes', () => {
    expect(normalizeEnrollmentCode(' abcd-efgh ijkl-mnop ')).toBe('ABCDEFGH1JK1MN0P');
  });
});

describe.each(ENGINES)('enrollment codes (%s)', (kind) => {
  const open = testDbPerTest(kind);

  async function setup() {
    const { db } = await open();
    const clock = { now: new Date() };
    const enrollment = createEnrollment({ db, audit: createAuditLog(db), ttlHours: 72, now: () => clock.now });
    const patientId = await insertPatient(db);
    const staff = userCtx(await insertStaff(db, 'scheduler'));
    return { db, clock, enrollment, patientId, staff };
  }

  it('creates a human-typeable 120-bit code, stores only its hash, and redeems it once for the patient principal', async () => {
    const { db, enrollment, patientId, staff } = await setup();
    const made = await enrollment.createCode(patientId, staff);
    expect(made.code).toMatch(/^([0-9A-HJKMNP-TV-Z]{4}-){5}[0-9A-HJKMNP-TV-Z]{4}$/);
    expect(made.expiresAt.getTime() - Date.now()).toBeGreaterThan(71 * HOUR);
    const normalized = made.code.replaceAll('-', '');
    const [row] = await db.query<{ code_hash: string }>('SELECT code_hash FROM enrollment_codes WHERE id = $1', [made.id]);
    expect(row?.code_hash).toBe(createHash('sha256').update(normalized).digest('hex'));
    const dump = await db.query<{ t: string }>(`SELECT (SELECT string_agg(c::text, '|') FROM enrollment_codes AS c) || (SELECT string_agg(a::text, '|') FROM audit_log AS a) AS t`);
    expect(dump[0]?.t).not.toContain(normalized);
    expect(dump[0]?.t).not.toContain(made.code);

    // Typed loosely: lower case, spaces instead of dashes.
    const enrolled = await enrollment.redeem(made.code.toLowerCase().replaceAll('-', ' '), ANON_CTX);
    expect(enrolled.patientId).toBe(patientId);
    const users = await db.query<{ id: string; kind: string; role: string | null }>('SELECT id, kind, role FROM users WHERE patient_id = $1', [patientId]);
    expect(users).toEqual([{ id: enrolled.patientUserId, kind: 'patient', role: null }]);
    await codeInvalid(enrollment.redeem(made.code, ANON_CTX));

    // A second enrollment reuses the principal.
    const again = await enrollment.createCode(patientId, staff);
    expect((await enrollment.redeem(again.code, ANON_CTX)).patientUserId).toBe(enrolled.patientUserId);
    const recs = await auditRows(db, 'enrollment.redeem');
    expect(recs.map((r) => [r.outcome, r.details['reason'] ?? null, r.patient_id])).toEqual([
      ['success', null, patientId],
      ['failure', 'used', patientId],
      ['success', null, patientId],
    ]);
  });

  it('parallel redeems of one code: exactly one succeeds, one principal', async () => {
    const { db, enrollment, patientId, staff } = await setup();
    const { code } = await enrollment.createCode(patientId, staff);
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => enrollment.redeem(code, ANON_CTX)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'code_invalid' });
    expect(await db.query('SELECT 1 FROM users WHERE patient_id = $1', [patientId])).toHaveLength(1);
    const failures = (await auditRows(db, 'enrollment.redeem')).filter((r) => r.outcome === 'failure');
    expect(failures.map((r) => r.details)).toEqual(Array(7).fill({ reason: 'used' }));
  });

  it('answers one generic code_invalid but audits the precise reason', async () => {
    const { db, clock, enrollment, patientId, staff } = await setup();
    await codeInvalid(enrollment.redeem('not a code', ANON_CTX));
    await codeInvalid(enrollment.redeem('ABCD-EFGH-JKMN-PQRS-TVWX-YZ01', ANON_CTX));

    const first = await enrollment.createCode(patientId, staff);
    const second = await enrollment.createCode(patientId, staff); // supersedes the first
    await codeInvalid(enrollment.redeem(first.code, ANON_CTX));

    const realNow = clock.now;
    clock.now = new Date(second.expiresAt.getTime() + 1);
    await codeInvalid(enrollment.redeem(second.code, ANON_CTX));
    clock.now = realNow;

    const third = await enrollment.createCode(patientId, staff);
    await enrollment.revoke(third.id, staff);
    await enrollment.revoke(third.id, staff); // no-op
    await codeInvalid(enrollment.redeem(third.code, ANON_CTX));

    const fourth = await enrollment.createCode(patientId, staff);
    await markErased(db, patientId);
    await codeInvalid(enrollment.redeem(fourth.code, ANON_CTX));
    await expect(enrollment.createCode(patientId, staff)).rejects.toMatchObject({ status: 404, code: 'not_found' });

    const reasons = (await auditRows(db, 'enrollment.redeem')).map((r) => r.details['reason']);
    expect(reasons).toEqual(['malformed', 'unknown', 'revoked', 'expired', 'revoked', 'patient_erased']);
    expect((await auditRows(db, 'enrollment.create'))[1]?.details).toEqual({ ttlHours: 72, supersededIds: [first.id] });
    expect(await auditRows(db, 'enrollment.revoke')).toHaveLength(1);
    expect(await db.query('SELECT 1 FROM users WHERE patient_id = $1', [patientId])).toHaveLength(0);
  });

  it('refuses a disabled patient principal and revoking a used or unknown code', async () => {
    const { db, enrollment, patientId, staff } = await setup();
    const made = await enrollment.createCode(patientId, staff);
    const { patientUserId } = await enrollment.redeem(made.code, ANON_CTX);
    await expect(enrollment.revoke(made.id, staff)).rejects.toMatchObject({ status: 409, code: 'code_already_used' });
    await expect(enrollment.revoke(randomUUID(), staff)).rejects.toMatchObject({ status: 404 });
    await db.query(`UPDATE users SET status = 'disabled' WHERE id = $1`, [patientUserId]);
    const next = await enrollment.createCode(patientId, staff);
    await codeInvalid(enrollment.redeem(next.code, ANON_CTX));
    expect((await auditRows(db, 'enrollment.redeem')).at(-1)?.details).toEqual({ reason: 'patient_disabled' });
  });
});
