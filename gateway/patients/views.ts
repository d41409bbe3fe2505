/**
 * The two views of a patient record (minimum necessary): the clinical view for the patient's
 * providers and the contact view for scheduling. Built by picking fields, so a field added to the
 * record later is not exposed until someone decides which view it belongs to.
 */
import { z } from '@hono/zod-openapi';
import type { Patient } from '../../core/patients/index.ts';

export const ContactViewSchema = z
  .object({
    id: z.string(),
    view: z.literal('contact'),
    givenName: z.string(),
    familyName: z.string(),
    phone: z.string().nullable(),
    email: z.string().nullable(),
    timeZone: z.string(),
  })
  .openapi('PatientContactView');

export const ClinicalViewSchema = ContactViewSchema.extend({
  view: z.literal('clinical'),
  birthDate: z.string().nullable(),
  mrn: z.string().nullable(),
}).openapi('PatientClinicalView');

export function contactView(p: Patient): z.infer<typeof ContactViewSchema> {
  return { id: p.id, view: 'contact', givenName: p.givenName, familyName: p.familyName, phone: p.phone ?? null, email: p.email ?? null, timeZone: p.timeZone };
}

export function clinicalView(p: Patient): z.infer<typeof ClinicalViewSchema> {
  return { ...contactView(p), view: 'clinical', birthDate: p.birthDate ?? null, mrn: p.mrn ?? null };
}
