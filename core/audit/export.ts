/**
 * Export for breach assessment and auditors: the entries in a time window, optionally for one
 * actor and/or one patient, streamed in seq order a batch at a time. Each JSON line is the stored
 * record in canonical JSON, including seq, prev_hash and hash, so a recipient can recompute every
 * line's hash and match the slice against the chain or a signed checkpoint.
 */
import type { Sql } from '../db/types.ts';
import type { AuditRecord } from './entry.ts';
import { canonicalJson, RECORD_COLUMNS, rowToRecord, type AuditRow } from './hash.ts';

export interface ExportFilter {
  /** Inclusive. */
  readonly from: Date;
  /** Exclusive. */
  readonly to: Date;
  readonly actorId?: string;
  readonly patientId?: string;
}

export async function* exportEntries(db: Sql, filter: ExportFilter, opts: { batchSize?: number } = {}): AsyncGenerator<AuditRecord> {
  const batch = opts.batchSize ?? 1000;
  // Bound by the head at the start so an export of a busy chain finishes and is reproducible.
  const [bound] = await db.query<{ head: number | null }>('SELECT max(seq) AS head FROM audit_log');
  const head = bound?.head ?? 0;
  let cursor = 0;
  for (;;) {
    const rows = await db.query<AuditRow>(
      `SELECT ${RECORD_COLUMNS} FROM audit_log
        WHERE seq > $1 AND seq <= $2 AND at >= $3::timestamptz AND at < $4::timestamptz
          AND ($5::text IS NULL OR actor_id = $5) AND ($6::text IS NULL OR patient_id = $6)
        ORDER BY seq LIMIT $7`,
      [cursor, head, filter.from.toISOString(), filter.to.toISOString(), filter.actorId ?? null, filter.patientId ?? null, batch],
    );
    for (const row of rows) yield rowToRecord(row);
    const last = rows.at(-1);
    if (!last || rows.length < batch) return;
    cursor = last.seq;
  }
}

/** One JSON Lines line (with its newline) for a record. */
export function toJsonLine(record: AuditRecord): string {
  return `${canonicalJson(record)}\n`;
}
