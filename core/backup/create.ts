/**
 * `backup create`: a logical, engine-neutral backup. One REPEATABLE READ, READ ONLY transaction
 * gives a consistent snapshot of every application table (and the migrations that shaped them);
 * rows are streamed through a server-side cursor, a page at a time, as the database's own JSON
 * text, in primary-key order (so audit_log comes out in seq order), straight into the sealed
 * container. The file is written under a temporary name and linked into place only when complete:
 * a crash leaves no half backup under the real name, and an existing file is never replaced.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, link, open, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Db, DbKind, Sql } from '../db/types.ts';
import { BackupHead, line, Manifest, rowHasher, type MigrationRef, type SequenceState } from './archive.ts';
import { ident, readCatalog, type TableInfo } from './catalog.ts';
import { createSealedWriter, FORMAT_VERSION } from './container.ts';
import { BackupError, BackupProblem } from './errors.ts';
import type { BackupKey } from './key.ts';

/** Rows per FETCH: bounded memory even for attachment rows of a few megabytes each. */
const FETCH_ROWS = 200;
const CURSOR = 'telehealth_backup_rows';

export interface BackupProgress {
  readonly table: string;
  readonly rows: number;
  readonly total: number;
}

export interface CreateBackupOptions {
  readonly db: Db;
  /** A new file: refused if it exists. */
  readonly out: string;
  readonly key: BackupKey;
  readonly chunkSize?: number;
  /** Called after each page of rows and once at the end of each table. */
  readonly onProgress?: (p: BackupProgress) => void;
}

export interface CreateBackupResult {
  readonly file: string;
  readonly bytes: number;
  readonly chunks: number;
  /** SHA-256 of the backup file as written (recorded in the audit chain by the CLI). */
  readonly sha256: string;
  readonly createdAt: string;
  readonly sourceEngine: DbKind;
  readonly schemaVersion: number;
  readonly tables: readonly { readonly name: string; readonly rows: number }[];
  readonly totalRows: number;
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}

async function writeAll(fh: FileHandle, data: Buffer): Promise<void> {
  let off = 0;
  while (off < data.length) {
    const { bytesWritten } = await fh.write(data, off, data.length - off);
    off += bytesWritten;
  }
}

async function readSequences(tx: Sql, names: readonly string[]): Promise<SequenceState[]> {
  const out: SequenceState[] = [];
  // Sequences are not transactional: these values may run ahead of the snapshot, never behind it.
  for (const name of names) {
    const [row] = await tx.query<{ last_value: number; is_called: boolean }>(`SELECT last_value, is_called FROM ${ident(name)}`);
    if (row) out.push({ name, lastValue: Number(row.last_value), isCalled: row.is_called });
  }
  return out;
}

async function dumpTable(
  tx: Sql,
  table: TableInfo,
  write: (s: string) => Promise<void>,
  onProgress: ((p: BackupProgress) => void) | undefined,
): Promise<{ name: string; columns: string[]; rows: number; sha256: string }> {
  const [count] = await tx.query<{ n: number }>(`SELECT count(*)::int8 AS n FROM ${ident(table.name)}`);
  const total = count?.n ?? 0;
  const columns = [...table.columns];
  await write(line({ kind: 'table', name: table.name, columns, rows: total }));
  const order = table.primaryKey.length > 0 ? table.primaryKey.map(ident).join(', ') : `to_jsonb(t)::text COLLATE "C"`;
  await tx.query(`DECLARE ${CURSOR} NO SCROLL CURSOR FOR SELECT to_jsonb(t)::text AS j FROM ${ident(table.name)} AS t ORDER BY ${order}`);
  const hash = rowHasher();
  let rows = 0;
  for (;;) {
    const page = await tx.query<{ j: string }>(`FETCH ${FETCH_ROWS} FROM ${CURSOR}`);
    if (page.length === 0) break;
    let text = '';
    for (const { j } of page) {
      hash.add(j);
      text += `${j}\n`;
    }
    rows += page.length;
    await write(text);
    onProgress?.({ table: table.name, rows, total });
  }
  await tx.query(`CLOSE ${CURSOR}`);
  // The count and the cursor read one snapshot, so they agree; a mismatch would be a database bug.
  if (rows !== total) throw new Error(`table ${table.name}: counted ${total} rows but read ${rows}`);
  const sha256 = hash.digest();
  await write(line({ kind: 'table_end', name: table.name, rows, sha256 }));
  if (rows === 0) onProgress?.({ table: table.name, rows, total });
  return { name: table.name, columns, rows, sha256 };
}

