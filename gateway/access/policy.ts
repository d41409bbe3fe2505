/**
 * The access policy: the one place that answers "may principal P do action A on resource R".
 * Deny by default. A decision depends only on the principal's role (or patient scope), the
 * resource, and two relationship facts the caller loads (is the provider on the patient's care
 * team; does the provider hold an active break-glass grant for the patient). Pure and
 * synchronous, so the whole rule table is unit-testable and reviewable at a glance.
 *
 * Minimum necessary (45 CFR 164.502(b)) is expressed as separate actions for separate views:
 * schedulers read a patient's contact view (name, channels, time zone), never the clinical view
 * (date of birth, MRN) and never message metadata; auditors read the audit log and nothing else.
 */
import { STAFF_ROLES, type Principal, type StaffRole } from '../../core/identity/principal.ts';

export const Action = {
  /** Own session: time left, extend, logout. */
  sessionSelf: 'session.self',
  userManage: 'user.manage',
  sessionManage: 'session.manage',
  careTeamManage: 'care_team.manage',
  /** Clinics (sites): add and archive. */
  clinicManage: 'clinic.manage',
  /** List clinics (to book at one, or aim a campaign at one): names are not PHI. */
  clinicList: 'clinic.list',
  patientCreate: 'patient.create',
  patientList: 'patient.list',
  /** Contact view: names, phone, email, time zone. */
  patientReadContact: 'patient.read_contact',
  /** Clinical view: everything in the record, including date of birth and MRN. */
  patientReadClinical: 'patient.read_clinical',
  patientUpdate: 'patient.update',
  enrollmentCreate: 'enrollment.create',
  appointmentCreate: 'appointment.create',
  appointmentRead: 'appointment.read',
  appointmentList: 'appointment.list',
  appointmentCancel: 'appointment.cancel',
  appointmentUpdate: 'appointment.update',
  visitLinkManage: 'visit_link.manage',
  /** Take part in an appointment's video visit: its patient (visit session) or a provider who may see the appointment. */
  visitJoin: 'visit.join',
  breakGlassRequest: 'break_glass.request',
  breakGlassReview: 'break_glass.review',
  auditRead: 'audit.read',
  /** Who messaged whom and when (issue 4). Never schedulers. */
  messageMetadataRead: 'message.metadata_read',
  /** A patient's communication consent per channel and purpose: current state and history. */
  consentRead: 'consent.read',
  /** Record a consent change (granted or revoked) with how and on what evidence. */
  consentRecord: 'consent.record',
  /** Reminder templates: save (PHI-linted), list, preview. */
  templateManage: 'template.manage',
  /** Reminder campaigns: create, watch, pause, resume, cancel, replay dead letters. */
  campaignManage: 'campaign.manage',
  /** Own messaging devices and their public keys: register, upload, replenish, remove, list. */
  deviceManage: 'device.manage',
  /** Reach a peer for end-to-end-encrypted messaging: fetch their key bundles, send to them. */
  messageSend: 'message.send',
} as const;
export type Action = (typeof Action)[keyof typeof Action];

export type Resource =
  | { readonly type: 'system' }
  | { readonly type: 'user'; readonly userId: string }
  | { readonly type: 'patient'; readonly patientId: string }
  | { readonly type: 'appointment'; readonly appointmentId: string; readonly patientId: string; readonly providerId: string }
  /** A messaging peer: the account on the other end, as the directory knows it. */
  | { readonly type: 'peer'; readonly userId: string; readonly peer: Peer };

/** What the policy needs to know about a messaging peer. */
export type Peer = { readonly kind: 'staff'; readonly role: StaffRole } | { readonly kind: 'patient'; readonly patientId: string };

/** The columns of a `users` row that make it a peer. */
export interface AccountRow {
  readonly kind: string | null;
  readonly role: string | null;
  readonly patient_id: string | null;
  readonly status: string | null;
}

const STAFF_ROLE_SET: ReadonlySet<string> = new Set(STAFF_ROLES);

/** The peer an account is, or null when it cannot be one (unknown, disabled, malformed). */
export function accountPeer(u: AccountRow): Peer | null {
  if (u.status !== 'active') return null;
  if (u.kind === 'patient' && u.patient_id !== null) return { kind: 'patient', patientId: u.patient_id };
  if (u.kind === 'staff' && u.role !== null && STAFF_ROLE_SET.has(u.role)) return { kind: 'staff', role: u.role as StaffRole };
  return null;
}

