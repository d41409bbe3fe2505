/**
 * Purpose-bound keys derived from the master keys with HKDF-SHA256 (node:crypto): the contact
 * blind index and the unsubscribe-link MAC each get their own key, so neither can be used for
 * the other nor reveals the master key. Deriving is deterministic: the same master key always
 * yields the same derived key, so nothing new has to be stored or backed up.
 */
import { hkdfSync } from 'node:crypto';
import type { MasterKey, MasterKeyring } from '../crypto/keyring.ts';

export const KeyPurpose = {
  contactIndex: 'telehealth/contact-index/v1',
  unsubscribeLink: 'telehealth/unsubscribe-link/v1',
} as const;
export type KeyPurpose = (typeof KeyPurpose)[keyof typeof KeyPurpose];

export interface DerivedKey {
  /** Id of the master key it was derived from. */
  readonly keyId: string;
  readonly key: Buffer;
}

// A fixed, public salt: HKDF's security here rests on the master key being uniformly random.
const SALT = Buffer.from('telehealth-gateway/derived-keys', 'utf8');

export function deriveKey(master: MasterKey, purpose: KeyPurpose): DerivedKey {
  return { keyId: master.keyId, key: Buffer.from(hkdfSync('sha256', master.secret, SALT, purpose, 32)) };
}

/** The current key first, then every older loaded key (they still verify / find old values). */
export function deriveKeys(keyring: MasterKeyring, purpose: KeyPurpose): readonly DerivedKey[] {
  const out: DerivedKey[] = [];
  for (const id of keyring.keyIds) {
    const master = keyring.get(id);
    if (master !== undefined) out.push(deriveKey(master, purpose));
  }
  return out;
}
