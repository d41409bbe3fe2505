/**
 * Verifies the chain: walks every entry in seq order, a batch per query (keyset pagination, never
 * the whole table in memory), recomputing each hash and checking seq contiguity and prev_hash
 * linkage; checks each signed checkpoint as the walk reaches its seq (signature by a trusted key,
 * and the row there still has the signed hash); and finally that no checkpoint points past the end.
 * The walk is bounded by the head seen at the start, so it finishes while appends go on, and it
 * runs outside a transaction so it never blocks writers (PGlite serializes all transactions).
 */
import type { KeyObject } from 'node:crypto';
import type { Sql } from '../db/types.ts';
import { checkpointSignatureValid, type Checkpoint } from './checkpoint.ts';
import { GENESIS_HASH, hashRecord, RECORD_COLUMNS, rowToRecord, type AuditRow } from './hash.ts';
import { keyIdOf } from './signing-key.ts';

export const VerifyFailure = {
  /** A row's contents no longer match its hash: edited. */
  hashMismatch: 'hash_mismatch',
  /** A row does not link to its predecessor: inserted, replaced or reordered. */
  prevHashMismatch: 'prev_hash_mismatch',
  /** A seq is missing: deleted. */
  seqGap: 'seq_gap',
  checkpointSignatureInvalid: 'checkpoint_signature_invalid',
  checkpointKeyUnknown: 'checkpoint_key_unknown',
  /** The row at a checkpoint's seq is not the one that was signed: the chain was rewritten. */
  checkpointMismatch: 'checkpoint_mismatch',
  /** A signed checkpoint names a seq past the end of the chain: the tail was cut. */
  truncated: 'truncated',
} as const;
export type VerifyFailure = (typeof VerifyFailure)[keyof typeof VerifyFailure];

export interface VerifyResult {
  readonly ok: boolean;
  /** Entries whose hash and linkage were checked. */
  readonly checked: number;
  /** Last entry checked. */
  readonly head: { readonly seq: number; readonly hash: string } | null;
  /** Checkpoints whose signature and hash were checked. */
  readonly checkpoints: number;
  readonly firstBad?: { readonly seq: number; readonly reason: VerifyFailure; readonly message: string };
}

export interface VerifyOptions {
  /** Public keys trusted to sign checkpoints (the configured key, plus retired ones after rotation). */
  readonly publicKeys: readonly KeyObject[];
  readonly batchSize?: number;
  readonly onProgress?: (checked: number, total: number) => void;
}

type CheckpointRow = Omit<Checkpoint, 'at'> & { at: Date };

export async function verifyChain(db: Sql, opts: VerifyOptions): Promise<VerifyResult> {
  const batch = opts.batchSize ?? 1000;
  const keys = new Map(opts.publicKeys.map((k) => [keyIdOf(k), k]));
  const [bounds] = await db.query<{ head: number | null; cp: number | null }>(
    'SELECT (SELECT max(seq) FROM audit_log) AS head, (SELECT max(seq) FROM audit_checkpoint) AS cp',
  );
  const total = bounds?.head ?? 0;
  // Checkpoints are only ever added for existing rows, so these all name rows that existed by now.
  const cpLimit = bounds?.cp ?? 0;

  let pending: CheckpointRow[] = [];
  let cpCursor = 0;
  const nextCheckpoint = async (): Promise<CheckpointRow | undefined> => {
    if (pending.length === 0 && cpCursor < cpLimit) {
      pending = await db.query<CheckpointRow>(
        'SELECT seq, head_hash, at, key_id, signature FROM audit_checkpoint WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3',
        [cpCursor, cpLimit, batch],
      );
      cpCursor = pending.at(-1)?.seq ?? cpLimit;
    }
    return pending[0];
  };

  let checked = 0;
  let checkpoints = 0;
  let head: VerifyResult['head'] = null;
  let lastGoodCheckpoint = 0;
  const fail = (seq: number, reason: VerifyFailure, message: string): VerifyResult => ({
    ok: false, checked, head, checkpoints, firstBad: { seq, reason, message },
  });

  for (;;) {
    const rows: AuditRow[] = await db.query<AuditRow>(`SELECT ${RECORD_COLUMNS} FROM audit_log WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3`, [
      head?.seq ?? 0, total, batch,
    ]);
    for (const row of rows) {
      const expected = checked + 1;
      if (row.seq !== expected) return fail(expected, 'seq_gap', `entry ${expected} is missing (deleted): the next entry is ${row.seq}`);
      const prev = head?.hash ?? GENESIS_HASH;
      if (row.prev_hash !== prev) {
        return fail(row.seq, 'prev_hash_mismatch', expected === 1
          ? 'entry 1 does not start the chain: entries were inserted or replaced at the beginning'
          : `entry ${row.seq} does not link to entry ${row.seq - 1}: entries were inserted, replaced or reordered here`);
      }
      if (!recomputes(row)) return fail(row.seq, 'hash_mismatch', `entry ${row.seq} was changed after it was written: its contents no longer match its hash`);
      for (let cp = await nextCheckpoint(); cp && cp.seq <= row.seq; cp = await nextCheckpoint()) {
        pending.shift();
        const key = keys.get(cp.key_id);
        if (!key) {
          return fail(cp.seq, 'checkpoint_key_unknown', `the checkpoint at entry ${cp.seq} was signed by key ${cp.key_id}, which is not a trusted audit signing key (rotated or forged)`);
        }
        if (!checkpointSignatureValid({ ...cp, at: cp.at.toISOString() }, key)) {
          return fail(cp.seq, 'checkpoint_signature_invalid', `the signed checkpoint at entry ${cp.seq} has an invalid signature: it was forged or altered`);
        }
        if (cp.seq !== row.seq || cp.head_hash !== row.hash) {
          return fail(cp.seq, 'checkpoint_mismatch', `entry ${cp.seq} is not the entry that was signed at ${cp.at.toISOString()}: the chain was rewritten at or before entry ${cp.seq} (after entry ${lastGoodCheckpoint}, the previous good checkpoint)`);
        }
        lastGoodCheckpoint = cp.seq;
        checkpoints += 1;
      }
      head = { seq: row.seq, hash: row.hash };
      checked += 1;
    }
    if (rows.length > 0) opts.onProgress?.(checked, total);
    if (rows.length < batch) break;
  }

  const missing = checked + 1;
  if (checked < total) return fail(missing, 'truncated', `entries from ${missing} on disappeared while verifying (the chain had ${total})`);
  const beyond = await nextCheckpoint();
  if (beyond) {
    return fail(missing, 'truncated', `entries from ${missing} on are missing: a signed checkpoint covers entry ${beyond.seq}, but the chain ends at ${checked}`);
  }
  return { ok: true, checked, head, checkpoints };
}

/** A row whose fields are malformed (constraints dropped by an attacker) cannot match its hash. */
function recomputes(row: AuditRow): boolean {
  try {
    return hashRecord(rowToRecord(row)) === row.hash;
  } catch {
    return false;
  }
}
