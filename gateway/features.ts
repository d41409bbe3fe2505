/**
 * Everything a gateway process serves, built from the process's shared pieces: identity and
 * access (sessions, sign-in, policy, patients, visits), the authenticated WebSocket hub, the
 * libsignal key directory and the messaging relay. The composition roots (bin/main.ts, the bench
 * targets) call this once; the hub is attached to the HTTP server once it listens.
 */
import { createIdentity, type Identity, type IdentityDeps } from './identity.ts';
import { createKeyDirectory } from './keys/key-directory.ts';
import { keyRoutes } from './keys/key-routes.ts';
import { createMessaging, type Messaging } from './messaging/index.ts';
import { contactRoutes } from './messaging/contact-routes.ts';
import type { MediaService } from '../media/index.ts';
import { reminderQueues } from '../core/campaigns/queue.ts';
import { createClinicStore } from '../core/clinics/store.ts';
import { clinicRoutes } from './clinics/clinic-routes.ts';
import { createCampaignStore } from '../core/campaigns/store.ts';
import { createTemplateStore } from '../core/reminders/templates.ts';
import { campaignRoutes } from './campaigns/campaign-routes.ts';
import { auditBrowseRoutes } from './audit/audit-browse-routes.ts';
import { deadLetterRoutes } from './campaigns/dead-letter-routes.ts';
import { createCampaignReport } from './campaigns/campaign-report.ts';
import { campaignReportRoutes } from './campaigns/campaign-report-routes.ts';
import { providerDirectoryRoutes } from './visits/provider-directory-routes.ts';
import { registerProgressFeed } from './campaigns/progress-feed.ts';
import { statusWebhookRoutes, TWILIO_STATUS_PATH } from './campaigns/status-webhook.ts';
import { lazyReminderText } from './reminders/reminder-text.ts';
import { templateRoutes } from './reminders/template-routes.ts';
import { createConsentLedger, unsubscribeKeys } from '../core/consent/index.ts';
import { consentRoutes } from './consent/consent-routes.ts';
import { twilioWebhookRoutes } from './consent/twilio-webhook.ts';
import { unsubscribeRoutes } from './consent/unsubscribe.ts';
import type { RouteModule } from './route-module.ts';
import { registerVideoSignaling } from './visits/video-signaling.ts';
import { webStaticRoutes } from './web/static-routes.ts';
import { createVideoRooms, type VideoRooms } from './visits/video-rooms.ts';
import { createWsHub, type WsHub } from './ws/ws-hub.ts';

/** The same shared pieces identity is built from, plus the media workers when this process hosts video. */
export type FeatureDeps = IdentityDeps & {
  /** A started media service: video visits are served only when given. */
  readonly media?: MediaService;
  /** The built browser pages (web-client/dist): served under /visit/, /provider/ and /assets/ when given. */
  readonly webDistDir?: string;
  /** BullMQ key prefix of the reminder queues (tests isolate themselves with their own). Default `{th}`. */
  readonly bullPrefix?: string;
};

export interface Features {
  readonly identity: Identity;
  readonly hub: WsHub;
  readonly messaging: Messaging;
  /** Present when the process hosts video (deps.media given). */
  readonly video: VideoRooms | undefined;
  readonly routes: readonly RouteModule[];
  /** Resolves once sessions and messaging are subscribed to their Redis channels. */
  ready(): Promise<void>;
  /** Idempotent: sockets first, then the subscriptions. */
  close(): Promise<void>;
}

