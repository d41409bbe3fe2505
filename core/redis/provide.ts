/**
 * The process's Redis: the one REDIS_URL names, or (unset) a private redis-server with AOF under
 * DATA_DIR/redis that lives and dies with this process.
 */
import path from 'node:path';
import type { Config } from '../config/schema.ts';
import type { Logger } from '../log/logger.ts';
import { connectRedis, safeRedisUrl, type Redis } from './connect.ts';
import { startEmbeddedRedis, type EmbeddedRedis } from './embedded.ts';

export interface ProvidedRedis {
  /** Connection URL (for BullMQ and other clients this process creates). */
  readonly url: string;
  readonly client: Redis;
  readonly embedded: EmbeddedRedis | undefined;
  /** Idempotent: disconnects, then stops the private server if this process started it. */
  close(): Promise<void>;
}

export async function provideRedis(cfg: Pick<Config, 'redisUrl' | 'redisServerBin' | 'dataDir'>, log: Logger): Promise<ProvidedRedis> {
  let embedded: EmbeddedRedis | undefined;
  let url = cfg.redisUrl;
  if (url === undefined) {
    embedded = await startEmbeddedRedis({ dir: path.join(cfg.dataDir, 'redis'), bin: cfg.redisServerBin, appendOnly: true });
    url = embedded.url;
    log.info({ redisPort: embedded.port, redisPid: embedded.pid }, 'started private redis-server (AOF on) because REDIS_URL is unset');
  }
  let client: Redis;
  try {
    client = await connectRedis(url);
  } catch (err) {
    await embedded?.close();
    throw err;
  }
  client.on('error', (err: Error) => log.warn({ err: { message: err.message } }, 'redis connection error'));
  if (cfg.redisUrl !== undefined) log.info({ redis: safeRedisUrl(cfg.redisUrl) }, 'connected to redis');
  let closing: Promise<void> | undefined;
  return {
    url,
    client,
    embedded,
    close() {
      closing ??= (async () => {
        try {
          await client.quit();
        } catch {
          client.disconnect(); // already gone (Redis down): drop the socket
        }
        await embedded?.close();
      })();
      return closing;
    },
  };
}
