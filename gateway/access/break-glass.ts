/**
 * Break-glass grants (HIPAA 164.312(a)(2)(ii), emergency access): time-boxed access for one
 * provider to one patient outside their care team, with a stated reason that a privacy officer
 * later reviews. The reason and the review note may describe the patient's condition, so both are
 * encrypted under the patient's data key (and shredded with it). HTTP, re-authentication and
 * session rotation live in break-glass-routes.ts; the access policy asks `activeGrant`.
 *
 * A new request while a grant is active ends the old grant and creates a new one rather than
 * extending it: every window of access has its own reason and its own review, so one justified
 * reason can never be stretched over a longer window than the reviewer saw.
 */
import { randomUUID } from 'node:crypto';
import { AuditAction, AuditOutcome, type AuditLog } from '../../core/audit/index.ts';
import { actorFields, isUuid, type ActionContext } from '../../core/appointments/action-context.ts';
import type { PatientCipher } from '../../core/crypto/types.ts';
import type { Db, Sql } from '../../core/db/types.ts';
import { AppError, ErrorCode } from '../../core/errors.ts';

export const BreakGlassErrorCode = {
  /** 409: a grant is reviewed once. */
  alreadyReviewed: 'already_reviewed',
  /** 409: nobody reviews their own grant. */
  ownGrant: 'own_grant',
  /** 409: a note cannot be stored for a patient whose data key was destroyed. */
  patientErased: 'patient_erased',
} as const;
export type BreakGlassErrorCode = (typeof BreakGlassErrorCode)[keyof typeof BreakGlassErrorCode];

export const ReviewOutcome = { justified: 'justified', notJustified: 'not_justified', escalated: 'escalated' } as const;
export type ReviewOutcome = (typeof ReviewOutcome)[keyof typeof ReviewOutcome];

export const ReviewStatusFilter = { open: 'open', reviewed: 'reviewed', all: 'all' } as const;
export type ReviewStatusFilter = (typeof ReviewStatusFilter)[keyof typeof ReviewStatusFilter];

export const BREAK_GLASS_LIMITS = { reasonMin: 10, reasonMax: 500, noteMax: 1000, listMax: 200 } as const;

const REASON_FIELD = 'break_glass.reason';
const NOTE_FIELD = 'break_glass.review_note';

export interface BreakGlassGrant {
  readonly id: string;
  readonly expiresAt: Date;
}

export interface BreakGlassReviewItem {
  readonly id: string;
  readonly providerId: string;
  readonly patientId: string;
  /** null when the patient was crypto-shredded. */
  readonly reason: string | null;
  readonly startedAt: Date;
  readonly expiresAt: Date;
  readonly endedAt: Date | null;
  readonly status: 'open' | 'reviewed';
  readonly outcome: ReviewOutcome | null;
  readonly reviewedBy: string | null;
  readonly reviewedAt: Date | null;
  /** null when there is none or the patient was crypto-shredded. */
  readonly reviewNote: string | null;
}

export interface BreakGlass {
  /** 400 validation_failed (reason 10–500 chars), 403 forbidden (not active staff), 404 not_found (patient unknown or erased). Ends an active grant for the pair. */
  request(input: { providerId: string; patientId: string; reason: string }, ctx: ActionContext): Promise<BreakGlassGrant>;
  /** The pair's live grant (not ended, not expired), or null. */
  activeGrant(providerId: string, patientId: string): Promise<BreakGlassGrant | null>;
  /** Ends a live grant now; false when it had already ended or expired. 404 not_found. */
  end(id: string, ctx: ActionContext): Promise<boolean>;
  /** `open`: oldest first (a work queue); `reviewed`/`all`: newest first. Continue with `reviewCursorAfter(lastItem)`. */
  listForReview(query: { status: ReviewStatusFilter; limit: number; cursor?: string }): Promise<BreakGlassReviewItem[]>;
  /** Once (409 already_reviewed), never by the grant's own provider (409 own_grant). `not_justified` also ends a live grant. */
  review(id: string, input: { reviewerId: string; outcome: ReviewOutcome; note?: string }, ctx: ActionContext): Promise<void>;
}

export interface BreakGlassDeps {
  readonly db: Db;
  readonly audit: AuditLog;
  readonly cipher: PatientCipher;
  /** Grant lifetime. */
  readonly minutes: number;
  readonly now?: () => Date;
}

interface GrantRow {
  id: string;
  provider_id: string;
  patient_id: string;
  reason: Buffer;
  started_at: Date;
  expires_at: Date;
  ended_at: Date | null;
  status: 'open' | 'reviewed';
  outcome: ReviewOutcome | null;
  reviewed_by: string | null;
  reviewed_at: Date | null;
  review_note: Buffer | null;
}

const invalid = (path: string, message: string): AppError =>
  new AppError(400, ErrorCode.validation, 'break-glass input failed validation', { fields: [{ path, message }] });
const grantNotFound = (): AppError => new AppError(404, ErrorCode.notFound, 'break-glass grant not found');

