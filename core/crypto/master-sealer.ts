/**
 * MasterSealer: small secrets (TOTP secrets, patient data keys) sealed directly under the master
 * key. Format v1: `0x01 | key id (8 bytes) | iv (12) | tag (16) | ciphertext`; the version byte
 * and key id are authenticated with the caller's AAD. The key id lets a keyring holding several
 * keys (during rotation) pick the right one, and names the missing key when it is not loaded.
 */
import { gcmOpen, gcmSeal } from './aead.ts';
import type { MasterKeyring } from './keyring.ts';
import { DecryptionError, type MasterSealer } from './types.ts';

const VERSION = 0x01;
const KEY_ID_BYTES = 8;
const HEADER_BYTES = 1 + KEY_ID_BYTES;

export function createMasterSealer(keyring: MasterKeyring): MasterSealer {
  const current = keyring.current;
  const currentHeader = Buffer.concat([Buffer.of(VERSION), Buffer.from(current.keyId, 'hex')]);
  return Object.freeze({
    keyId: current.keyId,
    seal(plaintext: Buffer, aad: string): Buffer {
      return gcmSeal(current.secret, currentHeader, aad, plaintext);
    },
    open(ciphertext: Buffer, aad: string): Buffer {
      if (ciphertext.length < HEADER_BYTES) throw new DecryptionError('ciphertext is truncated');
      if (ciphertext[0] !== VERSION) throw new DecryptionError('unknown sealed-secret format version');
      const header = ciphertext.subarray(0, HEADER_BYTES);
      const keyId = header.subarray(1).toString('hex');
      const key = keyring.get(keyId);
      if (!key) throw new DecryptionError(`sealed under master key ${keyId}, which is not loaded`);
      return gcmOpen(key.secret, header, aad, ciphertext);
    },
  });
}

/** The master key id a sealed value names (for status reports), or null when it is not a v1 sealed value. */
export function sealedKeyId(ciphertext: Buffer): string | null {
  if (ciphertext.length < HEADER_BYTES || ciphertext[0] !== VERSION) return null;
  return ciphertext.subarray(1, HEADER_BYTES).toString('hex');
}

/** AAD for a user's TOTP secret (users.totp_secret), shared by the auth code and key rotation. */
export function totpSecretAad(userId: string): string {
  return `user:${userId}:totp`;
}
