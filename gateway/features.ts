/**
 * Everything a gateway process serves, built from the process's shared pieces: identity and
 * access (sessions, sign-in, policy, patients, visits), the authenticated WebSocket hub, the
 * libsignal key directory and the messaging relay. The composition roots (bin/main.ts, the bench
 * targets) call this once; the hub is attached to the HTTP server once it listens.
 */
import { createIdentity, type Identity, type IdentityDeps } from './identity.ts';
import { createKeyDirectory } from './keys/key-directory.ts';
import { keyRoutes } from './keys/key-routes.ts';
import { createMessaging, type Messaging } from './messaging/index.ts';
import type { RouteModule } from './route-module.ts';
import { createWsHub, type WsHub } from './ws/ws-hub.ts';

/** The same shared pieces identity is built from. */
export type FeatureDeps = IdentityDeps;

export interface Features {
  readonly identity: Identity;
  readonly hub: WsHub;
  readonly messaging: Messaging;
  readonly routes: readonly RouteModule[];
  /** Resolves once sessions and messaging are subscribed to their Redis channels. */
  ready(): Promise<void>;
  /** Idempotent: sockets first, then the subscriptions. */
  close(): Promise<void>;
}

export function createFeatures(deps: FeatureDeps): Features {
  const { config, db, redis, log, audit } = deps;
  const keyPrefix = deps.keyPrefix ?? 'th:';
  const identity = createIdentity({ ...deps, keyPrefix });
  const hub = createWsHub({
    authenticate: identity.authenticateUpgrade,
    sessions: identity.sessions,
    originAllowed: identity.originAllowed,
    log,
    touch: (session) => identity.sessions.touch(session.id),
  });
  const messaging = createMessaging({ config, db, redis, audit, log, access: identity.access, sessionMw: identity.sessionMw, hub, keyPrefix });
  // A device running low on one-time prekeys is told over its socket, on whichever gateway holds it.
  const directory = createKeyDirectory({
    db,
    audit,
    config,
    log,
    onLow: (userId, deviceId, counts) => messaging.notifyDevice(userId, deviceId, { type: 'keys.low', deviceId, ...counts }),
    // A removed device stops receiving at once, on whichever gateway holds its socket.
    onRemoved: (userId, deviceId) => messaging.notifyDevice(userId, deviceId, { type: 'device.removed', deviceId }),
  });
  const routes: RouteModule[] = [
    ...identity.routes,
    keyRoutes({ db, audit, config, redis, keyPrefix, sessionMw: identity.sessionMw, access: identity.access, log, directory }),
    ...messaging.routes,
  ];

  let closing: Promise<void> | undefined;
  return {
    identity,
    hub,
    messaging,
    routes,
    async ready() {
      await identity.sessions.ready();
      await messaging.ready();
    },
    close() {
      closing ??= (async () => {
        await hub.close();
        await messaging.close();
        await identity.sessions.close();
      })();
      return closing;
    },
  };
}
