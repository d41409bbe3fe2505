/**
 * The server side of `npm run bench -- reminders`, in one child process (its stdout lines are
 * the bench's report; the last one is JSON). A private redis-server and an in-memory PGlite:
 *   1. baseline: a bare BullMQ worker with a no-op processor drains N jobs (same concurrency);
 *   2. pipeline: the real reminder worker drains N deliveries — consent check, render + PHI lint,
 *      the twilio library calling a local Twilio Messages API, delivery row + audit record;
 *   3. enqueue: a 100,000-recipient campaign (appointments selected, delivery rows written, jobs
 *      added in batches), timed, with this process's peak RSS.
 * Lives under test/ because it borrows the test doubles (fake Twilio API).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { createAuditLog } from '../../core/audit/index.ts';
import { enqueueDeliveries, reminderQueue } from '../../core/campaigns/queue.ts';
import { createCampaignStore } from '../../core/campaigns/store.ts';
import { loadConfig } from '../../core/config/load.ts';
import { createConsentLedger } from '../../core/consent/index.ts';
import { createMasterKeyring, createPatientCipher, generateMasterKey } from '../../core/crypto/index.ts';
import { migrate } from '../../core/db/migrate.ts';
import { openPglite } from '../../core/db/pglite.ts';
import { createLogger } from '../../core/log/logger.ts';
import { createPatientStore } from '../../core/patients/index.ts';
import { bullConnection } from '../../core/redis/bullmq-connection.ts';
import { connectRedis } from '../../core/redis/connect.ts';
import { startEmbeddedRedis } from '../../core/redis/embedded.ts';
import { createReminderText } from '../../core/reminders/render.ts';
import { createTemplateStore } from '../../core/reminders/templates.ts';
import { createReminderRuntime } from '../../workers/reminders/runtime.ts';
import { FakeTwilio } from '../helpers/fake-twilio.ts';

const N = Number(process.env['BENCH_JOBS'] ?? 1500);
const BIG = Number(process.env['BENCH_CAMPAIGN'] ?? 100_000);
const CONCURRENCY = 8;
const out = (line: string): void => void process.stdout.write(`${line}\n`);

let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);

const dir = mkdtempSync(path.join(tmpdir(), 'th-bench-rem-'));
const redisServer = await startEmbeddedRedis({ dir, appendOnly: false });
const redis = await connectRedis(redisServer.url);
const db = await openPglite();
const fake = await FakeTwilio.start();
try {
  await migrate(db);
  const audit = createAuditLog(db);
  const keyring = createMasterKeyring(generateMasterKey());
  const ctx = { actorType: 'system', actorId: 'bench' } as const;

  // 1. Bare BullMQ: the same number of jobs through a no-op worker.
  const prefix = '{bench-bare}';
  const bare = new Queue('bare', { connection: bullConnection(redis), prefix });
  await bare.addBulk(Array.from({ length: N }, (_, i) => ({ name: 'noop', data: { i }, opts: { jobId: `j-${i}`, removeOnComplete: true } })));
  let done = 0;
  const t0 = performance.now();
  const bareWorker = new Worker('bare', () => Promise.resolve(undefined), { connection: bullConnection(redis), prefix, concurrency: CONCURRENCY });
  bareWorker.on('completed', () => done++);
  while (done < N) await new Promise((r) => setTimeout(r, 5));
  const bareSeconds = (performance.now() - t0) / 1000;
  await bareWorker.close();
  await bare.close();
  out(`bare BullMQ no-op worker: ${N} jobs in ${bareSeconds.toFixed(2)} s = ${(N / bareSeconds).toFixed(0)} jobs/s`);

  // 2. The whole reminder pipeline.
  const patients = createPatientStore({ db, audit, cipher: createPatientCipher({ db, keyring }) });
  const ledger = createConsentLedger({ db, audit });
  const [providerId] = [randomUUID()];
  await db.query("INSERT INTO users (id, kind, role, username, display_name, status) VALUES ($1, 'staff', 'provider', $2, 'Bench provider', 'active')", [providerId, `bench-${providerId.slice(0, 8)}`]);
  const appointmentIds: string[] = [];
  for (let i = 0; i < N; i++) {
    const { id } = await patients.create({ givenName: 'Pat', familyName: `Bench${i}`, phone: `+1555${String(1_000_000 + i)}`, timeZone: 'UTC' }, ctx);
    await ledger.record({ patientId: id, channel: 'sms', purpose: 'appointment_reminders', state: 'granted', method: 'form', evidenceRef: `form-${i}` }, ctx);
    const a = randomUUID();
    await db.query("INSERT INTO appointments (id, patient_id, provider_id, starts_at, ends_at) VALUES ($1, $2, $3, now() + interval '30 hours', now() + interval '31 hours')", [a, id, providerId]);
    appointmentIds.push(a);
  }
  const text = createReminderText({ clinicName: 'Riverside Health', portalUrl: 'https://portal.example.org' });
  const templates = createTemplateStore({ db, audit, text });
  const { template } = await templates.save({ name: 'bench', channel: 'sms', body: 'This is {{clinic_name}}. You have a visit {{time_word}}: {{portal_link}} {{opt_out}}' }, ctx);
  const campaigns = createCampaignStore({ db, audit });
  const { campaign, deliveries } = await campaigns.create({ channel: 'sms', purpose: 'appointment_reminders', templateId: template.id, templateVersion: template.version, selector: { kind: 'appointments', appointmentIds } }, { actorType: 'user', actorId: providerId });
  const queue = reminderQueue(redis, '{bench-rem}');
  await enqueueDeliveries(queue, campaign.id, deliveries);
  const config = loadConfig({
    APP_ENV: 'test',
    PORT: '0',
    CLINIC_NAME: 'Riverside Health',
    TWILIO_ACCOUNT_SID: fake.accountSid,
    TWILIO_AUTH_TOKEN: fake.authToken,
    TWILIO_FROM: '+15555550100',
    TWILIO_API_URL: fake.url,
    QUIET_HOURS_START: '0',
    QUIET_HOURS_END: '24',
    REMINDER_SMS_PER_SECOND: '1000',
  });
  const t1 = performance.now();
  const runtime = createReminderRuntime({ config, db, redis, audit, keyring, log: createLogger({ level: 'silent' }), publicOrigin: 'https://portal.example.org', prefix: '{bench-rem}', concurrency: CONCURRENCY });
  for (;;) {
    const p = await campaigns.progress(campaign.id);
    if (p !== null && p.states.queued + p.states.sending === 0) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const pipeSeconds = (performance.now() - t1) / 1000;
  await runtime.close();
  await queue.close();
  const sent = fake.messages.length;
  out(`reminder pipeline: ${N} deliveries (${sent} texts to the local Twilio API) in ${pipeSeconds.toFixed(2)} s = ${(N / pipeSeconds).toFixed(0)} jobs/s`);

  // 3. A 100,000-recipient campaign: select, write delivery rows, enqueue.
  await db.query(
    `INSERT INTO patients (id, time_zone) SELECT gen_random_uuid(), 'UTC' FROM generate_series(1, $1)`,
    [BIG],
  );
  await db.query(
    `INSERT INTO appointments (id, patient_id, provider_id, starts_at, ends_at)
     SELECT gen_random_uuid(), p.id, $1, now() + interval '50 hours', now() + interval '51 hours'
       FROM patients p WHERE NOT EXISTS (SELECT 1 FROM appointments a WHERE a.patient_id = p.id)`,
    [providerId],
  );
  const bigQueue = reminderQueue(redis, '{bench-big}');
  peakRss = process.memoryUsage().rss;
  const rssBefore = peakRss;
  const t2 = performance.now();
  const big = await campaigns.create(
    { channel: 'sms', purpose: 'appointment_reminders', templateId: template.id, templateVersion: template.version, selector: { kind: 'window', from: new Date(Date.now() + 49 * 3_600_000), to: new Date(Date.now() + 52 * 3_600_000) } },
    { actorType: 'user', actorId: providerId },
  );
  const rowsSeconds = (performance.now() - t2) / 1000;
  await enqueueDeliveries(bigQueue, big.campaign.id, big.deliveries);
  const enqueueSeconds = (performance.now() - t2) / 1000;
  const waiting = await bigQueue.getWaitingCount();
  await bigQueue.close();
  out(`campaign of ${big.deliveries.length} recipients: rows written in ${rowsSeconds.toFixed(1)} s, all ${waiting} jobs queued after ${enqueueSeconds.toFixed(1)} s; peak RSS ${(peakRss / 1e6).toFixed(0)} MB (${(rssBefore / 1e6).toFixed(0)} MB before)`);
  out(JSON.stringify({ bareJobsPerSec: N / bareSeconds, pipelineJobsPerSec: N / pipeSeconds, sent, recipients: big.deliveries.length, enqueueSeconds, peakRssMb: peakRss / 1e6 }));
} finally {
  clearInterval(sampler);
  await fake.close();
  redis.disconnect();
  await redisServer.close();
  await db.close();
  rmSync(dir, { recursive: true, force: true });
}
