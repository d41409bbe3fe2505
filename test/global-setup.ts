/**
 * Once per `npm test`: a private redis-server and a throwaway PostgreSQL cluster on free
 * loopback ports, handed to tests through vitest's provide/inject and removed afterwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedRedis } from '../core/redis/embedded.ts';
import { startTestPostgres } from './helpers/postgres-server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    postgresUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const redisDir = mkdtempSync(path.join(tmpdir(), 'telehealth-redis-'));
  const [redis, postgres] = await Promise.all([
    startEmbeddedRedis({ dir: redisDir, appendOnly: false, ...(process.env['REDIS_SERVER_BIN'] ? { bin: process.env['REDIS_SERVER_BIN'] } : {}) }),
    startTestPostgres(),
  ]);
  project.provide('redisUrl', redis.url);
  project.provide('postgresUrl', postgres.url);
  return async () => {
    await Promise.all([redis.close(), postgres.close()]);
    rmSync(redisDir, { recursive: true, force: true });
  };
}
