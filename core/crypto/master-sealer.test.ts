// MasterSealer: round trip, versioned format, and DecryptionError for every kind of mismatch.
import { describe, expect, it } from 'vitest';
import { createMasterKeyring, generateMasterKey } from './keyring.ts';
import { createMasterSealer, sealedKeyId } from './master-sealer.ts';
import { DecryptionError } from './types.ts';

describe('createMasterSealer', () => {
  const key = generateMasterKey();
  const sealer = createMasterSealer(createMasterKeyring(key));
  const secret = Buffer.from('JBSWY3DPEHPK3PXP');

  it('round-trips, with a fresh IV each time and the key id in the header', () => {
    const a = sealer.seal(secret, 'user:1:totp');
    const b = sealer.seal(secret, 'user:1:totp');
    expect(a.equals(b)).toBe(false);
    expect(a[0]).toBe(1);
    expect(sealedKeyId(a)).toBe(key.keyId);
    expect(sealer.keyId).toBe(key.keyId);
    expect(a.includes(secret)).toBe(false);
    expect(sealer.open(a, 'user:1:totp').equals(secret)).toBe(true);
  });

  it('throws DecryptionError for a flipped bit anywhere, a wrong aad, a truncated value or an unknown version', () => {
    const sealed = sealer.seal(secret, 'user:1:totp');
    for (let i = 0; i < sealed.length; i++) {
      const t = Buffer.from(sealed);
      t[i] = (t[i] ?? 0) ^ 0x01;
      expect(() => sealer.open(t, 'user:1:totp'), `byte ${i}`).toThrow(DecryptionError);
    }
    expect(() => sealer.open(sealed, 'user:2:totp')).toThrow(DecryptionError);
    expect(() => sealer.open(sealed.subarray(0, 20), 'user:1:totp')).toThrow(DecryptionError);
    expect(() => sealer.open(Buffer.alloc(0), 'user:1:totp')).toThrow(DecryptionError);
  });

  it('opens values sealed under an older key it holds, and names a key it does not hold', () => {
    const old = generateMasterKey();
    const sealedOld = createMasterSealer(createMasterKeyring(old)).seal(secret, 'x');
    expect(() => sealer.open(sealedOld, 'x')).toThrow(new RegExp(`master key ${old.keyId}, which is not loaded`));
    const both = createMasterSealer(createMasterKeyring(key, [old]));
    expect(both.keyId).toBe(key.keyId);
    expect(both.open(sealedOld, 'x').equals(secret)).toBe(true);
  });
});
