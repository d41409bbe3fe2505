/**
 * One measured window of `bench media`, counted exactly: the sender is paused and the SFU drained
 * before the window opens and after it closes, so every packet the sink counts in between belongs
 * to the window, late or not, and every consumer should have received each packet sent in it.
 * Whatever the worker dropped (its input queue overflowing, a consumer waiting for a keyframe)
 * or delivered too late to drain shows as loss. Plus a plain-Node fan-out used as the sink's
 * same-run reference (media.ts).
 */
import { randomBytes } from 'node:crypto';
import { loopbackSocket, pacedSource, throwOnSendError, type Paced, type Sink, type SinkSnapshot } from './media-io.ts';
import { createVp8Source } from './media-rtp.ts';

/** The SFU counts as drained when the sink's count has not moved for this long. */
const QUIET_MS = 120;
const POLL_MS = 30;

export interface WindowCount {
  readonly expected: number;
  readonly received: number;
  /** Streams that delivered nothing in the window. */
  readonly silent: number;
}

export function countWindow(ssrcs: readonly number[], a: SinkSnapshot, b: SinkSnapshot, sentPerStream: number): WindowCount {
  let received = 0;
  let silent = 0;
  for (const ssrc of ssrcs) {
    const got = (b.streams.get(ssrc) ?? 0) - (a.streams.get(ssrc) ?? 0);
    received += got;
    if (got === 0) silent++;
  }
  return { expected: ssrcs.length * sentPerStream, received, silent };
}

export function lossOf(w: WindowCount): number {
  return w.expected === 0 ? 0 : Math.max(0, 1 - w.received / w.expected);
}

/** Waits until the sink's count over `ssrcs` stops moving (at most `maxMs`); returns the snapshot and the wait. */
export async function drained(sink: Sink, ssrcs: readonly number[], maxMs: number): Promise<{ snap: SinkSnapshot; waitedMs: number }> {
  const started = performance.now();
  const total = (snap: SinkSnapshot): number => ssrcs.reduce((n, s) => n + (snap.streams.get(s) ?? 0), 0);
  let snap = await sink.snapshot();
  let last = total(snap);
  let stableSince = performance.now();
  while (performance.now() - stableSince < QUIET_MS && performance.now() - started < maxMs) {
    await new Promise((r) => setTimeout(r, POLL_MS));
    snap = await sink.snapshot();
    const now = total(snap);
    if (now !== last) {
      last = now;
      stableSince = performance.now();
    }
  }
  return { snap, waitedMs: stableSince - started };
}

export interface Blaster extends Paced {
  readonly ssrcs: readonly number[];
}

/**
 * The sink's reference load: the same 30 fps VP8 stream copied to `count` SSRCs by plain Node
 * `dgram` sends, spread over the sink ports the way the SFU's consumers are. No parsing, no SRTP.
 */
export async function startBlaster(count: number, ports: readonly number[]): Promise<Blaster> {
  const socket = await loopbackSocket(4 * 1024 * 1024);
  const ssrcs = Array.from({ length: count }, (_, i) => 0x40000000 + i);
  const source = createVp8Source(0x3fffffff, randomBytes(2048));
  const paced = pacedSource(socket, source, (packet) => {
    for (const [i, ssrc] of ssrcs.entries()) {
      const copy = Buffer.from(packet);
      copy.writeUInt32BE(ssrc, 8);
      socket.send(copy, ports[i % ports.length] ?? 0, '127.0.0.1', throwOnSendError);
    }
  });
  return {
    ssrcs,
    get packetsSent() {
      return paced.packetsSent;
    },
    pause: paced.pause,
    resume: paced.resume,
    close: () => paced.close(),
  };
}
