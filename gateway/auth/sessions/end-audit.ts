/**
 * The audit side of ending a session. The end claim (redis-layout END_LUA) leaves an end record
 * in the `audit-pending` hash together with a lease; whoever holds the lease appends the audit
 * entry and then deletes the record. If the append fails the record stays and the sweeper retries
 * it, so a database hiccup delays an audit record but never loses it, and a session is never kept
 * alive for the sake of its audit record.
 */
import { ActorType, AuditAction, InvalidAuditEntryError, parseAuditEntry, type AuditDetails, type AuditEntryInput } from '../../../core/audit/index.ts';
import { SessionEndReason } from '../../../core/identity/principal.ts';
import type { AuditCtx } from './session-types.ts';

/** What the claim stores: enough to write the audit entry later, in any process. */
export interface EndRecord {
  readonly sessionId: string;
  readonly reason: SessionEndReason;
  readonly userId: string;
  readonly kind: string;
  readonly patientId: string | null;
  readonly endedAt: number;
  readonly ctx: StoredCtx;
}

export interface StoredCtx extends AuditCtx {
  readonly details?: AuditDetails;
}

/** Timeouts are ended by the gateway itself. */
export const SYSTEM_CTX: AuditCtx = { actorType: ActorType.system, actorId: 'gateway' };

const ACTIONS: Record<SessionEndReason, AuditAction> = {
  idle: AuditAction.sessionExpireIdle,
  absolute: AuditAction.sessionExpireAbsolute,
  logout: AuditAction.authLogout,
  revoked: AuditAction.sessionRevoke,
  user_disabled: AuditAction.sessionRevoke,
  rotated: AuditAction.sessionRotate,
};

const REASONS: ReadonlySet<string> = new Set(Object.values(SessionEndReason));

export function isEndReason(v: unknown): v is SessionEndReason {
  return typeof v === 'string' && REASONS.has(v);
}

export function auditEntryFor(rec: EndRecord, delayed: boolean): AuditEntryInput {
  const { ctx } = rec;
  const details: Record<string, AuditDetails[string]> = { ...ctx.details };
  if (ACTIONS[rec.reason] === AuditAction.sessionRevoke) details['reason'] = rec.reason;
  // A retried record is appended later than it happened; keep the real time for the reader.
  if (delayed) Object.assign(details, { delayed: true, endedAt: new Date(rec.endedAt).toISOString() });
  return {
    actorType: ctx.actorType,
    actorId: ctx.actorId ?? null,
    requestId: ctx.requestId ?? null,
    ip: ctx.ip ?? null,
    ...(ctx.breakGlass === undefined ? {} : { breakGlass: ctx.breakGlass }),
    action: ACTIONS[rec.reason],
    resourceType: 'session',
    resourceId: rec.sessionId,
    patientId: rec.kind === 'patient' ? rec.patientId : null,
    outcome: 'success',
    ...(Object.keys(details).length === 0 ? {} : { details }),
  };
}

/**
 * The context to store with a claim, checked now: a caller bug (say, a malformed request id) must
 * not leave an end record that can never be appended. Returns the problems so the caller can log them.
 */
export function checkedCtx(ctx: StoredCtx): { ctx: StoredCtx; problems: readonly string[] } {
  const probe = (c: StoredCtx): readonly string[] => {
    try {
      parseAuditEntry(auditEntryFor({ sessionId: 'probe', reason: 'logout', userId: 'probe', kind: 'staff', patientId: null, endedAt: 0, ctx: c }, false));
      return [];
    } catch (err) {
      if (err instanceof InvalidAuditEntryError) return err.issues;
      throw err;
    }
  };
  const problems = probe(ctx);
  if (problems.length === 0) return { ctx, problems };
  const fallback: StoredCtx = { actorType: ctx.actorType, actorId: ctx.actorType === ActorType.anonymous ? null : (ctx.actorId ?? null) };
  return { ctx: probe(fallback).length === 0 ? fallback : SYSTEM_CTX, problems };
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

/** Parse a stored end record; undefined if it is not one (logged by the caller, then dropped). */
export function parseEndRecord(json: string): EndRecord | undefined {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const r = v as Record<string, unknown>;
  const c = r['ctx'];
  if (typeof c !== 'object' || c === null || !isEndReason(r['reason'])) return undefined;
  const ctxIn = c as Record<string, unknown>;
  const actorType = ctxIn['actorType'];
  const sessionId = str(r['sessionId']);
  const userId = str(r['userId']);
  if (typeof actorType !== 'string' || !Object.values(ActorType).includes(actorType as ActorType) || sessionId === null || userId === null) return undefined;
  const details = ctxIn['details'];
  const ctx: StoredCtx = {
    actorType: actorType as ActorType,
    actorId: str(ctxIn['actorId']),
    requestId: str(ctxIn['requestId']),
    ip: str(ctxIn['ip']),
    ...(typeof ctxIn['breakGlass'] === 'boolean' ? { breakGlass: ctxIn['breakGlass'] } : {}),
    ...(typeof details === 'object' && details !== null && !Array.isArray(details) ? { details: details as AuditDetails } : {}),
  };
  return { sessionId, reason: r['reason'], userId, kind: String(r['kind']), patientId: str(r['patientId']), endedAt: Number(r['endedAt']), ctx };
}
