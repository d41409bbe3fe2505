/**
 * The minimum-necessary read for sending a reminder (Privacy Rule §164.502(b)): for each patient,
 * only the one address the channel needs, the time zone for quiet hours, and the two names the
 * PHI lint must keep out of the text — never the date of birth or MRN. One query for a whole
 * batch of patients (the data keys are joined in), decrypted with each patient's own key.
 */
import type { PatientFieldCipher } from '../crypto/patient-cipher.ts';
import type { Db } from '../db/types.ts';
import { isUuid } from './context.ts';

export interface ReminderRecipient {
  readonly erased: false;
  /** The phone number (E.164) or email address; null when the patient has none for the channel. */
  readonly address: string | null;
  readonly timeZone: string;
  readonly names: readonly string[];
}

export type RecipientLookup = ReminderRecipient | { readonly erased: true } | null;

interface Row {
  id: string;
  given_name: Buffer | null;
  family_name: Buffer | null;
  address: Buffer | null;
  time_zone: string;
  erased_at: Date | null;
  wrapped_key: Buffer | null;
}

/** At most this many patients per call (a worker's batch is far smaller). */
export const MAX_RECIPIENT_IDS = 1_000;

export function createRecipientReader(deps: { readonly db: Db; readonly cipher: PatientFieldCipher }) {
  const { db, cipher } = deps;
  /** Answers in `ids` order: null for an unknown patient, `{erased: true}` once shredded. */
  return async function recipients(ids: readonly string[], channel: 'sms' | 'email'): Promise<RecipientLookup[]> {
    if (ids.length > MAX_RECIPIENT_IDS) throw new RangeError(`at most ${MAX_RECIPIENT_IDS} patients per call`);
    const wanted = [...new Set(ids.filter(isUuid))];
    // The column name is also the cipher's AAD field name (schema.ts PHI_COLUMNS).
    const column = channel === 'sms' ? 'phone' : 'email';
    const rows =
      wanted.length === 0
        ? []
        : await db.query<Row>(
            `SELECT p.id, p.given_name, p.family_name, p.${column} AS address, p.time_zone, p.erased_at, k.wrapped_key
               FROM patients p LEFT JOIN patient_keys k ON k.patient_id = p.id WHERE p.id = ANY($1::uuid[])`,
            [wanted],
          );
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id): RecipientLookup => {
      const r = byId.get(id);
      if (r === undefined) return null;
      if (r.erased_at !== null) return { erased: true };
      // No data key and not erased: nothing was ever encrypted for this patient, so no address.
      const f = cipher.openFields(r.id, r.wrapped_key, { given_name: r.given_name, family_name: r.family_name, [column]: r.address });
      if (f === null) return { erased: false, address: null, timeZone: r.time_zone, names: [] };
      return { erased: false, address: f[column] ?? null, timeZone: r.time_zone, names: [f['given_name'], f['family_name']].filter((n): n is string => typeof n === 'string') };
    });
  };
}

export type RecipientReader = ReturnType<typeof createRecipientReader>;
