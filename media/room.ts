/**
 * One visit's media: a mediasoup router on one worker, and each participant's transports,
 * producers and consumers. The waiting room is enforced HERE, not in the page: a peer that is not
 * admitted may create transports and produce (so its own preview and send path are ready), but
 * it gets no consumer of anyone, and no one gets a consumer of it. Returning a peer to the lobby
 * closes every consumer to and from it at once.
 *
 * Closing cascades (router → transports → producers → consumers) and is idempotent; a room
 * closes with a typed reason, `worker-died` when its worker process is gone.
 */
import type { types } from 'mediasoup';
import type { Logger } from '../core/log/logger.ts';
import { VideoErrorCode, type MediaSource, type RoomCloseReason, type VideoEvent } from '../core/protocol/video.ts';
import { MEDIA_CODECS } from './codecs.ts';
import { invalidRtp, MediaError } from './errors.ts';
import type { PooledWorker } from './worker-pool.ts';

export interface ListenOptions {
  readonly ip: string;
  readonly announcedAddress: string | undefined;
  readonly maxIncomingBitrate: number;
}

export interface MediaRoomHooks {
  /** Deliver an event to one participant (the signaling layer knows their socket). */
  send(peerId: string, event: VideoEvent): void;
  /** Once, when the room has closed. */
  closed(reason: RoomCloseReason): void;
}

export interface TransportInfo {
  readonly transportId: string;
  readonly iceParameters: types.IceParameters;
  readonly iceCandidates: types.IceCandidate[];
  readonly dtlsParameters: types.DtlsParameters;
}

export interface ConsumerInfo {
  readonly consumerId: string;
  readonly producerId: string;
  readonly kind: types.MediaKind;
  readonly rtpParameters: types.RtpParameters;
  readonly source: MediaSource;
  readonly peerId: string;
}

interface OwnedProducer {
  readonly producer: types.Producer;
  readonly source: MediaSource;
}

interface PeerMedia {
  readonly id: string;
  admitted: boolean;
  readonly transports: Map<string, { readonly transport: types.WebRtcTransport; readonly direction: 'send' | 'recv' }>;
  readonly producers: Map<string, OwnedProducer>;
  /** Consumers this peer receives on, with the peer whose producer each one carries. */
  readonly consumers: Map<string, { readonly consumer: types.Consumer; readonly fromPeer: string }>;
}

export interface MediaRoom {
  readonly id: string;
  readonly workerPid: number;
  readonly rtpCapabilities: types.RtpCapabilities;
  readonly closed: boolean;
  addPeer(peerId: string, admitted: boolean): void;
  removePeer(peerId: string): void;
  setAdmitted(peerId: string, admitted: boolean): void;
  isAdmitted(peerId: string): boolean;
  createTransport(peerId: string, direction: 'send' | 'recv'): Promise<TransportInfo>;
  connectTransport(peerId: string, transportId: string, dtlsParameters: types.DtlsParameters): Promise<void>;
  restartIce(peerId: string, transportId: string): Promise<types.IceParameters>;
  produce(peerId: string, transportId: string, kind: types.MediaKind, rtpParameters: types.RtpParameters, source: MediaSource): Promise<string>;
  consume(peerId: string, transportId: string, producerId: string, rtpCapabilities: types.RtpCapabilities): Promise<ConsumerInfo>;
  resumeConsumer(peerId: string, consumerId: string): Promise<void>;
  setProducerPaused(peerId: string, producerId: string, paused: boolean): Promise<void>;
  closeProducer(peerId: string, producerId: string): void;
  close(reason: RoomCloseReason): void;
}

const notFound = (what: string): MediaError => new MediaError(404, VideoErrorCode.notFound, `No such ${what} in this visit`);
const notAdmitted = (): MediaError => new MediaError(403, VideoErrorCode.notAdmitted, 'You are in the waiting room; the provider will let you in');

