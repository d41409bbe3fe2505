/**
 * The short-lived state between a correct password and the second factor. The client holds a
 * random 256-bit token; Redis holds only its SHA-256, the user id and the stage ('mfa' for an
 * enrolled user, 'enroll' for one who must set up TOTP first), for 5 minutes and at most 5 code
 * attempts. Consuming is atomic, so one challenge completes one sign-in.
 */
import { isToken, newToken, sha256Hex } from '../../core/crypto/tokens.ts';
import { AppError, ErrorCode } from '../../core/errors.ts';
import type { Redis } from '../../core/redis/connect.ts';

export const ChallengeStage = { mfa: 'mfa', enroll: 'enroll' } as const;
export type ChallengeStage = (typeof ChallengeStage)[keyof typeof ChallengeStage];

export const CHALLENGE_LIMITS = {
  ttlSec: 300,
  maxAttempts: 5,
} as const;

export interface Challenge {
  readonly userId: string;
  readonly stage: ChallengeStage;
  /** Code attempts recorded so far. */
  readonly attempts: number;
}

export interface ChallengeStore {
  /** A new challenge; returns the token to hand to the client (base64url, 43 chars). */
  create(input: { readonly userId: string; readonly stage: ChallengeStage }): Promise<string>;
  /** The live challenge, or null (unknown, expired, consumed or exhausted). */
  peek(token: string): Promise<Challenge | null>;
  /** Atomically remove and return it; null when another caller got there first. */
  consume(token: string): Promise<Challenge | null>;
  /**
   * Count one code attempt. Resolves to the challenge when the attempt may proceed; null when the
   * challenge is gone or this attempt exceeds the cap (the challenge is then deleted).
   */
  recordAttempt(token: string): Promise<Challenge | null>;
}

export interface ChallengeStoreOptions {
  readonly redis: Redis;
  readonly keyPrefix?: string;
  /** Overrides for tests (short TTLs). */
  readonly ttlSec?: number;
  readonly maxAttempts?: number;
}


function unavailable(cause: unknown): AppError {
  return new AppError(503, ErrorCode.unavailable, 'Sign-in is temporarily unavailable', { cause });
}

function parse(h: Record<string, string>): Challenge | null {
  const { userId, stage, attempts } = h;
  if (userId === undefined || (stage !== ChallengeStage.mfa && stage !== ChallengeStage.enroll)) return null;
  return { userId, stage, attempts: Number(attempts ?? 0) };
}

export function createChallengeStore(opts: ChallengeStoreOptions): ChallengeStore {
  // Accept `app:challenge` and `app:challenge:` alike.
  const prefix = (opts.keyPrefix ?? 'login:challenge').replace(/:$/, '');
  const ttlSec = opts.ttlSec ?? CHALLENGE_LIMITS.ttlSec;
  const maxAttempts = opts.maxAttempts ?? CHALLENGE_LIMITS.maxAttempts;
  const redis = opts.redis;

  // Malformed tokens map to no key at all: nothing the client sends becomes a Redis key unhashed.
  const keyOf = (token: string): string | null =>
    isToken(token) ? `${prefix}:${sha256Hex(token)}` : null;

  async function run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw unavailable(err);
    }
  }

  return {
    async create({ userId, stage }) {
      const token = newToken();
      const key = keyOf(token);
      if (key === null) throw new Error('generated challenge token failed validation');
      await run(() => redis.multi().hset(key, { userId, stage, attempts: '0' }).expire(key, ttlSec).exec());
      return token;
    },

    async peek(token) {
      const key = keyOf(token);
      if (key === null) return null;
      const h = await run(() => redis.hgetall(key));
      return parse(h);
    },

    async consume(token) {
      const key = keyOf(token);
      if (key === null) return null;
      const res = await run(() => redis.multi().hgetall(key).del(key).exec());
      const [read, deleted] = res ?? [];
      if (read?.[0] || deleted?.[0]) throw unavailable(read?.[0] ?? deleted?.[0]);
      // Only the caller whose DEL removed the key owns the challenge.
      if (deleted?.[1] !== 1) return null;
      return parse(read?.[1] as Record<string, string>);
    },

    async recordAttempt(token) {
      const key = keyOf(token);
      if (key === null) return null;
      // HINCRBY on a missing key would create it without a TTL: check existence in the same script.
      const out = await run(
        () =>
          redis.eval(
            `if redis.call('EXISTS', KEYS[1]) == 0 then return false end
             local n = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
             if n > tonumber(ARGV[1]) then redis.call('DEL', KEYS[1]) return false end
             local f = redis.call('HMGET', KEYS[1], 'userId', 'stage')
             return {f[1], f[2], tostring(n)}`,
            1,
            key,
            String(maxAttempts),
          ) as Promise<[string, string, string] | null>,
      );
      if (!Array.isArray(out)) return null;
      const [userId, stage, attempts] = out;
      return parse({ userId, stage, attempts });
    },
  };
}
