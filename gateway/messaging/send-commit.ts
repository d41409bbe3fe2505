/**
 * One transaction for a group of sends (see core/batch/group-batcher.ts), with every guarantee of a single
 * send: the recipients are locked (envelope-store.ts: commit order is seq order per recipient, in
 * lock-key order so groups cannot deadlock), the device lists of all recipients are read and
 * share-locked in one query, and each send is checked against its recipient's list — a mismatch
 * fails that send alone with its 409 and writes nothing for it. The others' envelopes go in one
 * multi-row INSERT (in group order, so sends to one recipient get seqs in submission order) and
 * their audit records in one appendMany: one `message.send` per send, as before.
 */
import type { AuditEntryInput, AuditLog } from '../../core/audit/index.ts';
import type { Sql } from '../../core/db/types.ts';
import { AppError } from '../../core/errors.ts';
import { MessagingErrorCode } from '../../core/protocol/messaging.ts';
import { compareDevices, devicesOfMany, type DeviceRef, type Mismatch } from './device-lookup.ts';
import type { EnvelopeStore, NewEnvelope, StoredRef } from './envelope-store.ts';
import type { Outcome } from '../../core/batch/group-batcher.ts';

export interface PendingSend {
  readonly recipientUser: string;
  readonly senderUser: string;
  readonly senderDevice: number;
  /** The devices the sender addressed, with the registration ids it believes current. */
  readonly addressed: readonly DeviceRef[];
  readonly envelopes: readonly NewEnvelope[];
  /** The send's `message.send` record, appended only if the send commits. */
  readonly audit: AuditEntryInput;
}

export function mismatchError(m: Mismatch): AppError {
  return new AppError(409, MessagingErrorCode.deviceMismatch, 'The addressed devices do not match the recipient’s devices', { extra: { ...m } });
}

/** Runs inside `tx` (READ COMMITTED); answers each send in order. Throws only for unexpected failures. */
export async function commitSends(tx: Sql, sends: readonly PendingSend[], deps: { store: EnvelopeStore; audit: AuditLog }): Promise<Outcome<StoredRef[]>[]> {
  const devices = await devicesOfMany(tx, sends.map((s) => s.recipientUser), { lock: true });
  const accepted: PendingSend[] = [];
  const verdicts = sends.map((s): AppError | null => {
    const own = s.recipientUser === s.senderUser;
    const current = (devices.get(s.recipientUser) ?? []).filter((d) => !own || d.deviceId !== s.senderDevice);
    const mismatch = compareDevices(current, s.addressed);
    if (mismatch !== null) return mismatchError(mismatch);
    accepted.push(s);
    return null;
  });
  // Sent back to back: the envelope statements run first (one connection runs statements in the
  // order sent), then the audit chain's, last as append requires — the chain lock is then held only
  // for the rest of this transaction — without a round trip in between.
  const [stored] = await Promise.all([
    deps.store.storeMany(accepted.map((s) => ({ recipientUser: s.recipientUser, senderUser: s.senderUser, senderDevice: s.senderDevice, envelopes: s.envelopes })), tx),
    deps.audit.appendMany(accepted.map((s) => s.audit), tx),
  ]);
  let next = 0;
  return verdicts.map((v): Outcome<StoredRef[]> => {
    if (v !== null) return { ok: false, error: v };
    const refs = stored[next++];
    if (refs === undefined) throw new Error('envelope store answered fewer batches than it was given');
    return { ok: true, value: refs };
  });
}
