/**
 * Checks the public keys a device uploads before anything is stored: each value must be
 * canonical base64 of a key libsignal parses (and re-serializes to the same bytes — libsignal
 * itself ignores trailing bytes), and every signed prekey must carry an XEdDSA signature by the
 * device's identity key that libsignal verifies. Refusals are 400s naming the offending field,
 * never quoting key bytes.
 */
import { KEMPublicKey, PublicKey } from '@signalapp/libsignal-client';
import type { z } from 'zod';
import { AppError } from '../../core/errors.ts';
import { MessagingErrorCode, type KyberPreKey, type PreKey, type SignedPreKey } from '../../core/protocol/messaging.ts';

export const EC_KEY_BYTES = 33;
export const SIGNATURE_BYTES = 64;

export interface CheckedPreKey {
  readonly keyId: number;
  readonly publicKey: Buffer;
}
export interface CheckedSignedKey extends CheckedPreKey {
  readonly signature: Buffer;
}

/** A key upload after every key parsed and every signature verified. */
export interface CheckedKeys {
  readonly identityKey: Buffer;
  readonly signedPreKey: CheckedSignedKey | undefined;
  readonly lastResortKyberPreKey: CheckedSignedKey | undefined;
  readonly preKeys: readonly CheckedPreKey[];
  readonly kyberPreKeys: readonly CheckedSignedKey[];
}

export interface KeyUpload {
  readonly identityKey: string;
  readonly signedPreKey?: z.infer<typeof SignedPreKey> | undefined;
  readonly lastResortKyberPreKey?: z.infer<typeof KyberPreKey> | undefined;
  readonly preKeys: readonly z.infer<typeof PreKey>[];
  readonly kyberPreKeys: readonly z.infer<typeof KyberPreKey>[];
}

const invalidKey = (what: string, why: string, cause?: unknown): AppError =>
  new AppError(400, MessagingErrorCode.invalidKey, `${what} ${why}`, { fields: [{ path: `body.${what}`, message: why }], ...(cause === undefined ? {} : { cause }) });

/** Strict base64: Buffer.from is lenient (skips junk), so the bytes must encode back to the input. */
export function decodeBase64(value: string, what: string): Buffer {
  const bytes = Buffer.from(value, 'base64');
  if (bytes.length === 0 || bytes.toString('base64') !== value) throw invalidKey(what, 'is not canonical base64');
  return bytes;
}

/** libsignal takes ArrayBuffer-backed views; a Buffer may sit on a shared pool, so copy. */
const view = (b: Buffer): Uint8Array<ArrayBuffer> => new Uint8Array(b);

function parseWith<K extends { serialize(): Uint8Array }>(bytes: Buffer, what: string, parse: (b: Uint8Array<ArrayBuffer>) => K): K {
  let key: K;
  try {
    key = parse(view(bytes));
  } catch (err) {
    throw invalidKey(what, 'is not a valid public key', err);
  }
  if (!Buffer.from(key.serialize()).equals(bytes)) throw invalidKey(what, 'has trailing bytes');
  return key;
}

/** A serialized libsignal EC public key (type byte + 32). */
export function parseEcKey(value: string, what: string): { readonly key: PublicKey; readonly bytes: Buffer } {
  const bytes = decodeBase64(value, what);
  if (bytes.length !== EC_KEY_BYTES) throw invalidKey(what, `must be ${EC_KEY_BYTES} bytes`);
  return { key: parseWith(bytes, what, (b) => PublicKey.deserialize(b)), bytes };
}

/** A serialized libsignal KEM (Kyber) public key. */
export function parseKemKey(value: string, what: string): { readonly key: KEMPublicKey; readonly bytes: Buffer } {
  const bytes = decodeBase64(value, what);
  return { key: parseWith(bytes, what, (b) => KEMPublicKey.deserialize(b)), bytes };
}

function verified(identity: PublicKey, signedBytes: Uint8Array<ArrayBuffer>, signature: string, what: string): Buffer {
  let sig: Buffer;
  try {
    sig = decodeBase64(signature, `${what}.signature`);
  } catch (err) {
    throw new AppError(400, MessagingErrorCode.invalidSignature, `${what}.signature is not canonical base64`, { cause: err });
  }
  if (sig.length !== SIGNATURE_BYTES || !identity.verify(signedBytes, view(sig))) {
    throw new AppError(400, MessagingErrorCode.invalidSignature, `${what}.signature does not verify against identityKey`, {
      fields: [{ path: `body.${what}.signature`, message: 'does not verify against identityKey' }],
    });
  }
  return sig;
}

export function checkPreKey(k: z.infer<typeof PreKey>, what: string): CheckedPreKey {
  return { keyId: k.keyId, publicKey: parseEcKey(k.publicKey, `${what}.publicKey`).bytes };
}

/** A signed EC prekey: the signature is over the serialized public key. */
export function checkSignedPreKey(identity: PublicKey, k: z.infer<typeof SignedPreKey>, what: string): CheckedSignedKey {
  const { key, bytes } = parseEcKey(k.publicKey, `${what}.publicKey`);
  return { keyId: k.keyId, publicKey: bytes, signature: verified(identity, key.serialize(), k.signature, what) };
}

/** A signed Kyber prekey: the signature is over the serialized KEM public key. */
export function checkKyberPreKey(identity: PublicKey, k: z.infer<typeof KyberPreKey>, what: string): CheckedSignedKey {
  const { key, bytes } = parseKemKey(k.publicKey, `${what}.publicKey`);
  return { keyId: k.keyId, publicKey: bytes, signature: verified(identity, key.serialize(), k.signature, what) };
}

/** Repeated key ids in one upload are a client bug (and one INSERT cannot write a row twice). */
function assertUniqueIds(keys: readonly { keyId: number }[], what: string): void {
  const seen = new Set<number>();
  keys.forEach((k, i) => {
    if (seen.has(k.keyId)) throw invalidKey(`${what}[${i}].keyId`, 'repeats an earlier key id in this upload');
    seen.add(k.keyId);
  });
}

/** Parse and verify a whole registration or upload; throws a 400 at the first bad key. */
export function checkKeys(upload: KeyUpload): CheckedKeys {
  const identity = parseEcKey(upload.identityKey, 'identityKey');
  assertUniqueIds(upload.preKeys, 'preKeys');
  assertUniqueIds(upload.kyberPreKeys, 'kyberPreKeys');
  return {
    identityKey: identity.bytes,
    signedPreKey: upload.signedPreKey === undefined ? undefined : checkSignedPreKey(identity.key, upload.signedPreKey, 'signedPreKey'),
    lastResortKyberPreKey: upload.lastResortKyberPreKey === undefined ? undefined : checkKyberPreKey(identity.key, upload.lastResortKyberPreKey, 'lastResortKyberPreKey'),
    preKeys: upload.preKeys.map((k, i) => checkPreKey(k, `preKeys[${i}]`)),
    kyberPreKeys: upload.kyberPreKeys.map((k, i) => checkKyberPreKey(identity.key, k, `kyberPreKeys[${i}]`)),
  };
}
