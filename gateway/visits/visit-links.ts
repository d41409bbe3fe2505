/**
 * Single-use, appointment-bound visit links. A link is a random 256-bit token (base64url) that
 * only its hash (SHA-256 hex) is stored for; it opens `leadMinutes` before the appointment and
 * closes when it ends (both read from the appointment at redeem time, so a rescheduled visit moves
 * its links along). Redeeming is one conditional UPDATE: of N concurrent attempts exactly one wins.
 * Failures get distinct codes that say nothing about the appointment or patient, and every
 * attempt, failed or not, is audited.
 */
import { randomUUID } from 'node:crypto';
import { AuditAction, AuditOutcome, type AuditLog } from '../../core/audit/index.ts';
import { actorFields, isUuid, type ActionContext } from '../../core/appointments/action-context.ts';
import { isToken, newToken, sha256Hex } from '../../core/crypto/tokens.ts';
import type { Db, Sql } from '../../core/db/types.ts';
import { AppError, ErrorCode } from '../../core/errors.ts';

/** Redeem failures, with the HTTP status each maps to. Messages are fixed and reveal nothing. */
export const VisitLinkErrorCode = {
  /** 404: unknown or malformed token. */
  linkInvalid: 'link_invalid',
  /** 410: already redeemed (links are single-use). */
  linkUsed: 'link_used',
  /** 410: revoked by staff. */
  linkRevoked: 'link_revoked',
  /** 410: the appointment has ended (or was completed). */
  linkExpired: 'link_expired',
  /** 403: too early; the error carries `opensAt`. */
  linkNotYetValid: 'link_not_yet_valid',
  /** 410 on redeem, 409 on create. */
  appointmentCancelled: 'appointment_cancelled',
  /** 409 on create: the appointment is over, a link would never open. */
  appointmentEnded: 'appointment_ended',
} as const;
export type VisitLinkErrorCode = (typeof VisitLinkErrorCode)[keyof typeof VisitLinkErrorCode];

/** Status and client message per redeem failure. */
export const VISIT_LINK_REDEEM_ERRORS = {
  link_invalid: { status: 404, message: 'This visit link is not valid' },
  link_used: { status: 410, message: 'This visit link has already been used' },
  link_revoked: { status: 410, message: 'This visit link has been revoked' },
  link_expired: { status: 410, message: 'This visit link has expired' },
  link_not_yet_valid: { status: 403, message: 'This visit link is not open yet' },
  appointment_cancelled: { status: 410, message: 'This visit was cancelled' },
} as const satisfies Record<Exclude<VisitLinkErrorCode, 'appointment_ended'>, { status: number; message: string }>;
export type VisitLinkRedeemFailure = keyof typeof VISIT_LINK_REDEEM_ERRORS;

export class VisitLinkError extends AppError {
  /** For `link_not_yet_valid`: when the link opens (the patient's own visit time, so returnable to the holder). */
  readonly opensAt: Date | undefined;
  constructor(code: VisitLinkErrorCode, status: number, message: string, opensAt?: Date) {
    super(status, code, message, opensAt === undefined ? undefined : { extra: { opensAt: opensAt.toISOString() } });
    this.name = 'VisitLinkError';
    this.opensAt = opensAt;
  }
}

/** Who a link is for: the appointment's patient, or an invited guest (interpreter, family member). */
export const LinkAudience = { patient: 'patient', guest: 'guest' } as const;
export type LinkAudience = (typeof LinkAudience)[keyof typeof LinkAudience];

export interface CreatedVisitLink {
  readonly id: string;
  /** Shown once; only its hash is stored. */
  readonly token: string;
  readonly validFrom: Date;
  readonly validUntil: Date;
}

export interface RedeemedVisit {
  readonly linkId: string;
  readonly audience: LinkAudience;
  readonly appointmentId: string;
  readonly patientId: string;
  readonly providerId: string;
  readonly endsAt: Date;
}

export interface VisitLinkSummary {
  readonly id: string;
  readonly appointmentId: string;
  readonly createdBy: string;
  readonly createdAt: Date;
  readonly usedAt: Date | null;
  readonly revokedAt: Date | null;
}

