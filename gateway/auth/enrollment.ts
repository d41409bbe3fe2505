/**
 * One-time patient enrollment codes for messaging. Staff create a code for a patient and hand it
 * over out of band; the patient's own client redeems it (once) for the patient's principal.
 * Codes are 24 Crockford base32 characters (120 bits from crypto.randomInt), shown in groups of
 * four to be read aloud and typed; only the SHA-256 of the normalized code is stored. A new code
 * revokes the patient's older unused ones. Every redeem failure answers one `code_invalid`; the
 * audit record keeps the precise reason class.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { AuditAction, AuditOutcome, type AuditLog } from '../../core/audit/index.ts';
import { actorFields, isUuid, type ActionContext } from '../../core/appointments/action-context.ts';
import { sha256Hex } from '../../core/crypto/tokens.ts';
import type { Db, Sql } from '../../core/db/types.ts';
import { AppError, ErrorCode } from '../../core/errors.ts';
import { ensurePatientPrincipal } from '../../core/identity/patient-principal.ts';

export const EnrollmentErrorCode = {
  /** 400: the only redeem failure a client sees (unknown, malformed, expired, used, revoked, erased). */
  codeInvalid: 'code_invalid',
  /** 409 on revoke: the code was already redeemed. */
  codeUsed: 'code_already_used',
} as const;
export type EnrollmentErrorCode = (typeof EnrollmentErrorCode)[keyof typeof EnrollmentErrorCode];

/** What the audit record says about a failed redeem (`details.reason`). Never shown to the client. */
export const EnrollmentFailure = {
  malformed: 'malformed',
  unknown: 'unknown',
  expired: 'expired',
  used: 'used',
  revoked: 'revoked',
  patientErased: 'patient_erased',
  patientDisabled: 'patient_disabled',
} as const;
export type EnrollmentFailure = (typeof EnrollmentFailure)[keyof typeof EnrollmentFailure];

export interface CreatedEnrollmentCode {
  readonly id: string;
  /** `XXXX-XXXX-XXXX-XXXX-XXXX-XXXX`; shown once. */
  readonly code: string;
  readonly expiresAt: Date;
}

export interface EnrolledPatient {
  readonly patientId: string;
  /** The patient's principal (users.id, kind patient), created on first enrollment. */
  readonly patientUserId: string;
}

export interface Enrollment {
  /** 404 not_found for an unknown or erased patient. Revokes older unused codes. Audited `enrollment.create`. */
  createCode(patientId: string, ctx: ActionContext): Promise<CreatedEnrollmentCode>;
  /** Single-use. Throws AppError 400 code_invalid on any failure. Every attempt audited `enrollment.redeem`. */
  redeem(code: string, ctx: ActionContext): Promise<EnrolledPatient>;
  /** Audited `enrollment.revoke`; revoking a revoked code is a no-op. 404 not_found, 409 code_already_used. */
  revoke(id: string, ctx: ActionContext): Promise<void>;
}

export interface EnrollmentDeps {
  readonly db: Db;
  readonly audit: AuditLog;
  readonly ttlHours: number;
  readonly now?: () => Date;
}

// Crockford base32: no I, L, O, U, so nothing reads as another character or a word.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const CODE_CHARS = 24;
const GROUP = 4;
const NORMALIZED_RE = /^[0-9A-HJKMNP-TV-Z]{24}$/;

/** Upper-case, drop spaces and dashes, and read the look-alikes as Crockford does (O→0, I/L→1). */
export function normalizeEnrollmentCode(input: string): string {
  return input.toUpperCase().replace(/[\s-]/g, '').replaceAll('O', '0').replace(/[IL]/g, '1');
}

export function hashEnrollmentCode(normalized: string): string {
  return sha256Hex(normalized);
}

function newCode(): { display: string; normalized: string } {
  let normalized = '';
  for (let i = 0; i < CODE_CHARS; i++) normalized += ALPHABET.charAt(randomInt(ALPHABET.length));
  const groups = normalized.match(new RegExp(`.{${GROUP}}`, 'g')) ?? [];
  return { display: groups.join('-'), normalized };
}

const invalidCode = (): AppError => new AppError(400, EnrollmentErrorCode.codeInvalid, 'This enrollment code is not valid');

type Outcome = { ok: true; enrolled: EnrolledPatient } | { ok: false };

