/**
 * Who is acting. Every authenticated request carries exactly one Principal, built from its
 * session: a staff member with one role, a patient whose session is scoped to what they
 * redeemed (one visit, or messaging from one enrolled device), or an invited visit guest. Roles and scopes are closed
 * vocabularies; the access policy (gateway/access) is the only place that interprets them.
 */

export const StaffRole = {
  provider: 'provider',
  scheduler: 'scheduler',
  admin: 'admin',
  auditor: 'auditor',
  privacyOfficer: 'privacy_officer',
} as const;
export type StaffRole = (typeof StaffRole)[keyof typeof StaffRole];
export const STAFF_ROLES: readonly StaffRole[] = Object.values(StaffRole);

export const PrincipalKind = { staff: 'staff', patient: 'patient', guest: 'guest' } as const;
export type PrincipalKind = (typeof PrincipalKind)[keyof typeof PrincipalKind];

/** What a patient session may reach: one visit (from a visit link) or messaging (from enrollment). */
export const PatientScope = { visit: 'visit', messaging: 'messaging' } as const;
export type PatientScope = (typeof PatientScope)[keyof typeof PatientScope];

export interface StaffPrincipal {
  readonly kind: 'staff';
  readonly userId: string;
  readonly role: StaffRole;
  /** Public session id (not the token): what audit records and admin revoke name. */
  readonly sessionId: string;
}

export interface PatientPrincipal {
  readonly kind: 'patient';
  /** The patient's principal (users.id, kind = patient). */
  readonly userId: string;
  /** The patient record this principal is. */
  readonly patientId: string;
  readonly sessionId: string;
  readonly scope: PatientScope;
  /** For visit-scoped sessions: the one appointment it may join. */
  readonly appointmentId: string | null;
}

/**
 * Someone a provider invited into one video visit (an interpreter, a family member) with a guest
 * link. No account: the link is the identity, so `userId` is the visit link's id — unique, and
 * what the audit records name. A guest may join that one visit and nothing else.
 */
export interface GuestPrincipal {
  readonly kind: 'guest';
  readonly userId: string;
  readonly sessionId: string;
  readonly appointmentId: string;
}

export type Principal = StaffPrincipal | PatientPrincipal | GuestPrincipal;

/** The audit actor type a principal's records carry (values of core/audit's ActorType). */
export function actorTypeOf(p: Principal): 'user' | 'patient' | 'guest' {
  return p.kind === 'staff' ? 'user' : p.kind;
}

/** Why a session ended; recorded in the audit chain and sent to its open WebSockets. */
export const SessionEndReason = {
  logout: 'logout',
  idle: 'idle',
  absolute: 'absolute',
  revoked: 'revoked',
  /** Replaced by a new token on privilege change (break-glass), against fixation. */
  rotated: 'rotated',
  userDisabled: 'user_disabled',
} as const;
export type SessionEndReason = (typeof SessionEndReason)[keyof typeof SessionEndReason];
