/**
 * One-time MFA recovery codes: what a staff member uses when their authenticator is lost. Each
 * code carries 80 random bits, shown once as four groups of four Base32 characters
 * (`ABCD-EFGH-JKMN-PQRS`), and stored only as the SHA-256 hex of its normalized form. Input is
 * normalized (case, dashes, spaces, and the look-alikes Crockford's alphabet folds) before hashing.
 */
import { randomBytes } from 'node:crypto';
import { sha256Hex } from '../../core/crypto/tokens.ts';

export const RECOVERY_CODE_COUNT = 10;
/** Characters per code: 16 Base32 characters = 80 bits. */
const CODE_CHARS = 16;
// Crockford Base32: no I, L, O, U, so a code read aloud or copied by hand is unambiguous.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

function encode(bytes: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET.charAt((value >>> (bits - 5)) & 31);
      bits -= 5;
    }
  }
  return out;
}

/** `ABCDEFGHJKMNPQRS` → `ABCD-EFGH-JKMN-PQRS`. */
function group(code: string): string {
  return code.match(/.{1,4}/g)?.join('-') ?? code;
}

/** Canonical form of user input: upper case, separators removed, Crockford look-alikes folded. Null when it cannot be a code. */
export function normalizeRecoveryCode(input: string): string | null {
  if (input.length > 64) return null;
  const s = input
    .toUpperCase()
    .replace(/[\s-]/g, '')
    .replace(/O/g, '0')
    .replace(/[IL]/g, '1');
  if (s.length !== CODE_CHARS) return null;
  for (const ch of s) if (!ALPHABET.includes(ch)) return null;
  return s;
}

/** SHA-256 hex of the normalized code (what the database stores), or null for malformed input. */
export function hashRecoveryCode(input: string): string | null {
  const n = normalizeRecoveryCode(input);
  return n === null ? null : sha256Hex(n);
}

export interface RecoveryCodeSet {
  /** Shown to the user once, formatted for reading. */
  readonly codes: string[];
  /** What to store (same order). */
  readonly hashes: readonly string[];
}

/** A fresh set of RECOVERY_CODE_COUNT codes. */
export function generateRecoveryCodes(count: number = RECOVERY_CODE_COUNT): RecoveryCodeSet {
  const codes: string[] = [];
  const hashes: string[] = [];
  while (codes.length < count) {
    const raw = encode(randomBytes((CODE_CHARS * 5) / 8));
    const hash = hashRecoveryCode(raw);
    if (hash === null) throw new Error('generated recovery code failed to normalize');
    if (hashes.includes(hash)) continue; // 2^-80 odds, but the primary key would reject a duplicate
    codes.push(group(raw));
    hashes.push(hash);
  }
  return { codes, hashes };
}
