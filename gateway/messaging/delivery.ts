/**
 * WebSocket delivery of stored envelopes. A socket subscribes as one of its account's devices
 * (`messages.subscribe`), gets `messages.subscribed`, the stored backlog in seq order,
 * `messages.drained`, then live pushes; `messages.ack` deletes what the device has stored.
 *
 * Each subscription keeps a seq cursor: everything sent goes strictly forward, so one socket never
 * gets the same envelope twice, and a notice only triggers "read rows after my cursor" — late,
 * lost or duplicated notices can neither reorder nor skip (the store makes per-recipient commit
 * order equal seq order). Unacked rows stay stored, so a reconnect sends them again; clients
 * de-duplicate by id. Sending waits while the socket's buffer is high instead of buffering the
 * whole backlog in memory (the hub cuts off a peer that falls too far behind).
 *
 * The subscribe handler returns as soon as the subscription is registered and the backlog
 * runs on its own: the hub handles one frame per socket at a time, and acks for the first
 * envelopes must not wait behind the rest of a long backlog.
 *
 * Envelope notices for one recipient that are published in the same event-loop turn (a group
 * commit answers all its sends at once) go out as one (notice-outbox.ts).
 *
 * Audit (metadata only): one `message.deliver` per backlog drain with its count; one
 * `message.ack` per ack frame with its count. Live pushes are not audited one by one: the ack
 * that follows records receipt.
 */
import { AuditAction, type AuditActor, type AuditLog } from '../../core/audit/index.ts';
import type { Db } from '../../core/db/types.ts';
import { AppError, ErrorCode } from '../../core/errors.ts';
import { actorTypeOf, type Principal } from '../../core/identity/principal.ts';
import type { Logger } from '../../core/log/logger.ts';
import { ClientFrames, MessagingErrorCode } from '../../core/protocol/messaging.ts';
import type { Redis } from '../../core/redis/connect.ts';
import { Action, decide } from '../access/policy.ts';
import { CloseCode, type OutboundFrame, type WsClient } from '../ws/ws-client.ts';
import type { WsHub } from '../ws/ws-hub.ts';
import { hasDevice } from './device-lookup.ts';
import { inboundView, type EnvelopeStore, type StoredRef } from './envelope-store.ts';
import { createNoticeBus, frameNotice, type Notice } from './notice-bus.ts';
import { createNoticeOutbox } from './notice-outbox.ts';
import { recipientEntry } from './recipient-audit.ts';

export const DeliveryErrorCode = {
  alreadySubscribed: 'already_subscribed',
  notSubscribed: 'not_subscribed',
} as const;
export type DeliveryErrorCode = (typeof DeliveryErrorCode)[keyof typeof DeliveryErrorCode];

export interface DeliveryDeps {
  readonly db: Db;
  readonly redis: Redis;
  readonly audit: AuditLog;
  readonly log: Logger;
  readonly hub: WsHub;
  readonly store: EnvelopeStore;
  /** Redis key prefix; the notice channel is `${keyPrefix}msg`. */
  readonly keyPrefix: string;
  /** Rows read per query while draining. Default 100. */
  readonly batchSize?: number;
  /** Pause sending while the socket has more than this many bytes queued. Default 256 KiB. */
  readonly highWaterBytes?: number;
}

export interface Delivery {
  /** Resolves once this gateway listens for delivery notices (await at start-up). */
  ready(): Promise<void>;
  /** After a send commits: tell every gateway that these envelopes are waiting. */
  notifyEnvelopes(recipientUser: string, refs: readonly StoredRef[]): Promise<void>;
  /** Send a small server frame (e.g. `keys.low`) to the sockets subscribed as this device, on any gateway. */
  notifyDevice(userId: string, deviceId: number, frame: OutboundFrame): Promise<void>;
  /** Idempotent. */
  close(): Promise<void>;
}

interface Subscription {
  readonly client: WsClient;
  readonly userId: string;
  readonly deviceId: number;
  /** Highest seq sent on this socket. */
  cursor: number;
  /** A run is queued and has not started reading yet (further notices fold into it). */
  queued: boolean;
  chain: Promise<void>;
}

const DRAIN_POLL_MS = 10;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const deviceKey = (userId: string, deviceId: number): string => `${userId}/${deviceId}`;

/** The audit actor for a socket's session (no request id or address on a socket frame). */
export function socketActor(p: Principal): AuditActor {
  return { actorType: actorTypeOf(p), actorId: p.userId, requestId: null, ip: null, breakGlass: false };
}

