/**
 * Once per `npm test`: a private redis-server and a throwaway PostgreSQL cluster on free
 * loopback ports, and a migrated PGlite cluster as a tarball (test databases start from it instead
 * of running initdb and every migration each time), handed to tests through vitest's
 * provide/inject and removed afterwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { migrate } from '../core/db/migrate.ts';
import { openPglite } from '../core/db/pglite.ts';
import { startEmbeddedRedis } from '../core/redis/embedded.ts';
import { startTestPostgres } from './helpers/postgres-server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    postgresUrl: string;
    /** Tarball of a PGlite cluster with every migration applied (`openPglite({ template })`). */
    pgliteTemplate: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const redisDir = mkdtempSync(path.join(tmpdir(), 'telehealth-redis-'));
  const pgliteTemplate = path.join(redisDir, 'pglite-migrated.tar');
  const [redis, postgres] = await Promise.all([
    startEmbeddedRedis({ dir: redisDir, appendOnly: false, ...(process.env['REDIS_SERVER_BIN'] ? { bin: process.env['REDIS_SERVER_BIN'] } : {}) }),
    startTestPostgres(),
    writeMigratedPglite(pgliteTemplate),
  ]);
  project.provide('redisUrl', redis.url);
  project.provide('postgresUrl', postgres.url);
  project.provide('pgliteTemplate', pgliteTemplate);
  return async () => {
    await Promise.all([redis.close(), postgres.close()]);
    rmSync(redisDir, { recursive: true, force: true });
  };
}

async function writeMigratedPglite(file: string): Promise<void> {
  const db = await openPglite();
  try {
    await migrate(db);
    await db.dumpTo(file);
  } finally {
    await db.close();
  }
}
