/**
 * libsignal's store interfaces over the LocalStore. These only mutate the in-memory state; the
 * caller (DeviceCipher) commits once per operation, so a message's session advance, its
 * envelope id and its plaintext reach disk in one atomic write.
 *
 * Trust rules (TOFU with notification, as Signal does by default):
 * - Receiving: any identity key is trusted; a changed one replaces the stored one and is
 *   reported through `onIdentityChange`, so the message is still decrypted and the user is told.
 * - Sending: an unknown key is trusted on first use; a changed key is trusted too and reported,
 *   unless the user had marked that peer device verified — then sending is refused
 *   (`UntrustedIdentity`) until the user checks the new safety number and marks it verified again.
 *   The refused key is reported too (`wasVerified: true`): it came with a fresh bundle, and the
 *   warning is all the user has to go on.
 * - Each change (peer device, new key) is reported once: a refused key is remembered as reported
 *   (in the store, so a restart does not repeat it) and not reported again when it is refused
 *   again, accepted, or arrives in a message.
 */
import {
  Direction,
  IdentityChange,
  IdentityKeyPair,
  IdentityKeyStore,
  KyberPreKeyRecord,
  KyberPreKeyStore,
  PreKeyRecord,
  PreKeyStore,
  type PrivateKey,
  type ProtocolAddress,
  PublicKey,
  SessionRecord,
  SessionStore,
  SignedPreKeyRecord,
  SignedPreKeyStore,
} from '@signalapp/libsignal-client';
import { z } from 'zod';
import { fromB64, toB64 } from './bytes.ts';
import { SdkError, SdkErrorCode } from './errors.ts';
import type { LocalStore } from './local-store.ts';

export const addressKey = (address: ProtocolAddress): string => `${address.name()}.${address.deviceId()}`;

/**
 * Under `state.app`: address → a changed key already reported but not stored (sending to it was
 * refused). The store's schema has no field of its own for this; `app` is the SDK-wide free slot.
 */
const REPORTED_KEY = 'sdk.reportedIdentities';
const Reported = z.record(z.string(), z.string());

export interface IdentityChangeNotice {
  readonly userId: string;
  readonly deviceId: number;
  readonly wasVerified: boolean;
}

export class LocalSessionStore extends SessionStore {
  readonly #store: LocalStore;
  constructor(store: LocalStore) {
    super();
    this.#store = store;
  }
  saveSession(name: ProtocolAddress, record: SessionRecord): Promise<void> {
    this.#store.state.sessions[addressKey(name)] = toB64(record.serialize());
    return Promise.resolve();
  }
  getSession(name: ProtocolAddress): Promise<SessionRecord | null> {
    const s = this.#store.state.sessions[addressKey(name)];
    return Promise.resolve(s === undefined ? null : SessionRecord.deserialize(fromB64(s)));
  }
  async getExistingSessions(addresses: ProtocolAddress[]): Promise<SessionRecord[]> {
    const out: SessionRecord[] = [];
    for (const a of addresses) {
      const s = await this.getSession(a);
      if (s === null) throw new Error(`no session for ${addressKey(a)}`);
      out.push(s);
    }
    return out;
  }
}

