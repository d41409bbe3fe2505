import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { types } from 'mediasoup';
import { createLogger } from '../core/log/logger.ts';
import type { RoomCloseReason, VideoEvent } from '../core/protocol/video.ts';
import { createMediaService, MediaError, type MediaRoom, type MediaService } from './index.ts';

/** A VP8 (or Opus) send description like a browser's, enough for mediasoup to accept a producer. */
function rtp(kind: 'video' | 'audio', ssrc: number): types.RtpParameters {
  return kind === 'video'
    ? {
        mid: String(ssrc % 100),
        codecs: [{ mimeType: 'video/VP8', payloadType: 101, clockRate: 90000, rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }] }],
        headerExtensions: [],
        encodings: [{ ssrc }],
        rtcp: { cname: `c${ssrc}` },
      }
    : { mid: String(ssrc % 100), codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2 }], headerExtensions: [], encodings: [{ ssrc }], rtcp: { cname: `c${ssrc}` } };
}

interface Harness {
  room: MediaRoom;
  events: Map<string, VideoEvent[]>;
  closed: RoomCloseReason[];
}

async function open(media: MediaService, id: string): Promise<Harness> {
  const events = new Map<string, VideoEvent[]>();
  const closed: RoomCloseReason[] = [];
  const room = await media.openRoom(id, {
    send: (peerId, e) => events.set(peerId, [...(events.get(peerId) ?? []), e]),
    closed: (r) => closed.push(r),
  });
  return { room, events, closed };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof MediaError) return err.code;
    throw err;
  }
  throw new Error('expected a refusal');
}

const config = {
  mediaWorkers: 1,
  mediaWorkerBin: undefined,
  rtcMinPort: 46000,
  rtcMaxPort: 46999,
  rtcListenIp: '127.0.0.1',
  rtcAnnouncedAddress: undefined,
  rtcMaxIncomingBitrate: 1_500_000,
  listenHost: '127.0.0.1',
};

describe('media room (real mediasoup worker)', () => {
  let media: MediaService;
  beforeAll(async () => {
    media = createMediaService(config, createLogger({ level: 'silent' }));
    await media.start();
  });
  afterAll(async () => {
    await media.close();
    await media.close();
  });

  it('enforces the lobby: nobody consumes a waiting peer, the waiting peer consumes nobody, until admitted', async () => {
    const { room, events } = await open(media, 'lobby-room');
    room.addPeer('host', true);
    room.addPeer('patient', false);
    const hostSend = await room.createTransport('host', 'send');
    const hostRecv = await room.createTransport('host', 'recv');
    const patSend = await room.createTransport('patient', 'send');
    const patRecv = await room.createTransport('patient', 'recv');
    const hostCam = await room.produce('host', hostSend.transportId, 'video', rtp('video', 1111), 'camera');
    const patCam = await room.produce('patient', patSend.transportId, 'video', rtp('video', 2222), 'camera');
    // The waiting patient may preview and send, but neither side learns of or receives the other.
    expect(events.get('host') ?? []).toEqual([]);
    expect(events.get('patient') ?? []).toEqual([]);
    expect(await codeOf(room.consume('host', hostRecv.transportId, patCam, room.rtpCapabilities))).toBe('not_admitted');
    expect(await codeOf(room.consume('patient', patRecv.transportId, hostCam, room.rtpCapabilities))).toBe('not_admitted');

    room.setAdmitted('patient', true);
    expect(events.get('host')).toEqual([{ type: 'video.producer.added', producerId: patCam, peerId: 'patient', kind: 'video', source: 'camera' }]);
    expect(events.get('patient')).toEqual([{ type: 'video.producer.added', producerId: hostCam, peerId: 'host', kind: 'video', source: 'camera' }]);
    const toHost = await room.consume('host', hostRecv.transportId, patCam, room.rtpCapabilities);
    const toPatient = await room.consume('patient', patRecv.transportId, hostCam, room.rtpCapabilities);
    expect(toHost).toMatchObject({ producerId: patCam, kind: 'video', peerId: 'patient', source: 'camera' });
    await room.resumeConsumer('host', toHost.consumerId);

    // Back to the lobby: every consumer to and from the patient closes at once.
    room.setAdmitted('patient', false);
    expect(events.get('host')).toContainEqual({ type: 'video.consumer.closed', consumerId: toHost.consumerId });
    expect(events.get('patient')).toContainEqual({ type: 'video.consumer.closed', consumerId: toPatient.consumerId });
    expect(await codeOf(room.consume('host', hostRecv.transportId, patCam, room.rtpCapabilities))).toBe('not_admitted');
    expect(await codeOf(room.resumeConsumer('host', toHost.consumerId))).toBe('not_found');
    room.close('ended');
  });

  it('refuses producers of another room, transports of another peer, and malformed RTP', async () => {
    const a = await open(media, 'room-a');
    const b = await open(media, 'room-b');
    for (const r of [a.room, b.room]) {
      r.addPeer('p1', true);
      r.addPeer('p2', true);
    }
    const aSend = await a.room.createTransport('p1', 'send');
    const foreign = await a.room.produce('p1', aSend.transportId, 'audio', rtp('audio', 3333), 'microphone');
    const bRecv = await b.room.createTransport('p2', 'recv');
    expect(await codeOf(b.room.consume('p2', bRecv.transportId, foreign, b.room.rtpCapabilities))).toBe('not_found');
    expect(await codeOf(a.room.produce('p2', aSend.transportId, 'audio', rtp('audio', 4444), 'microphone'))).toBe('not_found');
    const bSend = await b.room.createTransport('p1', 'send');
    const broken = { ...rtp('video', 5555), codecs: [{ mimeType: 'video/NOPE', payloadType: 300, clockRate: 90000 }] };
    expect(await codeOf(b.room.produce('p1', bSend.transportId, 'video', broken, 'camera'))).toBe('invalid_rtp');
    expect(await codeOf(a.room.produce('p1', aSend.transportId, 'audio', rtp('audio', 6666), 'microphone'))).toBe('forbidden');
    a.room.close('ended');
    a.room.close('shutdown');
    expect(a.closed).toEqual(['ended']);
    b.room.close('ended');
  });

  it('a dead worker closes its rooms with worker-died, is replaced, and new rooms land on the live one', async () => {
    const { room, closed } = await open(media, 'doomed');
    const pid = room.workerPid;
    process.kill(pid, 'SIGKILL');
    await expect.poll(() => closed, { timeout: 5_000 }).toEqual(['worker-died']);
    expect(room.closed).toBe(true);
    await expect.poll(() => media.workers().length === 1 && media.workers().every((w) => w.pid !== pid), { timeout: 10_000 }).toBe(true);
    const again = await open(media, 'reborn');
    expect(again.room.workerPid).not.toBe(pid);
    again.room.close('ended');
  });
});
