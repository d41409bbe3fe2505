/**
 * The one AES-256-GCM primitive behind every ciphertext in core/crypto (node:crypto, nothing
 * hand-made): `header | iv (12) | tag (16) | ciphertext`, where the caller's fixed-length header
 * (format version, key id) is authenticated together with the caller's AAD string, so neither the
 * header nor the purpose/row a ciphertext was made for can be swapped without detection.
 */
import { createCipheriv, createDecipheriv, randomBytes, type KeyObject } from 'node:crypto';
import { DecryptionError } from './types.ts';

const ALGORITHM = 'aes-256-gcm';
export const IV_BYTES = 12;
export const TAG_BYTES = 16;

function additionalData(header: Buffer, aad: string): Buffer {
  // The header has a fixed length per format, so header || aad is unambiguous without a length prefix.
  return Buffer.concat([header, Buffer.from(aad, 'utf8')]);
}

/** Encrypt `plaintext` under `key` with a fresh random IV; returns `header | iv | tag | ciphertext`. */
export function gcmSeal(key: KeyObject, header: Buffer, aad: string, plaintext: Buffer): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(additionalData(header, aad));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([header, iv, cipher.getAuthTag(), body]);
}

/**
 * Decrypt a `gcmSeal` output whose first `header.length` bytes equal `header` (the caller has
 * parsed and checked them). Throws DecryptionError on any mismatch: key, AAD, header or bytes.
 */
export function gcmOpen(key: KeyObject, header: Buffer, aad: string, sealed: Buffer): Buffer {
  const start = header.length;
  if (sealed.length < start + IV_BYTES + TAG_BYTES) throw new DecryptionError('ciphertext is truncated');
  const iv = sealed.subarray(start, start + IV_BYTES);
  const tag = sealed.subarray(start + IV_BYTES, start + IV_BYTES + TAG_BYTES);
  const body = sealed.subarray(start + IV_BYTES + TAG_BYTES);
  try {
    const decipher = createDecipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(additionalData(header, aad));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    // node:crypto's own message ("unable to authenticate data") says no more than ours.
    throw new DecryptionError();
  }
}
