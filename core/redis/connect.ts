/**
 * Redis connections (ioredis: the client BullMQ is built on, so the whole product speaks to
 * Redis through one library). `connectRedis` fails start-up with a clear message when nothing
 * answers; afterwards the client reconnects by itself across Redis restarts.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { StartupError } from '../errors.ts';
import type { HealthCheck } from '../health.ts';

export type { Redis };

/** Redact the password in a Redis URL for messages. */
export function safeRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'redis://***';
  }
}

export async function connectRedis(url: string, opts: RedisOptions = {}, timeoutMs = 10_000): Promise<Redis> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: Math.min(timeoutMs, 10_000),
    // Commands issued while Redis is briefly away wait for the reconnect instead of failing at once.
    maxRetriesPerRequest: 20,
    retryStrategy: (times) => Math.min(times * 100, 2000),
    ...opts,
  });
  let lastError: unknown;
  const onError = (err: unknown) => (lastError = err);
  client.on('error', onError);
  try {
    await Promise.race([
      client.connect().then(() => client.ping()),
      new Promise((_, reject) => setTimeout(() => reject(new Error('timed out')), timeoutMs).unref()),
    ]);
  } catch (err) {
    client.disconnect();
    const why = err instanceof Error ? err.message : String(lastError ?? err);
    throw new StartupError(
      `cannot reach Redis at ${safeRedisUrl(url)}: ${why}`,
      'Check REDIS_URL and that Redis is running, or unset REDIS_URL to let telehealth start a private redis-server.',
      { cause: err },
    );
  }
  return client;
}

export function redisHealth(client: Redis): HealthCheck {
  return {
    name: 'redis',
    async check() {
      if (client.status !== 'ready') throw new Error(`connection ${client.status}`);
      await client.ping();
    },
  };
}
