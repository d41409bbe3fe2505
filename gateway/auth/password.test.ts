import { describe, expect, it } from 'vitest';
import {
  ARGON2_PARAMS,
  dummyVerify,
  hashPassword,
  needsRehash,
  PasswordTooLongError,
  passwordPolicy,
  verifyPassword,
} from './password.ts';

describe('password hashing', () => {
  it('produces an argon2id PHC string with the chosen parameters and verifies only the right password', async () => {
    const hash = await hashPassword('violet-harbor-quantum-47');
    const { m, t, p } = ARGON2_PARAMS;
    expect(hash).toMatch(new RegExp(`^\\$argon2id\\$v=19\\$m=${m},t=${t},p=${p}\\$[A-Za-z0-9+/]{22}\\$[A-Za-z0-9+/]{43}$`));
    expect(await verifyPassword('violet-harbor-quantum-47', hash)).toBe(true);
    expect(await verifyPassword('violet-harbor-quantum-48', hash)).toBe(false);
    expect(await verifyPassword('', hash)).toBe(false);
  });

  it('salts every hash', async () => {
    const [a, b] = await Promise.all([hashPassword('same password twice'), hashPassword('same password twice')]);
    expect(a).not.toBe(b);
  });

  it('verifies composed and decomposed spellings of the same passphrase alike (NFKC)', async () => {
    const hash = await hashPassword('caf\u00e9 au lait tous les matins');
    expect(await verifyPassword('cafe\u0301 au lait tous les matins', hash)).toBe(true);
  });

  it('rejects passwords over 256 UTF-8 bytes before hashing', async () => {
    const long = '\u00e9'.repeat(129); // 258 bytes, 129 characters
    await expect(hashPassword(long)).rejects.toBeInstanceOf(PasswordTooLongError);
    const hash = await hashPassword('x'.repeat(256));
    expect(await verifyPassword('x'.repeat(256), hash)).toBe(true);
    expect(await verifyPassword('x'.repeat(257), hash)).toBe(false);
    // Far too long: refused (without hashing a megabyte).
    expect(await verifyPassword('x'.repeat(1_000_000), hash)).toBe(false);
  });

  it('treats malformed or foreign hashes as a mismatch and as needing a rehash', async () => {
    for (const bad of ['', 'plain', '$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2g', '$argon2id$v=19$m=99999999,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g']) {
      expect(await verifyPassword('anything', bad)).toBe(false);
      expect(needsRehash(bad)).toBe(true);
    }
  });

  it('asks for a rehash only when parameters differ from the current ones', async () => {
    const current = await hashPassword('correct battery horse staple');
    expect(needsRehash(current)).toBe(false);
    const weaker = current.replace(`m=${ARGON2_PARAMS.m},t=${ARGON2_PARAMS.t}`, `m=${ARGON2_PARAMS.m},t=1`);
    expect(needsRehash(weaker)).toBe(true);
  });

  // Its cost (one argon2id verification with the current parameters) is not asserted here: timing
  // belongs in benchmarks, and a wall-clock comparison is flaky on shared machines.
  it('dummyVerify always fails, whatever it is given', async () => {
    expect(await dummyVerify('some real password here')).toBe(false);
    expect(await dummyVerify('')).toBe(false);
    expect(await dummyVerify('x'.repeat(1000))).toBe(false);
  });
});

describe('password policy', () => {
  const ctx = { username: 'jdoe', displayName: 'Jane Doe' };

  it.each(['Password1234', 'qwertyuiop12', 'jdoejdoejdoejdoe', 'janedoejanedoe1', 'aaaaaaaaaaaaaaaa', '123456789012'])('rejects %s', (pw) => {
    const r = passwordPolicy.check(pw, ctx);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.reasons.length).toBeGreaterThan(0);
    for (const reason of r.reasons) expect(reason).not.toContain(pw);
  });

  it('rejects short passwords with a length reason', () => {
    const r = passwordPolicy.check('x7#Qp!2z', ctx);
    expect(r).toEqual({ ok: false, reasons: expect.arrayContaining(['Use at least 12 characters.']) as unknown });
  });

  it('rejects over-long passwords without estimating them', () => {
    expect(passwordPolicy.check('a'.repeat(257), ctx)).toEqual({ ok: false, reasons: ['Use at most 256 bytes.'] });
  });

  it('accepts a strong passphrase', () => {
    expect(passwordPolicy.check('violet harbor quantum kettle', ctx)).toEqual({ ok: true });
    expect(passwordPolicy.check('Bq7#mZ2!rT9x&Lw4', ctx)).toEqual({ ok: true });
  });
});
