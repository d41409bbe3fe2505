/**
 * Every route × every role: the expected allow/deny, exercised through the real app (real
 * session store on Redis, real database, the real policy). "Deny" means 403 `forbidden` plus an
 * `access.denied` audit record; "allow" means the request got past authorization (whatever the
 * handler then answered). Anonymous callers get 401 on every guarded route. A route missing
 * from this table fails the coverage test, so new routes must declare who may call them.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectRedis, type Redis } from '../../core/redis/connect.ts';
import { openTestDb, type TestDb } from '../../test/helpers/databases.ts';
import { ensurePatientPrincipal } from '../../core/identity/patient-principal.ts';
import { createLogger } from '../../core/log/logger.ts';
import { keyRoutes } from '../keys/key-routes.ts';
import { testDevice } from '../keys/test-keys.ts';
import { createMessaging, type Messaging } from '../messaging/index.ts';
import { contactRoutes } from '../messaging/contact-routes.ts';
import { identityHarness, type SeededStaff } from '../testing/identity-harness.ts';
import { createWsHub } from '../ws/ws-hub.ts';
import { reminderQueues, type ReminderQueues } from '../../core/campaigns/queue.ts';
import { createCampaignStore } from '../../core/campaigns/store.ts';
import { createReminderText } from '../../core/reminders/render.ts';
import { createTemplateStore } from '../../core/reminders/templates.ts';
import { campaignRoutes } from '../campaigns/campaign-routes.ts';
import { deadLetterRoutes } from '../campaigns/dead-letter-routes.ts';
import { createCampaignReport } from '../campaigns/campaign-report.ts';
import { campaignReportRoutes } from '../campaigns/campaign-report-routes.ts';
import { providerDirectoryRoutes } from '../visits/provider-directory-routes.ts';
import { templateRoutes } from '../reminders/template-routes.ts';
import { createConsentLedger } from '../../core/consent/index.ts';
import { consentRoutes } from '../consent/consent-routes.ts';
import { createClinicStore, type ClinicStore } from '../../core/clinics/store.ts';
import { clinicRoutes } from '../clinics/clinic-routes.ts';
import { auditBrowseRoutes } from '../audit/audit-browse-routes.ts';

const SUBJECTS = ['provider', 'scheduler', 'admin', 'auditor', 'privacy_officer', 'patient_visit', 'patient_messaging'] as const;
type Subject = (typeof SUBJECTS)[number];
type Expect = 'allow' | 'deny';

interface World {
  h: ReturnType<typeof identityHarness>;
  provider: SeededStaff;
  otherProvider: SeededStaff;
  /** On the provider's care team. */
  P: string;
  /** On nobody's care team. */
  Q: string;
  /** P's appointment with the provider. */
  AP: string;
  /** Q's appointment with the other provider. */
  AQ: string;
  /** P's and Q's patient principals (users.id): messaging recipients. */
  PU: string;
  QU: string;
  clinics: ClinicStore;
}

interface Req {
  readonly path: string;
  readonly body?: unknown;
  /** A non-JSON body (attachments). */
  readonly raw?: { readonly bytes: Uint8Array; readonly contentType: string };
}

interface Case {
  readonly route: string;
  readonly label?: string;
  readonly allowed: readonly Subject[] | 'public';
  /** Builds the concrete request; may seed fresh resources so destructive calls don't interfere. */
  readonly request: (w: World) => Req | Promise<Req>;
}

