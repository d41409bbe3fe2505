/**
 * Redis (AOF on) killed and restarted in the middle of a reminder campaign. A gateway
 * (`telehealth start`, which also runs a reminder runtime) and a separate `telehealth worker`, as
 * OS processes on a shared PostgreSQL and on a redis-server of this test's own, send through the
 * real twilio library to a local Twilio Messages API at a rate slow enough that the campaign is
 * half-way when Redis dies. Redis comes back on the same port and data directory and replays its
 * AOF; nobody restarts anything else. Every consenting patient still gets exactly one text, every
 * delivery row reaches a final state, the gateway serves again, and the audit chain verifies.
 *
 * Redis is killed with SIGKILL, not stopped with SIGTERM: SIGTERM lets Redis flush the AOF and
 * close cleanly, which tests little beyond reconnecting. SIGKILL is a crash: with the product's
 * `appendfsync everysec` the last second of writes (BullMQ job moves, locks, rate-limit keys) may
 * be lost, so jobs can come back as waiting or stalled after the restart — the product must then
 * neither lose a patient nor text one twice (the delivery row in PostgreSQL decides). The jobs
 * themselves were added seconds before the kill, long after their fsync, so they are on disk.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config/load.ts';
import { loadMasterKeyring } from '../../core/crypto/index.ts';
import { connectRedis } from '../../core/redis/connect.ts';
import { hashPassword } from '../../gateway/auth/password.ts';
import { STAFF_PASSWORD } from '../../gateway/testing/identity-harness.ts';
import { openTestDb } from '../helpers/databases.ts';
import { FakeTwilio } from '../helpers/fake-twilio.ts';
import { seedingIdentity } from '../helpers/messaging.ts';
import { auditVerify, deploymentEnv, faultTeardown, printCounts, RestartableRedis, spawnTelehealth, stopChild, tempDir, until } from '../helpers/process-faults.ts';
import { api } from '../helpers/video.ts';

const PATIENTS = 50;
const { children, cleanups } = faultTeardown();

describe('Redis killed and restarted mid-campaign (AOF on)', () => {
  it('the gateway and the worker recover by themselves; every consenting patient got exactly one text', async () => {
    const fake = await FakeTwilio.start();
    cleanups.push(() => fake.close());
    const redisServer = await RestartableRedis.start();
    cleanups.push(() => redisServer.close());
    const t = await openTestDb('postgres');
    cleanups.push(() => t.dispose());
    if (t.url === undefined) throw new Error('no PostgreSQL URL');
    const dataDir = tempDir('th-fault-redis-gw-');
    cleanups.push(() => dataDir.remove());
    const env = {
      ...deploymentEnv({ databaseUrl: t.url, redisUrl: redisServer.url, dataDir: dataDir.path, tag: 'fault-redis' }),
      PUBLIC_URL: 'http://127.0.0.1:8080',
      CLINIC_NAME: 'Riverside Health',
      TWILIO_ACCOUNT_SID: fake.accountSid,
      TWILIO_AUTH_TOKEN: fake.authToken,
      TWILIO_FROM: '+15555550100',
      TWILIO_API_URL: fake.url,
      QUEUE_PREFIX: `{fault-${randomUUID().slice(0, 8)}}`,
      QUIET_HOURS_START: '0',
      QUIET_HOURS_END: '24',
      // ~6 s for the campaign: Redis dies a third of the way in. Short locks: a job whose lock
      // vanished with Redis is handed on within seconds.
      REMINDER_SMS_PER_SECOND: '8',
      REMINDER_JOB_LOCK_SECONDS: '2',
    };

    // Accounts, patients, consent and appointments, seeded where the gateway reads them.
    const redis = await connectRedis(redisServer.url);
    cleanups.push(() => redis.disconnect());
    const config = loadConfig({ ...env, APP_ENV: 'test', PORT: '0' });
    const identity = seedingIdentity({ db: t.db, redis, config, keyPrefix: config.redisKeyPrefix, keyring: loadMasterKeyring(config) });
    cleanups.push(() => identity.sessions.close());
    const staffHash = await hashPassword(STAFF_PASSWORD);
    const scheduler = await identity.users.createStaff({ username: `sched-${randomUUID().slice(0, 8)}`, displayName: 'Scheduler', role: 'scheduler', passwordHash: staffHash, createdBy: null });
    const provider = await identity.users.createStaff({ username: `prov-${randomUUID().slice(0, 8)}`, displayName: 'Provider', role: 'provider', passwordHash: staffHash, createdBy: null });
    const token = (await identity.sessions.create({ kind: 'staff', userId: scheduler.id, role: 'scheduler', patientId: null, scope: null, appointmentId: null })).token;
    const ctx = { actorType: 'user', actorId: scheduler.id } as const;

    const gateway = await spawnTelehealth(['start'], { ...env, PORT: '0' }, /listening on (http:\/\/\S+)/);
    children.push(gateway);
    const url = gateway.match[1] ?? '';
    const worker = await spawnTelehealth(['worker', '--concurrency', '4'], env, /telehealth worker running/);
    children.push(worker);

    const phones: string[] = [];
    const appointmentIds: string[] = [];
    for (let i = 0; i < PATIENTS; i++) {
      const phone = `+1555557${String(1000 + i)}`;
      phones.push(phone);
      const { id } = await identity.patients.create({ givenName: 'Pat', familyName: `Number${i}`, phone, timeZone: 'UTC' }, ctx);
      const consent = await api(url, `/patients/${id}/consent`, { token, body: { channel: 'sms', purpose: 'appointment_reminders', state: 'granted', method: 'form', evidenceRef: `form-${i}` } });
      expect(consent.status).toBe(201);
      const start = Date.now() + 30 * 3_600_000;
      appointmentIds.push((await identity.appointments.create({ patientId: id, providerId: provider.id, startsAt: new Date(start), endsAt: new Date(start + 1_800_000) }, ctx)).id);
    }
    const saved = await api(url, '/templates', { token, body: { name: `fault-${randomUUID().slice(0, 6)}`, channel: 'sms', body: 'This is {{clinic_name}}. You have a visit {{time_word}}: {{portal_link}} {{opt_out}}' } });
    expect(saved.status).toBe(201);
    const created = await api(url, '/campaigns', { token, body: { channel: 'sms', templateId: saved.body['id'], templateVersion: saved.body['version'], selector: { kind: 'appointments', appointmentIds } } });
    expect(created.status).toBe(201);
    const campaignId = String(created.body['id']);

    await until('a third of the texts', () => fake.messages.length >= PATIENTS / 3, 30_000, 10);
    await redisServer.stop('SIGKILL');
    const sentAtKill = fake.messages.length;
    expect(sentAtKill).toBeLessThan(PATIENTS);
    // Down long enough for every client to notice (failed commands, reconnect attempts).
    await new Promise((r) => setTimeout(r, 1500));
    await redisServer.start();
    const back = Date.now();
    // (A send in flight at the kill may still have landed: count from the restart on.)
    const sentAtRestart = fake.messages.length;

    // Recovered: the gateway answers a request that needs Redis (the session) and PostgreSQL,
    // and a text goes out after the restart.
    let recoveryMs = -1;
    await until(
      'the gateway to serve the campaign and a text to go out after the restart',
      async () => {
        const res = await api(url, `/campaigns/${campaignId}`, { token }).catch(() => undefined);
        const ok = res?.status === 200 && fake.messages.length > sentAtRestart;
        if (ok) recoveryMs = Date.now() - back;
        return ok;
      },
      30_000,
      50,
    );
    await until(
      'every delivery row final',
      async () => {
        const states = (await api(url, `/campaigns/${campaignId}`, { token })).body['states'] as Record<string, number> | undefined;
        return states !== undefined && (states['queued'] ?? 0) === 0 && (states['sending'] ?? 0) === 0;
      },
      40_000,
      200,
    );
    const states = (await api(url, `/campaigns/${campaignId}`, { token })).body['states'] as Record<string, number>;

    const perPhone = new Map<string, number>();
    for (const m of fake.messages) perPhone.set(m.to, (perPhone.get(m.to) ?? 0) + 1);
    const lost = phones.filter((p) => !perPhone.has(p)).length;
    const duplicated = [...perPhone.values()].reduce((n, c) => n + (c - 1), 0);
    const stray = [...perPhone.keys()].filter((p) => !phones.includes(p)).length;
    const rows = await t.db.query<{ state: string; n: number }>('SELECT state, count(*)::int AS n FROM deliveries WHERE campaign_id = $1 GROUP BY state', [campaignId]);
    const sentAudits = await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_log WHERE action = 'reminder.sent'");

    expect(gateway.alive(), `the gateway exited: ${gateway.stderr()}`).toBe(true);
    expect(worker.alive(), `the worker exited: ${worker.stderr()}`).toBe(true);
    await stopChild(worker);
    await stopChild(gateway);
    const chain = await auditVerify(env);
    printCounts({ test: 'redis-restart-mid-campaign', sent: fake.messages.length, delivered: perPhone.size, lost, duplicated, chainOk: chain.ok, recoveryMs, sentAtKill, kill: 'SIGKILL', states });

    expect({ lost, duplicated, stray }).toEqual({ lost: 0, duplicated: 0, stray: 0 });
    expect(states).toMatchObject({ queued: 0, sending: 0, sent: PATIENTS });
    expect(rows).toEqual([{ state: 'sent', n: PATIENTS }]);
    expect(sentAudits[0]?.n).toBe(PATIENTS);
    expect(chain.ok, chain.output).toBe(true);
  }, 90_000);
});
