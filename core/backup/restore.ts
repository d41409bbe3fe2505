/**
 * `backup restore`: into an empty deployment only. Two passes over the file:
 *  1. decrypt, authenticate and check the whole archive (counts, hashes, manifest) without
 *     touching the database, so a damaged or wrongly keyed backup is refused before anything changes;
 *  2. migrate the target to the backup's schema version, then in ONE transaction (tables locked,
 *     emptiness checked again) insert every table in foreign-key order, set the sequences back,
 *     and append a `backup.restore` entry to the restored chain. Any failure rolls it all back.
 * Rows go in as the text they were dumped as, through jsonb_populate_recordset, so values are
 * byte-identical; audit_log rows go in seq order, which its insert trigger (links each row to the
 * one before) requires — it refuses UPDATE and DELETE, not INSERT.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { ActorType, AuditAction, AuditOutcome, createAuditLog, type AuditRecord } from '../audit/index.ts';
import { loadMigrations, migrate, type Migration } from '../db/migrate.ts';
import type { Db, Sql } from '../db/types.ts';
import { walkArchive, type Manifest, type MigrationRef, type TableHead } from './archive.ts';
import { ident, MIGRATIONS_TABLE, readCatalog } from './catalog.ts';
import { openSealedReader } from './container.ts';
import type { BackupProgress } from './create.ts';
import { BackupError, BackupProblem } from './errors.ts';
import type { BackupKey } from './key.ts';

const BATCH_ROWS = 500;
const BATCH_BYTES = 8 * 1024 * 1024;

export interface CheckedBackup {
  readonly manifest: Manifest;
  /** SHA-256 of the file: the value `backup create` recorded in the source's audit chain. */
  readonly sha256: string;
}

async function openInput(file: string): Promise<FileHandle> {
  try {
    return await open(file, 'r');
  } catch (err) {
    const code = err instanceof Error && 'code' in err ? String(err.code) : 'error';
    throw new BackupError(BackupProblem.unreadable, `cannot read ${file} (${code})`, { cause: err });
  }
}

/** Decrypts and checks the whole backup; the database is not involved. */
export async function checkBackupFile(file: string, key: BackupKey, visit: Parameters<typeof walkArchive>[1] = {}): Promise<CheckedBackup> {
  const fh = await openInput(file);
  try {
    const reader = await openSealedReader(fh, key, file);
    const manifest = await walkArchive(reader.chunks(), visit);
    return { manifest, sha256: reader.sha256() };
  } finally {
    await fh.close();
  }
}

/** The build's migrations up to the backup's version, which must be exactly the backup's. */
function migrationsFor(manifest: Manifest, build: readonly Migration[]): Migration[] {
  const known = new Map(build.map((m) => [m.version, m]));
  for (const m of manifest.migrations) {
    const mine = known.get(m.version);
    if (!mine) {
      throw new BackupError(BackupProblem.schemaMismatch, `the backup was made at schema version ${manifest.schemaVersion}, which includes migration ${m.version} (${m.name}) that this build does not know`, {
        hint: 'Restore with a build at least as new as the one that made the backup.',
      });
    }
    if (mine.checksum !== m.checksum) {
      throw new BackupError(BackupProblem.schemaMismatch, `migration ${m.version} (${m.name}) in this build differs from the one the backup was made with`, {
        hint: 'Restore with the build that made the backup.',
      });
    }
  }
  const wanted = build.filter((m) => m.version <= manifest.schemaVersion);
  if (wanted.length !== manifest.migrations.length) {
    throw new BackupError(BackupProblem.schemaMismatch, `the backup's migrations (${manifest.migrations.map((m) => m.version).join(',')}) are not this build's first ${wanted.length}`);
  }
  return wanted;
}

/** Tables that hold rows, with their counts; empty when the database is empty. */
async function occupiedTables(sql: Sql, tables: readonly string[]): Promise<{ name: string; rows: number }[]> {
  if (tables.length === 0) return [];
  const rows = await sql.query<{ name: string; rows: number }>(
    tables.map((t, i) => `SELECT $${i + 1}::text AS name, (SELECT count(*)::int8 FROM ${ident(t)}) AS rows`).join(' UNION ALL '),
    tables,
  );
  return rows.filter((r) => r.rows > 0);
}

function notEmpty(occupied: readonly { name: string; rows: number }[]): BackupError {
  const list = occupied.slice(0, 8).map((t) => `${t.name}: ${t.rows}`).join(', ');
  return new BackupError(BackupProblem.targetNotEmpty, `the target database is not empty (${list}${occupied.length > 8 ? ', …' : ''}); restore only goes into an empty deployment`, {
    hint: 'Point DATABASE_URL at a new, empty database, or DATA_DIR at a new directory, and do not start the server on it before restoring.',
  });
}

