// For the patient/keys command tests (patient.test.ts, keys.test.ts): a temp DATA_DIR (plus a PostgreSQL database on that engine),
// running a Command in-process with captured output, and opening the same database directly.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { migrate } from '../../../core/db/migrate.ts';
import { openPglite } from '../../../core/db/pglite.ts';
import { openPostgres } from '../../../core/db/postgres.ts';
import type { Db, DbKind } from '../../../core/db/types.ts';
import { createPostgresDatabase } from '../../../test/helpers/databases.ts';
import type { Command } from '../types.ts';

import { runCommand, type Ran } from './run-command.ts';

export type { Ran };

export interface CliEnv {
  readonly dataDir: string;
  readonly env: Record<string, string>;
  run(argv: readonly string[]): Promise<Ran>;
  /** The database the commands use, opened directly and closed after `fn` (PGlite allows one opener). */
  direct<T>(fn: (db: Db) => Promise<T>): Promise<T>;
}

/** Call inside a describe block: fresh, migrated environment per test. */
export function cliEnvPerTest(kind: DbKind, commands: readonly Command[]): () => CliEnv {
  let current: CliEnv | undefined;
  let drop: () => Promise<void> = () => Promise.resolve();
  beforeEach(async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'cli-env-'));
    const env: Record<string, string> = { APP_ENV: 'test', DATA_DIR: dataDir };
    if (kind === 'postgres') {
      const created = await createPostgresDatabase();
      env['DATABASE_URL'] = created.url;
      drop = created.drop;
    }
    const direct = async <T>(fn: (db: Db) => Promise<T>): Promise<T> => {
      const db = env['DATABASE_URL'] ? await openPostgres({ url: env['DATABASE_URL'] }) : await openPglite({ dataDir: path.join(dataDir, 'pglite') });
      try {
        return await fn(db);
      } finally {
        await db.close();
      }
    };
    const run = (argv: readonly string[]): Promise<Ran> => runCommand(commands, argv, env);
    await direct((db) => migrate(db));
    current = { dataDir, env, run, direct };
  });
  afterEach(async () => {
    await drop();
    if (current) rmSync(current.dataDir, { recursive: true, force: true });
    current = undefined;
  });
  return () => {
    if (!current) throw new Error('cliEnvPerTest: used outside a test');
    return current;
  };
}
