/**
 * A blind index of patient contacts: HMAC-SHA256 of the normalized phone number or e-mail address
 * under a key derived (HKDF) from the master key. An inbound SMS ("STOP" from +1555…) is matched
 * to its patient(s) by recomputing the HMAC, without decrypting every patient record and without
 * storing anything a dictionary attack on the database alone could reverse (a plain hash of a
 * phone number could be, in minutes).
 *
 * Rows carry the id of the master key they were computed under. Lookups try every loaded key, so
 * a rotation keeps working; re-indexing under the new key needs the plaintext (call indexContact
 * again for each patient) before the old key is dropped.
 */
import { createHmac } from 'node:crypto';
import type { MasterKeyring } from '../crypto/keyring.ts';
import type { Db, Sql } from '../db/types.ts';
import { isUuid } from '../ids.ts';
import { deriveKeys, KeyPurpose, type DerivedKey } from './derived-keys.ts';

export const ContactKind = { phone: 'phone', email: 'email' } as const;
export type ContactKind = (typeof ContactKind)[keyof typeof ContactKind];

/**
 * E.164 form (`+15551234567`) of a phone number as carriers and Twilio write it, or null when it
 * is not one. Spaces, dots, dashes and parentheses are dropped and a `00` prefix becomes `+`;
 * without a country code the number is ambiguous and refused rather than guessed.
 */
export function normalizePhone(value: string): string | null {
  let s = value.trim().replace(/[\s().-]/g, '');
  if (s.startsWith('00')) s = `+${s.slice(2)}`;
  return /^\+[1-9]\d{1,14}$/.test(s) ? s : null;
}

/** Lower-cased, trimmed address, or null when it is not shaped like one. */
export function normalizeEmail(value: string): string | null {
  const s = value.trim().toLowerCase();
  return s.length <= 254 && /^[^\s@]+@[^\s@]+$/.test(s) ? s : null;
}

export function normalizeContact(kind: ContactKind, value: string): string | null {
  return kind === ContactKind.phone ? normalizePhone(value) : normalizeEmail(value);
}

export interface ContactIndex {
  /**
   * Index (or re-index) one contact of a patient; `null` or an unnormalizable value removes the
   * entry. Pass the transaction that creates or updates the patient so both commit together.
   */
  indexContact(patientId: string, kind: ContactKind, value: string | null, tx?: Sql): Promise<void>;
  /** Patients whose contact of this kind is `value` (family members may share one); [] when none or invalid. */
  findByContact(kind: ContactKind, value: string): Promise<string[]>;
  /** Drop every entry of a patient (crypto-shredding: the HMAC still singles out a phone number). */
  removePatient(patientId: string, tx?: Sql): Promise<void>;
}

/**
 * Forget every contact of a patient (crypto-shredding): needs no key, so the CLI's erase can run
 * it without the master key, and an inbound STOP from that number no longer finds the patient.
 */
export async function removePatientContacts(sql: Sql, patientId: string): Promise<void> {
  if (!isUuid(patientId)) return;
  await sql.query('DELETE FROM contact_index WHERE patient_id = $1', [patientId]);
}

export function createContactIndex(deps: { db: Db; keyring: MasterKeyring }): ContactIndex {
  const { db } = deps;
  // Derived once: the keyring of a running process does not change.
  const keys: readonly DerivedKey[] = deriveKeys(deps.keyring, KeyPurpose.contactIndex);
  const currentKey = keys[0];
  if (currentKey === undefined) throw new Error('the master keyring holds no key');

  // The kind is bound into the MAC so a phone digest can never match an e-mail digest.
  const digest = (key: DerivedKey, kind: ContactKind, normalized: string): Buffer => createHmac('sha256', key.key).update(`${kind}\u0000${normalized}`, 'utf8').digest();

  return {
    async indexContact(patientId, kind, value, tx) {
      if (!isUuid(patientId)) throw new Error('indexContact needs a patient UUID');
      const sql = tx ?? db;
      const normalized = value === null ? null : normalizeContact(kind, value);
      if (normalized === null) {
        await sql.query('DELETE FROM contact_index WHERE patient_id = $1 AND kind = $2', [patientId, kind]);
        return;
      }
      await sql.query(
        `INSERT INTO contact_index (patient_id, kind, digest, key_id) VALUES ($1, $2, $3, $4)
         ON CONFLICT (patient_id, kind) DO UPDATE SET digest = EXCLUDED.digest, key_id = EXCLUDED.key_id, updated_at = now()`,
        [patientId, kind, digest(currentKey, kind, normalized), currentKey.keyId],
      );
    },

    async findByContact(kind, value) {
      const normalized = normalizeContact(kind, value);
      if (normalized === null) return [];
      // Hex text arrays: portable across both engines' array parameter encodings.
      const digests = keys.map((k) => digest(k, kind, normalized).toString('hex'));
      const keyIds = keys.map((k) => k.keyId);
      // Each row is matched against the digest of its own key only.
      const rows = await db.query<{ patient_id: string }>(
        `SELECT DISTINCT ci.patient_id FROM contact_index ci
           JOIN unnest($2::text[], $3::text[]) AS k(digest_hex, key_id) ON ci.digest = decode(k.digest_hex, 'hex') AND ci.key_id = k.key_id
          WHERE ci.kind = $1 ORDER BY ci.patient_id`,
        [kind, digests, keyIds],
      );
      return rows.map((r) => r.patient_id);
    },

    removePatient: (patientId, tx) => removePatientContacts(tx ?? db, patientId),
  };
}
