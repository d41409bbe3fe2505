/**
 * The page's WebSocket to the gateway (`/ws`, same origin, authenticated by the session cookie).
 * Requests carry a reqId and resolve with the one `video.result` that answers them; events go to
 * `on()` listeners. When the socket drops unexpectedly it reconnects with backoff (pending
 * requests fail with `disconnected`, so the call layer can rejoin); when the session ended (close
 * 4401 or `session.ended`) it stops and reports `signed-out`.
 */
import type { AnyEventOf, AnyEventType, RequestPayload, ResultOf, VideoRequestType } from './protocol.ts';

export const SignalingStatus = {
  connecting: 'connecting',
  open: 'open',
  reconnecting: 'reconnecting',
  signedOut: 'signed-out',
  failed: 'failed',
  closed: 'closed',
} as const;
export type SignalingStatus = (typeof SignalingStatus)[keyof typeof SignalingStatus];

/** A refused request: `code` is a VideoErrorCode, or `disconnected` / `timeout` from this side. */
export class SignalingError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'SignalingError';
    this.code = code;
  }
}

export interface Signaling {
  /** Resolves once the server said `ready` (again, after a reconnect). */
  ready(): Promise<void>;
  request<T extends VideoRequestType>(type: T, payload: RequestPayload<T>): Promise<ResultOf<T>>;
  on<T extends AnyEventType>(type: T, fn: (frame: AnyEventOf<T>) => void): () => void;
  onStatus(fn: (status: SignalingStatus, reconnected: boolean) => void): () => void;
  readonly status: SignalingStatus;
  close(): void;
}

interface Pending {
  resolve(data: unknown): void;
  reject(err: SignalingError): void;
  timer: number;
}

const REQUEST_TIMEOUT_MS = 15_000;
const PING_MS = 25_000;
const MAX_FAILED_ATTEMPTS = 12;
const SESSION_ENDED_CODE = 4401;

export function connectSignaling(path = '/ws'): Signaling {
  const url = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}${path}`;
  const pending = new Map<number, Pending>();
  const listeners = new Map<string, Set<(frame: never) => void>>();
  const statusListeners = new Set<(s: SignalingStatus, reconnected: boolean) => void>();
  let status: SignalingStatus = SignalingStatus.connecting;
  let ws: WebSocket | undefined;
  let nextReqId = 1;
  let failures = 0;
  let everReady = false;
  let pingTimer: number | undefined;
  let readyWaiters: (() => void)[] = [];

  const setStatus = (s: SignalingStatus, reconnected = false): void => {
    status = s;
    for (const fn of statusListeners) safeCall(() => fn(s, reconnected));
  };

  const failPending = (code: string, message: string): void => {
    for (const [id, p] of pending) {
      window.clearTimeout(p.timer);
      pending.delete(id);
      p.reject(new SignalingError(code, message));
    }
  };

  const emit = (frame: { type: string }): void => {
    for (const fn of listeners.get(frame.type) ?? []) safeCall(() => (fn as (f: unknown) => void)(frame));
  };

  const onMessage = (text: string): void => {
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch {
      console.warn('signaling: dropped a non-JSON frame');
      return;
    }
    if (typeof frame !== 'object' || frame === null || typeof (frame as { type?: unknown }).type !== 'string') return;
    const f = frame as { type: string; reqId?: number; ok?: boolean; data?: unknown; error?: { code: string; message: string }; reason?: string };
    if (f.type === 'video.result' && typeof f.reqId === 'number') {
      const p = pending.get(f.reqId);
      if (p === undefined) return;
      pending.delete(f.reqId);
      window.clearTimeout(p.timer);
      if (f.ok === true) p.resolve(f.data ?? {});
      else p.reject(new SignalingError(f.error?.code ?? 'internal_error', f.error?.message ?? 'request failed'));
      return;
    }
    if (f.type === 'ready') {
      const reconnected = everReady;
      everReady = true;
      failures = 0;
      setStatus(SignalingStatus.open, reconnected);
      const waiters = readyWaiters;
      readyWaiters = [];
      for (const w of waiters) w();
    }
    if (f.type === 'session.ended') setStatus(SignalingStatus.signedOut);
    emit(f);
  };

  const open = (): void => {
    const socket = new WebSocket(url);
    ws = socket;
    socket.addEventListener('message', (ev: MessageEvent) => {
      if (typeof ev.data === 'string') onMessage(ev.data);
    });
    socket.addEventListener('close', (ev: CloseEvent) => {
      if (ws !== socket) return;
      ws = undefined;
      window.clearInterval(pingTimer);
      failPending('disconnected', 'connection lost');
      if (status === SignalingStatus.closed) return;
      if (ev.code === SESSION_ENDED_CODE || status === SignalingStatus.signedOut) return setStatus(SignalingStatus.signedOut);
      failures += 1;
      if (failures > MAX_FAILED_ATTEMPTS) return setStatus(SignalingStatus.failed);
      setStatus(SignalingStatus.reconnecting);
      const delay = Math.min(10_000, 500 * 2 ** Math.min(failures - 1, 5)) * (0.75 + Math.random() * 0.5);
      window.setTimeout(() => {
        if (status === SignalingStatus.reconnecting) open();
      }, delay);
    });
    pingTimer = window.setInterval(() => {
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: 'ping' }));
    }, PING_MS);
  };

  open();

  return {
    get status() {
      return status;
    },
    ready() {
      if (status === SignalingStatus.open) return Promise.resolve();
      return new Promise<void>((resolve) => readyWaiters.push(resolve));
    },
    request(type, payload) {
      const socket = ws;
      if (socket === undefined || socket.readyState !== WebSocket.OPEN || status !== SignalingStatus.open) {
        return Promise.reject(new SignalingError('disconnected', 'not connected'));
      }
      const reqId = nextReqId++;
      return new Promise((resolve, reject) => {
        const timer = window.setTimeout(() => {
          pending.delete(reqId);
          reject(new SignalingError('timeout', `${type} timed out`));
        }, REQUEST_TIMEOUT_MS);
        pending.set(reqId, { resolve, reject, timer });
        socket.send(JSON.stringify({ ...payload, type, reqId }));
      });
    },
    on(type, fn) {
      let set = listeners.get(type);
      if (set === undefined) listeners.set(type, (set = new Set()));
      const entry = fn as (frame: never) => void;
      set.add(entry);
      return () => set.delete(entry);
    },
    onStatus(fn) {
      statusListeners.add(fn);
      return () => statusListeners.delete(fn);
    },
    close() {
      if (status === SignalingStatus.closed) return;
      setStatus(SignalingStatus.closed);
      window.clearInterval(pingTimer);
      failPending('disconnected', 'closed');
      ws?.close(1000);
      ws = undefined;
    },
  };
}

/** A listener that throws must not break the socket or the other listeners. */
function safeCall(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    console.error('signaling listener failed', err);
  }
}
