/**
 * A reminder worker process killed with SIGKILL in the middle of a campaign, and another one
 * started: every consenting patient still gets exactly one text. Two real `telehealth worker`
 * processes on a shared PostgreSQL and the test Redis, sending through the real twilio library to
 * a local Twilio Messages API. Whatever the kill interrupted — a claimed job not yet sent, a text
 * sent but not yet recorded — is handed to the second worker (BullMQ stalled-job recovery) and
 * reconciled with the provider instead of being sent twice.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createAuditLog } from '../../core/audit/index.ts';
import { enqueueDeliveries, reminderQueues } from '../../core/campaigns/queue.ts';
import { createCampaignStore } from '../../core/campaigns/store.ts';
import { loadConfig } from '../../core/config/load.ts';
import { createConsentLedger } from '../../core/consent/index.ts';
import { loadMasterKeyring } from '../../core/crypto/index.ts';
import { connectRedis } from '../../core/redis/connect.ts';
import { createReminderText } from '../../core/reminders/render.ts';
import { createTemplateStore } from '../../core/reminders/templates.ts';
import { hashPassword } from '../../gateway/auth/password.ts';
import { STAFF_PASSWORD } from '../../gateway/testing/identity-harness.ts';
import { openTestDb } from '../helpers/databases.ts';
import { FakeTwilio } from '../helpers/fake-twilio.ts';
import { seedingIdentity } from '../helpers/messaging.ts';

const CLI = path.resolve(import.meta.dirname, '../../bin/telehealth');
const PATIENTS = 24;
const children: ChildProcess[] = [];
const cleanups: (() => Promise<unknown> | void)[] = [];
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const c of cleanups.splice(0).reverse()) await c();
});

function startWorker(env: Record<string, string>): Promise<ChildProcess> {
  const { REDIS_URL: _r, DATABASE_URL: _d, CONFIG_FILE: _c, ...rest } = process.env;
  const child = spawn(CLI, ['worker', '--concurrency', '4'], { env: { ...rest, LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let err = '';
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`worker did not start: ${err}`)), 30_000);
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('telehealth worker running')) {
        clearTimeout(t);
        resolve(child);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`worker exited ${code}: ${err}`));
    });
  });
}

describe('reminder workers killed mid-campaign', () => {
  it('kill -9 one worker, start another: every consenting patient got exactly one message', async () => {
    const fake = await FakeTwilio.start();
    cleanups.push(() => fake.close());
    const t = await openTestDb('postgres');
    cleanups.push(() => t.dispose());
    if (t.url === undefined) throw new Error('no PostgreSQL URL');
    const redis = await connectRedis(inject('redisUrl'));
    cleanups.push(() => redis.quit());
    const prefix = `{kill-${randomUUID().slice(0, 8)}}`;
    const env = {
      APP_ENV: 'development',
      DATABASE_URL: t.url,
      REDIS_URL: inject('redisUrl'),
      MASTER_KEY: randomBytes(32).toString('base64'),
      PUBLIC_URL: 'http://127.0.0.1:8080',
      CLINIC_NAME: 'Riverside Health',
      TWILIO_ACCOUNT_SID: fake.accountSid,
      TWILIO_AUTH_TOKEN: fake.authToken,
      TWILIO_FROM: '+15555550100',
      TWILIO_API_URL: fake.url,
      QUEUE_PREFIX: prefix,
      QUIET_HOURS_START: '0',
      QUIET_HOURS_END: '24',
      // Slow enough to kill mid-campaign; a dead worker's jobs are handed on within seconds.
      REMINDER_SMS_PER_SECOND: '6',
      REMINDER_JOB_LOCK_SECONDS: '2',
    };
    const config = loadConfig({ ...env, APP_ENV: 'test', PORT: '0' });
    const keyring = loadMasterKeyring(config);
    const identity = seedingIdentity({ db: t.db, redis, config, keyPrefix: `test-${randomUUID()}:`, keyring });
    const audit = createAuditLog(t.db);
    const scheduler = await identity.users.createStaff({ username: `sched-${randomUUID().slice(0, 8)}`, displayName: 'Scheduler', role: 'scheduler', passwordHash: await hashPassword(STAFF_PASSWORD), createdBy: null });
    const provider = await identity.users.createStaff({ username: `prov-${randomUUID().slice(0, 8)}`, displayName: 'Provider', role: 'provider', passwordHash: await hashPassword(STAFF_PASSWORD), createdBy: null });
    const ctx = { actorType: 'user', actorId: scheduler.id } as const;
    const ledger = createConsentLedger({ db: t.db, audit });
    const phones: string[] = [];
    const appointmentIds: string[] = [];
    for (let i = 0; i < PATIENTS; i++) {
      const phone = `+1555556${String(1000 + i)}`;
      phones.push(phone);
      const { id } = await identity.patients.create({ givenName: 'Pat', familyName: `Number${i}`, phone, timeZone: 'UTC' }, ctx);
      await ledger.record({ patientId: id, channel: 'sms', purpose: 'appointment_reminders', state: 'granted', method: 'form', evidenceRef: `form-${i}` }, ctx);
      const start = Date.now() + 30 * 3_600_000;
      appointmentIds.push((await identity.appointments.create({ patientId: id, providerId: provider.id, startsAt: new Date(start), endsAt: new Date(start + 1_800_000) }, ctx)).id);
    }
    const templates = createTemplateStore({ db: t.db, audit, text: createReminderText({ clinicName: 'Riverside Health', portalUrl: env.PUBLIC_URL }) });
    const { template } = await templates.save({ name: 'kill-test', channel: 'sms', body: 'This is {{clinic_name}}. You have a visit {{time_word}}: {{portal_link}} {{opt_out}}' }, ctx);
    const campaigns = createCampaignStore({ db: t.db, audit });
    const campaign = await campaigns.create(
      { channel: 'sms', purpose: 'appointment_reminders', templateId: template.id, templateVersion: template.version, selector: { kind: 'appointments', appointmentIds } },
      ctx,
    );
    const queues = reminderQueues(redis, prefix);
    cleanups.push(() => queues.close());
    await enqueueDeliveries(queues, 'sms', campaign.id, campaigns.pendingPages(campaign.id));

    const first = await startWorker(env);
    await expect.poll(() => fake.messages.length, { timeout: 30_000, interval: 50 }).toBeGreaterThanOrEqual(6);
    first.kill('SIGKILL');
    const sentBeforeKill = fake.messages.length;
    expect(sentBeforeKill).toBeLessThan(PATIENTS);
    await startWorker(env);

    await expect.poll(async () => (await campaigns.progress(campaign.id))?.states, { timeout: 60_000, interval: 250 }).toMatchObject({ queued: 0, sending: 0 });
    const progress = await campaigns.progress(campaign.id);
    expect(progress?.states.sent).toBe(PATIENTS);
    const perPhone = new Map<string, number>();
    for (const m of fake.messages) perPhone.set(m.to, (perPhone.get(m.to) ?? 0) + 1);
    expect([...perPhone.keys()].sort()).toEqual([...phones].sort());
    expect([...perPhone.values()].every((n) => n === 1)).toBe(true);
    const audited = await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_log WHERE action = 'reminder.sent'");
    expect(audited[0]?.n).toBe(PATIENTS);
  }, 120_000);
});