export interface VisitLinks {
  /** 404 not_found, 409 appointment_cancelled / appointment_ended. Audited `visit.link.create`. Needs a user actor (created_by). */
  create(appointmentId: string, ctx: ActionContext, audience?: LinkAudience): Promise<CreatedVisitLink>;
  /** Once per link; throws VisitLinkError otherwise. Every attempt audited `visit.link.redeem`. */
  redeem(token: string, ctx: ActionContext): Promise<RedeemedVisit>;
  /** Audited `visit.link.revoke`; revoking a revoked link is a no-op. 404 not_found. */
  revoke(linkId: string, ctx: ActionContext): Promise<void>;
  /** The appointment's links, oldest first (never tokens). */
  listForAppointment(appointmentId: string): Promise<VisitLinkSummary[]>;
}

export interface VisitLinksDeps {
  readonly db: Db;
  readonly audit: AuditLog;
  /** How long before the start the link opens. */
  readonly leadMinutes: number;
  readonly now?: () => Date;
}

export function hashVisitToken(token: string): string {
  return sha256Hex(token);
}

interface LinkState {
  id: string;
  appointment_id: string;
  used_at: Date | null;
  revoked_at: Date | null;
  patient_id: string;
  starts_at: Date;
  ends_at: Date;
  status: string;
}

type Outcome = { ok: true; visit: RedeemedVisit } | { ok: false; code: VisitLinkRedeemFailure; opensAt?: Date };

function classify(s: LinkState, now: Date, leadMs: number): { code: VisitLinkRedeemFailure; opensAt?: Date } {
  if (s.revoked_at !== null) return { code: 'link_revoked' };
  if (s.used_at !== null) return { code: 'link_used' };
  if (s.status === 'cancelled') return { code: 'appointment_cancelled' };
  if (s.status === 'completed' || s.ends_at.getTime() <= now.getTime()) return { code: 'link_expired' };
  const opensAt = new Date(s.starts_at.getTime() - leadMs);
  if (opensAt.getTime() > now.getTime()) return { code: 'link_not_yet_valid', opensAt };
  // The UPDATE lost to nothing we can name (e.g. a concurrent reschedule): safest is "used".
  return { code: 'link_used' };
}

