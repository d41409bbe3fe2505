/**
 * The receiving end of `bench media`, run in a worker_thread so counting packets never delays the
 * main thread's 30 fps sender. It binds a few UDP sockets (consumers are spread over them so one
 * socket's kernel queue is not the bottleneck) and counts, per SSRC, the RTP packets received.
 * SRTP leaves the RTP header in clear, so nothing is decrypted.
 *
 * Protocol with the parent: it posts `{type:'ready', ports}`; on `{type:'snapshot', id}` it posts
 * `{type:'snapshot', id, streams, packets}` where streams is a flat [ssrc, count, …] array;
 * on `{type:'reset'}` it forgets every stream; on `{type:'close'}` it closes its sockets.
 */
import { createSocket, type Socket } from 'node:dgram';
import { parentPort, workerData } from 'node:worker_threads';
import { isRtcp } from './media-rtp.ts';

export interface SinkOptions {
  readonly sockets: number;
  readonly recvBufferBytes: number;
}

export type SinkRequest = { readonly type: 'snapshot'; readonly id: number } | { readonly type: 'reset' } | { readonly type: 'close' };
export type SinkReply =
  | { readonly type: 'ready'; readonly ports: number[] }
  | { readonly type: 'snapshot'; readonly id: number; readonly streams: number[]; readonly packets: number };

const port = parentPort;
if (port === null) throw new Error('media-sink.ts runs as a worker_thread');
const options = workerData as SinkOptions;
let streams = new Map<number, number>();
let packets = 0;

function onPacket(msg: Buffer): void {
  if (msg.length < 12 || isRtcp(msg)) return;
  packets++;
  const ssrc = msg.readUInt32BE(8);
  streams.set(ssrc, (streams.get(ssrc) ?? 0) + 1);
}

const sockets: Socket[] = [];
for (let i = 0; i < options.sockets; i++) {
  const socket = createSocket({ type: 'udp4', recvBufferSize: options.recvBufferBytes });
  socket.on('message', onPacket);
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => resolve());
  });
  sockets.push(socket);
}

port.on('message', (req: SinkRequest) => {
  if (req.type === 'snapshot') {
    const flat: number[] = [];
    for (const [ssrc, count] of streams) flat.push(ssrc, count);
    const reply: SinkReply = { type: 'snapshot', id: req.id, streams: flat, packets };
    port.postMessage(reply);
  } else if (req.type === 'reset') {
    streams = new Map();
  } else {
    for (const s of sockets) s.close();
    port.close();
  }
});
const ready: SinkReply = { type: 'ready', ports: sockets.map((s) => s.address().port) };
port.postMessage(ready);
