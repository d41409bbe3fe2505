// The demographics schemas: what a route accepts and refuses, without echoing values.
import { describe, expect, it } from 'vitest';
import { isIanaTimeZone, PatientInputSchema, PatientPatchSchema } from './schema.ts';

const ok = { givenName: 'Ada', familyName: 'Lovelace', birthDate: '1915-12-10', phone: '+441234567890', email: 'ada@example.org', mrn: 'MRN-1815', timeZone: 'Europe/London' };
const errorsFor = (v: unknown) => {
  const r = PatientInputSchema.safeParse(v);
  return r.success ? [] : r.error.issues.map((i) => i.path.join('.'));
};

describe('PatientInputSchema', () => {
  it('accepts a complete record and one with names only', () => {
    expect(PatientInputSchema.safeParse({ ...ok, birthDate: '1990-02-28' }).success).toBe(true);
    expect(PatientInputSchema.safeParse({ givenName: 'A', familyName: 'B' }).success).toBe(true);
  });

  it.each([
    ['givenName', ''],
    ['familyName', 'x'.repeat(101)],
    ['givenName', 'tab\tname'],
    ['birthDate', '2023-02-29'],
    ['birthDate', '1990-1-01'],
    ['birthDate', '2999-01-01'],
    ['phone', '5551234567'],
    ['phone', '+0123'],
    ['email', 'not-an-email'],
    ['mrn', 'MRN 1'],
    ['mrn', 'x'.repeat(65)],
    ['timeZone', 'Mars/Olympus_Mons'],
    ['timeZone', '+01:00'],
  ])('refuses %s = %j', (field, value) => {
    expect(errorsFor({ ...ok, [field]: value })).toEqual([field]);
  });

  it('refuses unknown fields and never puts a value in a message', () => {
    const r = PatientInputSchema.safeParse({ ...ok, ssn: '123-45-6789', email: 'secret-value' });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues.map((i) => i.message))).not.toContain('secret-value');
  });

  it('knows IANA zones and refuses offsets and junk', () => {
    expect(['UTC', 'America/New_York', 'America/Argentina/Buenos_Aires'].map(isIanaTimeZone)).toEqual([true, true, true]);
    expect(['+01:00', 'Etc/Nowhere', '', 'America/New York'].map(isIanaTimeZone)).toEqual([false, false, false, false]);
  });
});

describe('PatientPatchSchema', () => {
  it('accepts a subset, null to clear optional fields, and refuses an empty patch or a null name', () => {
    expect(PatientPatchSchema.safeParse({ phone: null }).success).toBe(true);
    expect(PatientPatchSchema.safeParse({}).success).toBe(false);
    expect(PatientPatchSchema.safeParse({ givenName: null }).success).toBe(false);
  });
});
