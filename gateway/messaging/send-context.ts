/**
 * What a send must know before it is authorized: the recipient as a messaging peer (null when
 * unknown, disabled or not a peer kind) and whether the sender device is the caller's. Read fresh
 * for every send (no cache: nothing to invalidate when an account is disabled or a device is
 * removed; the commit re-reads the recipient's devices under lock anyway).
 *
 * Concurrent sends share one query (core/batch/group-batcher.ts, one read in flight at a time): on PGlite each
 * statement outside a transaction waits for the group commit's transaction and costs a round trip
 * to the database thread, so one query per send was a large share of the relay's database work.
 * Each send still gets exactly its own row: answers are matched by position, and a failing group
 * query is retried one send at a time by the batcher.
 */
import type { Sql } from '../../core/db/types.ts';
import { accountPeer, type Peer } from '../access/policy.ts';
import { createGroupBatcher, type Outcome } from '../../core/batch/group-batcher.ts';

export interface SendContextQuery {
  readonly recipientId: string;
  readonly senderUser: string;
  readonly senderDevice: number;
}

export interface SendContext {
  readonly peer: Peer | null;
  readonly senderDeviceOk: boolean;
}

export interface SendContextLoader<Q extends SendContextQuery> {
  load(q: Q): Promise<SendContext>;
}

interface SendContextRow {
  i: number;
  kind: string | null;
  role: string | null;
  patient_id: string | null;
  status: string | null;
  sender_device_ok: boolean;
}

/** Most sends answered by one query (the relay's group commit takes at most 64 per group). */
const MAX_PER_QUERY = 128;

/** One query for many sends; rows in query order (ids are validated UUIDs before they get here). */
export async function loadSendContexts(db: Sql, queries: readonly SendContextQuery[]): Promise<SendContext[]> {
  if (queries.length === 0) return [];
  const rows = await db.query<SendContextRow>(
    `SELECT q.i::int AS i, u.kind, u.role, u.patient_id, u.status,
            EXISTS (SELECT 1 FROM devices AS d WHERE d.user_id = q.sender AND d.device_id = q.device) AS sender_device_ok
       FROM unnest($1::uuid[], $2::uuid[], $3::int[]) WITH ORDINALITY AS q(recipient, sender, device, i)
       LEFT JOIN users AS u ON u.id = q.recipient
      ORDER BY q.i`,
    [queries.map((q) => q.recipientId), queries.map((q) => q.senderUser), queries.map((q) => q.senderDevice)],
  );
  if (rows.length !== queries.length || rows.some((r, i) => r.i !== i + 1)) throw new Error('send context query answered a different set of rows than asked');
  return rows.map((r) => ({ peer: accountPeer(r), senderDeviceOk: r.sender_device_ok }));
}

/** `onGroupError`: a shared query failed (each send is then retried alone); must not throw. */
export function createSendContextLoader<Q extends SendContextQuery>(db: Sql, opts: { onGroupError: (err: unknown, items: readonly Q[]) => void }): SendContextLoader<Q> {
  const batcher = createGroupBatcher<Q, SendContext>({
    maxBatch: MAX_PER_QUERY,
    commit: async (items) => (await loadSendContexts(db, items)).map((value): Outcome<SendContext> => ({ ok: true, value })),
    onGroupError: opts.onGroupError,
  });
  return { load: (q) => batcher.submit(q) };
}
