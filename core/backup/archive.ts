/**
 * The plaintext inside the container: JSON Lines, one control record or one table row per line.
 *
 *   {"kind":"backup", format, createdAt, sourceEngine, schemaVersion, migrations, tables}
 *   per table, in restore (foreign-key) order:
 *     {"kind":"table", name, columns, rows}
 *     <rows lines: each the row as PostgreSQL's own to_jsonb(row)::text, in primary-key order>
 *     {"kind":"table_end", name, rows, sha256}      sha256 over the row lines, each with its "\n"
 *   {"kind":"manifest", ...the head's fields, tables with counts and hashes, sequences, totalRows}
 *
 * Rows are the database's text, never parsed here: bigints, microsecond timestamps, bytea and
 * jsonb survive exactly, and restore hands the same text back to jsonb_populate_recordset.
 * `walkArchive` checks the structure, counts and hashes as it streams and returns the manifest.
 */
import { createHash, type Hash } from 'node:crypto';
import { z } from 'zod';
import { BackupError, BackupProblem } from './errors.ts';
import { FORMAT_VERSION } from './container.ts';

const Ident = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/);
const Sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const Count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const MigrationRef = z.strictObject({ version: z.number().int().min(1), name: z.string().max(128), checksum: Sha256 });
export type MigrationRef = z.infer<typeof MigrationRef>;

const Common = {
  format: z.literal(FORMAT_VERSION),
  createdAt: z.iso.datetime(),
  sourceEngine: z.enum(['pglite', 'postgres']),
  schemaVersion: z.number().int().min(0),
  migrations: z.array(MigrationRef).max(10_000),
};

export const BackupHead = z.strictObject({ kind: z.literal('backup'), ...Common, tables: z.array(Ident).max(1000) });
export type BackupHead = z.infer<typeof BackupHead>;

export const TableHead = z.strictObject({ kind: z.literal('table'), name: Ident, columns: z.array(Ident).min(1).max(1600), rows: Count });
export type TableHead = z.infer<typeof TableHead>;

export const TableEnd = z.strictObject({ kind: z.literal('table_end'), name: Ident, rows: Count, sha256: Sha256 });
export type TableEnd = z.infer<typeof TableEnd>;

export const SequenceState = z.strictObject({ name: Ident, lastValue: z.number().int().safe(), isCalled: z.boolean() });
export type SequenceState = z.infer<typeof SequenceState>;

export const Manifest = z.strictObject({
  kind: z.literal('manifest'),
  ...Common,
  tables: z.array(z.strictObject({ name: Ident, columns: z.array(Ident).min(1).max(1600), rows: Count, sha256: Sha256 })).max(1000),
  sequences: z.array(SequenceState).max(1000),
  totalRows: Count,
});
export type Manifest = z.infer<typeof Manifest>;

export function line(record: BackupHead | TableHead | TableEnd | Manifest): string {
  return `${JSON.stringify(record)}\n`;
}

/** Hashes one table's row lines the way both writer and reader do. */
export function rowHasher(): { add(row: string): void; digest(): string } {
  const h: Hash = createHash('sha256');
  return {
    add(row) {
      h.update(row, 'utf8').update('\n');
    },
    digest: () => h.digest('hex'),
  };
}

function invalid(message: string): BackupError {
  return new BackupError(BackupProblem.archiveInvalid, `the backup's contents are inconsistent: ${message}`, {
    hint: 'The file decrypted and authenticated, so it was written this way: report this as a bug, and use another backup.',
  });
}

function parseControl<T>(schema: z.ZodType<T>, text: string, what: string): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalid(`expected ${what}, found a line that is not JSON`);
  }
  const res = schema.safeParse(value);
  if (!res.success) throw invalid(`expected ${what}: ${res.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ').slice(0, 300)}`);
  return res.data;
}

/** Complete lines of a byte stream (UTF-8 decoded per line, so multi-byte characters split across chunks are intact). */
async function* lines(chunks: AsyncIterable<Buffer>): AsyncGenerator<string> {
  let carry: Buffer = Buffer.alloc(0);
  for await (const chunk of chunks) {
    let buf = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
    let nl = buf.indexOf(0x0a);
    while (nl !== -1) {
      yield buf.toString('utf8', 0, nl);
      buf = buf.subarray(nl + 1);
      nl = buf.indexOf(0x0a);
    }
    carry = Buffer.from(buf);
  }
  if (carry.length > 0) throw invalid('the last line has no line end');
}

export interface ArchiveVisitor {
  head?(head: BackupHead): Promise<void> | void;
  table?(table: TableHead): Promise<void> | void;
  row?(table: TableHead, row: string): Promise<void> | void;
  tableEnd?(table: TableHead): Promise<void> | void;
}

/** Streams the archive, checking order, counts and hashes against the table ends and the manifest. */
export async function walkArchive(chunks: AsyncIterable<Buffer>, visit: ArchiveVisitor = {}): Promise<Manifest> {
  const it = lines(chunks)[Symbol.asyncIterator]();
  const next = async (what: string): Promise<string> => {
    const r = await it.next();
    if (r.done) throw invalid(`the archive ends where ${what} was expected`);
    return r.value;
  };
  const head = parseControl(BackupHead, await next('the backup head'), 'the backup head');
  await visit.head?.(head);
  const seen: { name: string; columns: string[]; rows: number; sha256: string }[] = [];
  for (const name of head.tables) {
    const table = parseControl(TableHead, await next(`table ${name}`), `table ${name}`);
    if (table.name !== name) throw invalid(`expected table ${name}, found ${table.name}`);
    await visit.table?.(table);
    const hash = rowHasher();
    for (let i = 0; i < table.rows; i++) {
      const row = await next(`row ${i + 1} of ${name}`);
      if (!row.startsWith('{')) throw invalid(`row ${i + 1} of ${name} is not a JSON object`);
      hash.add(row);
      await visit.row?.(table, row);
    }
    const end = parseControl(TableEnd, await next(`the end of ${name}`), `the end of ${name}`);
    const digest = hash.digest();
    if (end.name !== name || end.rows !== table.rows || end.sha256 !== digest) throw invalid(`table ${name}: row count or SHA-256 does not match its end record`);
    await visit.tableEnd?.(table);
    seen.push({ name, columns: table.columns, rows: table.rows, sha256: digest });
  }
  const manifest = parseControl(Manifest, await next('the manifest'), 'the manifest');
  const r = await it.next();
  if (!r.done) throw invalid('lines follow the manifest');
  const same =
    manifest.schemaVersion === head.schemaVersion &&
    manifest.sourceEngine === head.sourceEngine &&
    manifest.createdAt === head.createdAt &&
    manifest.migrations.length === head.migrations.length &&
    manifest.migrations.every((m, i) => m.version === head.migrations[i]?.version && m.checksum === head.migrations[i]?.checksum) &&
    manifest.tables.length === seen.length &&
    manifest.tables.every((t, i) => {
      const s = seen[i];
      return s !== undefined && t.name === s.name && t.rows === s.rows && t.sha256 === s.sha256 && t.columns.join(',') === s.columns.join(',');
    }) &&
    manifest.totalRows === seen.reduce((n, t) => n + t.rows, 0);
  if (!same) throw invalid('the manifest does not match the tables it closes');
  return manifest;
}
