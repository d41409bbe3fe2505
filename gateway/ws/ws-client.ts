/**
 * One accepted WebSocket and the session it was opened under. Sending is bounded: a peer that
 * cannot keep up is cut off rather than buffered without limit (a slow or malicious client must
 * not grow the gateway's memory). Server-to-client frame kinds and close codes live here.
 */
import { randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import type { Logger } from '../../core/log/logger.ts';
import type { SessionEndReason } from '../../core/identity/principal.ts';
import type { Session } from '../auth/sessions/session-store.ts';

export const CloseCode = {
  goingAway: 1001,
  policyViolation: 1008,
  tooBig: 1009,
  internalError: 1011,
  /** Application range: the session behind the socket has ended (reason in the close frame). */
  sessionEnded: 4401,
  /** The device this socket received as was removed from its account (lost, replaced, by an admin). */
  deviceRemoved: 4410,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** Frames the server sends on its own (features add their own kinds). */
export type ServerFrame =
  | { readonly type: 'ready' }
  | { readonly type: 'pong' }
  | { readonly type: 'error'; readonly code: string; readonly message: string }
  | { readonly type: 'session.ended'; readonly reason: SessionEndReason };

export interface OutboundFrame {
  readonly type: string;
  readonly [key: string]: unknown;
}

export interface WsClient {
  /** Random per-socket id, for logs and routing; not a secret. */
  readonly id: string;
  readonly session: Session;
  /** False when not sent: socket not open, or the peer is too far behind (then it is cut off). */
  send(frame: OutboundFrame): boolean;
  close(code: number, reason: string): void;
  readonly open: boolean;
  /** Bytes queued but not yet written to the network: senders of bulk data wait while it is high. */
  readonly bufferedAmount: number;
  /** Runs `fn` once when the socket closes (at once if it already has). */
  onClose(fn: () => void): void;
}

/** The hub's own view of a client: liveness and misbehaviour counters. */
export interface HubClient extends WsClient {
  readonly ws: WebSocket;
  alive: boolean;
  strikes: number;
  inFlight: number;
  queue: Promise<void>;
}

export function createHubClient(ws: WebSocket, session: Session, maxBufferedBytes: number, log: Logger): HubClient {
  const id = randomBytes(8).toString('hex');
  const client: HubClient = {
    id,
    session,
    ws,
    alive: true,
    strikes: 0,
    inFlight: 0,
    queue: Promise.resolve(),
    get open() {
      return ws.readyState === WebSocket.OPEN;
    },
    get bufferedAmount() {
      return ws.bufferedAmount;
    },
    onClose(fn) {
      // A listener that throws must not take the socket's other listeners down with it.
      const run = (): void => {
        try {
          fn();
        } catch (err) {
          log.error({ err, socketId: id }, 'websocket close listener failed');
        }
      };
      if (ws.readyState === WebSocket.CLOSED) run();
      else ws.once('close', run);
    },
    send(frame) {
      if (ws.readyState !== WebSocket.OPEN) return false;
      const data = JSON.stringify(frame);
      if (ws.bufferedAmount + Buffer.byteLength(data) > maxBufferedBytes) {
        log.warn({ socketId: id, sessionId: session.id, buffered: ws.bufferedAmount }, 'websocket peer too slow; disconnecting');
        // terminate, not close: a close frame would queue behind the same backlog.
        ws.terminate();
        return false;
      }
      ws.send(data);
      return true;
    },
    close(code, reason) {
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(code, reason);
    },
  };
  return client;
}
