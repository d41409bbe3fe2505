/**
 * One device's libsignal sessions: build a session from a served bundle (PQXDH), encrypt for a
 * peer device, decrypt an inbound envelope, compute safety numbers. Every operation runs alone
 * (libsignal stores must not interleave) and ends with one commit of the local store, so a
 * session advance is durable before anyone acts on its result.
 */
import {
  Aci,
  ErrorCode as SignalErrorCode,
  Fingerprint,
  IdentityKeyPair,
  KEMPublicKey,
  LibSignalErrorBase,
  PreKeyBundle,
  PreKeySignalMessage,
  processPreKeyBundle,
  ProtocolAddress,
  PublicKey,
  SessionRecord,
  signalDecrypt,
  signalDecryptPreKey,
  signalEncrypt,
  SignalMessage,
} from '@signalapp/libsignal-client';
import type { z } from 'zod';
import type { DeviceBundle } from '../core/protocol/messaging.ts';
import { fromB64, toB64 } from './bytes.ts';
import { SdkError, SdkErrorCode } from './errors.ts';
import type { LocalStore } from './local-store.ts';
import {
  addressKey,
  type IdentityChangeNotice,
  LocalIdentityStore,
  LocalKyberPreKeyStore,
  LocalPreKeyStore,
  LocalSessionStore,
  LocalSignedPreKeyStore,
} from './signal-stores.ts';

/** Signal's parameters for version-2 (ACI) fingerprints. */
const FINGERPRINT_ITERATIONS = 5200;
const FINGERPRINT_VERSION = 2;
/** libsignal's CiphertextMessageType values for 1:1 messages (core/protocol's CiphertextType). */
const WHISPER = 2;
const PREKEY = 3;

export interface EncryptedForDevice {
  readonly deviceId: number;
  readonly registrationId: number;
  readonly type: 2 | 3;
  readonly content: string;
}

export interface SafetyNumber {
  readonly deviceId: number;
  /** 60 digits; both sides compute the same number. */
  readonly digits: string;
  /** Bytes for a QR code (libsignal scannable fingerprint). */
  readonly scannable: Uint8Array;
  readonly verified: boolean;
}

