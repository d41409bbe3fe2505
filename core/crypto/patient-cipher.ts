/**
 * Per-patient field encryption. Each patient has a random 256-bit data key (patient_keys),
 * wrapped by the master key with AAD `patient-key:<patientId>`; every PHI field is AES-256-GCM
 * under it with AAD `patient:<patientId>:<field>`. Field format v1: `0x01 | iv | tag | ciphertext`.
 * Deleting the key row (patients/erase.ts) is crypto-shredding: every ciphertext of that
 * patient, in this database and in every backup taken afterwards, can no longer be opened.
 *
 * Unwrapped keys are not cached across calls: a cache would keep a shredded key usable in every
 * other process (the CLI erases while gateways run) until evicted. `decryptFields` unwraps once
 * for a whole record, which is where the cost would otherwise be.
 */
import { createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { isUuid } from '../ids.ts';
import type { Db, Sql } from '../db/types.ts';
import { gcmOpen, gcmSeal } from './aead.ts';
import type { MasterKeyring } from './keyring.ts';
import { createMasterSealer } from './master-sealer.ts';
import { DecryptionError, PatientKeyUnavailableError, type MasterSealer, type PatientCipher } from './types.ts';

const VERSION = 0x01;
const HEADER = Buffer.of(VERSION);
const DATA_KEY_BYTES = 32;

export interface PatientFieldCipher extends PatientCipher {
  /**
   * Decrypt several fields of one patient with one key lookup. null when the patient's key is
   * gone (shredded, or never created); a null field stays null. Throws DecryptionError on tampering.
   */
  decryptFields<K extends string>(patientId: string, fields: Readonly<Record<K, Buffer | null>>): Promise<Record<K, string | null> | null>;
  /**
   * `decryptFields` with the wrapped data key already read (joined into the caller's query, so a
   * batch of patients costs one query, not one per patient). null when `wrappedKey` is null.
   */
  openFields<K extends string>(patientId: string, wrappedKey: Buffer | null, fields: Readonly<Record<K, Buffer | null>>): Record<K, string | null> | null;
}

/** AAD binding a patient's wrapped data key to that patient. */
export function patientKeyAad(patientId: string): string {
  return `patient-key:${patientId}`;
}

function fieldAad(patientId: string, field: string): string {
  return `patient:${patientId}:${field}`;
}

function checkId(patientId: string): void {
  // The column is uuid: a malformed id would otherwise surface as an engine-specific SQL error.
  if (!isUuid(patientId)) throw new TypeError('patient id must be a UUID');
}

function unwrap(sealer: MasterSealer, patientId: string, wrapped: Buffer): KeyObject {
  const raw = sealer.open(wrapped, patientKeyAad(patientId));
  try {
    if (raw.length !== DATA_KEY_BYTES) throw new DecryptionError('patient data key has the wrong length');
    return createSecretKey(raw);
  } finally {
    raw.fill(0);
  }
}

export function createPatientCipher(deps: { db: Db; keyring: MasterKeyring }): PatientFieldCipher {
  const { db } = deps;
  const sealer = createMasterSealer(deps.keyring);

  async function existingKey(sql: Sql, patientId: string): Promise<KeyObject | null> {
    const [row] = await sql.query<{ wrapped_key: Buffer }>('SELECT wrapped_key FROM patient_keys WHERE patient_id = $1', [patientId]);
    return row ? unwrap(sealer, patientId, row.wrapped_key) : null;
  }

  async function keyForEncrypt(sql: Sql, patientId: string): Promise<KeyObject> {
    const found = await existingKey(sql, patientId);
    if (found) return found;
    const raw = randomBytes(DATA_KEY_BYTES);
    try {
      // Only for a live patient: a shredded patient must never get a fresh key. ON CONFLICT covers
      // a concurrent first encrypt; the re-read below then picks up the winner's key.
      const inserted = await sql.query(
        `INSERT INTO patient_keys (patient_id, wrapped_key, master_key_id)
         SELECT id, $2, $3 FROM patients WHERE id = $1 AND erased_at IS NULL
         ON CONFLICT (patient_id) DO NOTHING
         RETURNING patient_id`,
        [patientId, sealer.seal(raw, patientKeyAad(patientId)), sealer.keyId],
      );
      if (inserted.length === 1) return createSecretKey(raw);
    } finally {
      raw.fill(0);
    }
    const winner = await existingKey(sql, patientId);
    if (!winner) throw new PatientKeyUnavailableError();
    return winner;
  }

  function open(key: KeyObject, patientId: string, field: string, ciphertext: Buffer): string {
    if (ciphertext.length < 1 || ciphertext[0] !== VERSION) throw new DecryptionError('unknown field ciphertext format version');
    return gcmOpen(key, HEADER, fieldAad(patientId, field), ciphertext).toString('utf8');
  }

  function openAll<K extends string>(key: KeyObject, patientId: string, fields: Readonly<Record<K, Buffer | null>>): Record<K, string | null> {
    const out = {} as Record<K, string | null>;
    for (const name of Object.keys(fields) as K[]) {
      const ct = fields[name];
      out[name] = ct === null ? null : open(key, patientId, name, ct);
    }
    return out;
  }

  return {
    async encrypt(patientId, field, plaintext, tx) {
      checkId(patientId);
      const key = await keyForEncrypt(tx ?? db, patientId);
      return gcmSeal(key, HEADER, fieldAad(patientId, field), Buffer.from(plaintext, 'utf8'));
    },
    async decrypt(patientId, field, ciphertext) {
      checkId(patientId);
      const key = await existingKey(db, patientId);
      return key ? open(key, patientId, field, ciphertext) : null;
    },
    async decryptFields<K extends string>(patientId: string, fields: Readonly<Record<K, Buffer | null>>) {
      checkId(patientId);
      const key = await existingKey(db, patientId);
      return key ? openAll(key, patientId, fields) : null;
    },
    openFields(patientId, wrappedKey, fields) {
      checkId(patientId);
      return wrappedKey === null ? null : openAll(unwrap(sealer, patientId, wrappedKey), patientId, fields);
    },
  };
}
