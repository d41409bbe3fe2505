/**
 * The envelope store: opaque libsignal ciphertext waiting for its recipient device. Rows are
 * written in one transaction per send, read in `seq` order per (user, device), deleted when that
 * device acknowledges them (scoped to the recipient, so nobody can delete another's mail), and
 * purged after the TTL.
 *
 * Ordering: `seq` comes from a sequence, assigned at insert, and two senders to the same
 * recipient could otherwise commit out of `seq` order — a reader holding a cursor past the later
 * one would then never see the earlier. `store` therefore takes a per-recipient transaction lock
 * first, so for any one recipient, commit order is `seq` order and a seq cursor never skips.
 * `storeMany` (the relay's group commit) locks every recipient of its batches in one statement,
 * in lock-key order, so two group commits over overlapping recipients can never deadlock, then
 * inserts every envelope in one multi-row INSERT in batch order (seq follows that order).
 *
 * The lock and the INSERT are sent back to back, without waiting for the lock's answer in between:
 * statements of one transaction run one after another in the order they were sent (one pg
 * connection; core/db/pglite-thread.ts keeps the same order), so the lock is held before the
 * INSERT takes its seqs, and the transaction — which on PGlite holds the whole database — is
 * open for one round trip fewer.
 */
import { randomUUID } from 'node:crypto';
import type { Db, Sql } from '../../core/db/types.ts';
import { isUuid } from '../../core/ids.ts';
import type { InboundEnvelope } from '../../core/protocol/messaging.ts';
import type { z } from 'zod';

export interface NewEnvelope {
  readonly deviceId: number;
  /** libsignal CiphertextMessageType: 2 whisper, 3 prekey. */
  readonly type: 2 | 3;
  readonly content: Buffer;
}

export interface EnvelopeBatch {
  readonly recipientUser: string;
  readonly senderUser: string;
  readonly senderDevice: number;
  readonly envelopes: readonly NewEnvelope[];
}

export interface StoredRef {
  readonly id: string;
  readonly seq: number;
  readonly deviceId: number;
}

export interface StoredEnvelope {
  readonly id: string;
  readonly seq: number;
  readonly senderUser: string;
  readonly senderDevice: number;
  readonly type: 2 | 3;
  readonly content: Buffer;
  readonly serverTs: Date;
}

export interface EnvelopeStore {
  /** Inserts the batch (in `tx` when given, else its own transaction); refs in request order. */
  store(batch: EnvelopeBatch, tx?: Sql): Promise<StoredRef[]>;
  /** Inserts several batches at once (one per send); refs per batch, each in request order. */
  storeMany(batches: readonly EnvelopeBatch[], tx?: Sql): Promise<StoredRef[][]>;
  /** Pending envelopes of one device with seq > `afterSeq`, oldest first, at most `limit`. */
  listPending(userId: string, deviceId: number, opts?: { afterSeq?: number; limit?: number }): Promise<StoredEnvelope[]>;
  /** Deletes those of `ids` addressed to this (user, device); returns how many were deleted. */
  ack(userId: string, deviceId: number, ids: readonly string[], tx?: Sql): Promise<number>;
  /** Deletes every envelope received before `cutoff`; returns the count. */
  purgeOlderThan(cutoff: Date, tx?: Sql): Promise<number>;
}

/** Namespace of the per-recipient advisory lock (two-int form: namespace, hashtext(user)). */
const RECIPIENT_LOCK_NS = 1_836_279_617;

interface EnvelopeRow {
  id: string;
  seq: number;
  sender_user: string;
  sender_device: number;
  type: number;
  content: Buffer;
  server_ts: Date;
}

/** Takes the per-recipient lock that makes commit order equal seq order for that recipient. */
export async function lockRecipient(tx: Sql, userId: string): Promise<void> {
  await lockRecipients(tx, [userId]);
}

/**
 * Takes the per-recipient locks of several recipients in one statement, in ascending lock-key
 * order (the key is what is locked, so hash collisions are ordered too): every transaction that
 * locks more than one recipient does so in the same global order, so none can wait in a cycle.
 * PostgreSQL evaluates volatile output expressions after the ORDER BY sort (since 9.6).
 */
export async function lockRecipients(tx: Sql, userIds: readonly string[]): Promise<void> {
  if (userIds.length === 0) return;
  await tx.query(
    `SELECT pg_advisory_xact_lock($1::int, k) FROM (SELECT DISTINCT hashtext(u) AS k FROM unnest($2::text[]) AS u) AS keys ORDER BY k`,
    [RECIPIENT_LOCK_NS, [...new Set(userIds)]],
  );
}

/** Parameters per envelope row; PostgreSQL allows 65535 per statement, so larger inserts are split. */
const PARAMS_PER_ROW = 7;
const MAX_ROWS_PER_INSERT = Math.floor(65_535 / PARAMS_PER_ROW);

