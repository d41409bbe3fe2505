/**
 * Test support: real libsignal key material for a device, in the wire shapes of
 * core/protocol/messaging.ts (identity key pair, signed prekeys, Kyber prekeys, one-time
 * prekeys). Not a test file; not used in production.
 */
import { IdentityKeyPair, KEMKeyPair, PrivateKey } from '@signalapp/libsignal-client';
import type { z } from 'zod';
import type { KyberPreKey, PreKey, RegisterDeviceRequest, SignedPreKey } from '../../core/protocol/messaging.ts';

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

export interface TestDevice {
  readonly identity: IdentityKeyPair;
  readonly identityKey: string;
  signedPreKey(keyId: number): z.infer<typeof SignedPreKey>;
  kyberPreKey(keyId: number): z.infer<typeof KyberPreKey>;
  preKeys(count: number, firstId?: number): z.infer<typeof PreKey>[];
  kyberPreKeys(count: number, firstId?: number): z.infer<typeof KyberPreKey>[];
  registration(opts?: { preKeys?: number; kyberPreKeys?: number; registrationId?: number }): z.input<typeof RegisterDeviceRequest>;
}

export function testDevice(): TestDevice {
  const identity = IdentityKeyPair.generate();
  const signedPreKey = (keyId: number) => {
    const pub = PrivateKey.generate().getPublicKey().serialize();
    return { keyId, publicKey: b64(pub), signature: b64(identity.privateKey.sign(pub)) };
  };
  const kyberPreKey = (keyId: number) => {
    const pub = KEMKeyPair.generate().getPublicKey().serialize();
    return { keyId, publicKey: b64(pub), signature: b64(identity.privateKey.sign(pub)) };
  };
  const preKeys = (count: number, firstId = 1) => Array.from({ length: count }, (_, i) => ({ keyId: firstId + i, publicKey: b64(PrivateKey.generate().getPublicKey().serialize()) }));
  const kyberPreKeys = (count: number, firstId = 1) => Array.from({ length: count }, (_, i) => kyberPreKey(firstId + i));
  return {
    identity,
    identityKey: b64(identity.publicKey.serialize()),
    signedPreKey,
    kyberPreKey,
    preKeys,
    kyberPreKeys,
    registration: (opts = {}) => ({
      registrationId: opts.registrationId ?? 1 + Math.floor(Math.random() * 16000),
      identityKey: b64(identity.publicKey.serialize()),
      signedPreKey: signedPreKey(1),
      lastResortKyberPreKey: kyberPreKey(1000),
      preKeys: preKeys(opts.preKeys ?? 0),
      kyberPreKeys: kyberPreKeys(opts.kyberPreKeys ?? 0),
    }),
  };
}