/** Relationship facts, loaded by the caller only when a rule needs them. */
export interface Facts {
  readonly careTeam: boolean;
  /** Id of the provider's active break-glass grant for this patient, if any. */
  readonly breakGlassId: string | null;
}

/**
 * How a role may perform an action:
 * - `any`: on any resource of the action;
 * - `careTeam`: a provider, for patients on their care team — or under an active break-glass
 *   grant, in which case the decision carries the grant so every audit record is flagged;
 * - `ownAppointment`: a provider, for appointments they are the provider of, else as `careTeam`;
 * - `ownVisit`: a visit-scoped patient session, for its one appointment;
 * - `messagingPeer`: providers message providers, and patients on their care team (or under
 *   break-glass); a messaging patient messages the providers on their care team. Nobody else
 *   is a messaging peer (schedulers, admins, auditors, privacy officers never see messages).
 */
export type Rule = 'any' | 'careTeam' | 'ownAppointment' | 'ownVisit' | 'messagingPeer';

export type Subject = StaffRole | 'patient_visit' | 'patient_messaging' | 'guest_visit';

export const RULES: { readonly [A in Action]: { readonly [S in Subject]?: Rule } } = {
  [Action.sessionSelf]: { provider: 'any', scheduler: 'any', admin: 'any', auditor: 'any', privacy_officer: 'any', patient_visit: 'any', patient_messaging: 'any', guest_visit: 'any' },
  [Action.userManage]: { admin: 'any' },
  [Action.sessionManage]: { admin: 'any' },
  [Action.careTeamManage]: { admin: 'any' },
  [Action.clinicManage]: { admin: 'any' },
  [Action.clinicList]: { provider: 'any', scheduler: 'any', admin: 'any', auditor: 'any', privacy_officer: 'any' },
  [Action.patientCreate]: { scheduler: 'any', provider: 'any' },
  [Action.patientList]: { scheduler: 'any', provider: 'any' },
  [Action.patientReadContact]: { scheduler: 'any', provider: 'careTeam' },
  [Action.patientReadClinical]: { provider: 'careTeam' },
  [Action.patientUpdate]: { scheduler: 'any', provider: 'careTeam' },
  [Action.enrollmentCreate]: { scheduler: 'any', provider: 'careTeam' },
  [Action.appointmentCreate]: { scheduler: 'any', provider: 'careTeam' },
  [Action.appointmentRead]: { scheduler: 'any', provider: 'ownAppointment', patient_visit: 'ownVisit' },
  [Action.appointmentList]: { scheduler: 'any', provider: 'any' },
  [Action.appointmentCancel]: { scheduler: 'any', provider: 'ownAppointment' },
  [Action.appointmentUpdate]: { scheduler: 'any', provider: 'ownAppointment' },
  [Action.visitLinkManage]: { scheduler: 'any', provider: 'ownAppointment' },
  [Action.visitJoin]: { provider: 'ownAppointment', patient_visit: 'ownVisit', guest_visit: 'ownVisit' },
  [Action.breakGlassRequest]: { provider: 'any' },
  [Action.breakGlassReview]: { privacy_officer: 'any' },
  [Action.auditRead]: { auditor: 'any', privacy_officer: 'any' },
  [Action.messageMetadataRead]: { provider: 'careTeam' },
  [Action.consentRead]: { scheduler: 'any', provider: 'careTeam', privacy_officer: 'any' },
  [Action.consentRecord]: { scheduler: 'any', provider: 'careTeam' },
  [Action.templateManage]: { scheduler: 'any', admin: 'any' },
  [Action.campaignManage]: { scheduler: 'any' },
  [Action.deviceManage]: { provider: 'any', patient_messaging: 'any' },
  [Action.messageSend]: { provider: 'messagingPeer', patient_messaging: 'messagingPeer' },
};

export const DenyReason = {
  /** The role (or patient scope) may never do this. */
  role: 'role',
  /** The role may, but not on this resource (not on the care team, not their appointment). */
  relationship: 'relationship',
  /** The rule needs a kind of resource this is not. */
  resource: 'resource',
} as const;
export type DenyReason = (typeof DenyReason)[keyof typeof DenyReason];

export type Decision =
  | { readonly allow: true; readonly breakGlassId: string | null }
  | { readonly allow: false; readonly reason: DenyReason };