export async function createMediaRoom(id: string, pooled: PooledWorker, listen: ListenOptions, hooks: MediaRoomHooks, log: Logger): Promise<MediaRoom> {
  const router = await pooled.worker.createRouter({ mediaCodecs: MEDIA_CODECS });
  const peers = new Map<string, PeerMedia>();
  let closed = false;

  const peerOf = (peerId: string): PeerMedia => {
    const p = peers.get(peerId);
    if (p === undefined || closed) throw new MediaError(409, VideoErrorCode.notJoined, 'You are not in this visit; join it first');
    return p;
  };
  const transportOf = (p: PeerMedia, transportId: string) => {
    const t = p.transports.get(transportId);
    if (t === undefined) throw notFound('transport');
    return t;
  };
  const announce = (to: PeerMedia, from: PeerMedia, owned: OwnedProducer): void => {
    hooks.send(to.id, { type: 'video.producer.added', producerId: owned.producer.id, peerId: from.id, kind: owned.producer.kind, source: owned.source });
  };
  /** Every consumer that joins `peer` to anyone, both directions, closed and reported. */
  const cutConsumers = (peer: PeerMedia): void => {
    for (const [cid, c] of peer.consumers) {
      peer.consumers.delete(cid);
      c.consumer.close();
      hooks.send(peer.id, { type: 'video.consumer.closed', consumerId: cid });
    }
    for (const other of peers.values()) {
      for (const [cid, c] of other.consumers) {
        if (c.fromPeer !== peer.id) continue;
        other.consumers.delete(cid);
        c.consumer.close();
        hooks.send(other.id, { type: 'video.consumer.closed', consumerId: cid });
      }
    }
  };

  const room: MediaRoom = {
    id,
    workerPid: pooled.pid,
    rtpCapabilities: router.rtpCapabilities,
    get closed() {
      return closed;
    },

    addPeer(peerId, admitted) {
      if (closed) throw new MediaError(409, VideoErrorCode.notJoined, 'This visit room has closed; join again');
      if (peers.has(peerId)) return;
      peers.set(peerId, { id: peerId, admitted, transports: new Map(), producers: new Map(), consumers: new Map() });
      pooled.load++;
    },

    removePeer(peerId) {
      const p = peers.get(peerId);
      if (p === undefined) return;
      cutConsumers(p);
      for (const [pid, owned] of p.producers) {
        owned.producer.close();
        for (const other of peers.values()) if (other !== p && other.admitted && p.admitted) hooks.send(other.id, { type: 'video.producer.closed', producerId: pid });
      }
      for (const { transport } of p.transports.values()) transport.close();
      peers.delete(peerId);
      pooled.load = Math.max(0, pooled.load - 1);
    },

    setAdmitted(peerId, admitted) {
      const p = peerOf(peerId);
      if (p.admitted === admitted) return;
      p.admitted = admitted;
      if (!admitted) {
        cutConsumers(p);
        for (const other of peers.values()) {
          if (other === p || !other.admitted) continue;
          for (const pid of p.producers.keys()) hooks.send(other.id, { type: 'video.producer.closed', producerId: pid });
        }
        return;
      }
      for (const other of peers.values()) {
        if (other === p || !other.admitted) continue;
        for (const owned of other.producers.values()) announce(p, other, owned);
        for (const owned of p.producers.values()) announce(other, p, owned);
      }
    },

    isAdmitted(peerId) {
      return peers.get(peerId)?.admitted === true;
    },

    async createTransport(peerId, direction) {
      const p = peerOf(peerId);
      if (p.transports.size >= 4) throw new MediaError(409, VideoErrorCode.forbidden, 'Too many transports; close one first');
      const listenInfo = { ip: listen.ip, announcedAddress: listen.announcedAddress, portRange: pooled.portRange };
      const transport = await router.createWebRtcTransport({
        listenInfos: [
          { protocol: 'udp', ...listenInfo },
          { protocol: 'tcp', ...listenInfo },
        ],
        preferUdp: true,
        initialAvailableOutgoingBitrate: 600_000,
      });
      if (closed || !peers.has(peerId)) {
        transport.close();
        throw new MediaError(409, VideoErrorCode.notJoined, 'You left the visit');
      }
      if (direction === 'send') await transport.setMaxIncomingBitrate(listen.maxIncomingBitrate);
      p.transports.set(transport.id, { transport, direction });
      transport.on('routerclose', () => p.transports.delete(transport.id));
      return { transportId: transport.id, iceParameters: transport.iceParameters, iceCandidates: transport.iceCandidates, dtlsParameters: transport.dtlsParameters };
    },

    async connectTransport(peerId, transportId, dtlsParameters) {
      const { transport } = transportOf(peerOf(peerId), transportId);
      try {
        await transport.connect({ dtlsParameters });
      } catch (err) {
        throw invalidRtp(err);
      }
    },

    async restartIce(peerId, transportId) {
      return transportOf(peerOf(peerId), transportId).transport.restartIce();
    },

    async produce(peerId, transportId, kind, rtpParameters, source) {
      const p = peerOf(peerId);
      const t = transportOf(p, transportId);
      if (t.direction !== 'send') throw new MediaError(400, VideoErrorCode.forbidden, 'Produce on your send transport');
      for (const owned of p.producers.values()) {
        if (owned.source === source) throw new MediaError(409, VideoErrorCode.forbidden, `You already send a ${source} track; close it first`);
      }
      let producer: types.Producer;
      try {
        producer = await t.transport.produce({ kind, rtpParameters });
      } catch (err) {
        throw invalidRtp(err);
      }
      if (!peers.has(peerId)) {
        producer.close();
        throw new MediaError(409, VideoErrorCode.notJoined, 'You left the visit');
      }
      const owned = { producer, source };
      p.producers.set(producer.id, owned);
      producer.on('transportclose', () => p.producers.delete(producer.id));
      // Only admitted peers learn of each other's media: the lobby is invisible both ways.
      if (p.admitted) for (const other of peers.values()) if (other !== p && other.admitted) announce(other, p, owned);
      return producer.id;
    },

    async consume(peerId, transportId, producerId, rtpCapabilities) {
      const p = peerOf(peerId);
      const t = transportOf(p, transportId);
      if (t.direction !== 'recv') throw new MediaError(400, VideoErrorCode.forbidden, 'Consume on your receive transport');
      let owner: PeerMedia | undefined;
      let owned: OwnedProducer | undefined;
      for (const other of peers.values()) {
        owned = other.producers.get(producerId);
        if (owned !== undefined) {
          owner = other;
          break;
        }
      }
      if (owner === undefined || owned === undefined || owner === p) throw notFound('producer');
      if (!p.admitted || !owner.admitted) throw notAdmitted();
      if (!router.canConsume({ producerId, rtpCapabilities })) throw invalidRtp(new Error('cannot consume with these RTP capabilities'));
      let consumer: types.Consumer;
      try {
        consumer = await t.transport.consume({ producerId, rtpCapabilities, paused: true });
      } catch (err) {
        throw invalidRtp(err);
      }
      // Admission may have changed while the consumer was being created.
      if (!p.admitted || !owner.admitted || !peers.has(peerId)) {
        consumer.close();
        throw notAdmitted();
      }
      const fromPeer = owner.id;
      p.consumers.set(consumer.id, { consumer, fromPeer });
      const gone = (): void => {
        if (p.consumers.delete(consumer.id)) hooks.send(p.id, { type: 'video.consumer.closed', consumerId: consumer.id });
      };
      consumer.on('producerclose', gone);
      consumer.on('transportclose', () => p.consumers.delete(consumer.id));
      consumer.on('producerpause', () => hooks.send(p.id, { type: 'video.consumer.paused', consumerId: consumer.id, paused: true }));
      consumer.on('producerresume', () => hooks.send(p.id, { type: 'video.consumer.paused', consumerId: consumer.id, paused: false }));
      return { consumerId: consumer.id, producerId, kind: consumer.kind, rtpParameters: consumer.rtpParameters, source: owned.source, peerId: fromPeer };
    },

    async resumeConsumer(peerId, consumerId) {
      const c = peerOf(peerId).consumers.get(consumerId);
      if (c === undefined) throw notFound('consumer');
      await c.consumer.resume();
    },

    async setProducerPaused(peerId, producerId, paused) {
      const owned = peerOf(peerId).producers.get(producerId);
      if (owned === undefined) throw notFound('producer');
      if (paused) await owned.producer.pause();
      else await owned.producer.resume();
    },

    closeProducer(peerId, producerId) {
      const p = peerOf(peerId);
      const owned = p.producers.get(producerId);
      if (owned === undefined) throw notFound('producer');
      owned.producer.close();
      p.producers.delete(producerId);
      if (p.admitted) for (const other of peers.values()) if (other !== p && other.admitted) hooks.send(other.id, { type: 'video.producer.closed', producerId });
    },

    close(reason) {
      if (closed) return;
      closed = true;
      pooled.load = Math.max(0, pooled.load - peers.size);
      peers.clear();
      if (!router.closed) router.close();
      log.info({ roomId: id, reason, workerPid: pooled.pid }, 'media room closed');
      hooks.closed(reason);
    },
  };

  router.on('workerclose', () => room.close('worker-died'));
  return room;
}