export class DeviceCipher {
  readonly #store: LocalStore;
  readonly #sessions: LocalSessionStore;
  readonly #identities: LocalIdentityStore;
  readonly #preKeys: LocalPreKeyStore;
  readonly #signed: LocalSignedPreKeyStore;
  readonly #kyber: LocalKyberPreKeyStore;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(store: LocalStore, onIdentityChange: (notice: IdentityChangeNotice) => void) {
    this.#store = store;
    this.#sessions = new LocalSessionStore(store);
    this.#identities = new LocalIdentityStore(store, onIdentityChange);
    this.#preKeys = new LocalPreKeyStore(store);
    this.#signed = new LocalSignedPreKeyStore(store);
    this.#kyber = new LocalKyberPreKeyStore(store);
  }

  /** Run `fn` after every earlier operation has finished (success or not). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  get local(): { userId: string; deviceId: number; registrationId: number } {
    const local = this.#store.state.local;
    if (!local || local.deviceId === null) throw new SdkError(SdkErrorCode.notRegistered, 'this device is not registered; run register first');
    return { userId: local.userId, deviceId: local.deviceId, registrationId: local.registrationId };
  }

  #localAddress(): ProtocolAddress {
    const l = this.local;
    return ProtocolAddress.new(l.userId, l.deviceId);
  }

  /** Device ids of `userId` this device holds a usable session with. */
  sessionDevices(userId: string): number[] {
    const prefix = `${userId}.`;
    const out: number[] = [];
    for (const [k, v] of Object.entries(this.#store.state.sessions)) {
      if (!k.startsWith(prefix)) continue;
      if (SessionRecord.deserialize(fromB64(v)).hasCurrentState()) out.push(Number(k.slice(prefix.length)));
    }
    return out.sort((a, b) => a - b);
  }

  /** Forget the session with one peer device (it was removed or re-registered). */
  async deleteSession(userId: string, deviceId: number): Promise<void> {
    delete this.#store.state.sessions[`${userId}.${deviceId}`];
    await this.#store.commit();
  }

  /** Start a session from a bundle the gateway served (PQXDH: the Kyber prekey is required). */
  async processBundle(userId: string, bundle: z.infer<typeof DeviceBundle>): Promise<void> {
    const native = PreKeyBundle.new(
      bundle.registrationId,
      bundle.deviceId,
      bundle.preKey?.keyId ?? null,
      bundle.preKey ? PublicKey.deserialize(fromB64(bundle.preKey.publicKey)) : null,
      bundle.signedPreKey.keyId,
      PublicKey.deserialize(fromB64(bundle.signedPreKey.publicKey)),
      fromB64(bundle.signedPreKey.signature),
      PublicKey.deserialize(fromB64(bundle.identityKey)),
      bundle.kyberPreKey.keyId,
      KEMPublicKey.deserialize(fromB64(bundle.kyberPreKey.publicKey)),
      fromB64(bundle.kyberPreKey.signature),
    );
    try {
      await processPreKeyBundle(native, ProtocolAddress.new(userId, bundle.deviceId), this.#localAddress(), this.#sessions, this.#identities);
    } catch (err) {
      // A refused identity key was reported to the user: keep the record of that (once per change).
      await this.#store.commit();
      throw translate(err, 'cannot start a session from the key bundle');
    }
    await this.#store.commit();
  }

  async encrypt(userId: string, deviceId: number, plaintext: Uint8Array<ArrayBuffer>): Promise<EncryptedForDevice> {
    const address = ProtocolAddress.new(userId, deviceId);
    let message;
    try {
      message = await signalEncrypt(plaintext, address, this.#localAddress(), this.#sessions, this.#identities);
    } catch (err) {
      throw translate(err, 'cannot encrypt for this device');
    }
    const session = await this.#sessions.getSession(address);
    if (session === null) throw new SdkError(SdkErrorCode.sendFailed, 'no session after encrypting');
    await this.#store.commit();
    const type = message.type();
    if (type !== WHISPER && type !== PREKEY) throw new SdkError(SdkErrorCode.sendFailed, `unexpected ciphertext type ${type}`);
    return { deviceId, registrationId: session.remoteRegistrationId(), type, content: toB64(message.serialize()) };
  }

  /**
   * Decrypt one envelope. Does not commit: the caller commits together with the envelope id and
   * what it keeps of the plaintext (one atomic write), then acks. A failure leaves the session as it was.
   */
  async decrypt(senderUserId: string, senderDevice: number, type: 2 | 3, content: string): Promise<Uint8Array> {
    const address = ProtocolAddress.new(senderUserId, senderDevice);
    const bytes = fromB64(content);
    try {
      if (type === PREKEY) {
        return await signalDecryptPreKey(PreKeySignalMessage.deserialize(bytes), address, this.#localAddress(), this.#sessions, this.#identities, this.#preKeys, this.#signed, this.#kyber);
      }
      return await signalDecrypt(SignalMessage.deserialize(bytes), address, this.#localAddress(), this.#sessions, this.#identities);
    } catch (err) {
      throw translate(err, 'cannot decrypt the message');
    }
  }

  /** Safety numbers with every known device of `peerUserId` (one identity key per device). */
  safetyNumbers(peerUserId: string): SafetyNumber[] {
    const local = this.local;
    const state = this.#store.state;
    if (!state.local) return [];
    const mine = IdentityKeyPair.deserialize(fromB64(state.local.identityKeyPair)).publicKey;
    const prefix = `${peerUserId}.`;
    const out: SafetyNumber[] = [];
    for (const [k, entry] of Object.entries(state.identities)) {
      if (!k.startsWith(prefix)) continue;
      const fp = Fingerprint.new(
        FINGERPRINT_ITERATIONS,
        FINGERPRINT_VERSION,
        Aci.fromUuid(local.userId).getServiceIdBinary(),
        mine,
        Aci.fromUuid(peerUserId).getServiceIdBinary(),
        PublicKey.deserialize(fromB64(entry.key)),
      );
      out.push({ deviceId: Number(k.slice(prefix.length)), digits: fp.displayableFingerprint().toString(), scannable: fp.scannableFingerprint().toBuffer(), verified: entry.verified });
    }
    return out.sort((a, b) => a.deviceId - b.deviceId);
  }

  /** The user compared the safety number out of band: from now on a change blocks sending. */
  async markVerified(peerUserId: string, deviceId: number, verified = true): Promise<void> {
    const entry = this.#store.state.identities[addressKey(ProtocolAddress.new(peerUserId, deviceId))];
    if (!entry) throw new SdkError(SdkErrorCode.notRegistered, 'no identity key known for that device yet');
    entry.verified = verified;
    await this.#store.commit();
  }
}

function translate(err: unknown, what: string): SdkError {
  if (err instanceof SdkError) return err;
  if (err instanceof LibSignalErrorBase && err.code === SignalErrorCode.UntrustedIdentity) {
    return new SdkError(SdkErrorCode.untrustedIdentity, `${what}: the peer's identity key changed after it was verified; compare safety numbers again`, { cause: err });
  }
  const code = err instanceof LibSignalErrorBase ? err.code : 'unknown';
  return new SdkError(SdkErrorCode.decryptFailed, `${what} (${code})`, { cause: err, details: { libsignalCode: code } });
}
