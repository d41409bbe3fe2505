/** core/patients' public API: the demographics schemas (reused by HTTP routes), the store, and crypto-shredding. */
export {
  isCalendarDate,
  isIanaTimeZone,
  patientInputSchema,
  PatientInputSchema,
  patientPatchSchema,
  PatientPatchSchema,
  PHI_COLUMNS,
  PHI_FIELDS,
  type ParsedPatientInput,
  type ParsedPatientPatch,
  type PatientInput,
  type PatientPatch,
  type PhiField,
} from './schema.ts';
export { isUuid, type PatientActionContext } from './context.ts';
export { erasePatient, type EraseResult } from './erase.ts';
export {
  createPatientStore,
  MAX_LIST_IDS,
  type ErasedPatient,
  type Patient,
  type PatientRecord,
  type PatientStore,
  type UpdatableField,
} from './store.ts';
export { createRecipientReader, MAX_RECIPIENT_IDS, type RecipientLookup, type RecipientReader, type ReminderRecipient } from './recipients.ts';
