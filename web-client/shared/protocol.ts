/**
 * The video wire protocol as TypeScript types for the pages. Type-only imports of
 * core/protocol/video.ts: the schemas (and zod) never reach the bundle; the server validates
 * what we send and we trust the shapes it sends back.
 */
import type { z } from 'zod';
import type {
  Consumed,
  Empty,
  IceRestarted,
  JoinResult,
  Participant,
  Produced,
  TransportCreated,
  VideoEvents,
  VideoRequests,
  VideoRequestType,
} from '../../core/protocol/video.ts';

export type { Participant, VideoRequestType };
export type { LeaveReason, ParticipantState, RoomCloseReason } from '../../core/protocol/video.ts';

/** What a request carries besides `type` and `reqId`. */
export type RequestPayload<T extends VideoRequestType> = Omit<z.input<(typeof VideoRequests)[T]>, 'reqId'>;

interface ResultMap {
  'video.join': z.infer<typeof JoinResult>;
  'video.transport.create': z.infer<typeof TransportCreated>;
  'video.transport.restart_ice': z.infer<typeof IceRestarted>;
  'video.produce': z.infer<typeof Produced>;
  'video.consume': z.infer<typeof Consumed>;
}
/** `data` of a successful `video.result` for request type T. */
export type ResultOf<T extends VideoRequestType> = T extends keyof ResultMap ? ResultMap[T] : z.infer<typeof Empty>;

export type VideoEventType = keyof typeof VideoEvents;
export type EventOf<T extends VideoEventType> = z.infer<(typeof VideoEvents)[T]>;
export type JoinData = ResultOf<'video.join'>;

/** Frames the WebSocket hub itself sends (gateway/ws). */
export interface HubFrames {
  'ready': { type: 'ready' };
  'pong': { type: 'pong' };
  'error': { type: 'error'; code: string; message: string };
  'session.ended': { type: 'session.ended'; reason: string };
}
export type AnyEventType = VideoEventType | keyof HubFrames;
export type AnyEventOf<T extends AnyEventType> = T extends VideoEventType ? EventOf<T> : T extends keyof HubFrames ? HubFrames[T] : never;
