/**
 * Visit rooms: who is in an appointment's video visit, who is waiting, and for how long the room
 * lives. One room per appointment, opened by the first join inside the appointment window and
 * closed at its end, after a departure grace when everyone has left, or when the process stops.
 *
 * Patients land in the lobby; providers (hosts) admit, deny, return to the lobby or remove. The
 * media room (media/) enforces the lobby on every consume; this layer decides admission and keeps
 * it across a media failure: when a worker dies the room's media closes with `worker-died`, every
 * participant is told to rejoin, and whoever was admitted goes straight back in on a live worker.
 * Every join, leave, admission decision and room open/close is audited, with ids only.
 */
import { randomBytes } from 'node:crypto';
import { AuditAction, AuditOutcome, type AuditActor, type AuditLog } from '../../core/audit/index.ts';
import type { Appointment, AppointmentStore } from '../../core/appointments/store.ts';
import { ActorType } from '../../core/audit/index.ts';
import type { Logger } from '../../core/log/logger.ts';
import { actorTypeOf, type Principal } from '../../core/identity/principal.ts';
import {
  VideoErrorCode,
  type LeaveReason,
  type Participant,
  type ParticipantRole,
  type ParticipantState,
  type RoomCloseReason,
  type VideoEvent,
} from '../../core/protocol/video.ts';
import { MediaError, type MediaRoom, type MediaService } from '../../media/index.ts';
import type { AccessControl } from '../access/access-control.ts';
import { Action } from '../access/policy.ts';
import type { WsClient } from '../ws/ws-client.ts';
import { appointmentResource } from './appointment-routes.ts';

export interface VideoRoomsDeps {
  readonly media: MediaService;
  readonly appointments: Pick<AppointmentStore, 'get'>;
  readonly access: Pick<AccessControl, 'authorizePrincipal'>;
  readonly audit: AuditLog;
  readonly log: Logger;
  readonly capacity: number;
  readonly emptyGraceMs: number;
  /** How long before the start a room may open (the visit link's lead). */
  readonly leadMs: number;
  readonly now?: () => number;
}

export interface VisitParticipant {
  readonly peerId: string;
  readonly client: WsClient;
  readonly principal: Principal;
  readonly role: ParticipantRole;
  state: ParticipantState;
  readonly joinedAt: Date;
  readonly breakGlass: boolean;
}

export interface Joined {
  readonly participant: VisitParticipant;
  readonly media: MediaRoom;
  readonly participants: Participant[];
  readonly closesAt: Date;
}

interface Room {
  readonly appointment: Appointment;
  media: MediaRoom | undefined;
  opening: Promise<MediaRoom> | undefined;
  readonly participants: Map<string, VisitParticipant>;
  /** Users admitted during this visit: after a dropped connection or a media failure they go straight back in. */
  readonly admitted: Set<string>;
  /** Users denied or removed: refused if they try again during this visit. */
  readonly refused: Set<string>;
  endTimer: NodeJS.Timeout | undefined;
  emptyTimer: NodeJS.Timeout | undefined;
  /** Set once the visit room itself is closing (not just its media). */
  closing: boolean;
}

export interface VideoRooms {
  join(client: WsClient, appointmentId: string): Promise<Joined>;
  /** The caller's place in a room; not_joined when it has none (or its media is gone). */
  current(client: WsClient): { readonly participant: VisitParticipant; readonly media: MediaRoom; readonly appointment: Appointment };
  leave(client: WsClient, reason: LeaveReason): Promise<void>;
  admit(host: WsClient, peerId: string): Promise<void>;
  deny(host: WsClient, peerId: string): Promise<void>;
  returnToLobby(host: WsClient, peerId: string): Promise<void>;
  remove(host: WsClient, peerId: string): Promise<void>;
  /** A session ended (logout, idle, revoke): its participants leave with `session-ended`. */
  endSession(sessionId: string): void;
  /** Audit a refused signaling request of a participant (security-relevant refusals only). */
  refused(client: WsClient, request: string, code: string): Promise<void>;
  readonly size: number;
  /** Idempotent: closes every room with `shutdown`. */
  close(): Promise<void>;
}

