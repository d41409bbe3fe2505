// Append-time validation of audit entries: closed vocabularies, opaque ids, PHI-free bounded details.
import { describe, expect, it } from 'vitest';
import { ActorType, AuditAction, AuditOutcome } from './actions.ts';
import { isPhiShapedKey } from './details-guard.ts';
import { InvalidAuditEntryError, parseAuditEntry, type AuditEntryInput } from './entry.ts';

const base: AuditEntryInput = { actorType: ActorType.user, actorId: 'usr_1', action: AuditAction.patientView, outcome: AuditOutcome.success };

function problems(entry: unknown): string {
  try {
    parseAuditEntry(entry as AuditEntryInput);
  } catch (err) {
    if (err instanceof InvalidAuditEntryError) return err.issues.join(' | ');
    throw err;
  }
  return '';
}

describe('audit entry validation', () => {
  it('normalizes a valid entry to the stored field names', () => {
    expect(parseAuditEntry({ ...base, patientId: 'pat_1', ip: '::1', details: { count: 2 } })).toEqual({
      actor_type: 'user', actor_id: 'usr_1', action: 'patient.view', resource_type: null, resource_id: null, patient_id: 'pat_1',
      outcome: 'success', request_id: null, ip: '::1', break_glass: false, details: { count: 2 },
    });
  });

  it('rejects actions, actor types and outcomes outside the closed vocabularies', () => {
    expect(problems({ ...base, action: 'patient.delete' })).toMatch(/action: not in the audit action vocabulary/);
    expect(problems({ ...base, actorType: 'robot' })).toMatch(/actorType: unknown actor type/);
    expect(problems({ ...base, outcome: 'maybe' })).toMatch(/outcome: unknown outcome/);
    expect(problems({ ...base, extra: 1 })).toMatch(/extra/);
  });

  it('requires an actor id except for anonymous actors, which have none', () => {
    expect(problems({ ...base, actorId: undefined })).toMatch(/actorId: required for actor type user/);
    expect(problems({ ...base, actorType: ActorType.anonymous })).toMatch(/anonymous actors carry no id/);
    expect(problems({ ...base, actorType: ActorType.anonymous, actorId: null })).toBe('');
  });

  it('accepts only opaque ids, so a name or an email address cannot pose as one', () => {
    expect(problems({ ...base, patientId: 'Jane Doe' })).toMatch(/patientId: expected an opaque id/);
    expect(problems({ ...base, patientId: 'jane@example.org' })).toMatch(/patientId: expected an opaque id/);
    expect(problems({ ...base, actorId: 'x'.repeat(129) })).toMatch(/actorId/);
    expect(problems({ ...base, ip: 'localhost' })).toMatch(/ip: expected an IPv4 or IPv6 address/);
    expect(problems({ ...base, resourceId: 'r1' })).toMatch(/resourceType: required with resourceId/);
  });

  it('rejects PHI-shaped detail keys at any depth, without echoing the value', () => {
    for (const key of ['name', 'patientName', 'first_name', 'DOB', 'dateOfBirth', 'email', 'homePhone', 'address', 'ssn', 'mrn', 'notes', 'password']) {
      expect(isPhiShapedKey(key), key).toBe(true);
    }
    for (const key of ['count', 'reasonCode', 'templateHash', 'consentId', 'providerMessageId', 'channel']) expect(isPhiShapedKey(key), key).toBe(false);
    const msg = problems({ ...base, details: { ok: 1, deep: { list: [{ email: 'jane@example.org' }] } } });
    expect(msg).toMatch(/details\.deep\.list\[0\]\.email: key looks like PHI/);
    expect(msg).not.toContain('jane');
  });

  it('bounds details in size, depth and shape, and refuses values jsonb would not round-trip', () => {
    expect(problems({ ...base, details: { a: 'x'.repeat(400), b: Array.from({ length: 99 }, () => 'y'.repeat(40)) } })).toMatch(/bytes, at most 4096/);
    expect(problems({ ...base, details: { a: 'x'.repeat(513) } })).toMatch(/longer than 512/);
    expect(problems({ ...base, details: { a: { b: { c: { d: { e: 1 } } } } } })).toMatch(/nested deeper than 4/);
    expect(problems({ ...base, details: { at: new Date() } })).toMatch(/only strings, finite numbers/);
    expect(problems({ ...base, details: { n: Number.NaN } })).toMatch(/finite/);
    expect(problems({ ...base, details: { s: 'a\u0000b' } })).toMatch(/NUL/);
    expect(problems({ ...base, details: { s: '\ud800' } })).toMatch(/unpaired surrogate/);
    expect(problems({ ...base, details: { u: undefined } })).toMatch(/undefined is not JSON/);
    expect(problems({ ...base, details: { 'bad key': 1 } })).toMatch(/key must match/);
    expect(problems({ ...base, details: ['not', 'an', 'object'] })).toMatch(/expected a plain JSON object/);
  });
});
