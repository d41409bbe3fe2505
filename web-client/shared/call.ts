/**
 * One participant's side of a video visit, driving mediasoup-client over the signaling socket:
 * join → (lobby until admitted) → load the router's capabilities → send transport, produce camera
 * (VP8 simulcast when available) and microphone → recv transport, consume what the server offers.
 * A room closed with `rejoin` (media worker died) or a signaling reconnect tears the transports
 * down and joins again with the same local tracks, without reloading the page.
 */
import { Device, detectDeviceAsync, type types } from 'mediasoup-client';
import { EMPTY_STATS, grade, summarize, type Quality, type VisitStats } from './call-stats.ts';
import { createIceWatch } from './ice-watch.ts';
import type { LocalMedia } from './local-media.ts';
import type { EventOf, JoinData, Participant, ResultOf } from './protocol.ts';
import { SignalingError, type Signaling } from './signaling.ts';

export const CallState = {
  idle: 'idle',
  joining: 'joining',
  lobby: 'lobby',
  admitted: 'admitted',
  inCall: 'in-call',
  left: 'left',
  ended: 'ended',
  signedOut: 'signed-out',
  failed: 'failed',
} as const;
export type CallState = (typeof CallState)[keyof typeof CallState];

export interface RemoteTracks {
  readonly video: readonly MediaStreamTrack[];
  readonly audio: readonly MediaStreamTrack[];
}

/** What the page renders; every callback is optional to implement as a no-op. */
export interface CallView {
  state(state: CallState, reason?: string): void;
  participants(list: readonly Participant[], selfPeerId: string): void;
  reconnecting(on: boolean): void;
  quality(q: Quality): void;
  remote(tracks: RemoteTracks): void;
}

export type HostAction = 'video.lobby.admit' | 'video.lobby.deny' | 'video.lobby.return' | 'video.remove';

export interface Call {
  readonly state: CallState;
  join(): Promise<void>;
  leave(): Promise<void>;
  setEnabled(source: 'camera' | 'microphone', on: boolean): Promise<void>;
  host(action: HostAction, peerId: string): Promise<void>;
  stats(): Promise<VisitStats>;
  /** Stop listening to the socket and close the transports (after leave, to open another visit). Idempotent. */
  close(): void;
}

interface Remote {
  readonly consumer: types.Consumer;
  readonly producerId: string;
}

const STATS_MS = 2_000;

/**
 * mediasoup-client's RTP objects as the protocol's bounded JSON shapes (its codec `parameters`
 * are typed `unknown`, ours scalar): the server validates them and refuses with `invalid_rtp`.
 */
function toWire<T>(value: types.RtpParameters | types.RtpCapabilities): T {
  return value as unknown as T;
}
const UNAVAILABLE_RETRY_MS = 2_000;

