/**
 * Video signaling on the authenticated WebSocket: one handler per request kind of
 * core/protocol/video.ts, each answered by exactly one `video.result` with the request's `reqId`.
 * Requests are rate-limited per socket (a flood is refused, not queued); refusals that matter for
 * security (consuming before admission, reaching into another room's media) are audited.
 * Errors say what to do; they never carry a stack, a name or another participant's details.
 */
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { AppError } from '../../core/errors.ts';
import type { Logger } from '../../core/log/logger.ts';
import { VideoErrorCode, VideoRequests, type VideoRequestType } from '../../core/protocol/video.ts';
import type { types } from 'mediasoup';
import type { FrameOf } from '../ws/frame-router.ts';
import type { WsHub } from '../ws/ws-hub.ts';
import type { WsClient } from '../ws/ws-client.ts';
import { iceServersFor, type TurnConfig } from './turn.ts';
import type { VideoRooms } from './video-rooms.ts';

export interface VideoSignalingDeps {
  readonly hub: Pick<WsHub, 'register'>;
  readonly rooms: VideoRooms;
  readonly turn: TurnConfig;
  readonly log: Logger;
  /** Requests per second per socket (bursts to twice as many). */
  readonly perSecond: number;
}

type Req<T extends VideoRequestType> = FrameOf<T, (typeof VideoRequests)[T]>;
type Handler<T extends VideoRequestType> = (client: WsClient, frame: Req<T>) => Promise<unknown>;

/** Codes whose refusal is worth an audit record: someone tried to see media they may not. */
const AUDITED = new Set<string>([VideoErrorCode.notAdmitted, VideoErrorCode.forbidden]);

export function registerVideoSignaling(deps: VideoSignalingDeps): void {
  const { rooms, log } = deps;
  const limiter = new RateLimiterMemory({ points: deps.perSecond * 2, duration: 2 });

  const handlers: { readonly [T in VideoRequestType]: Handler<T> } = {
    'video.join': async (client, f) => {
      const joined = await rooms.join(client, f.appointmentId);
      const p = joined.participant;
      return {
        roomId: joined.media.id,
        peerId: p.peerId,
        role: p.role,
        state: p.state,
        routerRtpCapabilities: joined.media.rtpCapabilities,
        iceServers: iceServersFor(deps.turn, p.peerId),
        participants: joined.participants,
        closesAt: joined.closesAt.toISOString(),
      };
    },
    'video.transport.create': async (client, f) => {
      const { participant, media } = rooms.current(client);
      return media.createTransport(participant.peerId, f.direction);
    },
    'video.transport.connect': async (client, f) => {
      const { participant, media } = rooms.current(client);
      await media.connectTransport(participant.peerId, f.transportId, f.dtlsParameters as types.DtlsParameters);
      return {};
    },
    'video.transport.restart_ice': async (client, f) => {
      const { participant, media } = rooms.current(client);
      return { iceParameters: await media.restartIce(participant.peerId, f.transportId) };
    },
    'video.produce': async (client, f) => {
      const { participant, media } = rooms.current(client);
      const producerId = await media.produce(participant.peerId, f.transportId, f.kind, f.rtpParameters as types.RtpParameters, f.source);
      return { producerId };
    },
    'video.consume': async (client, f) => {
      const { participant, media } = rooms.current(client);
      return media.consume(participant.peerId, f.transportId, f.producerId, f.rtpCapabilities as types.RtpCapabilities);
    },
    'video.consumer.resume': async (client, f) => {
      const { participant, media } = rooms.current(client);
      await media.resumeConsumer(participant.peerId, f.consumerId);
      return {};
    },
    'video.producer.pause': async (client, f) => {
      const { participant, media } = rooms.current(client);
      await media.setProducerPaused(participant.peerId, f.producerId, true);
      return {};
    },
    'video.producer.resume': async (client, f) => {
      const { participant, media } = rooms.current(client);
      await media.setProducerPaused(participant.peerId, f.producerId, false);
      return {};
    },
    'video.producer.close': (client, f) => {
      const { participant, media } = rooms.current(client);
      media.closeProducer(participant.peerId, f.producerId);
      return Promise.resolve({});
    },
    'video.leave': async (client) => {
      await rooms.leave(client, 'left');
      return {};
    },
    'video.lobby.admit': async (client, f) => {
      await rooms.admit(client, f.peerId);
      return {};
    },
    'video.lobby.deny': async (client, f) => {
      await rooms.deny(client, f.peerId);
      return {};
    },
    'video.lobby.return': async (client, f) => {
      await rooms.returnToLobby(client, f.peerId);
      return {};
    },
    'video.remove': async (client, f) => {
      await rooms.remove(client, f.peerId);
      return {};
    },
  };

  const answer = async <T extends VideoRequestType>(type: T, client: WsClient, frame: Req<T>): Promise<void> => {
    const reqId = frame.reqId;
    try {
      await limiter.consume(client.id);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      client.send({ type: 'video.result', reqId, ok: false, error: { code: VideoErrorCode.rateLimited, message: 'Too many requests; slow down' } });
      return;
    }
    try {
      const data = await handlers[type](client, frame);
      client.send({ type: 'video.result', reqId, ok: true, data });
    } catch (err) {
      const known = err instanceof AppError && err.status < 500;
      const code = err instanceof AppError ? err.code : VideoErrorCode.internal;
      const message = err instanceof AppError && (known || err.status === 503) ? err.message : 'Something went wrong; try again';
      if (!known) log.error({ err, frameType: type, socketId: client.id }, 'video signaling request failed');
      client.send({ type: 'video.result', reqId, ok: false, error: { code, message } });
      if (known && AUDITED.has(code) && type !== 'video.join') {
        // join denials are audited by the access policy itself.
        await rooms.refused(client, type, code);
      }
    }
  };

  for (const type of Object.keys(VideoRequests) as VideoRequestType[]) {
    deps.hub.register(type, VideoRequests[type], (client, frame) => answer(type, client, frame as Req<typeof type>));
  }
}
