/**
 * The pure policy: relationship rules and what a decision carries. (Every route × role is covered
 * through the real app in route-matrix.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import type { PatientPrincipal, StaffPrincipal } from '../../core/identity/principal.ts';
import { Action, decide, needsFacts, RULES } from './policy.ts';

const provider: StaffPrincipal = { kind: 'staff', userId: 'prov-1', role: 'provider', sessionId: 's1' };
const scheduler: StaffPrincipal = { kind: 'staff', userId: 'sch-1', role: 'scheduler', sessionId: 's2' };
const visitor: PatientPrincipal = { kind: 'patient', userId: 'pu-1', patientId: 'pat-1', sessionId: 's3', scope: 'visit', appointmentId: 'appt-1' };
const patient = { type: 'patient', patientId: 'pat-1' } as const;
const appointment = (providerId: string, appointmentId = 'appt-1', patientId = 'pat-1') => ({ type: 'appointment', appointmentId, patientId, providerId }) as const;
const none = { careTeam: false, breakGlassId: null };

describe('access policy', () => {
  it('allows a provider on the care team, and under break-glass only with the grant carried along', () => {
    expect(decide(provider, Action.patientReadClinical, patient, { careTeam: true, breakGlassId: null })).toEqual({ allow: true, breakGlassId: null });
    expect(decide(provider, Action.patientReadClinical, patient, { careTeam: false, breakGlassId: 'bg-1' })).toEqual({ allow: true, breakGlassId: 'bg-1' });
    expect(decide(provider, Action.patientReadClinical, patient, none)).toEqual({ allow: false, reason: 'relationship' });
    expect(decide(provider, Action.patientReadClinical, patient)).toEqual({ allow: false, reason: 'relationship' });
  });

  it('never gives schedulers the clinical view or message metadata, whatever the facts', () => {
    const facts = { careTeam: true, breakGlassId: 'bg-1' };
    expect(decide(scheduler, Action.patientReadClinical, patient, facts)).toEqual({ allow: false, reason: 'role' });
    expect(decide(scheduler, Action.messageMetadataRead, patient, facts)).toEqual({ allow: false, reason: 'role' });
    expect(decide(scheduler, Action.patientReadContact, patient)).toEqual({ allow: true, breakGlassId: null });
  });

  it('lets a provider act on their own appointment without loading facts', () => {
    expect(needsFacts(provider, Action.appointmentCancel, appointment('prov-1'))).toBe(false);
    expect(decide(provider, Action.appointmentCancel, appointment('prov-1'))).toEqual({ allow: true, breakGlassId: null });
    expect(needsFacts(provider, Action.appointmentCancel, appointment('prov-2'))).toBe(true);
    expect(decide(provider, Action.appointmentCancel, appointment('prov-2'), none).allow).toBe(false);
  });

  it('confines a visit session to its own appointment of its own patient', () => {
    expect(decide(visitor, Action.appointmentRead, appointment('prov-1')).allow).toBe(true);
    expect(decide(visitor, Action.appointmentRead, appointment('prov-1', 'appt-2')).allow).toBe(false);
    expect(decide(visitor, Action.appointmentRead, appointment('prov-1', 'appt-1', 'pat-2')).allow).toBe(false);
    expect(decide(visitor, Action.patientReadContact, patient)).toEqual({ allow: false, reason: 'role' });
  });

  it('denies by default: every action names its subjects explicitly, and patients get only their session', () => {
    for (const [action, rules] of Object.entries(RULES)) {
      const subjects = Object.keys(rules);
      expect(subjects.length, action).toBeGreaterThan(0);
      if (action !== Action.sessionSelf && action !== Action.appointmentRead) {
        expect(subjects.filter((s) => s.startsWith('patient_')), action).toEqual([]);
      }
    }
  });
});
