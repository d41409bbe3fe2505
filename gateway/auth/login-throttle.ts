/**
 * Sign-in throttling (rate-limiter-flexible on Redis). Two counters:
 * - per account, keyed by the normalized username whether or not the account exists (so a lockout
 *   never tells an attacker which names are real): LOGIN_MAX_FAILURES failures within
 *   LOGIN_LOCKOUT_SEC lock the name for LOGIN_LOCKOUT_SEC;
 * - per client address: LOGIN_MAX_FAILURES_PER_IP failures in an hour block it for an hour.
 * Redis keys hold a SHA-256 of the name (a password typed into the username box must not sit in
 * Redis). When Redis is unreachable every call throws AppError 503: sign-in fails closed.
 */
import { createHash } from 'node:crypto';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Config } from '../../core/config/schema.ts';
import { AppError, ErrorCode } from '../../core/errors.ts';
import type { Redis } from '../../core/redis/connect.ts';

export const ThrottleScope = { account: 'account', ip: 'ip' } as const;
export type ThrottleScope = (typeof ThrottleScope)[keyof typeof ThrottleScope];

export type ThrottleDecision =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly retryAfterSec: number; readonly scope: ThrottleScope };

export interface LoginThrottle {
  check(username: string, ip: string): Promise<ThrottleDecision>;
  /** Count one failure on both counters; `lockedNow` is true for the failure that started a lockout. */
  recordFailure(username: string, ip: string): Promise<{ readonly lockedNow: boolean; readonly scope?: ThrottleScope }>;
  /** A completed sign-in clears the account's failures (not the address's). */
  recordSuccess(username: string): Promise<void>;
  /** Admin unlock; true when the account had failures or a lock. */
  unlock(username: string): Promise<boolean>;
}

export interface LoginThrottleOptions {
  readonly redis: Redis;
  readonly config: Pick<Config, 'loginMaxFailures' | 'loginLockoutSec' | 'loginMaxFailuresPerIp'>;
  /** Redis key prefix (tests use a random one). */
  readonly keyPrefix?: string;
}

const IP_WINDOW_SEC = 3600;

/** The account key: trimmed, lower-cased, hashed. Unknown and malformed names get keys too. */
export function accountKey(username: string): string {
  return createHash('sha256').update(username.trim().toLowerCase().slice(0, 256), 'utf8').digest('hex');
}

function unavailable(cause: unknown): AppError {
  return new AppError(503, ErrorCode.unavailable, 'Sign-in is temporarily unavailable', { cause });
}

// rate-limiter-flexible rejects with a RateLimiterRes when over the limit and with an Error when the
// store failed; only the former is a result.
async function settle(p: Promise<RateLimiterRes>): Promise<RateLimiterRes> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof RateLimiterRes) return err;
    throw unavailable(err);
  }
}

export function createLoginThrottle(opts: LoginThrottleOptions): LoginThrottle {
  // Accept `app:login` and `app:login:` alike.
  const prefix = (opts.keyPrefix ?? 'login').replace(/:$/, '');
  const { loginMaxFailures, loginLockoutSec, loginMaxFailuresPerIp } = opts.config;
  const common = { storeClient: opts.redis, rejectIfRedisNotReady: true };
  const byAccount = new RateLimiterRedis({ ...common, keyPrefix: `${prefix}:acct`, points: loginMaxFailures, duration: loginLockoutSec });
  const byIp = new RateLimiterRedis({ ...common, keyPrefix: `${prefix}:ip`, points: loginMaxFailuresPerIp, duration: IP_WINDOW_SEC });

  const limits = [
    { scope: ThrottleScope.account, limiter: byAccount, max: loginMaxFailures, blockSec: loginLockoutSec },
    { scope: ThrottleScope.ip, limiter: byIp, max: loginMaxFailuresPerIp, blockSec: IP_WINDOW_SEC },
  ] as const;

  async function get(limiter: RateLimiterRedis, key: string): Promise<RateLimiterRes | null> {
    try {
      return await limiter.get(key);
    } catch (err) {
      throw unavailable(err);
    }
  }

  return {
    async check(username, ip) {
      const keys = [accountKey(username), ip];
      const results = await Promise.all(limits.map((l, i) => get(l.limiter, keys[i] ?? '')));
      for (const [i, l] of limits.entries()) {
        const res = results[i];
        if (res && res.consumedPoints >= l.max) {
          return { allowed: false, retryAfterSec: Math.max(1, Math.ceil(res.msBeforeNext / 1000)), scope: l.scope };
        }
      }
      return { allowed: true };
    },

    async recordFailure(username, ip) {
      const keys = [accountKey(username), ip];
      const results = await Promise.all(limits.map((l, i) => settle(l.limiter.consume(keys[i] ?? '', 1))));
      let lockedScope: ThrottleScope | undefined;
      for (const [i, l] of limits.entries()) {
        const res = results[i];
        // Exactly one failure reaches `max` (Redis INCR is atomic), so exactly one caller starts the
        // lockout and reports it. The lock lasts blockSec from now, not from the window's start.
        if (res && res.consumedPoints === l.max) {
          try {
            await l.limiter.block(keys[i] ?? '', l.blockSec);
          } catch (err) {
            throw unavailable(err);
          }
          lockedScope ??= l.scope;
        }
      }
      return lockedScope === undefined ? { lockedNow: false } : { lockedNow: true, scope: lockedScope };
    },

    async recordSuccess(username) {
      try {
        await byAccount.delete(accountKey(username));
      } catch (err) {
        throw unavailable(err);
      }
    },

    async unlock(username) {
      try {
        return await byAccount.delete(accountKey(username));
      } catch (err) {
        throw unavailable(err);
      }
    },
  };
}
