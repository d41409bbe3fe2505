/**
 * The authenticated WebSocket endpoint. A socket exists only for a live session: the upgrade
 * request is authenticated (and its Origin checked) before the socket is accepted, and when the
 * session ends anywhere — logout, revoke, automatic logoff found by any gateway process — its
 * sockets are told why and closed with 4401. Protocol heartbeats keep dead peers from lingering
 * but are not user activity; only application frames extend the session.
 */
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { z } from 'zod';
import { AppError } from '../../core/errors.ts';
import type { SessionEndReason } from '../../core/identity/principal.ts';
import type { Logger } from '../../core/log/logger.ts';
import type { Session, SessionStore } from '../auth/sessions/session-store.ts';
import { createFrameRouter, type FrameHandler, type FrameOf, type PayloadSchema } from './frame-router.ts';
import { refuseUpgrade } from './refuse-upgrade.ts';
import { CloseCode, createHubClient, type HubClient, type ServerFrame, type WsClient } from './ws-client.ts';

export interface WsHubDeps {
  /** Finds the session of an upgrade request (bearer header or cookie); undefined = refuse with 401. */
  readonly authenticate: (req: IncomingMessage) => Promise<Session | undefined>;
  /** `onEnded` closes sockets; `get`, when given, re-checks each socket's session every heartbeat. */
  readonly sessions: Pick<SessionStore, 'onEnded'> & Partial<Pick<SessionStore, 'get'>>;
  readonly originAllowed: (origin: string) => boolean;
  readonly log: Logger;
  /** Counts an application frame as session activity. */
  readonly touch?: (session: Session) => Promise<unknown> | void;
  readonly path?: string;
  readonly maxPayloadBytes?: number;
  readonly heartbeatMs?: number;
  readonly maxBufferedBytes?: number;
  /** Invalid frames tolerated before the socket is closed with 1008. Default 3. */
  readonly maxStrikes?: number;
  /** Frames queued per socket before it is closed with 1008 (bounds memory). Default 64. */
  readonly maxInFlight?: number;
}

export interface WsHub {
  attach(server: HttpServer | HttpsServer): void;
  register<T extends string, S extends PayloadSchema>(type: T, schema: S, handler: FrameHandler<FrameOf<T, S>>): void;
  socketsFor(sessionId: string): readonly WsClient[];
  /** Idempotent: refuses new upgrades and closes every socket with 1001. */
  close(): Promise<void>;
}

/** How long to remember an ended session, for upgrades authenticated just before its end arrived. */
const ENDED_MEMORY_MS = 60_000;
/** A heartbeat re-check that finds no session waits this long for the ended event (with its real reason). */
const MISSED_END_GRACE_MS = 2_000;
const SERVER_FRAME_TYPES = ['ready', 'pong', 'error', 'session.ended'];