export class LocalIdentityStore extends IdentityKeyStore {
  readonly #store: LocalStore;
  readonly #onChange: (notice: IdentityChangeNotice) => void;
  constructor(store: LocalStore, onChange: (notice: IdentityChangeNotice) => void) {
    super();
    this.#store = store;
    this.#onChange = onChange;
  }
  #local() {
    const local = this.#store.state.local;
    if (!local) throw new SdkError(SdkErrorCode.notRegistered, 'this device has no identity yet');
    return local;
  }
  getIdentityKey(): Promise<PrivateKey> {
    return Promise.resolve(IdentityKeyPair.deserialize(fromB64(this.#local().identityKeyPair)).privateKey);
  }
  getLocalRegistrationId(): Promise<number> {
    return Promise.resolve(this.#local().registrationId);
  }
  saveIdentity(name: ProtocolAddress, key: PublicKey): Promise<IdentityChange> {
    const k = addressKey(name);
    const prior = this.#store.state.identities[k];
    const serialized = toB64(key.serialize());
    if (prior?.key === serialized) return Promise.resolve(IdentityChange.NewOrUnchanged);
    this.#store.state.identities[k] = { key: serialized, verified: false, firstSeen: Date.now() };
    if (prior === undefined) return Promise.resolve(IdentityChange.NewOrUnchanged);
    const reported = this.#reported();
    const already = reported[k] === serialized;
    if (k in reported) {
      delete reported[k];
      this.#setReported(reported);
    }
    if (!already) this.#onChange({ userId: name.name(), deviceId: name.deviceId(), wasVerified: prior.verified });
    return Promise.resolve(IdentityChange.ReplacedExisting);
  }
  isTrustedIdentity(name: ProtocolAddress, key: PublicKey, direction: Direction): Promise<boolean> {
    if (direction === Direction.Receiving) return Promise.resolve(true);
    const k = addressKey(name);
    const prior = this.#store.state.identities[k];
    if (prior === undefined || !prior.verified) return Promise.resolve(true);
    if (PublicKey.deserialize(fromB64(prior.key)).equals(key)) return Promise.resolve(true);
    // Refused (the caller keeps the verified key). Only here is the new key known to the user's side.
    const reported = this.#reported();
    const serialized = toB64(key.serialize());
    if (reported[k] !== serialized) {
      reported[k] = serialized;
      this.#setReported(reported);
      this.#onChange({ userId: name.name(), deviceId: name.deviceId(), wasVerified: true });
    }
    return Promise.resolve(false);
  }
  #reported(): Record<string, string> {
    const parsed = Reported.safeParse(this.#store.state.app[REPORTED_KEY]);
    // Unreadable bookkeeping costs at most a repeated warning, never a missed one: start afresh.
    return parsed.success ? parsed.data : {};
  }
  #setReported(reported: Record<string, string>): void {
    if (Object.keys(reported).length === 0) delete this.#store.state.app[REPORTED_KEY];
    else this.#store.state.app[REPORTED_KEY] = reported;
  }
  getIdentity(name: ProtocolAddress): Promise<PublicKey | null> {
    const prior = this.#store.state.identities[addressKey(name)];
    return Promise.resolve(prior === undefined ? null : PublicKey.deserialize(fromB64(prior.key)));
  }
}

function missing(kind: string, id: number): Error {
  return new Error(`${kind} ${id} is not in the local store (already used or never generated)`);
}

export class LocalPreKeyStore extends PreKeyStore {
  readonly #store: LocalStore;
  constructor(store: LocalStore) {
    super();
    this.#store = store;
  }
  savePreKey(id: number, record: PreKeyRecord): Promise<void> {
    this.#store.state.preKeys[id] = toB64(record.serialize());
    return Promise.resolve();
  }
  getPreKey(id: number): Promise<PreKeyRecord> {
    const r = this.#store.state.preKeys[id];
    return r === undefined ? Promise.reject(missing('prekey', id)) : Promise.resolve(PreKeyRecord.deserialize(fromB64(r)));
  }
  removePreKey(id: number): Promise<void> {
    delete this.#store.state.preKeys[id];
    return Promise.resolve();
  }
}

export class LocalSignedPreKeyStore extends SignedPreKeyStore {
  readonly #store: LocalStore;
  constructor(store: LocalStore) {
    super();
    this.#store = store;
  }
  saveSignedPreKey(id: number, record: SignedPreKeyRecord): Promise<void> {
    this.#store.state.signedPreKeys[id] = toB64(record.serialize());
    return Promise.resolve();
  }
  getSignedPreKey(id: number): Promise<SignedPreKeyRecord> {
    const r = this.#store.state.signedPreKeys[id];
    return r === undefined ? Promise.reject(missing('signed prekey', id)) : Promise.resolve(SignedPreKeyRecord.deserialize(fromB64(r)));
  }
}

export class LocalKyberPreKeyStore extends KyberPreKeyStore {
  readonly #store: LocalStore;
  constructor(store: LocalStore) {
    super();
    this.#store = store;
  }
  saveKyberPreKey(id: number, record: KyberPreKeyRecord): Promise<void> {
    this.#store.state.kyberPreKeys[id] = { record: toB64(record.serialize()), lastResort: false };
    return Promise.resolve();
  }
  getKyberPreKey(id: number): Promise<KyberPreKeyRecord> {
    const r = this.#store.state.kyberPreKeys[id];
    return r === undefined ? Promise.reject(missing('kyber prekey', id)) : Promise.resolve(KyberPreKeyRecord.deserialize(fromB64(r.record)));
  }
  /** One-time keys are deleted; a last-resort key stays but refuses a replayed (signed prekey, base key) pair. */
  markKyberPreKeyUsed(id: number, signedPreKeyId: number, baseKey: PublicKey): Promise<void> {
    const s = this.#store.state;
    const entry = s.kyberPreKeys[id];
    if (entry === undefined) return Promise.reject(missing('kyber prekey', id));
    if (!entry.lastResort) {
      delete s.kyberPreKeys[id];
      return Promise.resolve();
    }
    const use = `${id}:${signedPreKeyId}:${toB64(baseKey.serialize())}`;
    if (s.lastResortUses[use] !== undefined) return Promise.reject(new Error('replayed use of a last-resort kyber prekey'));
    s.lastResortUses[use] = Date.now();
    return Promise.resolve();
  }
}
