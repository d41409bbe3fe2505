/**
 * Patient demographics input, validated with zod at every edge (HTTP routes reuse these schemas).
 * Messages describe the expectation and never echo the value (it is PHI).
 */
import { z } from 'zod';

const CONTROL_RE = /[\u0000-\u001f\u007f]/;

const personName = z
  .string()
  .trim()
  .min(1, { message: 'required' })
  .max(100, { message: 'at most 100 characters' })
  .refine((s) => !CONTROL_RE.test(s), { message: 'must not contain control characters' });

/** True for a real calendar date written YYYY-MM-DD. */
export function isCalendarDate(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const t = new Date(Date.UTC(y, mo - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d;
}

/** Latest date that is not in the future somewhere on Earth (UTC+14), so "born today" passes in every zone. */
function latestBirthDate(now = Date.now()): string {
  return new Date(now + 14 * 3_600_000).toISOString().slice(0, 10);
}

const birthDate = z
  .string()
  // abort: one clear message for a malformed date, not three.
  .refine(isCalendarDate, { message: 'expected a real calendar date as YYYY-MM-DD', abort: true })
  .refine((s) => s >= '1850-01-01', { message: 'must be 1850-01-01 or later' })
  .refine((s) => s <= latestBirthDate(), { message: 'must not be in the future' });

const phone = z.string().regex(/^\+[1-9]\d{1,14}$/, { message: 'expected an E.164 number, e.g. +15551234567' });

const email = z.string().trim().max(254, { message: 'at most 254 characters' }).pipe(z.email({ message: 'expected an email address' }));

const mrn = z.string().regex(/^[A-Za-z0-9-]{1,64}$/, { message: 'expected 1-64 letters, digits or -' });

const IANA_ZONE_RE = /^(?:UTC|[A-Za-z][A-Za-z_+-]*(?:\/[A-Za-z0-9_+-]+){1,2})$/;

/** True for an IANA time zone name this runtime knows (offsets like +01:00 are refused). */
export function isIanaTimeZone(s: string): boolean {
  if (s.length > 64 || !IANA_ZONE_RE.test(s)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: s });
    return true;
  } catch {
    // RangeError is how Intl says "unknown time zone": that is the answer, not a failure.
    return false;
  }
}

const timeZone = z.string().refine(isIanaTimeZone, { message: 'expected an IANA time zone such as America/New_York' });

/** New patient. Names are required; other fields may be omitted; timeZone defaults to UTC. */
export const PatientInputSchema = z.strictObject({
  givenName: personName,
  familyName: personName,
  birthDate: birthDate.optional(),
  phone: phone.optional(),
  email: email.optional(),
  mrn: mrn.optional(),
  timeZone: timeZone.optional(),
});
export type PatientInput = z.input<typeof PatientInputSchema>;
export type ParsedPatientInput = z.output<typeof PatientInputSchema>;

/** Changes to a patient: any subset of fields; null clears an optional field. At least one field. */
export const PatientPatchSchema = z
  .strictObject({
    givenName: personName.optional(),
    familyName: personName.optional(),
    birthDate: birthDate.nullable().optional(),
    phone: phone.nullable().optional(),
    email: email.nullable().optional(),
    mrn: mrn.nullable().optional(),
    timeZone: timeZone.optional(),
  })
  .refine((p) => Object.values(p).some((v) => v !== undefined), { message: 'expected at least one field to change' });
export type PatientPatch = z.input<typeof PatientPatchSchema>;
export type ParsedPatientPatch = z.output<typeof PatientPatchSchema>;

/** camelCase aliases of the two schemas. */
export const patientInputSchema = PatientInputSchema;
export const patientPatchSchema = PatientPatchSchema;

/** The encrypted fields: input name → column name (also the cipher's field name, bound as AAD). */
export const PHI_COLUMNS = {
  givenName: 'given_name',
  familyName: 'family_name',
  birthDate: 'birth_date',
  phone: 'phone',
  email: 'email',
  mrn: 'mrn',
} as const;
export type PhiField = keyof typeof PHI_COLUMNS;
export const PHI_FIELDS = Object.keys(PHI_COLUMNS) as PhiField[];