async function insertRows(tx: Sql, rows: readonly { id: string; batch: EnvelopeBatch; e: NewEnvelope }[]): Promise<Map<string, { seq: number; recipient_device: number }>> {
  const params: unknown[] = [];
  const values = rows.map(({ id, batch, e }) => {
    const n = params.length;
    params.push(id, batch.recipientUser, e.deviceId, batch.senderUser, batch.senderDevice, e.type, e.content);
    return `($${n + 1}::uuid, $${n + 2}::uuid, $${n + 3}::int, $${n + 4}::uuid, $${n + 5}::int, $${n + 6}::smallint, $${n + 7}::bytea)`;
  });
  const back = await tx.query<{ id: string; seq: number; recipient_device: number }>(
    `INSERT INTO envelopes (id, recipient_user, recipient_device, sender_user, sender_device, type, content)
     VALUES ${values.join(', ')} RETURNING id, seq, recipient_device`,
    params,
  );
  return new Map(back.map((r) => [r.id, { seq: Number(r.seq), recipient_device: r.recipient_device }]));
}

export function createEnvelopeStore(db: Db): EnvelopeStore {
  const insert = async (tx: Sql, batches: readonly EnvelopeBatch[]): Promise<StoredRef[][]> => {
    const withIds = batches.map((batch) => batch.envelopes.map((e) => ({ id: randomUUID(), batch, e })));
    const rows = withIds.flat();
    if (rows.length === 0) return batches.map(() => []);
    // Sent together without waiting in between (see the module comment): the lock still runs
    // first, since statements on one connection run in the order they are sent.
    const locked = lockRecipients(tx, batches.filter((b) => b.envelopes.length > 0).map((b) => b.recipientUser));
    const chunks: Promise<Map<string, { seq: number; recipient_device: number }>>[] = [];
    for (let i = 0; i < rows.length; i += MAX_ROWS_PER_INSERT) chunks.push(insertRows(tx, rows.slice(i, i + MAX_ROWS_PER_INSERT)));
    const [, ...inserted] = await Promise.all([locked, ...chunks]);
    const stored = new Map<string, { seq: number; recipient_device: number }>();
    for (const chunk of inserted) for (const [id, r] of chunk) stored.set(id, r);
    return withIds.map((list) =>
      list.map(({ id }) => {
        const r = stored.get(id);
        if (r === undefined) throw new Error('envelope insert returned fewer rows than inserted');
        return { id, seq: r.seq, deviceId: r.recipient_device };
      }),
    );
  };

  return {
    async store(batch, tx) {
      const [refs] = tx ? await insert(tx, [batch]) : await db.transaction((t) => insert(t, [batch]));
      return refs ?? [];
    },

    storeMany(batches, tx) {
      return tx ? insert(tx, batches) : db.transaction((t) => insert(t, batches));
    },

    async listPending(userId, deviceId, opts = {}) {
      const rows = await db.query<EnvelopeRow>(
        `SELECT id, seq, sender_user, sender_device, type, content, server_ts FROM envelopes
         WHERE recipient_user = $1 AND recipient_device = $2 AND seq > $3 ORDER BY seq LIMIT $4`,
        [userId, deviceId, opts.afterSeq ?? 0, opts.limit ?? 100],
      );
      return rows.map((r) => ({
        id: r.id,
        seq: Number(r.seq),
        senderUser: r.sender_user,
        senderDevice: r.sender_device,
        type: r.type === 3 ? 3 : 2,
        content: r.content,
        serverTs: r.server_ts,
      }));
    },

    async ack(userId, deviceId, ids, tx) {
      // Malformed ids can only come from a buggy client; they match nothing, so skip them.
      const valid = ids.filter(isUuid);
      if (valid.length === 0) return 0;
      const rows = await (tx ?? db).query<{ id: string }>(
        'DELETE FROM envelopes WHERE recipient_user = $1 AND recipient_device = $2 AND id = ANY($3::uuid[]) RETURNING id',
        [userId, deviceId, valid],
      );
      return rows.length;
    },

    async purgeOlderThan(cutoff, tx) {
      const rows = await (tx ?? db).query<{ n: number }>(
        'WITH gone AS (DELETE FROM envelopes WHERE server_ts < $1 RETURNING 1) SELECT count(*)::int AS n FROM gone',
        [cutoff],
      );
      return rows[0]?.n ?? 0;
    },
  };
}

/** The wire form (core/protocol InboundEnvelope) of a stored envelope. */
export function inboundView(e: StoredEnvelope): z.infer<typeof InboundEnvelope> {
  return { id: e.id, senderUserId: e.senderUser, senderDevice: e.senderDevice, type: e.type, content: e.content.toString('base64'), serverTs: e.serverTs.toISOString() };
}