/** Refuses a target that holds data or was migrated past (or away from) the backup's schema. */
async function checkTarget(db: Db, manifest: Manifest): Promise<void> {
  const [reg] = await db.query<{ ok: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS ok`, [MIGRATIONS_TABLE]);
  const catalog = await readCatalog(db);
  const occupied = await occupiedTables(db, catalog.tables.map((t) => t.name));
  if (occupied.length > 0) throw notEmpty(occupied);
  if (!reg?.ok) return;
  const applied = await db.query<MigrationRef>(`SELECT version, name, checksum FROM ${MIGRATIONS_TABLE} ORDER BY version`);
  const inBackup = new Map(manifest.migrations.map((m) => [m.version, m.checksum]));
  const beyond = applied.filter((m) => inBackup.get(m.version) !== m.checksum);
  if (beyond.length > 0) {
    throw new BackupError(BackupProblem.schemaMismatch, `the target database is already at schema version ${applied.at(-1)?.version ?? 0}, past the backup's version ${manifest.schemaVersion}`, {
      hint: 'Restore into a new database (the server migrates it to this build after the restore).',
    });
  }
}

export interface RestoreOptions {
  readonly db: Db;
  readonly file: string;
  readonly key: BackupKey;
  /** Recorded as the actor of the backup.restore audit entry. */
  readonly actorId?: string;
  readonly onProgress?: (p: BackupProgress) => void;
  /** The build's migrations (tests pass their own). */
  readonly migrations?: readonly Migration[];
  /** Pass 1 already done by the caller (the CLI checks the file before it opens the database). */
  readonly checked?: CheckedBackup;
}

export interface RestoreResult extends CheckedBackup {
  /** The backup.restore entry appended to the restored chain. */
  readonly auditRecord: AuditRecord;
}

export async function restoreBackup(opts: RestoreOptions): Promise<RestoreResult> {
  const { db, file, key } = opts;
  const checked = opts.checked ?? (await checkBackupFile(file, key));
  const { manifest } = checked;
  const wanted = migrationsFor(manifest, opts.migrations ?? loadMigrations());
  await checkTarget(db, manifest);
  await migrate(db, wanted);

  const auditRecord = await db.transaction(async (tx) => {
    const catalog = await readCatalog(tx);
    const target = new Map(catalog.tables.map((t) => [t.name, t.columns.join(',')]));
    const missing = manifest.tables.filter((t) => target.get(t.name) !== t.columns.join(','));
    if (missing.length > 0 || target.size !== manifest.tables.length) {
      throw new BackupError(BackupProblem.schemaMismatch, `after migrating to version ${manifest.schemaVersion} the target's tables differ from the backup's (${missing.map((t) => t.name).join(', ') || 'extra tables'})`, {
        hint: 'Restore into a new database.',
      });
    }
    // Nobody else writes while the tables fill up (PostgreSQL); then the emptiness check is final.
    if (catalog.tables.length > 0) await tx.query(`LOCK TABLE ${catalog.tables.map((t) => ident(t.name)).join(', ')} IN ACCESS EXCLUSIVE MODE`);
    const occupied = await occupiedTables(tx, catalog.tables.map((t) => t.name));
    if (occupied.length > 0) throw notEmpty(occupied);

    let batch: string[] = [];
    let batchBytes = 0;
    let inserted = 0;
    const flush = async (table: TableHead): Promise<void> => {
      if (batch.length === 0) return;
      const cols = table.columns.map(ident).join(', ');
      await tx.query(`INSERT INTO ${ident(table.name)} (${cols}) SELECT ${cols} FROM jsonb_populate_recordset(NULL::${ident(table.name)}, $1::jsonb)`, [
        `[${batch.join(',')}]`,
      ]);
      inserted += batch.length;
      batch = [];
      batchBytes = 0;
      opts.onProgress?.({ table: table.name, rows: inserted, total: table.rows });
    };
    const again = await checkBackupFile(file, key, {
      table() {
        inserted = 0;
      },
      async row(table, row) {
        batch.push(row);
        batchBytes += row.length;
        if (batch.length >= BATCH_ROWS || batchBytes >= BATCH_BYTES) await flush(table);
      },
      async tableEnd(table) {
        await flush(table);
        if (table.rows === 0) opts.onProgress?.({ table: table.name, rows: 0, total: 0 });
      },
    });
    if (again.sha256 !== checked.sha256) throw new BackupError(BackupProblem.unreadable, `${file} changed while it was being restored`);
    for (const s of manifest.sequences) {
      await tx.query('SELECT setval($1::regclass, $2::int8, $3::boolean)', [ident(s.name), s.lastValue, s.isCalled]);
    }
    return createAuditLog(db).append(
      {
        actorType: ActorType.system,
        actorId: opts.actorId ?? 'cli',
        action: AuditAction.backupRestore,
        outcome: AuditOutcome.success,
        details: {
          fileSha256: checked.sha256,
          format: manifest.format,
          backupCreatedAt: manifest.createdAt,
          sourceEngine: manifest.sourceEngine,
          schemaVersion: manifest.schemaVersion,
          tables: manifest.tables.length,
          rows: manifest.totalRows,
        },
      },
      tx,
    );
  });
  return { ...checked, auditRecord };
}
