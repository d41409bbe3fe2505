/**
 * Contracts of core/crypto, shared by its users (patients store, TOTP secrets, break-glass
 * reasons). Implementations live beside this file; everything is node:crypto AES-256-GCM.
 */

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
