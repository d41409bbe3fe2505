import { generate } from 'otplib';
import { describe, expect, it } from 'vitest';
import { generateSecret, otpauthUri, TOTP_PARAMS, verifyTotp } from './totp.ts';

const at = (epochSec: number) => new Date(epochSec * 1000);
const codeAt = (secret: string, epochSec: number) => generate({ secret, epoch: epochSec });

describe('totp', () => {
  const t0 = 1_750_000_005; // 5 s into step 58_333_333
  const step = Math.floor(t0 / 30);

  it('generates distinct 160-bit Base32 secrets', () => {
    const a = generateSecret();
    expect(a).toMatch(/^[A-Z2-7]{32}$/);
    expect(generateSecret()).not.toBe(a);
  });

  it('accepts the current code and reports its time step', async () => {
    const secret = generateSecret();
    expect(await verifyTotp(secret, await codeAt(secret, t0), at(t0))).toEqual({ ok: true, step });
  });

  it('accepts one step of drift either way, reporting the step the code belongs to, and no more', async () => {
    const secret = generateSecret();
    expect(await verifyTotp(secret, await codeAt(secret, t0 - 30), at(t0))).toEqual({ ok: true, step: step - 1 });
    expect(await verifyTotp(secret, await codeAt(secret, t0 + 30), at(t0))).toEqual({ ok: true, step: step + 1 });
    expect(await verifyTotp(secret, await codeAt(secret, t0 - 60), at(t0))).toEqual({ ok: false });
    expect(await verifyTotp(secret, await codeAt(secret, t0 + 60), at(t0))).toEqual({ ok: false });
  });

  it('rejects a code for another secret and malformed input without throwing', async () => {
    const secret = generateSecret();
    const other = await codeAt(generateSecret(), t0);
    const own = await codeAt(secret, t0);
    if (other !== own) expect(await verifyTotp(secret, other, at(t0))).toEqual({ ok: false });
    for (const bad of ['', '12345', '1234567', 'abcdef', '12 34 5x', '9'.repeat(1000)]) {
      expect(await verifyTotp(secret, bad, at(t0))).toEqual({ ok: false });
    }
  });

  it('tolerates spaces inside a code', async () => {
    const secret = generateSecret();
    const code = await codeAt(secret, t0);
    expect(await verifyTotp(secret, `${code.slice(0, 3)} ${code.slice(3)}`, at(t0))).toEqual({ ok: true, step });
  });

  it('builds an authenticator-app URI with SHA-1, 6 digits, 30 s', () => {
    const secret = generateSecret();
    const uri = new URL(otpauthUri({ secret, accountName: 'jdoe', issuer: 'Clinic Telehealth' }));
    expect(uri.protocol).toBe('otpauth:');
    expect(decodeURIComponent(uri.pathname)).toContain('jdoe');
    expect(uri.searchParams.get('secret')).toBe(secret);
    expect(uri.searchParams.get('issuer')).toBe('Clinic Telehealth');
    for (const [k, v] of [['algorithm', 'SHA1'], ['digits', String(TOTP_PARAMS.digits)], ['period', String(TOTP_PARAMS.period)]] as const) {
      const got = uri.searchParams.get(k);
      if (got !== null) expect(got.toUpperCase()).toBe(v);
    }
  });
});