export function createVisitLinks(deps: VisitLinksDeps): VisitLinks {
  const { db, audit } = deps;
  const now = deps.now ?? (() => new Date());
  const leadMs = deps.leadMinutes * 60_000;

  const attempt = async (tx: Sql, token: string, at: Date, ctx: ActionContext): Promise<Outcome> => {
    const base = { ...actorFields(ctx), action: AuditAction.visitLinkRedeem, resourceType: 'visit_link' } as const;
    if (!isToken(token)) {
      await audit.append({ ...base, outcome: AuditOutcome.failure, details: { reason: 'link_invalid', malformed: true } }, tx);
      return { ok: false, code: 'link_invalid' };
    }
    const hash = hashVisitToken(token);
    // The one statement that decides: concurrent redeemers queue on the row lock and re-check
    // `used_at IS NULL` against the winner's committed row, so only one gets a row back.
    const [won] = await tx.query<{ id: string; audience: LinkAudience; appointment_id: string; patient_id: string; provider_id: string; ends_at: Date }>(
      `UPDATE visit_links AS l SET used_at = $2
         FROM appointments AS a
        WHERE l.token_hash = $1 AND a.id = l.appointment_id
          AND l.used_at IS NULL AND l.revoked_at IS NULL
          AND a.status = 'scheduled' AND a.starts_at - make_interval(secs => $3) <= $2 AND a.ends_at > $2
      RETURNING l.id, l.audience, l.appointment_id, a.patient_id, a.provider_id, a.ends_at`,
      [hash, at, leadMs / 1000],
    );
    if (won) {
      await audit.append({ ...base, resourceId: won.id, patientId: won.patient_id, outcome: AuditOutcome.success, details: { appointmentId: won.appointment_id, audience: won.audience } }, tx);
      return {
        ok: true,
        visit: { linkId: won.id, audience: won.audience, appointmentId: won.appointment_id, patientId: won.patient_id, providerId: won.provider_id, endsAt: won.ends_at },
      };
    }
    const [state] = await tx.query<LinkState>(
      `SELECT l.id, l.appointment_id, l.used_at, l.revoked_at, a.patient_id, a.starts_at, a.ends_at, a.status
         FROM visit_links AS l JOIN appointments AS a ON a.id = l.appointment_id
        WHERE l.token_hash = $1`,
      [hash],
    );
    if (!state) {
      await audit.append({ ...base, outcome: AuditOutcome.failure, details: { reason: 'link_invalid' } }, tx);
      return { ok: false, code: 'link_invalid' };
    }
    const failure = classify(state, at, leadMs);
    await audit.append({ ...base, resourceId: state.id, patientId: state.patient_id, outcome: AuditOutcome.failure, details: { reason: failure.code } }, tx);
    return { ok: false, ...failure };
  };

  return {
    async create(appointmentId, ctx, audience = LinkAudience.patient) {
      const createdBy = ctx.actorId;
      if (typeof createdBy !== 'string' || !isUuid(createdBy)) throw new TypeError('creating a visit link needs a user actor (created_by)');
      if (!isUuid(appointmentId)) throw new AppError(404, ErrorCode.notFound, 'appointment not found');
      return db.transaction(async (tx) => {
        // FOR SHARE: a concurrent cancel waits for this link to exist, and then redeem sees the cancel.
        const [a] = await tx.query<{ patient_id: string; starts_at: Date; ends_at: Date; status: string }>(
          'SELECT patient_id, starts_at, ends_at, status FROM appointments WHERE id = $1 FOR SHARE',
          [appointmentId],
        );
        if (!a) throw new AppError(404, ErrorCode.notFound, 'appointment not found');
        if (a.status === 'cancelled') throw new VisitLinkError('appointment_cancelled', 409, 'The appointment was cancelled');
        if (a.status === 'completed' || a.ends_at.getTime() <= now().getTime()) throw new VisitLinkError('appointment_ended', 409, 'The appointment has ended');
        const id = randomUUID();
        const token = newToken();
        await tx.query('INSERT INTO visit_links (id, appointment_id, token_hash, created_by, audience) VALUES ($1, $2, $3, $4, $5)', [id, appointmentId, hashVisitToken(token), createdBy, audience]);
        await audit.append(
          { ...actorFields(ctx), action: AuditAction.visitLinkCreate, resourceType: 'visit_link', resourceId: id, patientId: a.patient_id, outcome: AuditOutcome.success, details: { appointmentId, audience } },
          tx,
        );
        return { id, token, validFrom: new Date(a.starts_at.getTime() - leadMs), validUntil: a.ends_at };
      });
    },

    async redeem(token, ctx) {
      const at = now();
      // The failure's audit record must commit, so the transaction returns the outcome and the
      // error is thrown only after it.
      const outcome = await db.transaction((tx) => attempt(tx, token, at, ctx));
      if (outcome.ok) return outcome.visit;
      const { status, message } = VISIT_LINK_REDEEM_ERRORS[outcome.code];
      throw new VisitLinkError(outcome.code, status, message, outcome.opensAt);
    },

    async revoke(linkId, ctx) {
      if (!isUuid(linkId)) throw new AppError(404, ErrorCode.notFound, 'visit link not found');
      const revokedBy = isUuid(ctx.actorId ?? '') ? ctx.actorId : null;
      await db.transaction(async (tx) => {
        const [row] = await tx.query<{ patient_id: string; appointment_id: string }>(
          `UPDATE visit_links AS l SET revoked_at = now(), revoked_by = $2
             FROM appointments AS a
            WHERE l.id = $1 AND a.id = l.appointment_id AND l.revoked_at IS NULL
          RETURNING a.patient_id, l.appointment_id`,
          [linkId, revokedBy],
        );
        if (!row) {
          const exists = await tx.query('SELECT 1 FROM visit_links WHERE id = $1', [linkId]);
          if (exists.length === 0) throw new AppError(404, ErrorCode.notFound, 'visit link not found');
          return;
        }
        await audit.append(
          { ...actorFields(ctx), action: AuditAction.visitLinkRevoke, resourceType: 'visit_link', resourceId: linkId, patientId: row.patient_id, outcome: AuditOutcome.success, details: { appointmentId: row.appointment_id } },
          tx,
        );
      });
    },

    async listForAppointment(appointmentId) {
      if (!isUuid(appointmentId)) return [];
      const rows = await db.query<{ id: string; appointment_id: string; created_by: string; created_at: Date; used_at: Date | null; revoked_at: Date | null }>(
        'SELECT id, appointment_id, created_by, created_at, used_at, revoked_at FROM visit_links WHERE appointment_id = $1 ORDER BY created_at, id',
        [appointmentId],
      );
      return rows.map((r) => ({ id: r.id, appointmentId: r.appointment_id, createdBy: r.created_by, createdAt: r.created_at, usedAt: r.used_at, revokedAt: r.revoked_at }));
    },
  };
}