export function subjectOf(p: Principal): Subject {
  if (p.kind === 'staff') return p.role;
  if (p.kind === 'guest') return 'guest_visit';
  return p.scope === 'visit' ? 'patient_visit' : 'patient_messaging';
}

/** The rule that applies, or undefined when the subject may never perform the action. */
export function ruleFor(p: Principal, action: Action): Rule | undefined {
  return RULES[action][subjectOf(p)];
}

/** True when deciding needs the relationship facts (so callers skip the database otherwise). */
export function needsFacts(p: Principal, action: Action, resource: Resource): boolean {
  const rule = ruleFor(p, action);
  if (rule === 'careTeam') return resource.type === 'patient' || resource.type === 'appointment';
  if (rule === 'ownAppointment') return resource.type === 'appointment' && p.kind === 'staff' && resource.providerId !== p.userId;
  if (rule === 'messagingPeer') return resource.type === 'peer' && (careTeamPair(p, resource.peer) !== null || patientPeerPair(p, resource) !== null);
  return false;
}

/**
 * The (provider, patient) pair whose care-team relationship decides a provider↔patient message,
 * or null when the two are not a provider and a patient.
 */
export function careTeamPair(p: Principal, peer: Peer): { readonly providerId: string; readonly patientId: string } | null {
  if (p.kind === 'staff' && p.role === 'provider' && peer.kind === 'patient') return { providerId: p.userId, patientId: peer.patientId };
  return null;
}

/** The patient-side view of the same pair: the patient principal and a provider peer. */
export function patientPeerPair(p: Principal, resource: Resource): { readonly providerId: string; readonly patientId: string } | null {
  if (p.kind === 'patient' && resource.type === 'peer' && resource.peer.kind === 'staff' && resource.peer.role === 'provider') return { providerId: resource.userId, patientId: p.patientId };
  return null;
}

const ALLOW: Decision = { allow: true, breakGlassId: null };
const deny = (reason: DenyReason): Decision => ({ allow: false, reason });

function viaRelationship(facts: Facts | undefined): Decision {
  if (facts?.careTeam === true) return ALLOW;
  if (facts !== undefined && facts.breakGlassId !== null) return { allow: true, breakGlassId: facts.breakGlassId };
  return deny(DenyReason.relationship);
}

export function decide(p: Principal, action: Action, resource: Resource, facts?: Facts): Decision {
  const rule = ruleFor(p, action);
  switch (rule) {
    case undefined:
      return deny(DenyReason.role);
    case 'any':
      return ALLOW;
    case 'careTeam':
      if (resource.type !== 'patient' && resource.type !== 'appointment') return deny(DenyReason.resource);
      return viaRelationship(facts);
    case 'ownAppointment':
      if (resource.type !== 'appointment') return deny(DenyReason.resource);
      if (p.kind === 'staff' && resource.providerId === p.userId) return ALLOW;
      return viaRelationship(facts);
    case 'ownVisit':
      if (resource.type !== 'appointment' || p.kind === 'staff') return deny(DenyReason.resource);
      // A guest is bound to the appointment alone; a patient also to being its patient.
      if (p.kind === 'guest') return p.appointmentId === resource.appointmentId ? ALLOW : deny(DenyReason.relationship);
      return p.appointmentId === resource.appointmentId && p.patientId === resource.patientId ? ALLOW : deny(DenyReason.relationship);
    case 'messagingPeer':
      if (resource.type !== 'peer') return deny(DenyReason.resource);
      return messagingPeer(p, resource, facts);
  }
}

function messagingPeer(p: Principal, resource: Extract<Resource, { type: 'peer' }>, facts: Facts | undefined): Decision {
  const { peer } = resource;
  if (p.userId === resource.userId) return ALLOW; // own other devices (sync of sent messages)
  if (p.kind === 'staff') {
    if (p.role !== 'provider') return deny(DenyReason.role);
    if (peer.kind === 'staff') return peer.role === 'provider' ? ALLOW : deny(DenyReason.relationship);
    return viaRelationship(facts);
  }
  if (p.kind !== 'patient' || p.scope !== 'messaging') return deny(DenyReason.role);
  // A patient reaches the providers on their care team; never other patients, never break-glass.
  if (peer.kind === 'staff' && peer.role === 'provider') return facts?.careTeam === true ? ALLOW : deny(DenyReason.relationship);
  return deny(DenyReason.relationship);
}
