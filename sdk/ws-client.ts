/**
 * The messaging stream over the gateway's authenticated WebSocket (/ws, bearer token in the
 * upgrade request). After the server's `ready` it subscribes as this device; envelopes are handed
 * to the caller one at a time, in order. Reconnects with capped exponential backoff, except when
 * the session ended (close 4401 / `session.ended`, or the upgrade answered 401): then the caller
 * must sign in again. `handlers.signal` stops it at any point — also while the first connection is
 * still being made or retried, before there is a stream to close.
 */
import { WebSocket } from 'ws';
import { z } from 'zod';
import { ClientFrames, ServerFrames } from '../core/protocol/messaging.ts';
import { SdkError, SdkErrorCode } from './errors.ts';
import type { MessageStream, StreamHandlers } from './transport.ts';

const SESSION_ENDED_CLOSE = 4401;
/** This device was removed from the account: reconnecting would only be refused. */
const DEVICE_REMOVED_CLOSE = 4410;
const PING_MS = 20_000;
const BACKOFF_MS = { first: 500, max: 30_000 } as const;

const HubFrames = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready') }),
  z.object({ type: z.literal('pong') }),
  z.object({ type: z.literal('error'), code: z.string(), message: z.string() }),
  z.object({ type: z.literal('session.ended'), reason: z.string() }),
  ServerFrames['messages.subscribed'],
  ServerFrames.message,
  ServerFrames['messages.drained'],
  ServerFrames['keys.low'],
  ServerFrames['device.removed'],
]);

export interface WsOptions {
  readonly baseUrl: string;
  readonly token: string;
  readonly path?: string;
}

/**
 * The handlers plus an abort signal. Aborting before the stream is subscribed rejects with the
 * signal's reason and leaves no socket or retry timer behind; after that it closes the stream.
 * (A member of the handlers, not a new parameter, so it passes through MessagingTransport.subscribe
 * unchanged; transport.ts does not declare it yet.)
 */
export interface AbortableStreamHandlers extends StreamHandlers {
  readonly signal?: AbortSignal;
}

function wsUrl(baseUrl: string, path: string): string {
  const u = new URL(path, baseUrl);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  return u.toString();
}

