/**
 * Contracts of core/crypto, shared by its users (patients store, TOTP secrets, break-glass
 * reasons). Implementations live beside this file; everything is node:crypto AES-256-GCM.
 */
import type { Sql } from '../db/types.ts';

/**
 * Encrypts small secrets under the master key (TOTP secrets). `aad` binds a ciphertext to its
 * row and purpose (e.g. `user:<id>:totp`), so a ciphertext copied to another row fails to open.
 */
export interface MasterSealer {
  /** Id of the master key new ciphertexts are sealed with (16 hex chars). */
  readonly keyId: string;
  seal(plaintext: Buffer, aad: string): Buffer;
  /** Throws DecryptionError when the ciphertext, key or aad do not match. */
  open(ciphertext: Buffer, aad: string): Buffer;
}

export class DecryptionError extends Error {
  constructor(message = 'ciphertext could not be authenticated') {
    super(message);
    this.name = 'DecryptionError';
  }
}

/**
 * Per-field encryption under a patient's own data key (wrapped by the master key). `field` names
 * the column (`given_name`, `break_glass.reason`) and is bound as AAD with the patient id.
 */
export interface PatientCipher {
  /** Creates the patient's data key on first use (inside `tx` when given). */
  encrypt(patientId: string, field: string, plaintext: string, tx?: Sql): Promise<Buffer>;
  /** null when the patient's key was destroyed (crypto-shredded). Throws DecryptionError on tampering. */
  decrypt(patientId: string, field: string, ciphertext: Buffer): Promise<string | null>;
}

/**
 * encrypt() was asked for a patient that has no data key and cannot get one: the patient row
 * does not exist, or it was crypto-shredded (a shredded patient never gets a new key).
 */
export class PatientKeyUnavailableError extends Error {
  constructor(message = 'patient does not exist or was erased; no data key is available') {
    super(message);
    this.name = 'PatientKeyUnavailableError';
  }
}
