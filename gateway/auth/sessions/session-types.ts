/**
 * The session store's public shapes (re-exported by session-store.ts) and the conversion between
 * a Session and its Redis hash. Kept apart so the hub and tests can import types without the
 * store's machinery.
 */
import type { AuditActor } from '../../../core/audit/index.ts';
import type { PatientScope, Principal, SessionEndReason, StaffRole } from '../../../core/identity/principal.ts';

export interface NewSession {
  readonly kind: 'staff' | 'patient' | 'guest';
  readonly userId: string;
  readonly role: StaffRole | null;
  readonly patientId: string | null;
  readonly scope: PatientScope | null;
  readonly appointmentId: string | null;
  /** ms epoch; caps the configured lifetime (a visit session ends with its visit). */
  readonly absoluteExpiresAt?: number;
}

export interface Session {
  /** Public id, 128-bit hex: what audit records and admins name. Never the token. */
  readonly id: string;
  readonly principal: Principal;
  readonly createdAt: number;
  readonly lastSeenAt: number;
  readonly idleExpiresAt: number;
  readonly absoluteExpiresAt: number;
  readonly csrfToken: string;
}

/** Who ended a session, for its audit record (core/audit's AuditActor: `auditContext(c)` passes as is). */
export type AuditCtx = AuditActor;

export interface SessionEnded {
  readonly sessionId: string;
  readonly userId: string;
  readonly reason: SessionEndReason;
}

export interface TimeLeft {
  readonly idleMs: number;
  readonly absoluteMs: number;
  /** When the session ends if nothing else happens (ms epoch). */
  readonly expiresAt: number;
}

/** Hash fields as stored in Redis (all strings; '' stands for null). */
export type SessionHash = Record<string, string>;

export function toHash(s: Session, tokenHash: string, idleMs: number): SessionHash {
  const p = s.principal;
  return {
    th: tokenHash,
    kind: p.kind,
    userId: p.userId,
    role: p.kind === 'staff' ? p.role : '',
    patientId: p.kind === 'patient' ? p.patientId : '',
    scope: p.kind === 'patient' ? p.scope : '',
    appointmentId: p.kind === 'staff' ? '' : (p.appointmentId ?? ''),
    createdAt: String(s.createdAt),
    lastSeenAt: String(s.lastSeenAt),
    absoluteExpiresAt: String(s.absoluteExpiresAt),
    idleMs: String(idleMs),
    csrf: s.csrfToken,
  };
}

/** Rebuild a Session from a flat HGETALL reply; undefined if the hash is incomplete. */
export function fromHash(id: string, flat: readonly unknown[]): Session | undefined {
  const h: SessionHash = {};
  for (let i = 0; i + 1 < flat.length; i += 2) h[String(flat[i])] = String(flat[i + 1]);
  const { kind, userId, role, patientId, scope, appointmentId, csrf } = h;
  const createdAt = Number(h['createdAt']);
  const lastSeenAt = Number(h['lastSeenAt']);
  const absoluteExpiresAt = Number(h['absoluteExpiresAt']);
  const idleMs = Number(h['idleMs']);
  if (userId === undefined || csrf === undefined || ![createdAt, lastSeenAt, absoluteExpiresAt, idleMs].every(Number.isFinite)) return undefined;
  let principal: Principal;
  if (kind === 'staff' && role) {
    principal = { kind: 'staff', userId, role: role as StaffRole, sessionId: id };
  } else if (kind === 'patient' && patientId && scope) {
    principal = { kind: 'patient', userId, patientId, sessionId: id, scope: scope as PatientScope, appointmentId: appointmentId || null };
  } else if (kind === 'guest' && appointmentId) {
    principal = { kind: 'guest', userId, sessionId: id, appointmentId };
  } else {
    return undefined;
  }
  return { id, principal, createdAt, lastSeenAt, idleExpiresAt: lastSeenAt + idleMs, absoluteExpiresAt, csrfToken: csrf };
}
