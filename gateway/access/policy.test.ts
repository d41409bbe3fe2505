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

  it('denies by default: every action names its subjects explicitly, and patients get only their session, visit and messaging', () => {
    const forPatients: Record<string, readonly string[]> = {
      [Action.sessionSelf]: ['patient_visit', 'patient_messaging'],
      [Action.appointmentRead]: ['patient_visit'],
      [Action.visitJoin]: ['patient_visit'],
      [Action.deviceManage]: ['patient_messaging'],
      [Action.messageSend]: ['patient_messaging'],
    };
    for (const [action, rules] of Object.entries(RULES)) {
      const subjects = Object.keys(rules);
      expect(subjects.length, action).toBeGreaterThan(0);
      expect(subjects.filter((s) => s.startsWith('patient_')), action).toEqual(forPatients[action] ?? []);
    }
  });

  describe('messaging peers', () => {
    const texter: PatientPrincipal = { kind: 'patient', userId: 'pu-1', patientId: 'pat-1', sessionId: 's4', scope: 'messaging', appointmentId: null };
    const toPatient = { type: 'peer', userId: 'pu-1', peer: { kind: 'patient', patientId: 'pat-1' } } as const;
    const toProvider = (userId = 'prov-2') => ({ type: 'peer', userId, peer: { kind: 'staff', role: 'provider' } }) as const;
    const toScheduler = { type: 'peer', userId: 'sch-1', peer: { kind: 'staff', role: 'scheduler' } } as const;

    it('lets providers message providers without facts, and patients on their care team or under break-glass', () => {
      expect(needsFacts(provider, Action.messageSend, toProvider())).toBe(false);
      expect(decide(provider, Action.messageSend, toProvider()).allow).toBe(true);
      expect(needsFacts(provider, Action.messageSend, toPatient)).toBe(true);
      expect(decide(provider, Action.messageSend, toPatient, { careTeam: true, breakGlassId: null }).allow).toBe(true);
      expect(decide(provider, Action.messageSend, toPatient, { careTeam: false, breakGlassId: 'bg-1' })).toEqual({ allow: true, breakGlassId: 'bg-1' });
      expect(decide(provider, Action.messageSend, toPatient, none)).toEqual({ allow: false, reason: 'relationship' });
      expect(decide(provider, Action.messageSend, toScheduler)).toEqual({ allow: false, reason: 'relationship' });
    });

    it('lets a messaging patient reach only the providers on their care team, never through break-glass', () => {
      expect(needsFacts(texter, Action.messageSend, toProvider())).toBe(true);
      expect(decide(texter, Action.messageSend, toProvider(), { careTeam: true, breakGlassId: null }).allow).toBe(true);
      expect(decide(texter, Action.messageSend, toProvider(), { careTeam: false, breakGlassId: 'bg-1' }).allow).toBe(false);
      expect(decide(texter, Action.messageSend, toScheduler).allow).toBe(false);
      expect(decide(texter, Action.messageSend, { type: 'peer', userId: 'pu-2', peer: { kind: 'patient', patientId: 'pat-2' } }).allow).toBe(false);
      expect(decide(visitor, Action.messageSend, toProvider(), { careTeam: true, breakGlassId: null })).toEqual({ allow: false, reason: 'role' });
      expect(decide(scheduler, Action.messageSend, toProvider())).toEqual({ allow: false, reason: 'role' });
    });

    it('lets anyone who may message reach their own other devices', () => {
      expect(decide(texter, Action.messageSend, toPatient).allow).toBe(true);
      expect(decide(provider, Action.messageSend, toProvider('prov-1')).allow).toBe(true);
    });
  });
});