export function createWsHub(deps: WsHubDeps): WsHub {
  const { log } = deps;
  const path = deps.path ?? '/ws';
  const maxBufferedBytes = deps.maxBufferedBytes ?? 1024 * 1024;
  const maxStrikes = deps.maxStrikes ?? 3;
  const maxInFlight = deps.maxInFlight ?? 64;
  const wss = new WebSocketServer({ noServer: true, maxPayload: deps.maxPayloadBytes ?? 64 * 1024, clientTracking: false });
  const router = createFrameRouter(SERVER_FRAME_TYPES);
  const bySession = new Map<string, Set<HubClient>>();
  const recentlyEnded = new Map<string, { reason: SessionEndReason; at: number }>();
  const servers = new Set<HttpServer | HttpsServer>();
  let closed = false;

  router.register('ping', z.strictObject({}), (client) => {
    client.send({ type: 'pong' } satisfies ServerFrame);
  });

  const endSession = (sessionId: string, reason: SessionEndReason): void => {
    const at = Date.now();
    recentlyEnded.set(sessionId, { reason, at });
    for (const [id, e] of recentlyEnded) if (at - e.at > ENDED_MEMORY_MS) recentlyEnded.delete(id);
    for (const c of bySession.get(sessionId) ?? []) {
      c.send({ type: 'session.ended', reason } satisfies ServerFrame);
      c.close(CloseCode.sessionEnded, reason);
    }
  };
  const unsubscribe = deps.sessions.onEnded((e) => endSession(e.sessionId, e.reason));

  const strike = (c: HubClient, message: string): void => {
    c.strikes++;
    c.send({ type: 'error', code: 'invalid_frame', message } satisfies ServerFrame);
    if (c.strikes >= maxStrikes) c.close(CloseCode.policyViolation, 'too many invalid frames');
  };

  const onMessage = (c: HubClient, data: RawData, isBinary: boolean): void => {
    if (isBinary) return strike(c, 'binary frames are not accepted');
    const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
    const parsed = router.parse(text);
    if (!parsed.ok) return strike(c, parsed.message);
    if (c.inFlight >= maxInFlight) return c.close(CloseCode.policyViolation, 'too many frames in flight');
    if (parsed.type !== 'ping' && deps.touch) {
      Promise.resolve(deps.touch(c.session)).catch((err: unknown) => log.warn({ err, sessionId: c.session.id }, 'websocket activity not recorded'));
    }
    // One frame at a time per socket, in arrival order (a chat must not reorder).
    c.inFlight++;
    c.queue = c.queue
      .then(() => (c.open ? parsed.handler(c, parsed.frame) : undefined))
      .catch((err: unknown) => {
        log.error({ err, socketId: c.id, frameType: parsed.type }, 'websocket frame handler failed');
        const status = err instanceof AppError ? err.status : 500;
        const message = err instanceof AppError && status < 500 ? err.message : 'internal error';
        c.send({ type: 'error', code: err instanceof AppError ? err.code : 'internal_error', message } satisfies ServerFrame);
      })
      .finally(() => c.inFlight--);
  };

  const accept = (ws: WebSocket, session: Session): void => {
    const c = createHubClient(ws, session, maxBufferedBytes, log);
    const set = bySession.get(session.id) ?? new Set<HubClient>();
    bySession.set(session.id, set);
    set.add(c);
    ws.on('pong', () => (c.alive = true));
    ws.on('message', (data, isBinary) => onMessage(c, data, isBinary));
    ws.on('error', (err) => log.warn({ err, socketId: c.id }, 'websocket error'));
    ws.on('close', () => {
      set.delete(c);
      if (set.size === 0 && bySession.get(session.id) === set) bySession.delete(session.id);
    });
    const ended = recentlyEnded.get(session.id);
    if (closed) return c.close(CloseCode.goingAway, 'server shutting down');
    if (ended) return endSession(session.id, ended.reason);
    c.send({ type: 'ready' } satisfies ServerFrame);
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    let pathname: string;
    try {
      pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    } catch {
      return refuseUpgrade(socket, 400);
    }
    if (pathname !== path) return refuseUpgrade(socket, 404);
    socket.on('error', (err) => log.debug({ err }, 'websocket upgrade socket error'));
    if (closed) return refuseUpgrade(socket, 503);
    const origin = req.headers.origin;
    if (origin !== undefined && !deps.originAllowed(origin)) return refuseUpgrade(socket, 403);
    deps.authenticate(req).then(
      (session) => {
        if (socket.destroyed) return;
        if (!session || recentlyEnded.has(session.id)) return refuseUpgrade(socket, 401);
        if (closed) return refuseUpgrade(socket, 503);
        wss.handleUpgrade(req, socket, head, (ws) => accept(ws, session));
      },
      (err: unknown) => {
        const status = err instanceof AppError ? err.status : 503;
        if (status >= 500) log.error({ err }, 'websocket upgrade: authentication failed');
        refuseUpgrade(socket, status);
      },
    );
  };

  const checkSession = async (sessionId: string): Promise<void> => {
    if (!deps.sessions.get || (await deps.sessions.get(sessionId)) !== undefined) return;
    // Usually the ended event is on its way with the real reason; if it was lost, close anyway.
    setTimeout(() => {
      if (bySession.has(sessionId)) endSession(sessionId, 'revoked');
    }, MISSED_END_GRACE_MS).unref();
  };

  const heartbeat = setInterval(() => {
    for (const [sessionId, set] of bySession) {
      for (const c of set) {
        if (!c.alive) {
          c.ws.terminate();
          continue;
        }
        c.alive = false;
        c.ws.ping();
      }
      checkSession(sessionId).catch((err: unknown) => log.warn({ err, sessionId }, 'websocket session re-check failed'));
    }
  }, deps.heartbeatMs ?? 25_000);
  heartbeat.unref();

  return {
    attach(server) {
      if (closed) throw new Error('websocket hub is closed');
      if (servers.has(server)) return;
      servers.add(server);
      server.on('upgrade', onUpgrade);
    },

    register(type, schema, handler) {
      router.register(type, schema, handler);
    },

    socketsFor(sessionId) {
      return [...(bySession.get(sessionId) ?? [])];
    },

    async close() {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      unsubscribe();
      for (const s of servers) s.off('upgrade', onUpgrade);
      servers.clear();
      const all = [...bySession.values()].flatMap((s) => [...s]);
      await Promise.all(
        all.map(
          (c) =>
            new Promise<void>((resolve) => {
              if (c.ws.readyState === c.ws.CLOSED) return resolve();
              c.ws.once('close', () => resolve());
              c.close(CloseCode.goingAway, 'server shutting down');
              // A peer that never answers the close handshake is cut off.
              setTimeout(() => {
                c.ws.terminate();
                resolve();
              }, 2_000).unref();
            }),
        ),
      );
      await new Promise<void>((resolve, reject) => wss.close((err) => (err ? reject(err) : resolve())));
    },
  };
}
