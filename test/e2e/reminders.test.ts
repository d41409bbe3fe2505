/**
 * A reminder campaign end to end: a scheduler records consent, saves a template and creates a
 * campaign over the real gateway API; a patient texts STOP (signed Twilio webhook) after the
 * campaign is queued; a reminder worker (BullMQ on the test Redis) sends through the real twilio
 * library to a local Twilio Messages API. Exactly the consenting patient gets exactly one text,
 * everyone else is skipped with an audited reason, and a wrongly signed webhook is refused.
 */
import { randomUUID } from 'node:crypto';
import twilio from 'twilio';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createAuditLog } from '../../core/audit/index.ts';
import { createMasterKeyring, generateMasterKey } from '../../core/crypto/index.ts';
import { createLogger } from '../../core/log/logger.ts';
import { connectRedis } from '../../core/redis/connect.ts';
import { hashPassword } from '../../gateway/auth/password.ts';
import { testConfig } from '../../gateway/testing/harness.ts';
import { STAFF_PASSWORD } from '../../gateway/testing/identity-harness.ts';
import { createReminderRuntime } from '../../workers/reminders/runtime.ts';
import { openTestDb } from '../helpers/databases.ts';
import { FakeTwilio } from '../helpers/fake-twilio.ts';
import { startSmtpServer } from '../helpers/smtp.ts';
import { startTestGateway } from '../helpers/messaging.ts';
import { api, VideoSocket } from '../helpers/video.ts';

const cleanups: (() => Promise<unknown> | void)[] = [];
const STAFF_HASH = await hashPassword(STAFF_PASSWORD);
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A gateway on PGlite and the test Redis with `env`, a scheduler (with a bearer session) and a provider. */
async function world(env: Record<string, string>) {
  const t = await openTestDb('pglite');
  cleanups.push(() => t.dispose());
  const redis = await connectRedis(inject('redisUrl'));
  cleanups.push(() => redis.quit());
  const prefix = `{rem-${randomUUID().slice(0, 8)}}`;
  // The test runs at any hour: the whole day is the sending window here (quiet hours have their own tests).
  const config = testConfig({ CLINIC_NAME: 'Riverside Health', QUIET_HOURS_START: '0', QUIET_HOURS_END: '24', ...env });
  const keyring = createMasterKeyring(generateMasterKey());
  const gateway = await startTestGateway({ db: t.db, redis, config, keyPrefix: `test-${randomUUID()}:`, keyring, bullPrefix: prefix });
  cleanups.push(() => gateway.close());
  const { identity } = gateway.features;
  const staff = (role: 'scheduler' | 'provider') =>
    identity.users.createStaff({ username: `${role.slice(0, 5)}-${randomUUID().slice(0, 8)}`, displayName: role, role, passwordHash: STAFF_HASH, createdBy: null });
  const scheduler = await staff('scheduler');
  const provider = await staff('provider');
  const token = (await identity.sessions.create({ kind: 'staff', userId: scheduler.id, role: 'scheduler', patientId: null, scope: null, appointmentId: null })).token;
  const ctx = { actorType: 'user', actorId: scheduler.id } as const;
  return { t, redis, prefix, config, keyring, gateway, identity, provider, token, ctx };
}