const hour = 3_600_000;
const window = () => `from=${encodeURIComponent(new Date(Date.now() - hour).toISOString())}&to=${encodeURIComponent(new Date(Date.now() + 24 * hour).toISOString())}`;
const STAFF = ['provider', 'scheduler', 'admin', 'auditor', 'privacy_officer'] as const;
const ALL = SUBJECTS;
const CONSENT = { channel: 'sms', purpose: 'appointment_reminders', state: 'granted', method: 'form', evidenceRef: 'form-1' };
const SMS_TEMPLATE = 'This is {{clinic_name}}. You have a visit {{time_word}}: {{portal_link}} {{opt_out}}';
const MESSAGING = ['provider', 'patient_messaging'] as const;
/** A well-formed send (the callers have no device 1: allowed callers then get 403 invalid_sender_device, not `forbidden`). */
const SEND = { senderDevice: 1, messages: [{ deviceId: 1, registrationId: 1, type: 2, content: 'AAAA' }] };
const path = (p: string, body?: unknown) => () => ({ path: p, ...(body === undefined ? {} : { body }) });
const freshStaff = async (w: World) => (await w.h.seedStaff('scheduler')).id;
const freshClinic = async (w: World) => (await w.clinics.create({ name: `Clinic ${randomUUID()}`, timeZone: 'America/Chicago' }, { actorType: 'system', actorId: 'test' })).id;
const freshAppointment = async (w: World, patient: 'P' | 'Q') => (patient === 'P' ? await w.h.seedAppointment(w.P, w.provider.id) : await w.h.seedAppointment(w.Q, w.otherProvider.id)).id;