export async function createBackup(opts: CreateBackupOptions): Promise<CreateBackupResult> {
  const { db, out, key } = opts;
  if (await exists(out)) throw new BackupError(BackupProblem.exists, `${out} already exists`, { hint: 'A backup never overwrites a file: choose a new --out.' });
  const tmp = path.join(path.dirname(out), `.${path.basename(out)}.${process.pid}.${randomBytes(6).toString('hex')}.partial`);
  const fh = await open(tmp, 'wx', 0o600);
  let closed = false;
  try {
    const writer = createSealedWriter({ write: (b) => writeAll(fh, b) }, key, opts.chunkSize === undefined ? {} : { chunkSize: opts.chunkSize });
    const write = (s: string): Promise<void> => writer.write(s);
    const createdAt = new Date().toISOString();
    const manifest = await db.transaction(async (tx): Promise<Manifest> => {
      await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      // Timestamps as text in one zone: the same database gives the same bytes on either engine.
      await tx.query(`SET LOCAL TimeZone = 'UTC'`);
      const [reg] = await tx.query<{ ok: boolean }>(`SELECT to_regclass('schema_migrations') IS NOT NULL AS ok`);
      if (!reg?.ok) throw new BackupError(BackupProblem.noSchema, 'the database has no schema to back up (no migrations applied)', { hint: 'Check DATABASE_URL / DATA_DIR.' });
      const migrations: MigrationRef[] = (await tx.query<MigrationRef>('SELECT version, name, checksum FROM schema_migrations ORDER BY version')).map((m) => ({
        version: m.version,
        name: m.name,
        checksum: m.checksum,
      }));
      const schemaVersion = migrations.at(-1)?.version ?? 0;
      const catalog = await readCatalog(tx);
      const sequences = await readSequences(tx, catalog.sequences);
      const common = { format: FORMAT_VERSION, createdAt, sourceEngine: db.kind, schemaVersion, migrations };
      await write(line(BackupHead.parse({ kind: 'backup', ...common, tables: catalog.tables.map((t) => t.name) })));
      const tables: Manifest['tables'] = [];
      for (const t of catalog.tables) tables.push(await dumpTable(tx, t, write, opts.onProgress));
      const m = Manifest.parse({ kind: 'manifest', ...common, tables, sequences, totalRows: tables.reduce((n, t) => n + t.rows, 0) });
      await write(line(m));
      return m;
    });
    const sealed = await writer.finish();
    await fh.sync();
    closed = true;
    await fh.close();
    try {
      await link(tmp, out);
    } catch (err) {
      if (err instanceof Error && 'code' in err && err.code === 'EEXIST') {
        throw new BackupError(BackupProblem.exists, `${out} appeared while the backup was written`, { hint: 'Choose a new --out.' });
      }
      throw err;
    }
    return {
      file: out,
      bytes: sealed.bytes,
      chunks: sealed.chunks,
      sha256: sealed.sha256,
      createdAt,
      sourceEngine: db.kind,
      schemaVersion: manifest.schemaVersion,
      tables: manifest.tables.map((t) => ({ name: t.name, rows: t.rows })),
      totalRows: manifest.totalRows,
    };
  } finally {
    // On failure the caller's error is the one to report; the handle is only being let go.
    if (!closed) await fh.close().catch(() => undefined);
    await unlink(tmp).catch((err: unknown) => {
      if (!(err instanceof Error && 'code' in err && err.code === 'ENOENT')) throw err;
    });
  }
}
