/**
 * The bench's two UDP ends for `bench media`: a paced 30 fps VP8 feed to the SFU's producer (it
 * answers PLI/FIR with a keyframe, as an encoder does, so new consumers start within a frame or
 * two), and a client for the sink worker_thread (media-sink.ts) that counts what consumers send.
 */
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { Worker } from 'node:worker_threads';
import { asksForKeyframe, createVp8Source, FPS, isRtcp, type Vp8Source } from './media-rtp.ts';
import type { SinkOptions, SinkReply, SinkRequest } from './media-sink.ts';

/** Keyframe requests closer together than this are answered by the same keyframe. */
const KEYFRAME_MIN_GAP_MS = 250;
const TICK_MS = 5;

/** A paced sender: pausing lets the SFU drain, so a window's packets can be counted exactly. */
export interface Paced {
  /** Packets sent so far (per stream). */
  readonly packetsSent: number;
  readonly pause: () => void;
  /** Restarts the frame clock: no burst of frames "missed" while paused. */
  readonly resume: () => void;
  close(): void;
}

/** A UDP socket bound to a free loopback port. */
export async function loopbackSocket(sendBufferSize?: number): Promise<Socket> {
  const socket = createSocket(sendBufferSize === undefined ? { type: 'udp4' } : { type: 'udp4', sendBufferSize });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => resolve());
  });
  return socket;
}

/** Sends `source`'s frames by the clock through `emit`; closing stops the clock and the socket. */
export function pacedSource(socket: Socket, source: Vp8Source, emit: (packet: Buffer) => void): Paced {
  const clock = pacer(() => {
    for (const p of source.nextFrame()) emit(p);
  });
  let closed = false;
  return {
    get packetsSent() {
      return source.packetsSent;
    },
    pause: clock.pause,
    resume: clock.resume,
    close() {
      if (closed) return;
      closed = true;
      clock.pause();
      socket.close();
    },
  };
}

/** A send callback that fails loudly (a lost local datagram would corrupt the count). */
export function throwOnSendError(err: Error | null): void {
  if (err) throw err;
}

/** Starts sending one VP8 stream to `port` on loopback at FPS, frames due by the clock (no drift). */
export async function startFeed(ssrc: number, port: number): Promise<Paced> {
  const socket = await loopbackSocket();
  const source = createVp8Source(ssrc, randomBytes(2048));
  let lastKeyRequest = 0;
  socket.on('message', (msg: Buffer) => {
    if (!isRtcp(msg) || !asksForKeyframe(msg)) return;
    const now = performance.now();
    if (now - lastKeyRequest < KEYFRAME_MIN_GAP_MS) return;
    lastKeyRequest = now;
    source.requestKeyframe();
  });
  return pacedSource(socket, source, (p) => socket.send(p, port, '127.0.0.1', throwOnSendError));
}

/** Calls `frame` FPS times a second, by the clock (frames due are sent even after a late tick). */
export interface Clock {
  readonly pause: () => void;
  readonly resume: () => void;
}

export function pacer(frame: () => void): Clock {
  let timer: NodeJS.Timeout | undefined;
  const resume = (): void => {
    if (timer !== undefined) return;
    const started = performance.now();
    let sent = 0;
    timer = setInterval(() => {
      const due = Math.floor(((performance.now() - started) / 1000) * FPS) + 1;
      for (; sent < due; sent++) frame();
    }, TICK_MS);
  };
  resume();
  const pause = (): void => {
    clearInterval(timer);
    timer = undefined;
  };
  return { pause, resume };
}

export interface SinkSnapshot {
  readonly at: number;
  readonly packets: number;
  /** Packets received per SSRC. */
  readonly streams: ReadonlyMap<number, number>;
}

export interface Sink {
  readonly ports: readonly number[];
  snapshot(): Promise<SinkSnapshot>;
  reset(): void;
  close(): Promise<void>;
}

export async function startSink(options: SinkOptions): Promise<Sink> {
  const worker = new Worker(new URL('./media-sink.ts', import.meta.url), { workerData: options });
  const send = (req: SinkRequest): void => worker.postMessage(req);
  const pending = new Map<number, (s: SinkSnapshot) => void>();
  let nextId = 0;
  const ports = await new Promise<number[]>((resolve, reject) => {
    worker.once('error', reject);
    worker.on('message', (reply: SinkReply) => {
      if (reply.type === 'ready') {
        resolve(reply.ports);
        return;
      }
      const streams = new Map<number, number>();
      for (let i = 0; i + 1 < reply.streams.length; i += 2) streams.set(reply.streams[i] ?? 0, reply.streams[i + 1] ?? 0);
      pending.get(reply.id)?.({ at: performance.now(), packets: reply.packets, streams });
      pending.delete(reply.id);
    });
  });
  let closed = false;
  return {
    ports,
    snapshot() {
      const id = nextId++;
      return new Promise((resolve) => {
        pending.set(id, resolve);
        send({ type: 'snapshot', id });
      });
    },
    reset() {
      send({ type: 'reset' });
    },
    async close() {
      if (closed) return;
      closed = true;
      send({ type: 'close' });
      await worker.terminate();
    },
  };
}
