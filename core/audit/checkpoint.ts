/**
 * Signed checkpoints: an Ed25519 signature over the chain head (seq, hash, time). Whoever can
 * write the database directly can rewrite the whole chain with fresh hashes, or cut its tail, and
 * the chain would still link; they cannot sign, so verify compares every checkpoint with the row
 * it names. Entries are covered once a checkpoint at or after them exists (the timer's interval).
 * The signed bytes carry a purpose string so a checkpoint signature means nothing anywhere else.
 */
import { sign, verify, type KeyObject } from 'node:crypto';
import type { Db } from '../db/types.ts';
import { lockCheckpoints } from './chain-lock.ts';
import { canonicalJson } from './hash.ts';
import type { AuditSigningKey } from './signing-key.ts';

export const CHECKPOINT_PURPOSE = 'telehealth.audit.checkpoint.v1';

export interface Checkpoint {
  readonly seq: number;
  readonly head_hash: string;
  /** ISO 8601 UTC with milliseconds, as signed. */
  readonly at: string;
  readonly key_id: string;
  /** Base64 Ed25519 signature of checkpointPayload(). */
  readonly signature: string;
}

/** The exact bytes that are signed: canonical JSON of the checkpoint fields plus the purpose. */
export function checkpointPayload(c: Omit<Checkpoint, 'signature'>): Buffer {
  return Buffer.from(canonicalJson({ purpose: CHECKPOINT_PURPOSE, seq: c.seq, head_hash: c.head_hash, at: c.at, key_id: c.key_id }), 'utf8');
}

export function checkpointSignatureValid(c: Checkpoint, publicKey: KeyObject): boolean {
  const sig = Buffer.from(c.signature, 'base64');
  if (sig.length !== 64 || sig.toString('base64') !== c.signature) return false;
  return verify(null, checkpointPayload(c), publicKey, sig);
}

export interface Checkpointer {
  /** Sign and store the current head; null when the chain is empty or the head is already signed. */
  checkpoint(): Promise<Checkpoint | null>;
}

interface HeadRow {
  seq: number | null;
  hash: string | null;
  cp_seq: number | null;
  at: Date;
}

export function createCheckpointer(db: Db, key: AuditSigningKey): Checkpointer {
  return {
    checkpoint() {
      return db.transaction(async (tx) => {
        await lockCheckpoints(tx);
        const [h] = await tx.query<HeadRow>(
          `SELECT h.seq, h.hash, c.seq AS cp_seq, greatest(date_trunc('milliseconds', clock_timestamp()), c.at) AS at
             FROM (SELECT 1) AS one
             LEFT JOIN LATERAL (SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1) AS h ON true
             LEFT JOIN LATERAL (SELECT seq, at FROM audit_checkpoint ORDER BY seq DESC LIMIT 1) AS c ON true`,
        );
        // Also refuses to sign a head below an existing checkpoint (a cut tail): verify reports that.
        if (!h || h.seq === null || h.hash === null || (h.cp_seq !== null && h.cp_seq >= h.seq)) return null;
        const unsigned = { seq: h.seq, head_hash: h.hash, at: h.at.toISOString(), key_id: key.keyId };
        const cp: Checkpoint = { ...unsigned, signature: sign(null, checkpointPayload(unsigned), key.privateKey).toString('base64') };
        await tx.query('INSERT INTO audit_checkpoint (seq, head_hash, at, key_id, signature) VALUES ($1, $2, $3::timestamptz, $4, $5)', [
          cp.seq, cp.head_hash, cp.at, cp.key_id, cp.signature,
        ]);
        return cp;
      });
    },
  };
}
