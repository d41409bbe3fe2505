/**
 * Appending to the audit chain. `append(entry, tx)` joins the caller's transaction so a business
 * row and its audit record commit or vanish together; without `tx` it runs its own. Under the
 * chain lock it reads the head, takes the next seq and the database clock (truncated to the
 * millisecond, never earlier than the head's), hashes, inserts, and checks that what the database
 * returns still hashes the same, so an entry that would not verify later is never committed.
 *
 * `appendMany(entries, tx)` is the same under one lock, one head read and one multi-row INSERT:
 * the N records take seq+1..seq+N and one `at` (a batch is one instant), each linked to the one
 * before. Group commits (the messaging relay) use it so N business steps pay for one chain step.
 * `append` is `appendMany` of one.
 */
import type { Db, Sql } from '../db/types.ts';
import { lockChain } from './chain-lock.ts';
import { parseAuditEntry, type AuditEntryInput, type AuditFields, type AuditRecord } from './entry.ts';
import { GENESIS_HASH, hashRecord, RECORD_COLUMNS, rowToRecord, type AuditRow } from './hash.ts';

export interface ChainHead {
  readonly seq: number;
  readonly hash: string;
  readonly at: string;
}

export interface AuditLog {
  /**
   * Validate and append one entry; resolves to the stored record. Pass `tx` to make the entry part
   * of your transaction (READ COMMITTED, the default). The chain lock is then held until your
   * transaction ends, so append last and commit promptly.
   */
  append(entry: AuditEntryInput, tx?: Sql): Promise<AuditRecord>;
  /**
   * Validate every entry, then append them all as consecutive records (in the given order) under
   * one chain lock; resolves to the stored records in the same order. One invalid entry rejects
   * the whole call before any database work. Same `tx` rules as `append`. An empty list is a no-op.
   */
  appendMany(entries: readonly AuditEntryInput[], tx?: Sql): Promise<AuditRecord[]>;
  /** The newest entry, or null for an empty chain. */
  head(): Promise<ChainHead | null>;
}

/** Columns per row in the INSERT; PostgreSQL allows 65535 parameters per statement. */
const COLUMNS_PER_ROW = 15;
/** Rows per INSERT statement (a larger batch is split, still under the one lock). */
const MAX_ROWS_PER_INSERT = Math.floor(65_535 / COLUMNS_PER_ROW);

export function createAuditLog(db: Db): AuditLog {
  const appendMany = async (entries: readonly AuditEntryInput[], tx?: Sql): Promise<AuditRecord[]> => {
    // Validate before touching the database: a bad entry must not take the lock or abort `tx`.
    const fields = entries.map(parseAuditEntry);
    if (fields.length === 0) return [];
    return tx ? appendIn(tx, fields) : db.transaction((t) => appendIn(t, fields));
  };
  return {
    async append(entry, tx) {
      const [record] = await appendMany([entry], tx);
      if (!record) throw new Error('audit append stored no record');
      return record;
    },
    appendMany,
    async head() {
      const [row] = await db.query<{ seq: number; hash: string; at: Date }>('SELECT seq, hash, at FROM audit_log ORDER BY seq DESC LIMIT 1');
      return row ? { seq: row.seq, hash: row.hash, at: row.at.toISOString() } : null;
    },
  };
}

async function appendIn(tx: Sql, fields: readonly AuditFields[]): Promise<AuditRecord[]> {
  await lockChain(tx);
  // A separate statement from the lock: under READ COMMITTED it takes a fresh snapshot, so it sees
  // the row the previous lock holder committed.
  const [head] = await tx.query<{ seq: number | null; hash: string | null; at: Date; iso: string }>(
    `SELECT h.seq, h.hash,
            greatest(date_trunc('milliseconds', clock_timestamp()), h.at) AS at,
            current_setting('transaction_isolation') AS iso
       FROM (SELECT 1) AS one
       LEFT JOIN LATERAL (SELECT seq, hash, at FROM audit_log ORDER BY seq DESC LIMIT 1) AS h ON true`,
  );
  if (!head) throw new Error('audit head query returned no row');
  if (head.iso !== 'read committed') {
    // A REPEATABLE READ snapshot taken before the lock would read a stale head.
    throw new Error(`audit append needs a READ COMMITTED transaction, not ${head.iso}`);
  }
  const at = head.at.toISOString();
  let seq = head.seq ?? 0;
  let prev = head.hash ?? GENESIS_HASH;
  const records = fields.map((f) => {
    seq += 1;
    const unsigned = { seq, at, ...f, prev_hash: prev };
    const hash = hashRecord(unsigned);
    prev = hash;
    return { ...unsigned, hash };
  });
  const stored: AuditRecord[] = [];
  for (let i = 0; i < records.length; i += MAX_ROWS_PER_INSERT) stored.push(...(await insertRows(tx, records.slice(i, i + MAX_ROWS_PER_INSERT))));
  return stored;
}

/** One multi-row INSERT … RETURNING; every returned row must still hash as computed. */
async function insertRows(tx: Sql, records: readonly AuditRecord[]): Promise<AuditRecord[]> {
  const params: unknown[] = [];
  const values = records.map((r) => {
    const n = params.length;
    params.push(
      r.seq, r.at, r.actor_type, r.actor_id, r.action, r.resource_type, r.resource_id,
      r.patient_id, r.outcome, r.request_id, r.ip, r.break_glass, JSON.stringify(r.details), r.prev_hash, r.hash,
    );
    const p = (k: number): string => `$${n + k}`;
    return `(${p(1)}::bigint, ${p(2)}::timestamptz, ${p(3)}, ${p(4)}, ${p(5)}, ${p(6)}, ${p(7)}, ${p(8)}, ${p(9)}, ${p(10)}, ${p(11)}, ${p(12)}::boolean, ${p(13)}::jsonb, ${p(14)}, ${p(15)})`;
  });
  // Rows are inserted in VALUES order, so each row's link trigger sees its predecessor.
  const rows = await tx.query<AuditRow>(`INSERT INTO audit_log (${RECORD_COLUMNS}) VALUES ${values.join(', ')} RETURNING ${RECORD_COLUMNS}`, params);
  const bySeq = new Map(rows.map((row) => [Number(row.seq), row]));
  if (bySeq.size !== records.length) throw new Error('audit insert returned a different number of rows than it inserted');
  return records.map((r) => {
    const row = bySeq.get(r.seq);
    if (!row) throw new Error(`audit insert did not return entry ${r.seq}`);
    const back = rowToRecord(row);
    if (hashRecord(back) !== r.hash || back.hash !== r.hash) {
      throw new Error(`audit entry ${r.seq} did not round-trip through the database unchanged; refusing to commit it`);
    }
    return back;
  });
}