export function createCall(signaling: Signaling, appointmentId: string, local: LocalMedia, view: CallView): Call {
  let state: CallState = CallState.idle;
  let epoch = 0;
  let joined: JoinData | undefined;
  let device: types.Device | undefined;
  let sendT: types.Transport | undefined;
  let recvT: types.Transport | undefined;
  const producers = new Map<'camera' | 'microphone', types.Producer>();
  const remotes = new Map<string, Remote>();
  let queued: EventOf<'video.producer.added'>[] = [];
  const enabled = { camera: true, microphone: true };
  let statsTimer: number | undefined;
  let lastStats = EMPTY_STATS;
  let signalingDown = false;
  let iceDown = false;
  let closed = false;
  const offs: (() => void)[] = [];

  const setState = (s: CallState, reason?: string): void => {
    state = s;
    view.state(s, reason);
  };
  const showReconnecting = (): void => view.reconnecting(signalingDown || iceDown);
  const ice = createIceWatch(
    async (transportId) => (await signaling.request('video.transport.restart_ice', { transportId })).iceParameters as unknown as types.IceParameters,
    (down) => {
      iceDown = down;
      showReconnecting();
    },
  );
  const publishRemotes = (): void => {
    const all = [...remotes.values()].map((r) => r.consumer.track);
    view.remote({ video: all.filter((t) => t.kind === 'video'), audio: all.filter((t) => t.kind === 'audio') });
    if (state === CallState.admitted || state === CallState.inCall) setState(remotes.size > 0 ? CallState.inCall : CallState.admitted);
  };

  /** Close every transport (and with them producers and consumers); the local tracks stay live. */
  const teardown = (): void => {
    epoch += 1;
    window.clearInterval(statsTimer);
    statsTimer = undefined;
    ice.clear();
    for (const p of producers.values()) p.close();
    producers.clear();
    for (const r of remotes.values()) r.consumer.close();
    remotes.clear();
    queued = [];
    sendT?.close();
    recvT?.close();
    sendT = recvT = device = undefined;
    view.remote({ video: [], audio: [] });
  };

  const createTransport = async (direction: 'send' | 'recv', d: types.Device, data: JoinData): Promise<types.Transport> => {
    const t = await signaling.request('video.transport.create', { direction });
    // The server's ICE/DTLS objects are mediasoup's own; the protocol only bounds their shape.
    const options = {
      id: t.transportId,
      iceParameters: t.iceParameters as unknown as types.IceParameters,
      iceCandidates: t.iceCandidates as unknown as types.IceCandidate[],
      dtlsParameters: t.dtlsParameters as unknown as types.DtlsParameters,
      iceServers: data.iceServers,
    };
    const transport = direction === 'send' ? d.createSendTransport(options) : d.createRecvTransport(options);
    transport.on('connect', ({ dtlsParameters }, callback, errback) => {
      signaling.request('video.transport.connect', { transportId: transport.id, dtlsParameters }).then(() => callback(), errback);
    });
    if (direction === 'send') {
      transport.on('produce', ({ kind, rtpParameters, appData }, callback, errback) => {
        const source = appData['source'] === 'camera' ? 'camera' : 'microphone';
        signaling.request('video.produce', { transportId: transport.id, kind, source, rtpParameters: toWire(rtpParameters) }).then(({ producerId }) => callback({ id: producerId }), errback);
      });
    }
    ice.watch(transport);
    return transport;
  };

  const produce = async (t: types.Transport, d: types.Device, source: 'camera' | 'microphone', my: number): Promise<void> => {
    const track = source === 'camera' ? local.camera() : local.microphone();
    if (track === undefined || !d.canProduce(track.kind === 'video' ? 'video' : 'audio')) return;
    const vp8 = d.rtpCapabilities.codecs?.find((c) => c.mimeType.toLowerCase() === 'video/vp8');
    const simulcast =
      source === 'camera' && vp8 !== undefined
        ? {
            codec: vp8,
            encodings: [
              { rid: 'r0', scaleResolutionDownBy: 4, maxBitrate: 150_000 },
              { rid: 'r1', scaleResolutionDownBy: 2, maxBitrate: 400_000 },
              { rid: 'r2', scaleResolutionDownBy: 1, maxBitrate: 1_200_000 },
            ],
          }
        : {};
    // stopTracks: false — the same tracks are produced again after a rejoin.
    const producer = await t.produce({ track, stopTracks: false, appData: { source }, ...simulcast });
    if (my !== epoch) return producer.close();
    producers.set(source, producer);
    if (!enabled[source]) await setProducerPaused(producer, true);
  };

  const setProducerPaused = async (p: types.Producer, paused: boolean): Promise<void> => {
    if (paused) p.pause();
    else p.resume();
    await signaling.request(paused ? 'video.producer.pause' : 'video.producer.resume', { producerId: p.id });
  };

  const consume = async (ev: EventOf<'video.producer.added'>, my: number): Promise<void> => {
    const t = recvT;
    const d = device;
    if (t === undefined || d === undefined) {
      queued.push(ev);
      return;
    }
    const c: ResultOf<'video.consume'> = await signaling.request('video.consume', { transportId: t.id, producerId: ev.producerId, rtpCapabilities: toWire(d.rtpCapabilities) });
    if (my !== epoch) return;
    const consumer = await t.consume({ id: c.consumerId, producerId: c.producerId, kind: c.kind, rtpParameters: c.rtpParameters as unknown as types.RtpParameters });
    if (my !== epoch) return consumer.close();
    remotes.set(consumer.id, { consumer, producerId: c.producerId });
    publishRemotes();
    await signaling.request('video.consumer.resume', { consumerId: consumer.id });
  };

  const startMedia = async (data: JoinData, my: number): Promise<void> => {
    setState(CallState.admitted);
    const name = await detectDeviceAsync();
    // Headless Chromium is not recognised by the detector; it behaves as current Chrome.
    const d = new Device(name === undefined ? { handlerName: 'Chrome111' } : {});
    await d.load({ routerRtpCapabilities: data.routerRtpCapabilities as unknown as types.RtpCapabilities });
    if (my !== epoch) return;
    device = d;
    sendT = await createTransport('send', d, data);
    if (my !== epoch) return;
    await produce(sendT, d, 'camera', my);
    await produce(sendT, d, 'microphone', my);
    if (my !== epoch) return;
    recvT = await createTransport('recv', d, data);
    if (my !== epoch) return;
    const waiting = queued;
    queued = [];
    await Promise.all(waiting.map((ev) => consume(ev, my)));
    statsTimer = window.setInterval(() => {
      sample().catch((err: unknown) => console.warn('stats failed', err));
    }, STATS_MS);
  };

  const sample = async (): Promise<void> => {
    const next = await stats();
    view.quality(grade(lastStats, next));
    lastStats = next;
  };

  const stats = async (): Promise<VisitStats> => (recvT === undefined || recvT.closed ? EMPTY_STATS : summarize(await recvT.getStats()));

  /** Report a failure of the current attempt; stale attempts (superseded by a rejoin) stay quiet. */
  const failed = (my: number, err: unknown): void => {
    if (my !== epoch) return;
    console.error('video call failed', err);
    const code = err instanceof SignalingError ? err.code : 'media_error';
    if (code === 'disconnected') return; // the reconnect path rejoins
    teardown();
    setState(CallState.failed, code);
  };

  const join = async (): Promise<void> => {
    teardown();
    const my = epoch;
    setState(CallState.joining);
    try {
      await signaling.ready();
      const data = await signaling.request('video.join', { appointmentId });
      if (my !== epoch) return;
      joined = data;
      view.participants(data.participants, data.peerId);
      if (data.state === 'admitted') await startMedia(data, my);
      else setState(CallState.lobby);
    } catch (err) {
      if (my === epoch && err instanceof SignalingError && err.code === 'media_unavailable') {
        window.setTimeout(() => rejoin(my), UNAVAILABLE_RETRY_MS);
        return;
      }
      failed(my, err);
    }
  };
  const rejoin = (my: number): void => {
    if (my === epoch) join().catch((err: unknown) => failed(epoch, err));
  };
  const inRoom = (): boolean => state === CallState.lobby || state === CallState.admitted || state === CallState.inCall || state === CallState.joining;

  offs.push(signaling.on('video.producer.added', (ev) => {
    const my = epoch;
    consume(ev, my).catch((err: unknown) => failed(my, err));
  }));
  const dropRemote = (match: (r: Remote) => boolean): void => {
    for (const [id, r] of remotes) {
      if (!match(r)) continue;
      r.consumer.close();
      remotes.delete(id);
    }
    publishRemotes();
  };
  offs.push(signaling.on('video.producer.closed', (ev) => dropRemote((r) => r.producerId === ev.producerId)));
  offs.push(signaling.on('video.consumer.closed', (ev) => dropRemote((r) => r.consumer.id === ev.consumerId)));
  offs.push(signaling.on('video.participants', (ev) => {
    if (joined !== undefined) view.participants(ev.participants, joined.peerId);
  }));
  offs.push(signaling.on('video.state', (ev) => {
    const data = joined;
    if (data === undefined) return;
    if (ev.state === 'lobby') {
      teardown();
      setState(CallState.lobby);
    } else if (state === CallState.lobby) {
      const my = epoch;
      startMedia(data, my).catch((err: unknown) => failed(my, err));
    }
  }));
  offs.push(signaling.on('video.left', (ev) => {
    teardown();
    setState(CallState.left, ev.reason);
  }));
  offs.push(signaling.on('video.room.closed', (ev) => {
    teardown();
    if (ev.rejoin) rejoin(epoch);
    else setState(CallState.ended, ev.reason);
  }));
  offs.push(signaling.onStatus((s, reconnected) => {
    signalingDown = s === 'reconnecting';
    showReconnecting();
    if (s === 'open' && reconnected && inRoom()) rejoin(epoch);
    if (s === 'signed-out' || s === 'failed') {
      teardown();
      setState(s === 'failed' ? CallState.failed : CallState.signedOut, s === 'failed' ? 'disconnected' : undefined);
    }
  }));

  return {
    get state() {
      return state;
    },
    join,
    async leave() {
      const wasIn = inRoom();
      teardown();
      setState(CallState.left, 'left');
      if (wasIn) await signaling.request('video.leave', {});
    },
    async setEnabled(source, on) {
      enabled[source] = on;
      const track = source === 'camera' ? local.camera() : local.microphone();
      if (track !== undefined) track.enabled = on;
      const p = producers.get(source);
      if (p !== undefined) await setProducerPaused(p, !on);
    },
    async host(action, peerId) {
      await signaling.request(action, { peerId });
    },
    stats,
    close() {
      if (closed) return;
      closed = true;
      teardown();
      for (const off of offs) off();
    },
  };
}
