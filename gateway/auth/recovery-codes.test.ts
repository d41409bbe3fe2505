import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateRecoveryCodes, hashRecoveryCode, normalizeRecoveryCode, RECOVERY_CODE_COUNT } from './recovery-codes.ts';

describe('recovery codes', () => {
  it('generates 10 distinct grouped codes of 80 bits with SHA-256 hashes of the normalized form', () => {
    const { codes, hashes } = generateRecoveryCodes();
    expect(codes).toHaveLength(RECOVERY_CODE_COUNT);
    expect(new Set(codes).size).toBe(RECOVERY_CODE_COUNT);
    for (const [i, code] of codes.entries()) {
      expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
      expect(hashes[i]).toBe(createHash('sha256').update(code.replaceAll('-', '')).digest('hex'));
    }
  });

  it('normalizes case, dashes, spaces and look-alike letters', () => {
    const { codes, hashes } = generateRecoveryCodes(1);
    const code = codes[0] ?? '';
    const typed = ` ${code.toLowerCase().replaceAll('-', ' ')} `.replaceAll('0', 'o').replaceAll('1', 'l');
    expect(hashRecoveryCode(typed)).toBe(hashes[0]);
    expect(hashRecoveryCode(code.replaceAll('-', ''))).toBe(hashes[0]);
  });

  it('rejects input that cannot be a code', () => {
    for (const bad of ['', 'ABCD-EFGH-JKMN', 'ABCD-EFGH-JKMN-PQRSX', 'ABCD-EFGH-JKMN-PQRU', 'x'.repeat(100)]) {
      expect(normalizeRecoveryCode(bad)).toBeNull();
      expect(hashRecoveryCode(bad)).toBeNull();
    }
  });
});