const LABELS: Record<ParticipantRole, string> = { host: 'Provider', patient: 'Patient', guest: 'Guest' };

const actorOf = (p: Principal, breakGlass = false): AuditActor => ({
  actorType: actorTypeOf(p),
  actorId: p.userId,
  breakGlass,
});

function view(p: VisitParticipant): Participant {
  return { peerId: p.peerId, role: p.role, state: p.state, label: LABELS[p.role], joinedAt: p.joinedAt.toISOString() };
}

const closedVisit = (message: string): MediaError => new MediaError(409, VideoErrorCode.visitClosed, message);

export function createVideoRooms(deps: VideoRoomsDeps): VideoRooms {
  const { media, audit, log } = deps;
  const now = deps.now ?? Date.now;
  const rooms = new Map<string, Room>();
  const byClient = new Map<string, { readonly room: Room; readonly participant: VisitParticipant }>();
  let closed = false;

  const record = (room: Room, p: Principal | null, action: AuditAction, details: Record<string, string | number | boolean>, breakGlass = false): Promise<void> =>
    audit
      .append({
        ...(p === null ? { actorType: ActorType.system, actorId: 'gateway' } : actorOf(p, breakGlass)),
        action,
        resourceType: 'appointment',
        resourceId: room.appointment.id,
        patientId: room.appointment.patientId,
        outcome: AuditOutcome.success,
        details,
      })
      .then(() => undefined);

  const deliver = (room: Room, peerId: string, event: VideoEvent): void => {
    room.participants.get(peerId)?.client.send(event);
  };

  const broadcastParticipants = (room: Room): void => {
    const all = [...room.participants.values()];
    for (const p of all) {
      const visible = p.role === 'host' ? all : all.filter((o) => o === p || o.state === 'admitted');
      p.client.send({ type: 'video.participants', participants: visible.map(view) });
    }
  };

  const dropRoom = (room: Room): void => {
    clearTimeout(room.endTimer);
    clearTimeout(room.emptyTimer);
    if (rooms.get(room.appointment.id) === room) rooms.delete(room.appointment.id);
  };

  /** Everyone out, with the reason; `rejoin` when only the media failed (the visit goes on). */
  const evacuate = async (room: Room, reason: RoomCloseReason, rejoin: boolean): Promise<void> => {
    const everyone = [...room.participants.values()];
    room.participants.clear();
    for (const p of everyone) {
      byClient.delete(p.client.id);
      p.client.send({ type: 'video.room.closed', reason, rejoin });
    }
    await Promise.all(everyone.map((p) => record(room, p.principal, AuditAction.visitLeave, { reason: 'room-closed', room: reason }, p.breakGlass)));
    await record(room, null, AuditAction.visitRoomClose, { reason, participants: everyone.length });
  };

  const startEmptyGrace = (room: Room): void => {
    if (room.participants.size > 0 || room.closing) return;
    clearTimeout(room.emptyTimer);
    room.emptyTimer = setTimeout(() => {
      if (room.participants.size === 0) closeRoom(room, 'empty').catch((err: unknown) => log.error({ err }, 'closing an empty visit room failed'));
    }, deps.emptyGraceMs);
    room.emptyTimer.unref();
  };

  const closeRoom = async (room: Room, reason: RoomCloseReason): Promise<void> => {
    if (room.closing) return;
    room.closing = true;
    dropRoom(room);
    const m = room.media;
    room.media = undefined;
    m?.close(reason);
    await evacuate(room, reason, false);
  };

  const ensureMedia = (room: Room): Promise<MediaRoom> => {
    if (room.media !== undefined && !room.media.closed) return Promise.resolve(room.media);
    room.opening ??= media
      .openRoom(room.appointment.id, {
        send: (peerId, event) => deliver(room, peerId, event),
        closed: (reason) => {
          // closeRoom evacuates itself; this is the media failing under a live visit.
          if (room.closing) return;
          room.media = undefined;
          evacuate(room, reason, true)
            .then(() => startEmptyGrace(room))
            .catch((err: unknown) => log.error({ err, appointmentId: room.appointment.id }, 'visit room close not recorded'));
        },
      })
      .then(
        async (m) => {
          room.media = m;
          room.opening = undefined;
          await record(room, null, AuditAction.visitRoomOpen, { workerPid: m.workerPid });
          return m;
        },
        (err: unknown) => {
          room.opening = undefined;
          throw err;
        },
      );
    return room.opening;
  };

  const roomFor = (a: Appointment): Room => {
    const existing = rooms.get(a.id);
    if (existing !== undefined) return existing;
    const room: Room = {
      appointment: a,
      media: undefined,
      opening: undefined,
      participants: new Map(),
      admitted: new Set(),
      refused: new Set(),
      endTimer: undefined,
      emptyTimer: undefined,
      closing: false,
    };
    room.endTimer = setTimeout(() => {
      closeRoom(room, 'ended').catch((err: unknown) => log.error({ err, appointmentId: a.id }, 'closing a visit room at its end failed'));
    }, Math.max(0, a.endsAt.getTime() - now()));
    room.endTimer.unref();
    rooms.set(a.id, room);
    return room;
  };

  const leaveRoom = async (room: Room, p: VisitParticipant, reason: LeaveReason, by: Principal | null): Promise<void> => {
    if (room.participants.get(p.peerId) !== p) return;
    room.participants.delete(p.peerId);
    byClient.delete(p.client.id);
    room.media?.removePeer(p.peerId);
    if (reason !== 'disconnected') p.client.send({ type: 'video.left', reason });
    broadcastParticipants(room);
    const action = reason === 'denied' ? AuditAction.visitDeny : reason === 'removed' ? AuditAction.visitRemove : AuditAction.visitLeave;
    await record(room, by ?? p.principal, action, by === null ? { reason, role: p.role } : { reason, role: p.role, peer: p.peerId }, p.breakGlass);
    startEmptyGrace(room);
  };

  const place = (client: WsClient) => {
    const at = byClient.get(client.id);
    if (at === undefined) throw new MediaError(409, VideoErrorCode.notJoined, 'Join the visit first');
    return at;
  };

  const hostAndTarget = (host: WsClient, peerId: string) => {
    const { room, participant } = place(host);
    if (participant.role !== 'host') throw new MediaError(403, VideoErrorCode.forbidden, 'Only a provider can do this');
    const target = room.participants.get(peerId);
    if (target === undefined) throw new MediaError(404, VideoErrorCode.notFound, 'That participant is no longer in the visit');
    if (target.role === 'host') throw new MediaError(403, VideoErrorCode.forbidden, 'Providers cannot be moved');
    return { room, participant, target };
  };

  const setState = async (room: Room, host: VisitParticipant, target: VisitParticipant, state: ParticipantState): Promise<void> => {
    if (target.state === state) return;
    target.state = state;
    if (state === 'admitted') room.admitted.add(target.principal.userId);
    else room.admitted.delete(target.principal.userId);
    room.media?.setAdmitted(target.peerId, state === 'admitted');
    target.client.send({ type: 'video.state', state });
    broadcastParticipants(room);
    await record(room, host.principal, state === 'admitted' ? AuditAction.visitAdmit : AuditAction.visitReturnToLobby, { peer: target.peerId, role: target.role }, host.breakGlass);
  };

  return {
    async join(client, appointmentId) {
      if (closed) throw new MediaError(503, VideoErrorCode.unavailable, 'The server is shutting down; try again shortly');
      const previous = byClient.get(client.id);
      if (previous !== undefined) await leaveRoom(previous.room, previous.participant, 'replaced', null);
      const principal = client.session.principal;
      const a = await deps.appointments.get(appointmentId);
      if (a === null) throw new MediaError(404, VideoErrorCode.notFound, 'No such visit');
      const grant = await deps.access.authorizePrincipal(principal, actorOf(principal), Action.visitJoin, appointmentResource(a));
      if (a.status === 'cancelled') throw closedVisit('This visit was cancelled');
      if (a.status === 'completed' || a.endsAt.getTime() <= now()) throw closedVisit('This visit has ended');
      if (a.startsAt.getTime() - deps.leadMs > now()) throw closedVisit('This visit has not opened yet; try again closer to the appointment time');
      const room = roomFor(a);
      if (room.refused.has(principal.userId)) throw new MediaError(403, VideoErrorCode.forbidden, 'The provider has not let you into this visit');
      if (room.participants.size >= deps.capacity) throw new MediaError(409, VideoErrorCode.roomFull, 'This visit is full');
      const m = await ensureMedia(room);
      const role: ParticipantRole = principal.kind === 'staff' ? 'host' : principal.kind;
      const state: ParticipantState = role === 'host' || room.admitted.has(principal.userId) ? 'admitted' : 'lobby';
      const participant: VisitParticipant = { peerId: randomBytes(9).toString('base64url'), client, principal, role, state, joinedAt: new Date(now()), breakGlass: grant.breakGlassId !== null };
      m.addPeer(participant.peerId, state === 'admitted');
      room.participants.set(participant.peerId, participant);
      byClient.set(client.id, { room, participant });
      clearTimeout(room.emptyTimer);
      client.onClose(() => {
        leaveRoom(room, participant, 'disconnected', null).catch((err: unknown) => log.error({ err }, 'visit leave not recorded'));
      });
      await record(room, principal, AuditAction.visitJoin, { role, state, workerPid: m.workerPid }, participant.breakGlass);
      broadcastParticipants(room);
      const all = [...room.participants.values()];
      const visible = role === 'host' ? all : all.filter((o) => o === participant || o.state === 'admitted');
      return { participant, media: m, participants: visible.map(view), closesAt: a.endsAt };
    },

    current(client) {
      const { room, participant } = place(client);
      if (room.media === undefined || room.media.closed) throw new MediaError(409, VideoErrorCode.notJoined, 'The visit room restarted; join again');
      return { participant, media: room.media, appointment: room.appointment };
    },

    async leave(client, reason) {
      const at = byClient.get(client.id);
      if (at !== undefined) await leaveRoom(at.room, at.participant, reason, null);
    },

    async admit(host, peerId) {
      const { room, participant, target } = hostAndTarget(host, peerId);
      await setState(room, participant, target, 'admitted');
    },

    async returnToLobby(host, peerId) {
      const { room, participant, target } = hostAndTarget(host, peerId);
      await setState(room, participant, target, 'lobby');
    },

    async deny(host, peerId) {
      const { room, participant, target } = hostAndTarget(host, peerId);
      room.refused.add(target.principal.userId);
      room.admitted.delete(target.principal.userId);
      await leaveRoom(room, target, 'denied', participant.principal);
    },

    async remove(host, peerId) {
      const { room, participant, target } = hostAndTarget(host, peerId);
      room.refused.add(target.principal.userId);
      room.admitted.delete(target.principal.userId);
      await leaveRoom(room, target, 'removed', participant.principal);
    },

    endSession(sessionId) {
      for (const { room, participant } of [...byClient.values()]) {
        if (participant.client.session.id !== sessionId) continue;
        leaveRoom(room, participant, 'session-ended', null).catch((err: unknown) => log.error({ err }, 'visit leave not recorded'));
      }
    },

    async refused(client, request, code) {
      const at = byClient.get(client.id);
      const p = client.session.principal;
      await audit.append({
        ...actorOf(p, at?.participant.breakGlass ?? false),
        action: AuditAction.visitSignalRefused,
        resourceType: 'appointment',
        resourceId: at?.room.appointment.id ?? null,
        patientId: at?.room.appointment.patientId ?? null,
        outcome: AuditOutcome.denied,
        details: { request, code },
      });
    },

    get size() {
      return rooms.size;
    },

    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...rooms.values()].map((r) => closeRoom(r, 'shutdown')));
    },
  };
}
