/**
 * Throttles guessing of visit-link tokens and enrollment codes: failed redemptions per client
 * address (rate-limiter-flexible on Redis, shared by every gateway process). The tokens carry
 * ≥ 100 bits, so this is about noise and cost rather than feasibility — and a blocked address
 * learns nothing about which tokens exist.
 */
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Redis } from '../../core/redis/connect.ts';
import { AppError, ErrorCode } from '../../core/errors.ts';

export interface RedeemThrottle {
  /** Throws 429 when the address is blocked. */
  assertAllowed(ip: string): Promise<void>;
  recordFailure(ip: string): Promise<void>;
}

export function createRedeemThrottle(redis: Redis, opts: { keyPrefix: string; failuresPerHour?: number }): RedeemThrottle {
  const limiter = new RateLimiterRedis({
    storeClient: redis,
    keyPrefix: `${opts.keyPrefix}redeem`,
    points: opts.failuresPerHour ?? 30,
    duration: 3600,
    blockDuration: 3600,
  });
  const blocked = (res: RateLimiterRes): AppError => {
    const retryAfterSec = Math.ceil(res.msBeforeNext / 1000);
    return new AppError(429, 'too_many_attempts', 'Too many attempts from this address; try again later', { retryAfterSec });
  };
  return {
    async assertAllowed(ip) {
      const res = await limiter.get(ip);
      if (res !== null && res.consumedPoints >= (opts.failuresPerHour ?? 30)) throw blocked(res);
    },
    async recordFailure(ip) {
      try {
        await limiter.consume(ip);
      } catch (err) {
        if (err instanceof RateLimiterRes) return; // now blocked; the next attempt is refused
        throw new AppError(503, ErrorCode.unavailable, 'Rate limiting is unavailable; try again shortly', { cause: err });
      }
    },
  };
}
