/**
 * Test fixture: what a database superuser could do to the audit tables, bypassing the app. It
 * switches the append-only triggers off (ALTER TABLE ... DISABLE TRIGGER ALL), runs the edit, and
 * switches them back on, all in one transaction, the way an attacker covering their tracks would.
 */
import type { Db, Sql } from '../../db/types.ts';
import { GENESIS_HASH, hashRecord, RECORD_COLUMNS, rowToRecord, type AuditRow } from '../hash.ts';

const REENABLE = `
  ALTER TABLE audit_log ENABLE ALWAYS TRIGGER audit_log_append_only;
  ALTER TABLE audit_log ENABLE ALWAYS TRIGGER audit_log_no_truncate;
  ALTER TABLE audit_log ENABLE ALWAYS TRIGGER audit_log_link;
  ALTER TABLE audit_checkpoint ENABLE ALWAYS TRIGGER audit_checkpoint_append_only;
  ALTER TABLE audit_checkpoint ENABLE ALWAYS TRIGGER audit_checkpoint_no_truncate;`;

/** Run `fn` with the audit triggers disabled, as a superuser could. */
export async function tamper(db: Db, fn: (tx: Sql) => Promise<void>): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.exec('ALTER TABLE audit_log DISABLE TRIGGER ALL; ALTER TABLE audit_checkpoint DISABLE TRIGGER ALL');
    await fn(tx);
    await tx.exec(REENABLE);
  });
}

export async function tamperSql(db: Db, sql: string): Promise<void> {
  await tamper(db, (tx) => tx.exec(sql));
}

/** Rewrite every hash from `fromSeq` on so the chain links again: the "rewrite history" attack. */
export async function relinkChain(tx: Sql, fromSeq = 1): Promise<void> {
  const rows = await tx.query<AuditRow>(`SELECT ${RECORD_COLUMNS} FROM audit_log ORDER BY seq`);
  let prev = GENESIS_HASH;
  for (const row of rows) {
    const rec = rowToRecord(row);
    if (rec.seq >= fromSeq) {
      const hash = hashRecord({ ...rec, prev_hash: prev });
      await tx.query('UPDATE audit_log SET prev_hash = $1, hash = $2 WHERE seq = $3', [prev, hash, rec.seq]);
      prev = hash;
    } else {
      prev = rec.hash;
    }
  }
}