/** Opaque keyset cursor: the position after `item` in its listing order. */
export function reviewCursorAfter(item: Pick<BreakGlassReviewItem, 'id' | 'startedAt'>): string {
  return Buffer.from(JSON.stringify([item.startedAt.toISOString(), item.id])).toString('base64url');
}

function parseCursor(cursor: string): { at: Date; id: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch (err) {
    throw new AppError(400, ErrorCode.validation, 'invalid cursor', { fields: [{ path: 'cursor', message: 'Not a cursor from this listing' }], cause: err });
  }
  if (Array.isArray(parsed) && parsed.length === 2) {
    const [t, id] = parsed as unknown[];
    const at = typeof t === 'string' ? new Date(t) : null;
    if (at !== null && Number.isFinite(at.getTime()) && typeof id === 'string' && isUuid(id)) return { at, id };
  }
  throw new AppError(400, ErrorCode.validation, 'invalid cursor', { fields: [{ path: 'cursor', message: 'Not a cursor from this listing' }] });
}

export function createBreakGlass(deps: BreakGlassDeps): BreakGlass {
  const { db, audit, cipher } = deps;
  const now = deps.now ?? (() => new Date());
  const grantMs = deps.minutes * 60_000;

  const endAudit = (tx: Sql, ctx: ActionContext, id: string, patientId: string, cause: string) =>
    audit.append({ ...actorFields(ctx), action: AuditAction.breakGlassEnd, resourceType: 'break_glass', resourceId: id, patientId, outcome: AuditOutcome.success, details: { cause } }, tx);

  return {
    async request(input, ctx) {
      const reason = input.reason.trim();
      if (reason.length < BREAK_GLASS_LIMITS.reasonMin || reason.length > BREAK_GLASS_LIMITS.reasonMax) throw invalid('reason', 'Between 10 and 500 characters');
      if (!isUuid(input.providerId)) throw new AppError(403, ErrorCode.forbidden, 'Only active staff can request emergency access');
      if (!isUuid(input.patientId)) throw new AppError(404, ErrorCode.notFound, 'patient not found');
      return db.transaction(async (tx) => {
        const staff = await tx.query(`SELECT 1 FROM users WHERE id = $1 AND kind = 'staff' AND status = 'active'`, [input.providerId]);
        if (staff.length === 0) throw new AppError(403, ErrorCode.forbidden, 'Only active staff can request emergency access');
        // NO KEY UPDATE: serializes requests (and erasure) for this patient without blocking FK inserts.
        const patient = await tx.query('SELECT 1 FROM patients WHERE id = $1 AND erased_at IS NULL FOR NO KEY UPDATE', [input.patientId]);
        if (patient.length === 0) throw new AppError(404, ErrorCode.notFound, 'patient not found');
        const at = now();
        const previous = await tx.query<{ id: string }>(
          'UPDATE break_glass SET ended_at = $3 WHERE provider_id = $1 AND patient_id = $2 AND ended_at IS NULL AND expires_at > $3 RETURNING id',
          [input.providerId, input.patientId, at],
        );
        for (const p of previous) await endAudit(tx, ctx, p.id, input.patientId, 'superseded');
        const id = randomUUID();
        const expiresAt = new Date(at.getTime() + grantMs);
        const sealed = await cipher.encrypt(input.patientId, REASON_FIELD, reason, tx);
        await tx.query(
          'INSERT INTO break_glass (id, provider_id, patient_id, reason, started_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)',
          [id, input.providerId, input.patientId, sealed, at, expiresAt],
        );
        await audit.append(
          {
            ...actorFields(ctx, true),
            action: AuditAction.breakGlassRequest,
            resourceType: 'break_glass',
            resourceId: id,
            patientId: input.patientId,
            outcome: AuditOutcome.success,
            details: { minutes: deps.minutes, superseded: previous.length },
          },
          tx,
        );
        return { id, expiresAt };
      });
    },

    async activeGrant(providerId, patientId) {
      if (!isUuid(providerId) || !isUuid(patientId)) return null;
      const [row] = await db.query<{ id: string; expires_at: Date }>(
        `SELECT id, expires_at FROM break_glass
          WHERE provider_id = $1 AND patient_id = $2 AND ended_at IS NULL AND expires_at > $3 AND started_at <= $3
          ORDER BY expires_at DESC LIMIT 1`,
        [providerId, patientId, now()],
      );
      return row ? { id: row.id, expiresAt: row.expires_at } : null;
    },

    async end(id, ctx) {
      if (!isUuid(id)) throw grantNotFound();
      return db.transaction(async (tx) => {
        const [row] = await tx.query<{ patient_id: string }>(
          'UPDATE break_glass SET ended_at = $2 WHERE id = $1 AND ended_at IS NULL AND expires_at > $2 RETURNING patient_id',
          [id, now()],
        );
        if (!row) {
          const exists = await tx.query('SELECT 1 FROM break_glass WHERE id = $1', [id]);
          if (exists.length === 0) throw grantNotFound();
          return false;
        }
        await endAudit(tx, ctx, id, row.patient_id, 'ended');
        return true;
      });
    },

    async listForReview(query) {
      if (!Number.isInteger(query.limit) || query.limit < 1 || query.limit > BREAK_GLASS_LIMITS.listMax) throw invalid('limit', 'An integer from 1 to 200');
      const ascending = query.status === ReviewStatusFilter.open;
      const params: unknown[] = [];
      const where: string[] = [];
      if (query.status !== ReviewStatusFilter.all) {
        params.push(query.status);
        where.push(`status = $${params.length}`);
      }
      if (query.cursor !== undefined) {
        const c = parseCursor(query.cursor);
        params.push(c.at, c.id);
        where.push(`(started_at, id) ${ascending ? '>' : '<'} ($${params.length - 1}, $${params.length})`);
      }
      params.push(query.limit);
      const dir = ascending ? 'ASC' : 'DESC';
      const rows = await db.query<GrantRow>(
        `SELECT id, provider_id, patient_id, reason, started_at, expires_at, ended_at, status, outcome, reviewed_by, reviewed_at, review_note
           FROM break_glass ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
          ORDER BY started_at ${dir}, id ${dir} LIMIT $${params.length}`,
        params,
      );
      const items: BreakGlassReviewItem[] = [];
      for (const r of rows) {
        items.push({
          id: r.id,
          providerId: r.provider_id,
          patientId: r.patient_id,
          reason: await cipher.decrypt(r.patient_id, REASON_FIELD, r.reason),
          startedAt: r.started_at,
          expiresAt: r.expires_at,
          endedAt: r.ended_at,
          status: r.status,
          outcome: r.outcome,
          reviewedBy: r.reviewed_by,
          reviewedAt: r.reviewed_at,
          reviewNote: r.review_note === null ? null : await cipher.decrypt(r.patient_id, NOTE_FIELD, r.review_note),
        });
      }
      return items;
    },

    async review(id, input, ctx) {
      const note = input.note?.trim();
      if (note !== undefined && note.length > BREAK_GLASS_LIMITS.noteMax) throw invalid('note', 'At most 1000 characters');
      if (!Object.values(ReviewOutcome).includes(input.outcome)) throw invalid('outcome', 'Unknown outcome');
      if (!isUuid(id)) throw grantNotFound();
      if (!isUuid(input.reviewerId)) throw new AppError(403, ErrorCode.forbidden, 'Only active staff can review');
      await db.transaction(async (tx) => {
        const reviewer = await tx.query(`SELECT 1 FROM users WHERE id = $1 AND kind = 'staff' AND status = 'active'`, [input.reviewerId]);
        if (reviewer.length === 0) throw new AppError(403, ErrorCode.forbidden, 'Only active staff can review');
        // FOR UPDATE: two reviewers at once → the second sees status 'reviewed' and gets 409.
        const [g] = await tx.query<{ provider_id: string; patient_id: string; status: string; ended_at: Date | null; expires_at: Date }>(
          'SELECT provider_id, patient_id, status, ended_at, expires_at FROM break_glass WHERE id = $1 FOR UPDATE',
          [id],
        );
        if (!g) throw grantNotFound();
        if (g.provider_id === input.reviewerId) throw new AppError(409, BreakGlassErrorCode.ownGrant, 'You cannot review your own emergency access');
        if (g.status === 'reviewed') throw new AppError(409, BreakGlassErrorCode.alreadyReviewed, 'This grant was already reviewed');
        let sealed: Buffer | null = null;
        if (note !== undefined && note.length > 0) {
          const erased = await tx.query('SELECT 1 FROM patients WHERE id = $1 AND erased_at IS NULL', [g.patient_id]);
          if (erased.length === 0) throw new AppError(409, BreakGlassErrorCode.patientErased, 'A note cannot be stored: the patient record was erased');
          sealed = await cipher.encrypt(g.patient_id, NOTE_FIELD, note, tx);
        }
        const at = now();
        await tx.query(
          `UPDATE break_glass SET status = 'reviewed', reviewed_by = $2, reviewed_at = $3, outcome = $4, review_note = $5 WHERE id = $1`,
          [id, input.reviewerId, at, input.outcome, sealed],
        );
        await audit.append(
          { ...actorFields(ctx), action: AuditAction.breakGlassReview, resourceType: 'break_glass', resourceId: id, patientId: g.patient_id, outcome: AuditOutcome.success, details: { outcome: input.outcome, withNote: sealed !== null } },
          tx,
        );
        // An unjustified grant stops now rather than running out its window.
        if (input.outcome === ReviewOutcome.notJustified && g.ended_at === null && g.expires_at.getTime() > at.getTime()) {
          await tx.query('UPDATE break_glass SET ended_at = $2 WHERE id = $1', [id, at]);
          await endAudit(tx, ctx, id, g.patient_id, 'review');
        }
      });
    },
  };
}