export function createEnrollment(deps: EnrollmentDeps): Enrollment {
  const { db, audit } = deps;
  const now = deps.now ?? (() => new Date());
  const ttlMs = deps.ttlHours * 60 * 60_000;

  const attempt = async (tx: Sql, code: string, at: Date, ctx: ActionContext): Promise<Outcome> => {
    const base = { ...actorFields(ctx), action: AuditAction.enrollmentRedeem, resourceType: 'enrollment_code' } as const;
    const fail = async (reason: EnrollmentFailure, id?: string, patientId?: string): Promise<Outcome> => {
      await audit.append({ ...base, resourceId: id ?? null, patientId: patientId ?? null, outcome: AuditOutcome.failure, details: { reason } }, tx);
      return { ok: false };
    };
    const normalized = normalizeEnrollmentCode(code);
    if (!NORMALIZED_RE.test(normalized)) return fail(EnrollmentFailure.malformed);
    const hash = hashEnrollmentCode(normalized);
    // The deciding statement: concurrent redeemers queue on the row lock and re-check it.
    const [won] = await tx.query<{ id: string; patient_id: string }>(
      `UPDATE enrollment_codes AS c SET used_at = $2
        WHERE c.code_hash = $1 AND c.used_at IS NULL AND c.revoked_at IS NULL AND c.expires_at > $2
          AND EXISTS (SELECT 1 FROM patients AS p WHERE p.id = c.patient_id AND p.erased_at IS NULL)
      RETURNING c.id, c.patient_id`,
      [hash, at],
    );
    if (!won) {
      const [s] = await tx.query<{ id: string; patient_id: string; used_at: Date | null; revoked_at: Date | null; expires_at: Date; erased_at: Date | null }>(
        `SELECT c.id, c.patient_id, c.used_at, c.revoked_at, c.expires_at, p.erased_at
           FROM enrollment_codes AS c JOIN patients AS p ON p.id = c.patient_id WHERE c.code_hash = $1`,
        [hash],
      );
      if (!s) return fail(EnrollmentFailure.unknown);
      const reason =
        s.erased_at !== null ? EnrollmentFailure.patientErased
        : s.revoked_at !== null ? EnrollmentFailure.revoked
        : s.used_at !== null ? EnrollmentFailure.used
        : s.expires_at.getTime() <= at.getTime() ? EnrollmentFailure.expired
        : EnrollmentFailure.used; // lost a race we cannot name more precisely
      return fail(reason, s.id, s.patient_id);
    }
    const user = await ensurePatientPrincipal(tx, won.patient_id);
    // The code stays consumed: an admin disabled this patient, a new code is needed once re-enabled.
    if (user.status !== 'active') return fail(EnrollmentFailure.patientDisabled, won.id, won.patient_id);
    await audit.append({ ...base, resourceId: won.id, patientId: won.patient_id, outcome: AuditOutcome.success, details: { patientUserId: user.id } }, tx);
    return { ok: true, enrolled: { patientId: won.patient_id, patientUserId: user.id } };
  };

  return {
    async createCode(patientId, ctx) {
      const createdBy = ctx.actorId;
      if (typeof createdBy !== 'string' || !isUuid(createdBy)) throw new TypeError('creating an enrollment code needs a user actor (created_by)');
      if (!isUuid(patientId)) throw new AppError(404, ErrorCode.notFound, 'patient not found');
      return db.transaction(async (tx) => {
        // FOR UPDATE serializes concurrent createCode calls for one patient, so at most one code stays live.
        const patient = await tx.query('SELECT 1 FROM patients WHERE id = $1 AND erased_at IS NULL FOR UPDATE', [patientId]);
        if (patient.length === 0) throw new AppError(404, ErrorCode.notFound, 'patient not found');
        const at = now();
        const superseded = await tx.query<{ id: string }>(
          'UPDATE enrollment_codes SET revoked_at = $2 WHERE patient_id = $1 AND used_at IS NULL AND revoked_at IS NULL RETURNING id',
          [patientId, at],
        );
        const id = randomUUID();
        const { display, normalized } = newCode();
        const expiresAt = new Date(at.getTime() + ttlMs);
        await tx.query(
          'INSERT INTO enrollment_codes (id, patient_id, code_hash, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)',
          [id, patientId, hashEnrollmentCode(normalized), createdBy, at, expiresAt],
        );
        await audit.append(
          {
            ...actorFields(ctx),
            action: AuditAction.enrollmentCreate,
            resourceType: 'enrollment_code',
            resourceId: id,
            patientId,
            outcome: AuditOutcome.success,
            details: { ttlHours: deps.ttlHours, supersededIds: superseded.map((r) => r.id) },
          },
          tx,
        );
        return { id, code: display, expiresAt };
      });
    },

    async redeem(code, ctx) {
      const at = now();
      // The failure's audit record must commit: the error is thrown after the transaction.
      const outcome = await db.transaction((tx) => attempt(tx, code, at, ctx));
      if (outcome.ok) return outcome.enrolled;
      throw invalidCode();
    },

    async revoke(id, ctx) {
      if (!isUuid(id)) throw new AppError(404, ErrorCode.notFound, 'enrollment code not found');
      await db.transaction(async (tx) => {
        const [row] = await tx.query<{ patient_id: string }>(
          'UPDATE enrollment_codes SET revoked_at = $2 WHERE id = $1 AND used_at IS NULL AND revoked_at IS NULL RETURNING patient_id',
          [id, now()],
        );
        if (!row) {
          const [s] = await tx.query<{ used_at: Date | null }>('SELECT used_at FROM enrollment_codes WHERE id = $1', [id]);
          if (!s) throw new AppError(404, ErrorCode.notFound, 'enrollment code not found');
          if (s.used_at !== null) throw new AppError(409, EnrollmentErrorCode.codeUsed, 'This enrollment code was already used');
          return;
        }
        await audit.append(
          { ...actorFields(ctx), action: AuditAction.enrollmentRevoke, resourceType: 'enrollment_code', resourceId: id, patientId: row.patient_id, outcome: AuditOutcome.success },
          tx,
        );
      });
    },
  };
}