describe('reminder campaign end to end (gateway API, BullMQ worker, twilio library → local Twilio API)', () => {
  it('texts exactly the consenting patient once; a STOP after queueing and missing consent are skipped and audited; a forged webhook is refused', async () => {
    const fake = await FakeTwilio.start();
    cleanups.push(() => fake.close());
    const { t, redis, prefix, config, keyring, gateway, identity, provider, token, ctx } = await world({
      TWILIO_ACCOUNT_SID: fake.accountSid,
      TWILIO_AUTH_TOKEN: fake.authToken,
      TWILIO_FROM: '+15555550100',
      TWILIO_API_URL: fake.url,
      REMINDER_SMS_PER_SECOND: '50',
    });

    const phones = { yes: '+15555550111', stops: '+15555550122', revoked: '+15555550133', never: '+15555550144' };
    const ids: Record<keyof typeof phones, string> = { yes: '', stops: '', revoked: '', never: '' };
    const appointmentIds: string[] = [];
    for (const key of Object.keys(phones) as (keyof typeof phones)[]) {
      const { id } = await identity.patients.create({ givenName: 'Ada', familyName: `Lovelace-${key}`, phone: phones[key], timeZone: 'America/Chicago' }, ctx);
      ids[key] = id;
      const start = Date.now() + 26 * 3_600_000;
      const a = await identity.appointments.create({ patientId: id, providerId: provider.id, startsAt: new Date(start), endsAt: new Date(start + 1_800_000) }, ctx);
      appointmentIds.push(a.id);
      if (key !== 'never') {
        const granted = await api(gateway.url, `/patients/${id}/consent`, { token, body: { channel: 'sms', purpose: 'appointment_reminders', state: 'granted', method: 'form', evidenceRef: `form-${key}` } });
        expect(granted.status).toBe(201);
      }
      if (key === 'revoked') {
        expect((await api(gateway.url, `/patients/${id}/consent`, { token, body: { channel: 'sms', purpose: 'appointment_reminders', state: 'revoked', method: 'verbal' } })).status).toBe(201);
      }
    }

    const saved = await api(gateway.url, '/templates', { token, body: { name: `tomorrow-${randomUUID().slice(0, 6)}`, channel: 'sms', body: 'This is {{clinic_name}}. You have a visit {{time_word}}: {{portal_link}} {{opt_out}}' } });
    expect(saved.status).toBe(201);
    const created = await api(gateway.url, '/campaigns', {
      token,
      body: { channel: 'sms', templateId: saved.body['id'], templateVersion: saved.body['version'], selector: { kind: 'appointments', appointmentIds } },
    });
    expect(created.status).toBe(201);
    const campaignId = String(created.body['id']);

    // After queueing, one patient texts STOP; a forged copy of the same webhook is refused first.
    const webhook = `${gateway.url}/webhooks/twilio/sms`;
    const params = { MessageSid: `SM${randomUUID().replaceAll('-', '')}`, AccountSid: fake.accountSid, From: phones.stops, To: '+15555550100', Body: 'Stop. Thanks', NumMedia: '0' };
    const post = (signature: string) =>
      fetch(webhook, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature }, body: new URLSearchParams(params).toString() });
    expect((await post(twilio.getExpectedTwilioSignature('not-the-auth-token-at-all', webhook, params))).status).toBe(403);
    expect((await post(twilio.getExpectedTwilioSignature(fake.authToken, webhook, params))).status).toBe(200);

    // A scheduler's console watches live progress over the WebSocket.
    const watcher = await VideoSocket.open(gateway.url, token);
    cleanups.push(() => watcher.close());
    watcher.ws.send(JSON.stringify({ type: 'campaign.watch', campaignId }));
    await watcher.until('the first progress frame', (f) => f.type === 'campaign.progress' && f['campaignId'] === campaignId);

    const worker = createReminderRuntime({ config, db: t.db, redis, audit: createAuditLog(t.db), keyring, log: createLogger({ level: 'silent' }), publicOrigin: new URL(gateway.url).origin, prefix });
    cleanups.push(() => worker.close());
    await expect
      .poll(async () => (await api(gateway.url, `/campaigns/${campaignId}`, { token })).body['states'], { timeout: 20_000, interval: 200 })
      .toMatchObject({ queued: 0, sending: 0, sent: 1, skipped: 3 });
    const progress = (await api(gateway.url, `/campaigns/${campaignId}`, { token })).body;
    await watcher.until('the final progress frame', (f) => f.type === 'campaign.progress' && (f['states'] as Record<string, number>)['sent'] === 1 && (f['states'] as Record<string, number>)['queued'] === 0, 10_000);
    expect(progress['reasons']).toEqual({ consent_revoked: 2, no_consent: 1 });

    expect(fake.messages.map((m) => m.to)).toEqual([phones.yes]);
    const body = fake.messages[0]?.body ?? '';
    expect(body).toMatch(/^This is Riverside Health\. You have a visit tomorrow: http:\/\/127\.0\.0\.1:\d+ Reply STOP to opt out\./);
    // (The phone numbers by their full digits: "555" alone turns up in random SIDs and reference tags.)
    expect(body).not.toMatch(/Ada|Lovelace|55555501/);
    // Twilio reports the delivery (signed callback, applied once); a forged one is refused.
    const statusUrl = `${gateway.url}/webhooks/twilio/status`;
    const sid = fake.messages[0]?.sid ?? '';
    expect(await fake.sendStatusCallback(sid, 'delivered', { url: statusUrl, authToken: 'not-the-auth-token-at-all' })).toBe(403);
    expect(await fake.sendStatusCallback(sid, 'delivered', { url: statusUrl })).toBe(204);
    expect(await fake.sendStatusCallback(sid, 'delivered', { url: statusUrl })).toBe(204);
    expect((await api(gateway.url, `/campaigns/${campaignId}`, { token })).body['states']).toMatchObject({ sent: 0, delivered: 1 });
    const audit = await t.db.query<{ action: string; details: string }>(
      "SELECT action, details::text FROM audit_log WHERE action LIKE 'reminder.%' OR action = 'webhook.refused' ORDER BY seq",
    );
    expect(audit.map((a) => a.action).sort()).toEqual(['reminder.delivered', 'reminder.sent', 'reminder.skipped', 'reminder.skipped', 'reminder.skipped', 'webhook.refused', 'webhook.refused']);
    expect(audit.map((a) => a.details).join(' ')).not.toMatch(/Ada|Lovelace|55555501|Riverside/);
  });

  it('emails carry the RFC 8058 headers and a link, no PHI, over STARTTLS; the one-click unsubscribe revokes email consent for the campaign’s purpose', async () => {
    const smtp = await startSmtpServer();
    cleanups.push(() => smtp.close());
    const { t, redis, prefix, config, keyring, gateway, identity, provider, token, ctx } = await world({
      PUBLIC_URL: 'https://portal.example.org',
      SMTP_URL: `smtp://${smtp.host}:${smtp.port}`,
      SMTP_FROM: 'reminders@portal.example.org',
    });
    const { id: patientId } = await identity.patients.create({ givenName: 'Grace', familyName: 'Hopper', email: 'grace@example.net', birthDate: '1906-12-09', timeZone: 'Europe/Berlin' }, ctx);
    const start = Date.now() + 26 * 3_600_000;
    const appt = await identity.appointments.create({ patientId, providerId: provider.id, startsAt: new Date(start), endsAt: new Date(start + 1_800_000) }, ctx);
    // General outreach (not the default purpose): the unsubscribe link must revoke exactly this.
    expect((await api(gateway.url, `/patients/${patientId}/consent`, { token, body: { channel: 'email', purpose: 'general_outreach', state: 'granted', method: 'portal' } })).status).toBe(201);
    const saved = await api(gateway.url, '/templates', {
      token,
      body: { name: `email-${randomUUID().slice(0, 6)}`, channel: 'email', subject: 'A reminder from {{clinic_name}}', body: 'This is {{clinic_name}}. You have a visit {{time_word}}. Details: {{portal_link}} {{opt_out}}' },
    });
    expect(saved.status).toBe(201);
    const created = await api(gateway.url, '/campaigns', { token, body: { channel: 'email', purpose: 'general_outreach', templateId: saved.body['id'], templateVersion: saved.body['version'], selector: { kind: 'appointments', appointmentIds: [appt.id] } } });
    expect(created.status).toBe(201);

    const worker = createReminderRuntime({ config, db: t.db, redis, audit: createAuditLog(t.db), keyring, log: createLogger({ level: 'silent' }), publicOrigin: 'https://portal.example.org', prefix, smtpCa: smtp.ca });
    cleanups.push(() => worker.close());
    await expect.poll(() => smtp.messages.length, { timeout: 20_000 }).toBe(1);
    const mail = smtp.messages[0];
    expect(mail?.secure).toBe(true);
    expect(mail?.envelopeTo).toEqual(['grace@example.net']);
    const listUnsubscribe = mail?.headerLines.find((l) => /^list-unsubscribe:/i.test(l)) ?? '';
    expect(listUnsubscribe).toMatch(/<https:\/\/portal\.example\.org\/unsubscribe\/[^>]+>/);
    expect(mail?.headerLines.some((l) => /^list-unsubscribe-post:\s*List-Unsubscribe=One-Click/i.test(l))).toBe(true);
    expect(mail?.text).toMatch(/To stop these emails: https:\/\/portal\.example\.org\/unsubscribe\//);
    expect(`${mail?.subject ?? ''} ${mail?.text ?? ''}`).not.toMatch(/Grace|Hopper|1906|Berlin/);

    // One click, as a mail client does it (RFC 8058): a POST with the fixed body, no session.
    const link = /\/unsubscribe\/[^>\s]+/.exec(listUnsubscribe)?.[0] ?? '';
    const clicked = await fetch(`${gateway.url}${link}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
    expect(clicked.status).toBeLessThan(300);
    const consent = (await api(gateway.url, `/patients/${patientId}/consent`, { token })).body as { current: { channel: string; purpose: string; state: string; method: string }[] };
    expect(consent.current.filter((c) => c.channel === 'email')).toEqual([expect.objectContaining({ purpose: 'general_outreach', state: 'revoked', method: 'unsubscribe_link' })]);
  });

  it('gives each channel its own queue and rate limit: texts paced at one a second do not hold up the emails', async () => {
    const fake = await FakeTwilio.start();
    cleanups.push(() => fake.close());
    const smtp = await startSmtpServer();
    cleanups.push(() => smtp.close());
    const { t, redis, prefix, config, keyring, gateway, identity, provider, token, ctx } = await world({
      PUBLIC_URL: 'https://portal.example.org',
      TWILIO_ACCOUNT_SID: fake.accountSid,
      TWILIO_AUTH_TOKEN: fake.authToken,
      TWILIO_FROM: '+15555550100',
      TWILIO_API_URL: fake.url,
      SMTP_URL: `smtp://${smtp.host}:${smtp.port}`,
      SMTP_FROM: 'reminders@portal.example.org',
      REMINDER_SMS_PER_SECOND: '1',
      REMINDER_EMAIL_PER_SECOND: '100',
    });
    const PATIENTS = 6;
    const appointmentIds: string[] = [];
    for (let i = 0; i < PATIENTS; i++) {
      const { id } = await identity.patients.create({ givenName: 'Pat', familyName: `Both${i}`, phone: `+1555555${String(1000 + i)}`, email: `pat${i}@example.net`, timeZone: 'UTC' }, ctx);
      const start = Date.now() + 26 * 3_600_000;
      appointmentIds.push((await identity.appointments.create({ patientId: id, providerId: provider.id, startsAt: new Date(start), endsAt: new Date(start + 1_800_000) }, ctx)).id);
      for (const channel of ['sms', 'email']) {
        expect((await api(gateway.url, `/patients/${id}/consent`, { token, body: { channel, purpose: 'appointment_reminders', state: 'granted', method: 'form', evidenceRef: `form-${i}` } })).status).toBe(201);
      }
    }
    for (const channel of ['sms', 'email'] as const) {
      const saved = await api(gateway.url, '/templates', {
        token,
        body: { name: `both-${channel}-${randomUUID().slice(0, 6)}`, channel, ...(channel === 'email' ? { subject: 'A reminder from {{clinic_name}}' } : {}), body: 'This is {{clinic_name}}. You have a visit {{time_word}}: {{portal_link}} {{opt_out}}' },
      });
      expect(saved.status).toBe(201);
      const created = await api(gateway.url, '/campaigns', { token, body: { channel, templateId: saved.body['id'], templateVersion: saved.body['version'], selector: { kind: 'appointments', appointmentIds } } });
      expect(created.status).toBe(201);
    }

    const worker = createReminderRuntime({ config, db: t.db, redis, audit: createAuditLog(t.db), keyring, log: createLogger({ level: 'silent' }), publicOrigin: 'https://portal.example.org', prefix, smtpCa: smtp.ca });
    cleanups.push(() => worker.close());
    // Every email is out while the texts are still going out one a second (one queue would have
    // held the emails behind the texts' limit).
    await expect.poll(() => smtp.messages.length, { timeout: 20_000, interval: 50 }).toBe(PATIENTS);
    expect(fake.messages.length).toBeLessThan(PATIENTS);
    await expect.poll(() => fake.messages.length, { timeout: 30_000, interval: 100 }).toBe(PATIENTS);
    const sentAt = fake.messages.map((m) => m.dateCreated.getTime()).sort((a, b) => a - b);
    // One a second: six texts span at least four seconds however they are batched.
    expect((sentAt.at(-1) ?? 0) - (sentAt[0] ?? 0)).toBeGreaterThanOrEqual(4_000);
  });
});
