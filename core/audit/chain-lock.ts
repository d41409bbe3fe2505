/**
 * The advisory locks that order the chain. Appends take the chain lock inside their transaction,
 * so across every process on a PostgreSQL server (and every caller of one PGlite) exactly one
 * writer reads the head and extends it at a time; COMMIT or ROLLBACK releases it. Checkpoints take
 * their own lock: they only read committed (immutable) rows, so they never need to stall appends.
 */
import type { Sql } from '../db/types.ts';

/** Arbitrary, fixed, and distinct from the migration lock (core/db/migrate.ts). */
export const AUDIT_CHAIN_LOCK_KEY = 7_231_946_101;
export const AUDIT_CHECKPOINT_LOCK_KEY = 7_231_946_102;

export async function lockChain(tx: Sql): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock($1::bigint)', [AUDIT_CHAIN_LOCK_KEY]);
}

export async function lockCheckpoints(tx: Sql): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock($1::bigint)', [AUDIT_CHECKPOINT_LOCK_KEY]);
}