export function createFeatures(deps: FeatureDeps): Features {
  const { config, db, redis, log, audit } = deps;
  const keyPrefix = deps.keyPrefix ?? 'th:';
  const identity = createIdentity({ ...deps, keyPrefix });
  const hub = createWsHub({
    authenticate: identity.authenticateUpgrade,
    sessions: identity.sessions,
    originAllowed: identity.originAllowed,
    log,
    touch: (session) => identity.sessions.touch(session.id),
  });
  const messaging = createMessaging({ config, db, redis, audit, log, access: identity.access, sessionMw: identity.sessionMw, hub, keyPrefix });
  // A device running low on one-time prekeys is told over its socket, on whichever gateway holds it.
  const directory = createKeyDirectory({
    db,
    audit,
    config,
    log,
    onLow: (userId, deviceId, counts) => messaging.notifyDevice(userId, deviceId, { type: 'keys.low', deviceId, ...counts }),
    // A removed device stops receiving at once, on whichever gateway holds its socket.
    onRemoved: (userId, deviceId) => messaging.notifyDevice(userId, deviceId, { type: 'device.removed', deviceId }),
  });
  let video: VideoRooms | undefined;
  let unsubscribeVideo: (() => void) | undefined;
  if (deps.media !== undefined) {
    const rooms = createVideoRooms({
      media: deps.media,
      appointments: identity.appointments,
      access: identity.access,
      audit,
      log,
      capacity: config.videoRoomCapacity,
      emptyGraceMs: config.videoEmptyGraceSeconds * 1000,
      leadMs: config.visitLinkLeadMinutes * 60_000,
    });
    registerVideoSignaling({ hub, rooms, turn: config, log, perSecond: config.videoSignalPerSecond });
    // Ending a session (logout, idle, revoke) takes its participant out of the room, with that reason.
    unsubscribeVideo = identity.sessions.onEnded((e) => rooms.endSession(e.sessionId));
    video = rooms;
  }
  // Reminders, producer side: templates, campaigns (enqueue only; workers/ sends), live progress.
  const text = lazyReminderText(config, deps.listenUrl);
  const templates = createTemplateStore({ db, audit, text });
  const campaigns = createCampaignStore({ db, audit });
  const queues = reminderQueues(redis, deps.bullPrefix ?? config.queuePrefix);
  registerProgressFeed({ hub, campaigns, access: identity.access, log });
  const ledger = createConsentLedger({ db, audit });
  const publicOrigin = (): string => new URL(config.publicUrl ?? deps.listenUrl()).origin;
  const consent: RouteModule[] = [
    consentRoutes({ ledger, sessionMw: identity.sessionMw, access: identity.access }),
    unsubscribeRoutes({ ledger, keys: unsubscribeKeys(deps.keyring), clinicName: config.clinicName }),
    // Inbound SMS (STOP/START/HELP) only when Twilio is configured: its auth token signs the webhook.
    ...(config.twilioAuthToken === undefined
      ? []
      : [
          twilioWebhookRoutes({ ledger, contacts: identity.contacts, audit, authToken: config.twilioAuthToken, webhookUrl: () => `${publicOrigin()}/webhooks/twilio/sms`, clinicName: config.clinicName }),
          statusWebhookRoutes({ db, audit, authToken: config.twilioAuthToken, url: () => `${publicOrigin()}${TWILIO_STATUS_PATH}` }),
        ]),
  ];
  const routes: RouteModule[] = [
    ...identity.routes,
    clinicRoutes({ clinics: createClinicStore({ db, audit }), sessionMw: identity.sessionMw, access: identity.access }),
    keyRoutes({ db, audit, config, redis, keyPrefix, sessionMw: identity.sessionMw, access: identity.access, log, directory }),
    ...messaging.routes,
    contactRoutes({ db, audit, patients: identity.patients, sessionMw: identity.sessionMw, access: identity.access }),
    ...consent,
    templateRoutes({ templates, text, sessionMw: identity.sessionMw, access: identity.access }),
    campaignRoutes({ campaigns, queues, sessionMw: identity.sessionMw, access: identity.access, templateExists: (id, version, channel) => templates.exists(id, version, channel) }),
    deadLetterRoutes({ db, audit, campaigns, queues, sessionMw: identity.sessionMw, access: identity.access }),
    auditBrowseRoutes({ db, audit, sessionMw: identity.sessionMw, access: identity.access }),
    campaignReportRoutes({ report: createCampaignReport(db), campaigns, sessionMw: identity.sessionMw, access: identity.access }),
    providerDirectoryRoutes({ providers: () => identity.users.listStaff({ role: 'provider', status: 'active' }), sessionMw: identity.sessionMw, access: identity.access }),
    ...(deps.webDistDir === undefined ? [] : [webStaticRoutes({ distDir: deps.webDistDir })]),
  ];

  let closing: Promise<void> | undefined;
  return {
    identity,
    hub,
    messaging,
    video,
    routes,
    async ready() {
      await identity.sessions.ready();
      await messaging.ready();
    },
    close() {
      closing ??= (async () => {
        unsubscribeVideo?.();
        await video?.close();
        await hub.close();
        await queues.close();
        await messaging.close();
        await identity.sessions.close();
      })();
      return closing;
    },
  };
}
