/**
 * The video-visit signaling protocol: every WebSocket frame the gateway (gateway/visits) and the
 * visit pages (web-client) exchange about a mediasoup room, as zod schemas. Imports nothing but
 * zod (it ships to browsers).
 *
 * Requests carry a client-chosen `reqId`; each gets exactly one `video.result` with the same
 * `reqId` (ok with `data`, or an error with a code). Everything else the server sends is an event.
 * mediasoup's own objects (RTP capabilities/parameters, DTLS/ICE parameters) are bounded here in
 * shape and size; mediasoup validates their meaning and a refusal comes back as `invalid_rtp`.
 */
import { z } from 'zod';

export const ReqId = z.number().int().min(0).max(2 ** 31 - 1);
/** mediasoup ids (UUIDs) and our peer ids. */
export const MediaId = z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/);
export const MediaKind = z.enum(['audio', 'video']);
/** What a producer carries, so the page can place it (large remote video, self view). */
export const MediaSource = z.enum(['camera', 'microphone']);
export type MediaSource = z.infer<typeof MediaSource>;
export type MediaKind = z.infer<typeof MediaKind>;

const Param = z.union([z.string().max(256), z.number(), z.boolean()]);
const Params = z.record(z.string().max(64), Param).refine((o) => Object.keys(o).length <= 32, 'too many parameters');
const RtcpFeedback = z.looseObject({ type: z.string().max(32), parameter: z.string().max(32).optional() });

const CodecCapability = z.looseObject({
  kind: MediaKind,
  mimeType: z.string().max(64),
  preferredPayloadType: z.number().int().min(0).max(127).optional(),
  clockRate: z.number().int().positive(),
  channels: z.number().int().min(1).max(8).optional(),
  parameters: Params.optional(),
  rtcpFeedback: z.array(RtcpFeedback).max(16).optional(),
});
const HeaderExtensionCapability = z.looseObject({
  kind: MediaKind,
  uri: z.string().max(256),
  preferredId: z.number().int().min(1).max(255),
  preferredEncrypt: z.boolean().optional(),
  direction: z.string().max(16).optional(),
});
export const RtpCapabilities = z.looseObject({
  codecs: z.array(CodecCapability).max(64).optional(),
  headerExtensions: z.array(HeaderExtensionCapability).max(64).optional(),
});

const CodecParameters = z.looseObject({
  mimeType: z.string().max(64),
  payloadType: z.number().int().min(0).max(127),
  clockRate: z.number().int().positive(),
  channels: z.number().int().min(1).max(8).optional(),
  parameters: Params.optional(),
  rtcpFeedback: z.array(RtcpFeedback).max(16).optional(),
});
const Encoding = z.looseObject({
  ssrc: z.number().int().min(0).max(0xffffffff).optional(),
  rid: z.string().max(32).optional(),
  codecPayloadType: z.number().int().min(0).max(127).optional(),
  rtx: z.looseObject({ ssrc: z.number().int().min(0).max(0xffffffff) }).optional(),
  dtx: z.boolean().optional(),
  scalabilityMode: z.string().max(16).optional(),
  scaleResolutionDownBy: z.number().positive().max(64).optional(),
  maxBitrate: z.number().int().positive().optional(),
  active: z.boolean().optional(),
});
export const RtpParameters = z.looseObject({
  mid: z.string().max(32).optional(),
  codecs: z.array(CodecParameters).min(1).max(16),
  headerExtensions: z.array(z.looseObject({ uri: z.string().max(256), id: z.number().int().min(1).max(255), encrypt: z.boolean().optional(), parameters: Params.optional() })).max(32).optional(),
  encodings: z.array(Encoding).max(4).optional(),
  rtcp: z.looseObject({ cname: z.string().max(64).optional(), reducedSize: z.boolean().optional() }).optional(),
  msid: z.string().max(128).optional(),
});
export const DtlsParameters = z.looseObject({
  role: z.enum(['auto', 'client', 'server']).optional(),
  fingerprints: z.array(z.looseObject({ algorithm: z.string().max(16), value: z.string().max(256) })).min(1).max(8),
});

/** Where a participant stands: in the waiting room, or in the call. */
export const ParticipantState = z.enum(['lobby', 'admitted']);
export type ParticipantState = z.infer<typeof ParticipantState>;
/** host = a provider (admits others); patient; guest = an invited interpreter or family member. */
export const ParticipantRole = z.enum(['host', 'patient', 'guest']);
export type ParticipantRole = z.infer<typeof ParticipantRole>;

/** Why a room closed. `worker-died`: rejoin at once (you land on a live media worker). */
export const RoomCloseReason = z.enum(['worker-died', 'ended', 'empty', 'cancelled', 'shutdown']);
export type RoomCloseReason = z.infer<typeof RoomCloseReason>;
/** Why a participant left the room. */
export const LeaveReason = z.enum(['left', 'denied', 'removed', 'disconnected', 'session-ended', 'room-closed', 'replaced']);
export type LeaveReason = z.infer<typeof LeaveReason>;

export const IceServer = z.strictObject({
  urls: z.array(z.string()),
  username: z.string().optional(),
  credential: z.string().optional(),
});

export const Participant = z.strictObject({
  peerId: MediaId,
  role: ParticipantRole,
  state: ParticipantState,
  /** Display label: "Provider", "Patient", "Guest" (never a name: no PHI on the wire to other parties). */
  label: z.string(),
  joinedAt: z.iso.datetime(),
});
export type Participant = z.infer<typeof Participant>;

