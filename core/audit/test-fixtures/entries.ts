/** Test fixture: varied, valid audit entries (users, devices, patients, anonymous; all outcomes). */
import { ActorType, AuditAction, AuditOutcome } from '../actions.ts';
import type { AuditEntryInput } from '../entry.ts';

export function sampleEntry(i: number): AuditEntryInput {
  switch (i % 4) {
    case 0:
      return { actorType: ActorType.user, actorId: `usr_${i % 3}`, action: AuditAction.patientView, outcome: AuditOutcome.success, resourceType: 'patient', resourceId: `pat_${i % 5}`, patientId: `pat_${i % 5}`, requestId: `req-${i}`, ip: '10.0.0.7', details: { fields: 3 } };
    case 1:
      return { actorType: ActorType.anonymous, action: AuditAction.authLoginFailure, outcome: AuditOutcome.failure, ip: '2001:db8::1', details: { reason: 'bad_password', attempt: i } };
    case 2:
      return { actorType: ActorType.device, actorId: `dev_${i % 2}`, action: AuditAction.messageSend, outcome: AuditOutcome.success, resourceType: 'message', resourceId: `msg_${i}`, patientId: 'pat_1', details: { recipients: 2, bytes: 1234 } };
    default:
      return { actorType: ActorType.user, actorId: 'usr_9', action: AuditAction.breakGlassUse, outcome: AuditOutcome.denied, patientId: `pat_${i % 5}`, breakGlass: true, details: { reasonCode: 'emergency', nested: { list: [1, 'two', null, true] } } };
  }
}
