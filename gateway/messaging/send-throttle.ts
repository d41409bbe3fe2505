/**
 * Per-account send rate limit (rate-limiter-flexible on Redis, shared by every gateway): at most
 * MESSAGE_SEND_PER_MINUTE send requests per sending account, whichever device they come from.
 */
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { AppError, ErrorCode } from '../../core/errors.ts';
import type { Redis } from '../../core/redis/connect.ts';

export interface SendThrottle {
  /** Counts one send by `userId`; throws 429 (with Retry-After) when over the limit. */
  consume(userId: string): Promise<void>;
}

export function createSendThrottle(redis: Redis, opts: { keyPrefix: string; perMinute: number }): SendThrottle {
  const limiter = new RateLimiterRedis({ storeClient: redis, keyPrefix: `${opts.keyPrefix}msgsend`, points: opts.perMinute, duration: 60 });
  return {
    async consume(userId) {
      try {
        await limiter.consume(userId);
      } catch (err) {
        if (err instanceof RateLimiterRes) {
          throw new AppError(429, ErrorCode.rateLimited, 'Too many messages sent; try again shortly', { retryAfterSec: Math.max(1, Math.ceil(err.msBeforeNext / 1000)) });
        }
        throw new AppError(503, ErrorCode.unavailable, 'Rate limiting is unavailable; try again shortly', { cause: err });
      }
    },
  };
}