export function openMessageStream(opts: WsOptions, deviceId: number, handlers: AbortableStreamHandlers): Promise<MessageStream> {
  const url = wsUrl(opts.baseUrl, opts.path ?? '/ws');
  let ws: WebSocket | undefined;
  let closed = false;
  let attempt = 0;
  let ping: NodeJS.Timeout | undefined;
  let retry: NodeJS.Timeout | undefined;
  let queue: Promise<void> = Promise.resolve();
  let firstOutcome: ((err?: Error) => void) | undefined;
  let stopping: Promise<void> | undefined;

  const report = (err: Error) => {
    if (handlers.onError) handlers.onError(err);
    else process.emitWarning(err);
  };

  const send = (type: keyof typeof ClientFrames | 'ping', payload: Record<string, unknown>): void => {
    if (ws?.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type, ...payload }));
  };

  const ended = (reason: string) => {
    if (closed) return;
    closed = true;
    handlers.onSessionEnded?.(reason);
    firstOutcome?.(Object.assign(new Error(`session ended: ${reason}`), { code: 'session_ended' }));
    firstOutcome = undefined;
  };

  const removed = () => {
    if (closed) return;
    closed = true;
    handlers.onDeviceRemoved?.();
    firstOutcome?.(Object.assign(new Error('this device was removed from the account'), { code: 'device_removed' }));
    firstOutcome = undefined;
  };

  const onFrame = (raw: string): void => {
    let frame: z.infer<typeof HubFrames>;
    try {
      const parsed = HubFrames.safeParse(JSON.parse(raw));
      if (!parsed.success) return report(new Error('unexpected websocket frame from the gateway'));
      frame = parsed.data;
    } catch (err) {
      return report(new Error('websocket frame is not JSON', { cause: err }));
    }
    switch (frame.type) {
      case 'ready':
        return send('messages.subscribe', ClientFrames['messages.subscribe'].parse({ deviceId }));
      case 'messages.subscribed':
        attempt = 0;
        firstOutcome?.();
        firstOutcome = undefined;
        return handlers.onConnection?.('subscribed');
      case 'message': {
        const env = frame.envelope;
        queue = queue.then(() => handlers.onEnvelope(env)).catch((err: unknown) => report(err instanceof Error ? err : new Error(String(err))));
        return;
      }
      case 'messages.drained':
        queue = queue.then(() => handlers.onDrained?.());
        return;
      case 'keys.low':
        return handlers.onKeysLow?.({ preKeys: frame.preKeys, kyberPreKeys: frame.kyberPreKeys });
      case 'session.ended':
        return ended(frame.reason);
      case 'device.removed':
        return removed();
      case 'error':
        return report(Object.assign(new Error(`gateway websocket error: ${frame.code}: ${frame.message}`), { code: frame.code }));
      case 'pong':
        return;
    }
  };

  const schedule = () => {
    if (closed) return;
    const delay = Math.min(BACKOFF_MS.max, BACKOFF_MS.first * 2 ** attempt) * (0.5 + Math.random() / 2);
    attempt++;
    retry = setTimeout(connect, delay);
  };

  function connect(): void {
    if (closed) return;
    const socket = new WebSocket(url, { headers: { authorization: `Bearer ${opts.token}` } });
    ws = socket;
    socket.on('open', () => {
      handlers.onConnection?.('connected');
      ping = setInterval(() => send('ping', {}), PING_MS);
    });
    socket.on('message', (data, isBinary) => {
      // Stopped: what still arrives is not acked, so the gateway keeps it for the next connection.
      if (closed) return;
      if (isBinary) return report(new Error('binary websocket frame from the gateway'));
      onFrame(Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8'));
    });
    socket.on('unexpected-response', (_req, res) => {
      socket.terminate();
      if (res.statusCode === 401) return ended('unauthorized');
      report(new Error(`websocket upgrade refused with ${res.statusCode}`));
    });
    // Aborting a handshake we gave up on raises an error that is ours, not the gateway's.
    socket.on('error', (err) => {
      if (!closed) report(err);
    });
    socket.on('close', (code, reason) => {
      clearInterval(ping);
      handlers.onConnection?.('disconnected');
      if (code === SESSION_ENDED_CLOSE) return ended(reason.toString() || 'ended');
      if (code === DEVICE_REMOVED_CLOSE) return removed();
      schedule();
    });
  }

  /** The owner gave up: a first connection still in the making fails with the signal's reason, then everything stops. */
  function onAbort(): void {
    const reason: unknown = handlers.signal?.reason;
    firstOutcome?.(reason instanceof Error ? reason : new SdkError(SdkErrorCode.storeClosed, 'the message stream was stopped'));
    firstOutcome = undefined;
    // Nobody awaits this teardown (close() would); a failure in it is reported like any other.
    stop().catch((err: unknown) => report(err instanceof Error ? err : new Error(String(err))));
  }

  /** Idempotent: no retry, no heartbeat, the socket closed (or cut after 2 s), the envelope in hand finished. */
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      closed = true;
      handlers.signal?.removeEventListener('abort', onAbort);
      clearTimeout(retry);
      clearInterval(ping);
      const socket = ws;
      ws = undefined;
      if (socket && socket.readyState !== WebSocket.CLOSED) {
        await new Promise<void>((done) => {
          socket.once('close', () => done());
          // A handshake in flight cannot be closed politely; ws aborts it either way.
          if (socket.readyState === WebSocket.CONNECTING) socket.terminate();
          else socket.close(1000, 'client closing');
          setTimeout(() => {
            socket.terminate();
            done();
          }, 2_000).unref();
        });
      }
      await queue;
    })();
    return stopping;
  };

  return new Promise<MessageStream>((resolve, reject) => {
    const stream: MessageStream = {
      ack(ids) {
        for (let i = 0; i < ids.length; i += 100) send('messages.ack', ClientFrames['messages.ack'].parse({ ids: ids.slice(i, i + 100) }));
      },
      close: stop,
    };
    firstOutcome = (err) => (err ? reject(err) : resolve(stream));
    if (handlers.signal?.aborted) return onAbort();
    handlers.signal?.addEventListener('abort', onAbort, { once: true });
    connect();
  });
}
