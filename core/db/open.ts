/** Opens the configured engine: PostgreSQL when DATABASE_URL is set, else PGlite under DATA_DIR. */
import path from 'node:path';
import type { Config } from '../config/schema.ts';
import { openPglite } from './pglite.ts';
import { openPostgres } from './postgres.ts';
import type { Db } from './types.ts';

export function openDatabase(cfg: Pick<Config, 'databaseUrl' | 'databasePoolMax' | 'dataDir'>, applicationName?: string): Promise<Db> {
  if (cfg.databaseUrl !== undefined) {
    return openPostgres({ url: cfg.databaseUrl, poolMax: cfg.databasePoolMax, ...(applicationName ? { applicationName } : {}) });
  }
  return openPglite({ dataDir: path.join(cfg.dataDir, 'pglite') });
}