/** Client → server frame payloads (the hub adds `type`). */
export const VideoRequests = {
  /** Join the appointment's room. Patients (visit sessions) land in the lobby, hosts are admitted. */
  'video.join': z.strictObject({ reqId: ReqId, appointmentId: z.uuid() }),
  'video.transport.create': z.strictObject({ reqId: ReqId, direction: z.enum(['send', 'recv']) }),
  'video.transport.connect': z.strictObject({ reqId: ReqId, transportId: MediaId, dtlsParameters: DtlsParameters }),
  'video.transport.restart_ice': z.strictObject({ reqId: ReqId, transportId: MediaId }),
  'video.produce': z.strictObject({ reqId: ReqId, transportId: MediaId, kind: MediaKind, source: MediaSource, rtpParameters: RtpParameters }),
  /** Consumers start paused: resume once the page has attached the track. */
  'video.consume': z.strictObject({ reqId: ReqId, transportId: MediaId, producerId: MediaId, rtpCapabilities: RtpCapabilities }),
  'video.consumer.resume': z.strictObject({ reqId: ReqId, consumerId: MediaId }),
  'video.producer.pause': z.strictObject({ reqId: ReqId, producerId: MediaId }),
  'video.producer.resume': z.strictObject({ reqId: ReqId, producerId: MediaId }),
  'video.producer.close': z.strictObject({ reqId: ReqId, producerId: MediaId }),
  'video.leave': z.strictObject({ reqId: ReqId }),
  /** Hosts only: lobby decisions about another participant. */
  'video.lobby.admit': z.strictObject({ reqId: ReqId, peerId: MediaId }),
  'video.lobby.deny': z.strictObject({ reqId: ReqId, peerId: MediaId }),
  'video.lobby.return': z.strictObject({ reqId: ReqId, peerId: MediaId }),
  'video.remove': z.strictObject({ reqId: ReqId, peerId: MediaId }),
} as const;
export type VideoRequestType = keyof typeof VideoRequests;

/** `data` of a successful `video.result`, per request type. */
export const JoinResult = z.strictObject({
  roomId: MediaId,
  peerId: MediaId,
  role: ParticipantRole,
  state: ParticipantState,
  routerRtpCapabilities: RtpCapabilities,
  iceServers: z.array(IceServer),
  /** Everyone in the room (hosts see the lobby; others see only admitted participants and themselves). */
  participants: z.array(Participant),
  /** When the room closes (end of the appointment window). */
  closesAt: z.iso.datetime(),
});
export const TransportCreated = z.strictObject({
  transportId: MediaId,
  iceParameters: z.looseObject({}),
  iceCandidates: z.array(z.looseObject({})),
  dtlsParameters: DtlsParameters,
});
export const Produced = z.strictObject({ producerId: MediaId });
export const Consumed = z.strictObject({ consumerId: MediaId, producerId: MediaId, kind: MediaKind, rtpParameters: RtpParameters, source: MediaSource, peerId: MediaId });
export const IceRestarted = z.strictObject({ iceParameters: z.looseObject({}) });
export const Empty = z.strictObject({});

/** Error codes a `video.result` may carry. */
export const VideoErrorCode = {
  /** Not in a room yet (join first) or the room is gone. */
  notJoined: 'not_joined',
  /** Waiting in the lobby: no consuming until a host admits you. */
  notAdmitted: 'not_admitted',
  forbidden: 'forbidden',
  notFound: 'not_found',
  /** The room is at its capacity limit. */
  roomFull: 'room_full',
  /** Outside the appointment window (too early, ended, cancelled). */
  visitClosed: 'visit_closed',
  /** mediasoup refused the parameters (malformed RTP/DTLS, unsupported codec). */
  invalidRtp: 'invalid_rtp',
  /** Too many signaling requests; slow down. */
  rateLimited: 'rate_limited',
  /** No live media worker; retry shortly. */
  unavailable: 'media_unavailable',
  internal: 'internal_error',
} as const;
export type VideoErrorCode = (typeof VideoErrorCode)[keyof typeof VideoErrorCode];

export const VideoResult = z.union([
  z.strictObject({ type: z.literal('video.result'), reqId: ReqId, ok: z.literal(true), data: z.unknown() }),
  z.strictObject({ type: z.literal('video.result'), reqId: ReqId, ok: z.literal(false), error: z.strictObject({ code: z.string(), message: z.string() }) }),
]);

/** Server → client events. */
export const VideoEvents = {
  /** Your own state changed (admitted, or returned to the lobby). */
  'video.state': z.strictObject({ type: z.literal('video.state'), state: ParticipantState }),
  /** The room's participant list changed (hosts get the lobby too). */
  'video.participants': z.strictObject({ type: z.literal('video.participants'), participants: z.array(Participant) }),
  /** A producer you may now consume. */
  'video.producer.added': z.strictObject({ type: z.literal('video.producer.added'), producerId: MediaId, peerId: MediaId, kind: MediaKind, source: MediaSource }),
  'video.producer.closed': z.strictObject({ type: z.literal('video.producer.closed'), producerId: MediaId }),
  'video.consumer.closed': z.strictObject({ type: z.literal('video.consumer.closed'), consumerId: MediaId }),
  'video.consumer.paused': z.strictObject({ type: z.literal('video.consumer.paused'), consumerId: MediaId, paused: z.boolean() }),
  /** You are out of the room (denied, removed, session ended …). Do not rejoin unless told. */
  'video.left': z.strictObject({ type: z.literal('video.left'), reason: LeaveReason }),
  /** The room closed. `rejoin: true` (worker died): send `video.join` again now. */
  'video.room.closed': z.strictObject({ type: z.literal('video.room.closed'), reason: RoomCloseReason, rejoin: z.boolean() }),
} as const;
export type VideoEvent = { [K in keyof typeof VideoEvents]: z.infer<(typeof VideoEvents)[K]> }[keyof typeof VideoEvents];
