/**
 * Master keys in memory. A MasterKey holds its secret as a node:crypto KeyObject, so logging or
 * JSON-serialising one prints no key bytes. A MasterKeyring is the current key (which seals
 * everything new) plus older ones that may still open existing ciphertexts during a rotation.
 */
import { createHash, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';

export const MASTER_KEY_BYTES = 32;

export interface MasterKey {
  /** First 16 hex chars of SHA-256 of the raw key: stored beside what it wraps, never secret. */
  readonly keyId: string;
  readonly secret: KeyObject;
}

export interface MasterKeyring {
  /** Seals everything new. */
  readonly current: MasterKey;
  /** Every loaded key id, current first. */
  readonly keyIds: readonly string[];
  /** The key with this id (current or older), or undefined when it is not loaded. */
  get(keyId: string): MasterKey | undefined;
}

export function masterKeyIdOf(raw: Buffer): string {
  return createHash('sha256').update(raw).digest('hex').slice(0, 16);
}

/** Wrap 32 raw bytes as a MasterKey. The caller should zero `raw` afterwards (the KeyObject holds a copy). */
export function masterKeyFromBytes(raw: Buffer): MasterKey {
  if (raw.length !== MASTER_KEY_BYTES) throw new RangeError(`a master key is ${MASTER_KEY_BYTES} bytes, got ${raw.length}`);
  return { keyId: masterKeyIdOf(raw), secret: createSecretKey(Buffer.from(raw)) };
}

const BASE64_KEY_RE = /^[A-Za-z0-9+/_-]{43}=?$/;

/** Parse the base64 text form (`openssl rand -base64 32`; url-safe also accepted), or null when it is not one. */
export function masterKeyFromBase64(text: string): MasterKey | null {
  const t = text.trim();
  if (!BASE64_KEY_RE.test(t)) return null;
  const raw = Buffer.from(t, 'base64');
  if (raw.length !== MASTER_KEY_BYTES) return null;
  try {
    return masterKeyFromBytes(raw);
  } finally {
    raw.fill(0);
  }
}

/** The base64 text form, for writing a key file. The only place key bytes leave a KeyObject. */
export function masterKeyToBase64(key: MasterKey): string {
  const raw = key.secret.export();
  try {
    return raw.toString('base64');
  } finally {
    raw.fill(0);
  }
}

export function generateMasterKey(): MasterKey {
  const raw = randomBytes(MASTER_KEY_BYTES);
  try {
    return masterKeyFromBytes(raw);
  } finally {
    raw.fill(0);
  }
}

/** A keyring sealing with `current` and also opening with `older` (duplicates of current are dropped). */
export function createMasterKeyring(current: MasterKey, older: readonly MasterKey[] = []): MasterKeyring {
  const byId = new Map<string, MasterKey>([[current.keyId, current]]);
  for (const k of older) if (!byId.has(k.keyId)) byId.set(k.keyId, k);
  const keyIds = Object.freeze([...byId.keys()]);
  return Object.freeze({
    current,
    keyIds,
    get: (keyId: string) => byId.get(keyId),
  });
}
