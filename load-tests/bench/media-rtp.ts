/**
 * Synthetic VP8 video for `bench media`: RTP packets an encoder could have sent (RFC 7741 payload
 * descriptor with a 15-bit picture id, a VP8 frame header on each frame's first packet, a real
 * keyframe header with start code and size), so the SFU parses, rewrites and gates them the way it
 * does a browser's. Plus the two header reads the sink and the PLI listener need.
 */

export const VP8_PAYLOAD_TYPE = 96;
export const CLOCK_RATE = 90_000;
export const FPS = 30;
/** Packets per delta frame and per keyframe, and bytes per packet on the wire (RTP header included). */
export const DELTA_PACKETS = 4;
export const KEY_PACKETS = 12;
export const PACKET_BYTES = 1100;
/** A keyframe every 2 s unless a receiver asks sooner (PLI / FIR). */
export const KEYFRAME_EVERY_FRAMES = 60;

const RTP_HEADER = 12;
const DESCRIPTOR = 4; // X|S|PID, I, M|pictureId(15)

/** Packets per second one stream carries on average (delta frames plus the periodic keyframe). */
export const PACKETS_PER_SECOND = FPS * DELTA_PACKETS + (FPS / KEYFRAME_EVERY_FRAMES) * (KEY_PACKETS - DELTA_PACKETS);
/** Bits per second one stream carries on the wire (RTP, before SRTP's tag and UDP/IP headers). */
export const BITS_PER_SECOND = PACKETS_PER_SECOND * PACKET_BYTES * 8;

export interface Vp8Source {
  /** The packets of the next frame; a keyframe when due or when one was requested. */
  nextFrame(): Buffer[];
  /** Make the next frame a keyframe (a PLI or FIR arrived). */
  requestKeyframe(): void;
  /** RTP packets produced so far. */
  readonly packetsSent: number;
}

export function createVp8Source(ssrc: number, filler: Buffer): Vp8Source {
  let seq = Math.floor(Math.random() * 0x8000);
  let timestamp = Math.floor(Math.random() * 0x7fffffff);
  let pictureId = Math.floor(Math.random() * 0x7fff);
  let frame = 0;
  let keyframeWanted = true;
  let packetsSent = 0;
  return {
    get packetsSent() {
      return packetsSent;
    },
    requestKeyframe() {
      keyframeWanted = true;
    },
    nextFrame() {
      const key = keyframeWanted || frame % KEYFRAME_EVERY_FRAMES === 0;
      if (key) {
        keyframeWanted = false;
        frame = 0;
      }
      const count = key ? KEY_PACKETS : DELTA_PACKETS;
      const packets: Buffer[] = [];
      for (let i = 0; i < count; i++) {
        const p = Buffer.allocUnsafe(PACKET_BYTES);
        filler.copy(p, RTP_HEADER + DESCRIPTOR, 0, PACKET_BYTES - RTP_HEADER - DESCRIPTOR);
        p[0] = 0x80; // V=2
        p[1] = (i === count - 1 ? 0x80 : 0) | VP8_PAYLOAD_TYPE; // marker on the frame's last packet
        p.writeUInt16BE(seq, 2);
        p.writeUInt32BE(timestamp >>> 0, 4);
        p.writeUInt32BE(ssrc >>> 0, 8);
        p[12] = i === 0 ? 0x90 : 0x80; // X=1, S=1 on the first packet of partition 0
        p[13] = 0x80; // I: picture id present
        p.writeUInt16BE(0x8000 | pictureId, 14); // M=1: 15-bit picture id
        if (i === 0) writeFrameHeader(p, 16, key);
        packets.push(p);
        seq = (seq + 1) & 0xffff;
      }
      packetsSent += count;
      timestamp = (timestamp + CLOCK_RATE / FPS) >>> 0;
      pictureId = (pictureId + 1) & 0x7fff;
      frame++;
      return packets;
    },
  };
}

/** VP8 frame header (RFC 6386 §9.1): P bit 0 = keyframe, then start code and 640x360 for a keyframe. */
function writeFrameHeader(p: Buffer, at: number, key: boolean): void {
  const firstPartition = 600;
  const tag = (key ? 0 : 1) | (0 << 1) | (1 << 4) | (firstPartition << 5); // P, version 0, show_frame, size
  p[at] = tag & 0xff;
  p[at + 1] = (tag >> 8) & 0xff;
  p[at + 2] = (tag >> 16) & 0xff;
  if (!key) return;
  p[at + 3] = 0x9d;
  p[at + 4] = 0x01;
  p[at + 5] = 0x2a;
  p.writeUInt16LE(640, at + 6);
  p.writeUInt16LE(360, at + 8);
}

/** RTCP packet types 192-223 share the port with RTP when rtcp-mux is on (RFC 5761 §4). */
export function isRtcp(packet: Buffer): boolean {
  const pt = packet[1] ?? 0;
  return packet.length >= 8 && pt >= 192 && pt <= 223;
}

/** Whether a (plain) compound RTCP packet carries a PLI (PSFB FMT 1) or a FIR (PSFB FMT 4). */
export function asksForKeyframe(packet: Buffer): boolean {
  let at = 0;
  while (at + 4 <= packet.length) {
    const fmt = (packet[at] ?? 0) & 0x1f;
    const pt = packet[at + 1] ?? 0;
    if (pt === 206 && (fmt === 1 || fmt === 4)) return true;
    at += (packet.readUInt16BE(at + 2) + 1) * 4;
  }
  return false;
}
