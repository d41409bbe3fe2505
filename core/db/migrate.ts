/**
 * Forward-only, versioned SQL migrations from core/db/migrations/NNNN_name.sql. All pending
 * migrations apply in one transaction under an advisory lock, so several processes starting at
 * once neither race nor leave a half-migrated schema. An applied migration whose file changed
 * stops start-up: history is never rewritten.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { StartupError } from '../errors.ts';
import type { Db } from './types.ts';

export const MIGRATIONS_DIR = path.join(import.meta.dirname, 'migrations');
const MIGRATION_LOCK_KEY = 7_231_946_001; // arbitrary, fixed: the project's migration advisory lock

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
  readonly checksum: string;
}

export function loadMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  const out: Migration[] = [];
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith('.sql')) continue;
    const m = /^(\d{4})_([a-z0-9_]+)\.sql$/.exec(file);
    if (!m?.[1] || !m[2]) throw new StartupError(`migration file name ${file} is not NNNN_name.sql`);
    const sql = readFileSync(path.join(dir, file), 'utf8');
    const version = Number(m[1]);
    if (out.some((x) => x.version === version)) throw new StartupError(`two migrations share version ${version}`);
    out.push({ version, name: m[2], sql, checksum: createHash('sha256').update(sql).digest('hex') });
  }
  return out;
}

export interface MigrateResult {
  readonly applied: readonly number[];
  readonly current: number;
}

export async function migrate(db: Db, migrations: readonly Migration[] = loadMigrations()): Promise<MigrateResult> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await tx.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const rows = await tx.query<{ version: number; name: string; checksum: string }>(
      'SELECT version, name, checksum FROM schema_migrations ORDER BY version',
    );
    const known = new Map(migrations.map((m) => [m.version, m]));
    for (const row of rows) {
      const m = known.get(row.version);
      if (!m) {
        throw new StartupError(
          `the database has migration ${row.version} (${row.name}) that this build does not know`,
          'Run a build at least as new as the one that migrated this database.',
        );
      }
      if (m.checksum !== row.checksum) {
        throw new StartupError(
          `migration ${row.version} (${row.name}) was changed after it was applied`,
          'Migrations are forward-only: restore the original file and add a new migration instead.',
        );
      }
    }
    const done = new Set(rows.map((r) => r.version));
    const applied: number[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      await tx.exec(m.sql);
      await tx.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [m.version, m.name, m.checksum]);
      applied.push(m.version);
    }
    const current = migrations.at(-1)?.version ?? 0;
    return { applied, current };
  });
}
