/**
 * The closed vocabularies of the audit chain: every action the product can record, who can act,
 * and how it ended. Features import these instead of writing strings, so an auditor can read the
 * complete list here and the append-time validation rejects anything else. Values are stored and
 * hashed, so an existing value must never change meaning or spelling; add new ones instead.
 */

export const AuditAction = {
  // process lifecycle and operations
  systemStart: 'system.start',
  systemStop: 'system.stop',
  systemDbMigrate: 'system.db.migrate',
  systemConfig: 'system.config',
  backupCreate: 'backup.create',
  backupRestore: 'backup.restore',
  // the audit chain itself
  auditCheckpoint: 'audit.checkpoint',
  auditVerify: 'audit.verify',
  auditExport: 'audit.export',
  // authentication
  authLoginSuccess: 'auth.login.success',
  authLoginFailure: 'auth.login.failure',
  authLockout: 'auth.lockout',
  authLogout: 'auth.logout',
  authMfaEnroll: 'auth.mfa.enroll',
  authMfaVerify: 'auth.mfa.verify',
  authPasswordChange: 'auth.password.change',
  sessionExpireIdle: 'session.expire.idle',
  sessionExpireAbsolute: 'session.expire.absolute',
  sessionRevoke: 'session.revoke',
  sessionRotate: 'session.rotate',
  authMfaRecoveryUse: 'auth.mfa.recovery_use',
  authMfaRecoveryRegenerate: 'auth.mfa.recovery_regenerate',
  authReauth: 'auth.reauth',
  // authorization and emergency access
  accessDenied: 'access.denied',
  breakGlassRequest: 'break_glass.request',
  breakGlassUse: 'break_glass.use',
  breakGlassReview: 'break_glass.review',
  breakGlassEnd: 'break_glass.end',
  // administration
  userCreate: 'user.create',
  userUpdate: 'user.update',
  userDisable: 'user.disable',
  userEnable: 'user.enable',
  userUnlock: 'user.unlock',
  userMfaReset: 'user.mfa.reset',
  roleGrant: 'role.grant',
  roleRevoke: 'role.revoke',
  careTeamCreate: 'care_team.create',
  careTeamUpdate: 'care_team.update',
  careTeamDelete: 'care_team.delete',
  careTeamMemberAdd: 'care_team.member.add',
  careTeamMemberRemove: 'care_team.member.remove',
  clinicCreate: 'clinic.create',
  clinicArchive: 'clinic.archive',
  // patients (PHI access is itself an auditable event under HIPAA 164.312(b))
  patientCreate: 'patient.create',
  patientUpdate: 'patient.update',
  patientView: 'patient.view',
  patientCryptoShred: 'patient.crypto_shred',
  patientKeyRotate: 'patient.key_rotate',
  masterKeyRotate: 'system.master_key.rotate',
  enrollmentCreate: 'enrollment.create',
  enrollmentRedeem: 'enrollment.redeem',
  enrollmentRevoke: 'enrollment.revoke',
  // devices and end-to-end encryption keys
  deviceAdd: 'device.add',
  deviceRemove: 'device.remove',
  keysUpload: 'keys.upload',
  // messaging (metadata only; the server never sees plaintext)
  messageSend: 'message.send',
  messageDeliver: 'message.deliver',
  messageAck: 'message.ack',
  messagePurge: 'message.purge',
  // appointments and video visits
  appointmentCreate: 'appointment.create',
  appointmentUpdate: 'appointment.update',
  appointmentCancel: 'appointment.cancel',
  visitLinkCreate: 'visit.link.create',
  visitLinkRedeem: 'visit.link.redeem',
  visitLinkRevoke: 'visit.link.revoke',
  visitJoin: 'visit.join',
  visitLeave: 'visit.leave',
  visitAdmit: 'visit.admit',
  visitDeny: 'visit.deny',
  visitRemove: 'visit.remove',
  visitReturnToLobby: 'visit.return_to_lobby',
  /** A signaling request refused for a security reason (consuming before admission, another room's media). */
  visitSignalRefused: 'visit.signal_refused',
  visitRoomOpen: 'visit.room.open',
  visitRoomClose: 'visit.room.close',
  // consent and reminders
  consentRecord: 'consent.record',
  consentRevoke: 'consent.revoke',
  templateSave: 'template.save',
  campaignCreate: 'campaign.create',
  campaignPause: 'campaign.pause',
  campaignResume: 'campaign.resume',
  campaignCancel: 'campaign.cancel',
  /** Every delivery reached a final state (by the reminder workers, or on resume when none was left). */
  campaignComplete: 'campaign.complete',
  /** A completed campaign running again because failed deliveries were replayed. */
  campaignReopen: 'campaign.reopen',
  reminderSent: 'reminder.sent',
  reminderSkipped: 'reminder.skipped',
  reminderFailed: 'reminder.failed',
  reminderDelivered: 'reminder.delivered',
  reminderDeadLetter: 'reminder.dead_letter',
  reminderReplay: 'reminder.replay',
  /** An inbound webhook (Twilio SMS or status callback) refused: missing or wrong signature. */
  webhookRefused: 'webhook.refused',
} as const;
export type AuditAction = (typeof AuditAction)[keyof typeof AuditAction];

export const AUDIT_ACTIONS: ReadonlySet<string> = new Set(Object.values(AuditAction));

export function isAuditAction(v: string): v is AuditAction {
  return AUDIT_ACTIONS.has(v);
}

export const AuditOutcome = {
  success: 'success',
  failure: 'failure',
  /** Refused by policy (authorization, consent, lockout), as opposed to an error. */
  denied: 'denied',
} as const;
export type AuditOutcome = (typeof AuditOutcome)[keyof typeof AuditOutcome];

export const ActorType = {
  user: 'user',
  device: 'device',
  /** A server process or operator tool; actor id names it (`gateway`, `cli`, `reminders`). */
  system: 'system',
  patient: 'patient',
  /** An invited visit guest (interpreter, family member); actor id = the guest link's id. */
  guest: 'guest',
  /** Not yet authenticated (failed login, redeeming a visit link); carries no actor id. */
  anonymous: 'anonymous',
} as const;
export type ActorType = (typeof ActorType)[keyof typeof ActorType];
