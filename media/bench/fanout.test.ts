import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { createVp8Source, isRtcp, VP8_PAYLOAD_TYPE } from '../../load-tests/bench/media-rtp.ts';
import { createFanout, type Fanout } from './fanout.ts';

const FRAMES = 20;
/** mediasoup's bandwidth-probation stream (padding-only packets), sent besides the consumers'. */
const PROBATION_SSRC = 1234;

interface Received {
  readonly seqs: number[];
  readonly payloads: Buffer[];
}

async function bindSink(): Promise<{ socket: Socket; port: number; bySsrc: Map<number, Received> }> {
  const socket = createSocket('udp4');
  const bySsrc = new Map<number, Received>();
  socket.on('message', (msg: Buffer) => {
    if (isRtcp(msg)) return;
    const ssrc = msg.readUInt32BE(8);
    const r = bySsrc.get(ssrc) ?? { seqs: [], payloads: [] };
    r.seqs.push(msg.readUInt16BE(2));
    r.payloads.push(msg);
    bySsrc.set(ssrc, r);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  return { socket, port: socket.address().port, bySsrc };
}

describe('bench fan-out (real mediasoup worker)', () => {
  const open: { fanout?: Fanout; sockets: Socket[] } = { sockets: [] };
  afterEach(() => {
    open.fanout?.close();
    for (const s of open.sockets.splice(0)) s.close();
  });

  it('forwards every VP8 packet of one producer to 3 SRTP consumers, in order, without loss', async () => {
    const fanout = await createFanout();
    open.fanout = fanout;
    const sink = await bindSink();
    const feeder = createSocket('udp4');
    open.sockets.push(sink.socket, feeder);
    const ssrc = 0x1234_5678;
    const producerAt = await fanout.produce({ ssrc, payloadType: VP8_PAYLOAD_TYPE });
    const ssrcs = await fanout.setConsumers(3, [{ ip: '127.0.0.1', port: sink.port }]);
    expect(new Set(ssrcs).size).toBe(3);

    const filler = randomBytes(2048);
    const source = createVp8Source(ssrc, filler);
    for (let f = 0; f < FRAMES; f++) {
      for (const p of source.nextFrame()) feeder.send(p, producerAt.port, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 33));
    }
    const deadline = Date.now() + 2000;
    while (Date.now() < deadline && ssrcs.some((s) => (sink.bySsrc.get(s)?.seqs.length ?? 0) < source.packetsSent)) await new Promise((r) => setTimeout(r, 20));

    expect([...sink.bySsrc.keys()].filter((k) => k !== PROBATION_SSRC).sort()).toEqual([...ssrcs].sort());
    for (const s of ssrcs) {
      const got = sink.bySsrc.get(s);
      expect(got?.seqs.length).toBe(source.packetsSent);
      const seqs = got?.seqs ?? [];
      for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBe(((seqs[i - 1] ?? 0) + 1) & 0xffff);
      // SRTP: the payload is encrypted (the plain filler's bytes do not appear) and carries a tag.
      const last = got?.payloads.at(-1) ?? Buffer.alloc(0);
      expect(last.includes(filler.subarray(1000, 1032))).toBe(false);
      expect(last.length).toBeGreaterThan(1100);
    }
  }, 20_000);
});
