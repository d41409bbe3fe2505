/**
 * Bounds key uploads per device (rate-limiter-flexible on Redis, shared by every gateway
 * process): each upload verifies up to 200 signatures and writes up to 200 rows, so a
 * misbehaving client must not be able to loop on it.
 */
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { AppError, ErrorCode } from '../../core/errors.ts';
import type { Redis } from '../../core/redis/connect.ts';

export interface UploadLimit {
  /** Counts one upload by this device; 429 with retryAfterSec when over the limit. */
  consume(userId: string, deviceId: number): Promise<void>;
}

export const DEFAULT_UPLOADS_PER_MINUTE = 20;

export function createUploadLimit(redis: Redis, opts: { readonly keyPrefix: string; readonly perMinute?: number }): UploadLimit {
  const limiter = new RateLimiterRedis({ storeClient: redis, keyPrefix: `${opts.keyPrefix}keys-upload`, points: opts.perMinute ?? DEFAULT_UPLOADS_PER_MINUTE, duration: 60 });
  return {
    async consume(userId, deviceId) {
      try {
        await limiter.consume(`${userId}:${deviceId}`);
      } catch (err) {
        if (err instanceof RateLimiterRes) {
          throw new AppError(429, ErrorCode.rateLimited, 'Too many key uploads from this device; try again shortly', { retryAfterSec: Math.max(1, Math.ceil(err.msBeforeNext / 1000)) });
        }
        throw new AppError(503, ErrorCode.unavailable, 'Rate limiting is unavailable; try again shortly', { cause: err });
      }
    },
  };
}
