/**
 * Appending to the audit chain. `append(entry, tx)` joins the caller's transaction so a business
 * row and its audit record commit or vanish together; without `tx` it runs its own. Under the
 * chain lock it reads the head, takes the next seq and the database clock (truncated to the
 * millisecond, never earlier than the head's), hashes, inserts, and checks that what the database
 * returns still hashes the same, so an entry that would not verify later is never committed.
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
  /** The newest entry, or null for an empty chain. */
  head(): Promise<ChainHead | null>;
}

export function createAuditLog(db: Db): AuditLog {
  return {
    async append(entry, tx) {
      // Validate before touching the database: a bad entry must not take the lock or abort `tx`.
      const fields = parseAuditEntry(entry);
      return tx ? appendIn(tx, fields) : db.transaction((t) => appendIn(t, fields));
    },
    async head() {
      const [row] = await db.query<{ seq: number; hash: string; at: Date }>('SELECT seq, hash, at FROM audit_log ORDER BY seq DESC LIMIT 1');
      return row ? { seq: row.seq, hash: row.hash, at: row.at.toISOString() } : null;
    },
  };
}

async function appendIn(tx: Sql, fields: AuditFields): Promise<AuditRecord> {
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
  const unsigned = { seq: (head.seq ?? 0) + 1, at: head.at.toISOString(), ...fields, prev_hash: head.hash ?? GENESIS_HASH };
  const hash = hashRecord(unsigned);
  const [row] = await tx.query<AuditRow>(
    `INSERT INTO audit_log (${RECORD_COLUMNS})
     VALUES ($1, $2::timestamptz, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14, $15)
     RETURNING ${RECORD_COLUMNS}`,
    [
      unsigned.seq, unsigned.at, unsigned.actor_type, unsigned.actor_id, unsigned.action, unsigned.resource_type, unsigned.resource_id,
      unsigned.patient_id, unsigned.outcome, unsigned.request_id, unsigned.ip, unsigned.break_glass, JSON.stringify(unsigned.details),
      unsigned.prev_hash, hash,
    ],
  );
  if (!row) throw new Error('audit insert returned no row');
  const stored = rowToRecord(row);
  if (hashRecord(stored) !== hash) {
    throw new Error(`audit entry ${stored.seq} did not round-trip through the database unchanged; refusing to commit it`);
  }
  return stored;
}
