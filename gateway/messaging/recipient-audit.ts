/**
 * The audit record of a recipient-side step — envelopes delivered to, or acknowledged by, one of
 * the principal's devices — over either channel. Metadata only: the device and a count.
 */
import type { AuditAction, AuditEntryInput } from '../../core/audit/index.ts';
import type { AuditActor } from '../../core/audit/actor.ts';
import type { Principal } from '../../core/identity/principal.ts';

export type RecipientStep = typeof AuditAction.messageDeliver | typeof AuditAction.messageAck;

export function recipientEntry(actor: AuditActor, p: Principal, action: RecipientStep, deviceId: number, count: number, channel: 'websocket' | 'http'): AuditEntryInput {
  return {
    ...actor,
    action,
    resourceType: 'user',
    resourceId: p.userId,
    patientId: p.kind === 'patient' ? p.patientId : null,
    outcome: 'success',
    details: { deviceId, count, channel },
  };
}
