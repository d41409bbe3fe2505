/**
 * Uploaded keys are parsed and verified with libsignal before anything is stored: real keys
 * pass; wrong lengths, trailing bytes, non-canonical base64, wrong key types and signatures by
 * another identity are refused with a code and a message naming the key.
 */
import { KEMKeyPair, PrivateKey } from '@signalapp/libsignal-client';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../core/errors.ts';
import { RegisterDeviceRequest } from '../../core/protocol/messaging.ts';
import { checkKeys, type KeyUpload } from './key-check.ts';
import { testDevice } from './test-keys.ts';

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

function refusal(upload: KeyUpload): AppError {
  try {
    checkKeys(upload);
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected the upload to be refused');
}

describe('key check', () => {
  const device = testDevice();
  const good = RegisterDeviceRequest.parse(device.registration({ preKeys: 3, kyberPreKeys: 2 }));

  it('accepts real libsignal keys and returns their bytes', () => {
    const checked = checkKeys(good);
    expect(checked.identityKey).toEqual(Buffer.from(device.identity.publicKey.serialize()));
    expect(checked.signedPreKey?.publicKey.length).toBe(33);
    expect(checked.signedPreKey?.signature.length).toBe(64);
    expect(checked.lastResortKyberPreKey?.publicKey.length).toBe(1569);
    expect(checked.preKeys.map((k) => k.keyId)).toEqual([1, 2, 3]);
    expect(checked.kyberPreKeys).toHaveLength(2);
  });

  it('refuses a signed prekey signed by another identity', () => {
    const other = testDevice();
    const e = refusal({ ...good, signedPreKey: other.signedPreKey(1) });
    expect(e.status).toBe(400);
    expect(e.code).toBe('invalid_signature');
    expect(e.message).toBe('signedPreKey.signature does not verify against identityKey');
  });

  it('refuses a Kyber prekey whose signature covers another key', () => {
    const k = device.kyberPreKey(7);
    const swapped = { ...k, publicKey: b64(KEMKeyPair.generate().getPublicKey().serialize()) };
    const e = refusal({ ...good, kyberPreKeys: [device.kyberPreKey(6), swapped] });
    expect(e.code).toBe('invalid_signature');
    expect(e.message).toBe('kyberPreKeys[1].signature does not verify against identityKey');
  });

  it('refuses a truncated signature as invalid_signature', () => {
    const k = device.signedPreKey(2);
    const e = refusal({ ...good, signedPreKey: { ...k, signature: b64(Buffer.from(k.signature, 'base64').subarray(0, 63)) } });
    expect(e.code).toBe('invalid_signature');
  });

  it('refuses keys of the wrong length, with trailing bytes, or of the wrong type', () => {
    const ec = PrivateKey.generate().getPublicKey().serialize();
    const short = refusal({ ...good, preKeys: [{ keyId: 1, publicKey: b64(ec.subarray(0, 32)) }] });
    expect(short.code).toBe('invalid_key');
    expect(short.message).toBe('preKeys[0].publicKey must be 33 bytes');

    const kem = KEMKeyPair.generate().getPublicKey().serialize();
    const trailing = refusal({ ...good, kyberPreKeys: [{ keyId: 1, publicKey: b64(Buffer.concat([kem, Buffer.from([0])])), signature: device.kyberPreKey(1).signature }] });
    expect(trailing.code).toBe('invalid_key');
    expect(trailing.message).toBe('kyberPreKeys[0].publicKey is not a valid public key');

    const kemAsEc = refusal({ ...good, lastResortKyberPreKey: { keyId: 9, publicKey: b64(ec), signature: b64(device.identity.privateKey.sign(ec)) } });
    expect(kemAsEc.code).toBe('invalid_key');
    expect(kemAsEc.message).toBe('lastResortKyberPreKey.publicKey is not a valid public key');

    const badType = Buffer.from(ec);
    badType[0] = 0x42;
    const e = refusal({ ...good, identityKey: b64(badType) });
    expect(e.code).toBe('invalid_key');
    expect(e.message).toBe('identityKey is not a valid public key');
  });

  it('refuses non-canonical base64 and repeated key ids', () => {
    const e = refusal({ ...good, identityKey: `${good.identityKey.slice(0, -1)}*` });
    expect(e.code).toBe('invalid_key');
    const [first] = device.preKeys(1, 5);
    if (first === undefined) throw new Error('no key');
    const dup = refusal({ ...good, preKeys: [first, { ...first }] });
    expect(dup.code).toBe('invalid_key');
    expect(dup.message).toBe('preKeys[1].keyId repeats an earlier key id in this upload');
  });

  it('never quotes key bytes in a refusal', () => {
    const other = testDevice();
    const bad = other.signedPreKey(1);
    const e = refusal({ ...good, signedPreKey: bad });
    expect(JSON.stringify({ m: e.message, f: e.fields })).not.toContain(bad.publicKey.slice(0, 12));
  });
});
