/**
 * The store-and-forward relay over HTTP: send one ciphertext per recipient device (PUT
 * /v1/messages/{recipientUserId}), and the fallback fetch and ack for a device without a socket.
 * The server checks who may message whom (care team), that the sender device is the caller's,
 * that every current device of the recipient is addressed (else 409 device_mismatch), sizes and
 * rate; it stores the batch and its metadata-only audit record in one transaction, then tells
 * the delivery layer. Concurrent sends share that transaction (group commit, core/batch/group-batcher.ts and
 * send-commit.ts): each keeps its own answer, envelopes and audit record.
 *
 * Before the transaction one query reads both the recipient account and whether the sender device
 * exists (send-context.ts; concurrent sends share that query too).
 *
 * An unknown (or disabled) recipient is answered exactly like one the caller may not message:
 * 403 `forbidden`, audited as a denial. A caller probing user ids learns nothing about which
 * accounts exist (access-control.ts: "the caller learns that access was refused, not why or what
 * exists"); `no_such_recipient` is therefore not used here.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { AuditAction, type AuditLog } from '../../core/audit/index.ts';
import type { Config } from '../../core/config/schema.ts';
import type { Db } from '../../core/db/types.ts';
import type { Logger } from '../../core/log/logger.ts';
import { AppError, ErrorCode } from '../../core/errors.ts';
import { DeviceId, EnvelopeId, InboundEnvelope, MessagingErrorCode, SendMessagesRequest, SendResult, UserId } from '../../core/protocol/messaging.ts';
import type { AccessControl } from '../access/access-control.ts';
import { Action, ruleFor } from '../access/policy.ts';
import { auditContext, requireAuth } from '../auth/request-auth.ts';
import type { SessionMiddleware } from '../auth/session-middleware.ts';
import { errorResponse, guardedErrors, jsonBody, jsonBodyErrors } from '../openapi/schemas.ts';
import type { RouteModule } from '../route-module.ts';
import { hasDevice } from './device-lookup.ts';
import { inboundView, type EnvelopeStore, type StoredRef } from './envelope-store.ts';
import { RelayErrorCode } from './error-codes.ts';
import { createGroupBatcher } from '../../core/batch/group-batcher.ts';
import { commitSends, type PendingSend } from './send-commit.ts';
import { createSendContextLoader, type SendContextQuery } from './send-context.ts';
import type { SendThrottle } from './send-throttle.ts';
import { recipientEntry } from './recipient-audit.ts';

export interface RelayRouteDeps {
  readonly config: Config;
  readonly db: Db;
  readonly audit: AuditLog;
  readonly access: AccessControl;
  readonly sessionMw: SessionMiddleware;
  readonly store: EnvelopeStore;
  readonly throttle: SendThrottle;
  /** Called after the send committed; a failure is logged (the envelopes wait for the next subscribe). */
  readonly notify: (recipientUser: string, refs: readonly StoredRef[]) => Promise<void>;
  /** Most sends per group transaction. Default 64. */
  readonly maxSendsPerCommit?: number;
}

export const FETCH_MAX = 100;
export const FetchResult = z.strictObject({ envelopes: z.array(InboundEnvelope), more: z.boolean() });

const guarded = { security: [{ session: [] }], tags: ['messaging'] };
const deviceQuery = z.object({ deviceId: z.coerce.number().pipe(DeviceId) });

const send = createRoute({
  ...guarded,
  method: 'put',
  path: '/v1/messages/{recipientUserId}',
  summary: 'Send one end-to-end-encrypted envelope to each current device of a recipient',
  request: { params: z.object({ recipientUserId: UserId }), body: jsonBody(SendMessagesRequest) },
  responses: {
    200: { description: 'Stored for delivery', content: { 'application/json': { schema: SendResult } } },
    ...jsonBodyErrors,
    ...guardedErrors,
    403: errorResponse('`forbidden` (not a messaging peer, or no such recipient), `invalid_sender_device`, `csrf_failed`'),
    409: errorResponse('`device_mismatch` with `missingDevices`, `extraDevices`, `staleDevices`'),
    413: errorResponse('`envelope_too_large` or `payload_too_large`'),
    429: errorResponse('`rate_limited` (Retry-After)'),
  },
});

const fetch = createRoute({
  ...guarded,
  method: 'get',
  path: '/v1/messages',
  summary: 'Fetch pending envelopes for one of your devices, oldest first (fallback when no WebSocket)',
  request: { query: deviceQuery.extend({ limit: z.coerce.number().int().min(1).max(FETCH_MAX).default(FETCH_MAX) }) },
  responses: { 200: { description: 'Pending envelopes; `more` when further ones wait (ack, then fetch again)', content: { 'application/json': { schema: FetchResult } } }, ...guardedErrors },
});

const ack = createRoute({
  ...guarded,
  method: 'delete',
  path: '/v1/messages/{id}',
  summary: 'Acknowledge (delete) an envelope received by one of your devices; unknown or repeated ids are ignored',
  request: { params: z.object({ id: EnvelopeId }), query: deviceQuery },
  responses: { 204: { description: 'Acknowledged' }, ...guardedErrors },
});

interface QueuedSend {
  readonly send: PendingSend;
  /** The request's logger (a group failure is logged once, on the first request's). */
  readonly log: Logger;
}