const CASES: readonly Case[] = [
  { route: 'POST /auth/login', allowed: 'public', request: path('/auth/login', { username: 'nobody-here', password: 'wrong password' }) },
  { route: 'POST /auth/mfa', allowed: 'public', request: path('/auth/mfa', { challenge: 'x'.repeat(43), code: '123456' }) },
  { route: 'POST /auth/mfa/enroll', allowed: 'public', request: path('/auth/mfa/enroll', { challenge: 'x'.repeat(43) }) },
  { route: 'POST /auth/mfa/enroll/confirm', allowed: 'public', request: path('/auth/mfa/enroll/confirm', { challenge: 'x'.repeat(43), code: '123456' }) },
  { route: 'GET /auth/session', allowed: ALL, request: path('/auth/session') },
  { route: 'POST /auth/session/extend', allowed: ALL, request: path('/auth/session/extend') },
  { route: 'POST /auth/logout', allowed: ALL, request: path('/auth/logout') },
  { route: 'POST /auth/recovery-codes', allowed: STAFF, request: path('/auth/recovery-codes', { password: 'not the password', code: '000000' }) },

  { route: 'POST /admin/users', allowed: ['admin'], request: () => ({ path: '/admin/users', body: { username: `u-${randomUUID().slice(0, 8)}`, displayName: 'New Person', role: 'scheduler', password: 'a much longer passphrase for tests 9' } }) },
  { route: 'GET /admin/users', allowed: ['admin'], request: path('/admin/users') },
  { route: 'PATCH /admin/users/{id}', allowed: ['admin'], request: async (w) => ({ path: `/admin/users/${await freshStaff(w)}`, body: { displayName: 'Renamed' } }) },
  { route: 'POST /admin/users/{id}/mfa-reset', allowed: ['admin'], request: async (w) => ({ path: `/admin/users/${await freshStaff(w)}/mfa-reset` }) },
  { route: 'POST /admin/users/{id}/unlock', allowed: ['admin'], request: async (w) => ({ path: `/admin/users/${await freshStaff(w)}/unlock` }) },
  { route: 'GET /admin/users/{id}/sessions', allowed: ['admin'], request: (w) => ({ path: `/admin/users/${w.provider.id}/sessions` }) },
  { route: 'DELETE /admin/sessions/{id}', allowed: ['admin'], request: async (w) => ({ path: `/admin/sessions/${(await w.h.staffSession(w.otherProvider)).session.id}` }) },
  { route: 'PUT /admin/care-team/{providerId}/patients/{patientId}', allowed: ['admin'], request: (w) => ({ path: `/admin/care-team/${w.otherProvider.id}/patients/${w.Q}` }) },
  { route: 'DELETE /admin/care-team/{providerId}/patients/{patientId}', allowed: ['admin'], request: async (w) => ({ path: `/admin/care-team/${w.otherProvider.id}/patients/${await w.h.seedPatient()}` }) },
  { route: 'GET /admin/care-team/{providerId}/patients', allowed: ['admin'], request: (w) => ({ path: `/admin/care-team/${w.provider.id}/patients` }) },
  { route: 'GET /admin/lockouts', allowed: ['admin'], request: path('/admin/lockouts') },

  { route: 'POST /clinics', allowed: ['admin'], request: () => ({ path: '/clinics', body: { name: `Clinic ${randomUUID()}`, timeZone: 'America/Chicago' } }) },
  { route: 'GET /clinics', allowed: STAFF, request: path('/clinics') },
  { route: 'POST /clinics/{id}/archive', allowed: ['admin'], request: async (w) => ({ path: `/clinics/${await freshClinic(w)}/archive` }) },

  { route: 'POST /patients', allowed: ['provider', 'scheduler'], request: path('/patients', { givenName: 'Grace', familyName: 'Hopper', timeZone: 'UTC' }) },
  { route: 'GET /patients', allowed: ['provider', 'scheduler'], request: path('/patients') },
  { route: 'GET /patients/{id}', label: 'own care team', allowed: ['provider', 'scheduler'], request: (w) => ({ path: `/patients/${w.P}` }) },
  { route: 'GET /patients/{id}', label: 'not on care team', allowed: ['scheduler'], request: (w) => ({ path: `/patients/${w.Q}` }) },
  { route: 'PATCH /patients/{id}', label: 'own care team', allowed: ['provider', 'scheduler'], request: (w) => ({ path: `/patients/${w.P}`, body: { timeZone: 'Europe/Paris' } }) },
  { route: 'PATCH /patients/{id}', label: 'not on care team', allowed: ['scheduler'], request: (w) => ({ path: `/patients/${w.Q}`, body: { timeZone: 'Europe/Paris' } }) },
  { route: 'POST /patients/{id}/enrollment-codes', label: 'own care team', allowed: ['provider', 'scheduler'], request: (w) => ({ path: `/patients/${w.P}/enrollment-codes` }) },
  { route: 'POST /patients/{id}/enrollment-codes', label: 'not on care team', allowed: ['scheduler'], request: (w) => ({ path: `/patients/${w.Q}/enrollment-codes` }) },
  { route: 'POST /enroll', allowed: 'public', request: path('/enroll', { code: 'AAAA-BBBB-CCCC-DDDD' }) },

  {
    route: 'POST /appointments',
    label: 'own care team',
    allowed: ['provider', 'scheduler'],
    request: (w) => ({ path: '/appointments', body: { patientId: w.P, providerId: w.provider.id, startsAt: new Date(Date.now() + hour).toISOString(), endsAt: new Date(Date.now() + 2 * hour).toISOString() } }),
  },
  {
    route: 'POST /appointments',
    label: 'not on care team',
    allowed: ['scheduler'],
    request: (w) => ({ path: '/appointments', body: { patientId: w.Q, providerId: w.provider.id, startsAt: new Date(Date.now() + hour).toISOString(), endsAt: new Date(Date.now() + 2 * hour).toISOString() } }),
  },
  { route: 'GET /appointments', allowed: ['provider', 'scheduler'], request: (w) => ({ path: `/appointments?providerId=${w.provider.id}&${window()}` }) },
  { route: 'GET /appointments/{id}', label: 'own', allowed: ['provider', 'scheduler', 'patient_visit'], request: (w) => ({ path: `/appointments/${w.AP}` }) },
  { route: 'GET /appointments/{id}', label: 'someone else’s', allowed: ['scheduler'], request: (w) => ({ path: `/appointments/${w.AQ}` }) },
  {
    route: 'POST /appointments/{id}/reschedule',
    label: 'own',
    allowed: ['provider', 'scheduler'],
    request: async (w) => ({ path: `/appointments/${await freshAppointment(w, 'P')}/reschedule`, body: { startsAt: new Date(Date.now() + 86_400_000).toISOString(), endsAt: new Date(Date.now() + 88_200_000).toISOString() } }),
  },
  {
    route: 'POST /appointments/{id}/reschedule',
    label: 'someone else’s',
    allowed: ['scheduler'],
    request: async (w) => ({ path: `/appointments/${await freshAppointment(w, 'Q')}/reschedule`, body: { startsAt: new Date(Date.now() + 86_400_000).toISOString(), endsAt: new Date(Date.now() + 88_200_000).toISOString() } }),
  },
  { route: 'POST /appointments/{id}/cancel', label: 'own', allowed: ['provider', 'scheduler'], request: async (w) => ({ path: `/appointments/${await freshAppointment(w, 'P')}/cancel` }) },
  { route: 'POST /appointments/{id}/cancel', label: 'someone else’s', allowed: ['scheduler'], request: async (w) => ({ path: `/appointments/${await freshAppointment(w, 'Q')}/cancel` }) },
  { route: 'POST /appointments/{id}/visit-links', label: 'own', allowed: ['provider', 'scheduler'], request: (w) => ({ path: `/appointments/${w.AP}/visit-links` }) },
  { route: 'POST /appointments/{id}/visit-links', label: 'someone else’s', allowed: ['scheduler'], request: (w) => ({ path: `/appointments/${w.AQ}/visit-links` }) },
  {
    route: 'DELETE /visit-links/{id}',
    allowed: ['provider', 'scheduler'],
    request: async (w) => ({ path: `/visit-links/${(await w.h.identity.visitLinks.create(w.AP, { actorType: 'user', actorId: w.provider.id })).id}` }),
  },
  { route: 'POST /visit-links/redeem', allowed: 'public', request: path('/visit-links/redeem', { token: 'A'.repeat(43) }) },

  { route: 'POST /break-glass', allowed: ['provider'], request: (w) => ({ path: '/break-glass', body: { patientId: w.Q, reason: 'Unconscious in the emergency department', password: 'not the password', code: '000000' } }) },
  { route: 'GET /break-glass/reviews', allowed: ['privacy_officer'], request: path('/break-glass/reviews') },
  { route: 'POST /break-glass/{id}/review', allowed: ['privacy_officer'], request: () => ({ path: `/break-glass/${randomUUID()}/review`, body: { outcome: 'justified' } }) },

  { route: 'GET /audit/events', allowed: ['auditor', 'privacy_officer'], request: () => ({ path: `/audit/events?${window()}` }) },
  { route: 'GET /audit/verify', allowed: ['auditor', 'privacy_officer'], request: path('/audit/verify') },
  { route: 'GET /audit/search', allowed: ['auditor', 'privacy_officer'], request: () => ({ path: `/audit/search?${window()}` }) },
  { route: 'GET /audit/activity', allowed: ['auditor', 'privacy_officer'], request: () => ({ path: `/audit/activity?${window()}` }) },
  { route: 'GET /audit/actions', allowed: ['auditor', 'privacy_officer'], request: path('/audit/actions') },
  { route: 'GET /audit/checkpoints/latest', allowed: ['auditor', 'privacy_officer'], request: path('/audit/checkpoints/latest') },
  { route: 'GET /audit/break-glass-usage', allowed: ['privacy_officer'], request: () => ({ path: `/audit/break-glass-usage?ids=${randomUUID()}` }) },

  { route: 'POST /v1/devices', allowed: MESSAGING, request: () => ({ path: '/v1/devices', body: testDevice().registration() }) },
  { route: 'GET /v1/devices', allowed: MESSAGING, request: path('/v1/devices') },
  { route: 'DELETE /v1/devices/{deviceId}', allowed: MESSAGING, request: path('/v1/devices/99') },
  { route: 'PUT /v1/devices/{deviceId}/keys', allowed: MESSAGING, request: () => ({ path: '/v1/devices/99/keys', body: { identityKey: testDevice().identityKey } }) },
  { route: 'GET /v1/devices/{deviceId}/keys/count', allowed: MESSAGING, request: path('/v1/devices/99/keys/count') },
  { route: 'GET /v1/keys/{userId}/{deviceId}', label: 'a provider off the patient’s care team', allowed: ['provider'], request: (w) => ({ path: `/v1/keys/${w.otherProvider.id}/*` }) },
  { route: 'GET /v1/keys/{userId}/{deviceId}', label: 'the patient’s provider', allowed: MESSAGING, request: (w) => ({ path: `/v1/keys/${w.provider.id}/*` }) },
  { route: 'GET /v1/keys/{userId}/{deviceId}', label: 'a patient on the care team', allowed: MESSAGING, request: (w) => ({ path: `/v1/keys/${w.PU}/1` }) },
  { route: 'GET /v1/keys/{userId}/{deviceId}', label: 'a patient off the care team', allowed: [], request: (w) => ({ path: `/v1/keys/${w.QU}/*` }) },
  { route: 'GET /admin/users/{userId}/devices', allowed: ['admin'], request: (w) => ({ path: `/admin/users/${w.provider.id}/devices` }) },
  { route: 'DELETE /admin/users/{userId}/devices/{deviceId}', allowed: ['admin'], request: (w) => ({ path: `/admin/users/${w.otherProvider.id}/devices/99` }) },

  { route: 'PUT /v1/messages/{recipientUserId}', label: 'the patient’s provider', allowed: MESSAGING, request: (w) => ({ path: `/v1/messages/${w.provider.id}`, body: SEND }) },
  { route: 'PUT /v1/messages/{recipientUserId}', label: 'a provider off the patient’s care team', allowed: ['provider'], request: (w) => ({ path: `/v1/messages/${w.otherProvider.id}`, body: SEND }) },
  { route: 'PUT /v1/messages/{recipientUserId}', label: 'a patient on the care team', allowed: MESSAGING, request: (w) => ({ path: `/v1/messages/${w.PU}`, body: SEND }) },
  { route: 'PUT /v1/messages/{recipientUserId}', label: 'a patient off the care team', allowed: [], request: (w) => ({ path: `/v1/messages/${w.QU}`, body: SEND }) },
  { route: 'GET /v1/messages', allowed: MESSAGING, request: path('/v1/messages?deviceId=99') },
  { route: 'DELETE /v1/messages/{id}', allowed: MESSAGING, request: () => ({ path: `/v1/messages/${randomUUID()}?deviceId=99` }) },
  { route: 'GET /patients/{id}/consent', label: 'on the provider’s care team', allowed: ['provider', 'scheduler', 'privacy_officer'], request: (w) => ({ path: `/patients/${w.P}/consent` }) },
  { route: 'GET /patients/{id}/consent', label: 'off the provider’s care team', allowed: ['scheduler', 'privacy_officer'], request: (w) => ({ path: `/patients/${w.Q}/consent` }) },
  { route: 'POST /patients/{id}/consent', label: 'on the provider’s care team', allowed: ['provider', 'scheduler'], request: (w) => ({ path: `/patients/${w.P}/consent`, body: CONSENT }) },
  { route: 'POST /patients/{id}/consent', label: 'off the provider’s care team', allowed: ['scheduler'], request: (w) => ({ path: `/patients/${w.Q}/consent`, body: CONSENT }) },
  { route: 'POST /templates', allowed: ['scheduler', 'admin'], request: () => ({ path: '/templates', body: { name: `t-${randomUUID().slice(0, 8)}`, channel: 'sms', body: SMS_TEMPLATE } }) },
  { route: 'GET /templates', allowed: ['scheduler', 'admin'], request: path('/templates') },
  { route: 'GET /templates/{id}', allowed: ['scheduler', 'admin'], request: () => ({ path: `/templates/${randomUUID()}` }) },
  { route: 'POST /templates/preview', allowed: ['scheduler', 'admin'], request: path('/templates/preview', { channel: 'sms', body: SMS_TEMPLATE }) },
  {
    route: 'POST /campaigns',
    allowed: ['scheduler'],
    request: () => ({ path: '/campaigns', body: { channel: 'sms', templateId: randomUUID(), templateVersion: 1, selector: { kind: 'appointments', appointmentIds: [randomUUID()] } } }),
  },
  { route: 'GET /campaigns/{id}', allowed: ['scheduler'], request: () => ({ path: `/campaigns/${randomUUID()}` }) },
  { route: 'POST /campaigns/{id}/pause', allowed: ['scheduler'], request: () => ({ path: `/campaigns/${randomUUID()}/pause` }) },
  { route: 'POST /campaigns/{id}/resume', allowed: ['scheduler'], request: () => ({ path: `/campaigns/${randomUUID()}/resume` }) },
  { route: 'POST /campaigns/{id}/cancel', allowed: ['scheduler'], request: () => ({ path: `/campaigns/${randomUUID()}/cancel` }) },
  { route: 'GET /campaigns/{id}/dead-letters', allowed: ['scheduler'], request: () => ({ path: `/campaigns/${randomUUID()}/dead-letters` }) },
  { route: 'POST /campaigns/{id}/replay', allowed: ['scheduler'], request: () => ({ path: `/campaigns/${randomUUID()}/replay`, body: {} }) },
  { route: 'GET /campaigns', allowed: ['scheduler'], request: path('/campaigns') },
  { route: 'GET /campaigns/{id}/deliveries', allowed: ['scheduler'], request: () => ({ path: `/campaigns/${randomUUID()}/deliveries` }) },
  { route: 'GET /providers', allowed: ['provider', 'scheduler'], request: path('/providers') },
  { route: 'POST /v1/attachments', allowed: MESSAGING, request: () => ({ path: '/v1/attachments', raw: { bytes: new Uint8Array(64), contentType: 'application/octet-stream' } }) },
  { route: 'GET /v1/attachments/{id}', allowed: MESSAGING, request: () => ({ path: `/v1/attachments/${randomUUID()}` }) },
  { route: 'GET /v1/contacts', allowed: MESSAGING, request: path('/v1/contacts') },
];

