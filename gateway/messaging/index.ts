/**
 * The messaging relay for the composition root: envelope and attachment stores, the send
 * throttle, WebSocket delivery (registered on the hub, Redis pub/sub across gateways) and the
 * HTTP route modules. Synchronous, like the identity layer's construction; `ready()` resolves once
 * this gateway listens for delivery notices (the composition root awaits it before listening).
 */
import type { AuditLog } from '../../core/audit/index.ts';
import type { Config } from '../../core/config/schema.ts';
import type { Db } from '../../core/db/types.ts';
import type { Logger } from '../../core/log/logger.ts';
import type { Redis } from '../../core/redis/connect.ts';
import type { AccessControl } from '../access/access-control.ts';
import type { SessionMiddleware } from '../auth/session-middleware.ts';
import type { RouteModule } from '../route-module.ts';
import type { OutboundFrame } from '../ws/ws-client.ts';
import type { WsHub } from '../ws/ws-hub.ts';
import { createAttachmentStore } from './attachment-store.ts';
import { attachmentRoutes } from './attachment-routes.ts';
import { createDelivery } from './delivery.ts';
import { createEnvelopeStore } from './envelope-store.ts';
import { relayRoutes } from './relay-routes.ts';
import { createSendThrottle } from './send-throttle.ts';

export { MESSAGING_ERROR_CODES, MESSAGING_ERROR_DOCS, RelayErrorCode } from './error-codes.ts';
export { DeliveryErrorCode } from './delivery.ts';

export interface MessagingDeps {
  readonly config: Config;
  readonly db: Db;
  readonly redis: Redis;
  readonly audit: AuditLog;
  readonly log: Logger;
  readonly access: AccessControl;
  readonly sessionMw: SessionMiddleware;
  readonly hub: WsHub;
  /** Redis key prefix (rate limits, notice channel). Default `th:`. */
  readonly keyPrefix?: string;
}

export interface Messaging {
  readonly routes: readonly RouteModule[];
  ready(): Promise<void>;
  /** Sends a small server frame (`keys.low`) to the sockets subscribed as this device, on any gateway. */
  notifyDevice(userId: string, deviceId: number, frame: OutboundFrame): Promise<void>;
  /** Idempotent. */
  close(): Promise<void>;
}

export function createMessaging(deps: MessagingDeps): Messaging {
  const { config, db, redis, audit, log, access, sessionMw } = deps;
  const keyPrefix = deps.keyPrefix ?? 'th:';
  const store = createEnvelopeStore(db);
  const delivery = createDelivery({ db, redis, audit, log, hub: deps.hub, store, keyPrefix });
  const throttle = createSendThrottle(redis, { keyPrefix, perMinute: config.messageSendPerMinute });
  const routes: RouteModule[] = [
    relayRoutes({ config, db, audit, access, sessionMw, store, throttle, notify: (user, refs) => delivery.notifyEnvelopes(user, refs) }),
    attachmentRoutes({ config, access, sessionMw, attachments: createAttachmentStore(db) }),
  ];
  return {
    routes,
    ready: () => delivery.ready(),
    notifyDevice: (userId, deviceId, frame) => delivery.notifyDevice(userId, deviceId, frame),
    close: () => delivery.close(),
  };
}