export function relayRoutes(deps: RelayRouteDeps): RouteModule {
  const { config, db, audit, access, store } = deps;
  const mw = { middleware: [deps.sessionMw.required] };
  const sends = createGroupBatcher<QueuedSend, StoredRef[]>({
    maxBatch: deps.maxSendsPerCommit,
    commit: (items) => db.transaction((tx) => commitSends(tx, items.map((i) => i.send), { store, audit })),
    onGroupError: (err, items) => items[0]?.log.warn({ err, sends: items.length }, 'group send commit failed; retrying each send alone'),
  });
  const contexts = createSendContextLoader<SendContextQuery & { readonly log: Logger }>(db, {
    onGroupError: (err, items) => items[0]?.log.warn({ err, sends: items.length }, 'shared send context query failed; retrying each send alone'),
  });

  return (app) => {
    app.openapi({ ...send, ...mw }, async (c) => {
      const auth = requireAuth(c);
      const p = auth.principal;
      const recipientId = c.req.valid('param').recipientUserId;
      const body = c.req.valid('json');
      await deps.throttle.consume(p.userId);
      // Roles that may never send are refused before anything about the recipient is looked at.
      if (ruleFor(p, Action.messageSend) === undefined) await access.deny(c, Action.messageSend, { type: 'user', userId: recipientId }, 'role');
      const { peer, senderDeviceOk } = await contexts.load({ recipientId, senderUser: p.userId, senderDevice: body.senderDevice, log: c.get('log') });
      if (peer === null) await access.deny(c, Action.messageSend, { type: 'user', userId: recipientId }, 'resource');
      else await access.authorize(c, Action.messageSend, { type: 'peer', userId: recipientId, peer });
      // After authorization: whoever may not reach this recipient gets the one audited refusal.
      if (!senderDeviceOk) {
        throw new AppError(403, RelayErrorCode.invalidSenderDevice, 'The sender device is not one of your devices');
      }

      const seen = new Set<number>();
      let total = 0;
      const envelopes = body.messages.map((m, i) => {
        if (seen.has(m.deviceId)) throw new AppError(400, ErrorCode.validation, 'Request validation failed', { fields: [{ path: `body.messages.${i}.deviceId`, message: 'Duplicate device' }] });
        seen.add(m.deviceId);
        const content = Buffer.from(m.content, 'base64');
        if (content.length > config.envelopeMaxBytes) throw new AppError(413, MessagingErrorCode.envelopeTooLarge, `An envelope exceeds ${config.envelopeMaxBytes} bytes`);
        total += content.length;
        return { deviceId: m.deviceId, type: m.type, content };
      });
      if (total > config.messageBatchMaxBytes) throw new AppError(413, ErrorCode.payloadTooLarge, `The envelopes exceed ${config.messageBatchMaxBytes} bytes in total`);

      const patientId = peer?.kind === 'patient' ? peer.patientId : p.kind === 'patient' ? p.patientId : null;
      const refs = await sends.submit({
        log: c.get('log'),
        send: {
          recipientUser: recipientId,
          senderUser: p.userId,
          senderDevice: body.senderDevice,
          addressed: body.messages,
          envelopes,
          audit: {
            ...auditContext(c),
            action: AuditAction.messageSend,
            resourceType: 'user',
            resourceId: recipientId,
            patientId,
            outcome: 'success',
            details: { senderDevice: body.senderDevice, recipientDevices: envelopes.length, bytes: total },
          },
        },
      });
      try {
        await deps.notify(recipientId, refs);
      } catch (err) {
        c.get('log').warn({ err }, 'delivery notice not published; envelopes wait for the next subscribe');
      }
      return c.json({ envelopes: refs.map((r) => ({ deviceId: r.deviceId, id: r.id })) }, 200);
    });

    const ownDevice = async (userId: string, deviceId: number): Promise<void> => {
      if (!(await hasDevice(db, userId, deviceId))) throw new AppError(404, MessagingErrorCode.deviceNotFound, 'No such device on this account');
    };

    app.openapi({ ...fetch, ...mw }, async (c) => {
      const p = requireAuth(c).principal;
      await access.authorize(c, Action.deviceManage, { type: 'user', userId: p.userId });
      const q = c.req.valid('query');
      await ownDevice(p.userId, q.deviceId);
      const rows = await store.listPending(p.userId, q.deviceId, { limit: q.limit + 1 });
      const page = rows.slice(0, q.limit);
      if (page.length > 0) {
        await audit.append(recipientEntry(auditContext(c), p, AuditAction.messageDeliver, q.deviceId, page.length, 'http'));
      }
      return c.json({ envelopes: page.map(inboundView), more: rows.length > q.limit }, 200);
    });

    app.openapi({ ...ack, ...mw }, async (c) => {
      const p = requireAuth(c).principal;
      await access.authorize(c, Action.deviceManage, { type: 'user', userId: p.userId });
      const q = c.req.valid('query');
      await ownDevice(p.userId, q.deviceId);
      await db.transaction(async (tx) => {
        const count = await store.ack(p.userId, q.deviceId, [c.req.valid('param').id], tx);
        await audit.append(recipientEntry(auditContext(c), p, AuditAction.messageAck, q.deviceId, count, 'http'), tx);
      });
      return c.body(null, 204);
    });
  };
}