/** Routes every caller may reach without a session and that carry no identity data. */
const OPERATIONAL = new Set(['GET /healthz', 'GET /readyz', 'GET /metrics', 'GET /openapi.json', 'GET /docs', 'GET /docs/style.css']);

describe('route × role matrix', () => {
  let t: TestDb;
  let redis: Redis;
  let w: World;
  let messaging: Messaging | undefined;
  let queues: ReminderQueues | undefined;
  let clinics: ClinicStore | undefined;
  const tokens = new Map<Subject, () => Promise<string>>();

  beforeAll(async () => {
    t = await openTestDb('pglite');
    redis = await connectRedis(inject('redisUrl'));
    const h = identityHarness({
      db: t.db,
      redis,
      routes: (identity, { audit, config }) => {
        const log = createLogger({ level: 'silent' });
        const hub = createWsHub({ authenticate: identity.authenticateUpgrade, sessions: identity.sessions, originAllowed: identity.originAllowed, log });
        messaging = createMessaging({ config, db: t.db, redis, audit, log, access: identity.access, sessionMw: identity.sessionMw, hub, keyPrefix: `matrix-${randomUUID()}:` });
        const text = createReminderText({ clinicName: 'Riverside Health', portalUrl: 'http://127.0.0.1:8080' });
        const templates = createTemplateStore({ db: t.db, audit, text });
        queues = reminderQueues(redis, `{matrix-${randomUUID()}}`);
        const reminders = [
          templateRoutes({ templates, text, sessionMw: identity.sessionMw, access: identity.access }),
          campaignRoutes({ campaigns: createCampaignStore({ db: t.db, audit }), queues, sessionMw: identity.sessionMw, access: identity.access, templateExists: (id, v, ch) => templates.exists(id, v, ch) }),
          deadLetterRoutes({ db: t.db, audit, campaigns: createCampaignStore({ db: t.db, audit }), queues, sessionMw: identity.sessionMw, access: identity.access }),
          campaignReportRoutes({ report: createCampaignReport(t.db), campaigns: createCampaignStore({ db: t.db, audit }), sessionMw: identity.sessionMw, access: identity.access }),
          providerDirectoryRoutes({ providers: () => identity.users.listStaff({ role: 'provider', status: 'active' }), sessionMw: identity.sessionMw, access: identity.access }),
        ];
        reminders.push(consentRoutes({ ledger: createConsentLedger({ db: t.db, audit }), sessionMw: identity.sessionMw, access: identity.access }));
        clinics = createClinicStore({ db: t.db, audit });
        reminders.push(clinicRoutes({ clinics, sessionMw: identity.sessionMw, access: identity.access }));
        reminders.push(auditBrowseRoutes({ db: t.db, audit, sessionMw: identity.sessionMw, access: identity.access }));
        return [...reminders, keyRoutes({ db: t.db, audit, config, redis, keyPrefix: `matrix-${randomUUID()}:`, sessionMw: identity.sessionMw, access: identity.access, log }), ...messaging.routes, contactRoutes({ db: t.db, audit, patients: identity.patients, sessionMw: identity.sessionMw, access: identity.access })];
      },
    });
    const provider = await h.seedStaff('provider');
    const otherProvider = await h.seedStaff('provider');
    const P = await h.seedPatient();
    const Q = await h.seedPatient({ givenName: 'Quinn' });
    await h.addToCareTeam(provider.id, P);
    await h.addToCareTeam(otherProvider.id, Q);
    const AP = (await h.seedAppointment(P, provider.id)).id;
    const AQ = (await h.seedAppointment(Q, otherProvider.id)).id;
    const PU = (await ensurePatientPrincipal(t.db, P)).id;
    const QU = (await ensurePatientPrincipal(t.db, Q)).id;
    if (clinics === undefined) throw new Error('the clinic routes were not built');
    w = { h, provider, otherProvider, P, Q, AP, AQ, PU, QU, clinics };
    const staff = { provider, scheduler: await h.seedStaff('scheduler'), admin: await h.seedStaff('admin'), auditor: await h.seedStaff('auditor'), privacy_officer: await h.seedStaff('privacy_officer') };
    for (const role of STAFF) tokens.set(role, async () => (await h.staffSession(staff[role])).token);
    tokens.set('patient_visit', async () => (await h.patientSession(P, 'visit', AP)).token);
    tokens.set('patient_messaging', async () => (await h.patientSession(P, 'messaging')).token);
  });

  afterAll(async () => {
    await messaging?.close();
    await queues?.close();
    await w.h.close();
    redis.disconnect();
    await t.dispose();
  });

  it('covers every route the gateway serves', () => {
    const doc = w.h.app.getOpenAPI31Document({ openapi: '3.1.0', info: { title: 't', version: '1' } });
    const served = new Set<string>();
    for (const [p, item] of Object.entries(doc.paths ?? {})) {
      for (const m of ['get', 'post', 'put', 'patch', 'delete'] as const) if (item[m] !== undefined) served.add(`${m.toUpperCase()} ${p}`);
    }
    const tabled = new Set(CASES.map((c) => c.route));
    const missing = [...served].filter((r) => !tabled.has(r) && !OPERATIONAL.has(r));
    const stale = [...tabled].filter((r) => !served.has(r));
    expect({ missing, stale }).toEqual({ missing: [], stale: [] });
  });

  describe.each(CASES.map((c) => [`${c.route}${c.label === undefined ? '' : ` (${c.label})`}`, c] as const))('%s', (_name, c) => {
    const method = c.route.split(' ')[0] ?? 'GET';

    it.each(SUBJECTS)('%s', async (subject) => {
      const { path: p, body, raw } = await c.request(w);
      const before = (await w.h.auditRows('access.denied')).length;
      const token = await (tokens.get(subject) ?? (() => Promise.reject(new Error('no token'))))();
      const res = raw === undefined ? await w.h.call(method, p, token, body) : await w.h.app.request(p, { method, headers: { authorization: `Bearer ${token}`, 'content-type': raw.contentType }, body: raw.bytes });
      const json = res.status === 204 ? null : ((await res.json()) as { error?: { code?: string } });
      const denied = res.status === 403 && json?.error?.code === 'forbidden';
      const expected: Expect = c.allowed === 'public' || c.allowed.includes(subject) ? 'allow' : 'deny';
      expect({ subject, outcome: denied ? 'deny' : 'allow', status: res.status }).toMatchObject({ subject, outcome: expected });
      expect(res.status).not.toBe(500);
      // Past authorization, a handler may still refuse for its own reason (a wrong password on
      // re-authentication, a sender device that is not the caller's) — never for want of a session.
      if (expected === 'allow' && c.allowed !== 'public') expect(res.status === 401 && json?.error?.code !== 'invalid_credentials').toBe(false);
      const after = (await w.h.auditRows('access.denied')).length;
      if (expected === 'deny') expect(after).toBe(before + 1);
    });

    if (c.allowed !== 'public') {
      it('anonymous → 401', async () => {
        const { path: p, body, raw } = await c.request(w);
        const res = raw === undefined ? await w.h.call(method, p, undefined, body) : await w.h.app.request(p, { method, headers: { 'content-type': raw.contentType }, body: raw.bytes });
        expect(res.status).toBe(401);
      });
    }
  });
});
