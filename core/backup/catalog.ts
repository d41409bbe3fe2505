/**
 * What a backup reads from the database's own catalog (pg_catalog, identical on PGlite and
 * PostgreSQL): the application tables of the current schema with their columns and primary keys,
 * the foreign keys between them, and the sequences. New tables from future migrations are picked
 * up without touching this code. schema_migrations is the schema's version, not data: it travels
 * in the manifest and restore re-creates it by migrating.
 */
import type { Sql } from '../db/types.ts';

export const MIGRATIONS_TABLE = 'schema_migrations';
const IDENT_RE = /^[a-z_][a-z0-9_]{0,62}$/;

export interface TableInfo {
  readonly name: string;
  /** Insertable columns in column order (generated columns excluded). */
  readonly columns: readonly string[];
  readonly primaryKey: readonly string[];
}

export interface Catalog {
  /** Parents before children (foreign keys), ties by name: the order to insert in. */
  readonly tables: readonly TableInfo[];
  readonly sequences: readonly string[];
}

/** Double-quoted identifier; names are checked against a plain-identifier pattern first. */
export function ident(name: string): string {
  if (!IDENT_RE.test(name)) throw new Error(`unexpected identifier in the catalog: ${JSON.stringify(name.slice(0, 64))}`);
  return `"${name}"`;
}

export async function readCatalog(sql: Sql): Promise<Catalog> {
  const cols = await sql.query<{ table_name: string; column_name: string }>(
    `SELECT c.relname AS table_name, a.attname AS column_name
       FROM pg_catalog.pg_class c
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid
      WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relname <> $1
        AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
      ORDER BY c.relname, a.attnum`,
    [MIGRATIONS_TABLE],
  );
  const pks = await sql.query<{ table_name: string; column_name: string }>(
    `SELECT c.relname AS table_name, a.attname AS column_name
       FROM pg_catalog.pg_index i
       JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
       JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
      WHERE n.nspname = current_schema() AND i.indisprimary
      ORDER BY c.relname, k.ord`,
  );
  const fks = await sql.query<{ child: string; parent: string }>(
    `SELECT DISTINCT c.relname AS child, p.relname AS parent
       FROM pg_catalog.pg_constraint k
       JOIN pg_catalog.pg_class c ON c.oid = k.conrelid
       JOIN pg_catalog.pg_class p ON p.oid = k.confrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = current_schema() AND k.contype = 'f'`,
  );
  const seqs = await sql.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = current_schema() AND c.relkind = 'S' ORDER BY c.relname`,
  );

  const columns = new Map<string, string[]>();
  for (const r of cols) {
    ident(r.table_name);
    ident(r.column_name);
    const list = columns.get(r.table_name) ?? [];
    list.push(r.column_name);
    columns.set(r.table_name, list);
  }
  const primaryKeys = new Map<string, string[]>();
  for (const r of pks) primaryKeys.set(r.table_name, [...(primaryKeys.get(r.table_name) ?? []), r.column_name]);
  const infos = new Map<string, TableInfo>([...columns].map(([name, c]) => [name, { name, columns: c, primaryKey: primaryKeys.get(name) ?? [] }]));
  for (const s of seqs) ident(s.name);
  return { tables: dependencyOrder(infos, fks), sequences: seqs.map((s) => s.name) };
}

/** Kahn's algorithm, always taking the alphabetically first ready table: deterministic. */
function dependencyOrder(tables: ReadonlyMap<string, TableInfo>, fks: readonly { child: string; parent: string }[]): TableInfo[] {
  const parents = new Map<string, Set<string>>([...tables.keys()].map((t) => [t, new Set<string>()]));
  for (const { child, parent } of fks) {
    // A self-reference orders rows, not tables; none exists today, and restore would need row order for one.
    if (child !== parent && tables.has(child) && tables.has(parent)) parents.get(child)?.add(parent);
  }
  const order: TableInfo[] = [];
  const done = new Set<string>();
  while (done.size < tables.size) {
    const ready = [...tables.keys()].filter((t) => !done.has(t) && [...(parents.get(t) ?? [])].every((p) => done.has(p))).sort();
    const first = ready[0];
    if (first === undefined) throw new Error(`foreign keys form a cycle among: ${[...tables.keys()].filter((t) => !done.has(t)).join(', ')}`);
    const info = tables.get(first);
    if (info) order.push(info);
    done.add(first);
  }
  return order;
}