export function createDelivery(deps: DeliveryDeps): Delivery {
  const { db, audit, log, store } = deps;
  const batchSize = deps.batchSize ?? 100;
  const highWater = deps.highWaterBytes ?? 256 * 1024;
  const byDevice = new Map<string, Set<Subscription>>();
  const bySocket = new Map<string, Subscription>();
  let closed = false;

  /** Sends every stored envelope after the cursor, oldest first; returns how many were sent. */
  const sendPending = async (sub: Subscription): Promise<number> => {
    let sent = 0;
    for (;;) {
      const batch = await store.listPending(sub.userId, sub.deviceId, { afterSeq: sub.cursor, limit: batchSize });
      for (const e of batch) {
        while (sub.client.open && sub.client.bufferedAmount > highWater) await sleep(DRAIN_POLL_MS);
        if (!sub.client.send({ type: 'message', envelope: inboundView(e) })) return sent;
        sub.cursor = e.seq;
        sent++;
      }
      if (batch.length < batchSize || !sub.client.open) return sent;
    }
  };

  const fail = (sub: Subscription, err: unknown): void => {
    log.error({ err, socketId: sub.client.id }, 'message delivery failed; closing the socket so the client reconnects');
    sub.client.close(CloseCode.internalError, 'delivery failed');
  };

  const schedule = (sub: Subscription): void => {
    if (sub.queued) return;
    sub.queued = true;
    sub.chain = sub.chain
      .then(async () => {
        sub.queued = false;
        if (sub.client.open) await sendPending(sub);
      })
      .catch((err: unknown) => fail(sub, err));
  };

  const remove = (sub: Subscription): void => {
    bySocket.delete(sub.client.id);
    const key = deviceKey(sub.userId, sub.deviceId);
    const set = byDevice.get(key);
    set?.delete(sub);
    if (set?.size === 0) byDevice.delete(key);
  };

  const onNotice = (n: Notice): void => {
    if (n.k === 'frame') {
      for (const sub of byDevice.get(deviceKey(n.u, n.d)) ?? []) {
        sub.client.send(n.f);
        if (n.f.type === 'device.removed') sub.client.close(CloseCode.deviceRemoved, 'device removed');
      }
      return;
    }
    const newest = new Map<number, number>();
    for (const e of n.e) newest.set(e.d, Math.max(newest.get(e.d) ?? 0, e.s));
    for (const [d, seq] of newest) {
      for (const sub of byDevice.get(deviceKey(n.u, d)) ?? []) if (seq > sub.cursor) schedule(sub);
    }
  };

  const bus = createNoticeBus({ redis: deps.redis, channel: `${deps.keyPrefix}msg`, log, onNotice });
  const outbox = createNoticeOutbox((notice) => bus.publish(notice));

  deps.hub.register('messages.subscribe', ClientFrames['messages.subscribe'], async (client, frame) => {
    if (closed) throw new AppError(503, ErrorCode.unavailable, 'Messaging is shutting down');
    if (bySocket.has(client.id)) throw new AppError(409, DeliveryErrorCode.alreadySubscribed, 'This socket is already subscribed');
    const p = client.session.principal;
    if (!decide(p, Action.deviceManage, { type: 'user', userId: p.userId }).allow) throw new AppError(403, ErrorCode.forbidden, 'You do not have access to this resource');
    if (!(await hasDevice(db, p.userId, frame.deviceId))) throw new AppError(404, MessagingErrorCode.deviceNotFound, 'No such device on this account');
    if (bySocket.has(client.id)) throw new AppError(409, DeliveryErrorCode.alreadySubscribed, 'This socket is already subscribed');
    const sub: Subscription = { client, userId: p.userId, deviceId: frame.deviceId, cursor: 0, queued: false, chain: Promise.resolve() };
    const key = deviceKey(sub.userId, sub.deviceId);
    bySocket.set(client.id, sub);
    byDevice.set(key, (byDevice.get(key) ?? new Set()).add(sub));
    client.onClose(() => remove(sub));
    if (!client.send({ type: 'messages.subscribed', deviceId: frame.deviceId })) return;
    // Registered before the backlog is read: a notice arriving meanwhile queues a further run.
    sub.chain = (async () => {
      const sent = await sendPending(sub);
      if (!client.open) return;
      client.send({ type: 'messages.drained' });
      if (sent > 0) {
        await audit.append(recipientEntry(socketActor(p), p, AuditAction.messageDeliver, sub.deviceId, sent, 'websocket'));
      }
    })().catch((err: unknown) => fail(sub, err));
  });

  deps.hub.register('messages.ack', ClientFrames['messages.ack'], async (client, frame) => {
    const sub = bySocket.get(client.id);
    if (sub === undefined) throw new AppError(409, DeliveryErrorCode.notSubscribed, 'Subscribe as a device before acknowledging');
    const p = client.session.principal;
    await db.transaction(async (tx) => {
      const count = await store.ack(sub.userId, sub.deviceId, frame.ids, tx);
      await audit.append(recipientEntry(socketActor(p), p, AuditAction.messageAck, sub.deviceId, count, 'websocket'), tx);
    });
  });

  return {
    ready: () => bus.ready,
    notifyEnvelopes: (recipientUser, refs) => outbox.add(recipientUser, refs),
    async notifyDevice(userId, deviceId, frame) {
      await bus.publish(frameNotice(userId, deviceId, frame));
    },
    async close() {
      if (closed) return;
      closed = true;
      byDevice.clear();
      bySocket.clear();
      await bus.close();
    },
  };
}
