/**
 * The server side of `npm run bench -- reminders`, one phase per child process (its stdout lines
 * are the bench's report; the last one is JSON). A private redis-server, and the database named by
 * `--db`: an in-memory PGlite (inside this process), or a throwaway PostgreSQL server (its memory
 * is its own process's, as in production).
 *
 * `--phase pipeline`:
 *   1. baseline: a bare BullMQ worker with a no-op processor drains jobs (same concurrency);
 *   2. ceiling: the twilio library alone sending to the local Twilio API (same concurrency), the
 *      most any pipeline that calls it could reach in this process;
 *   3. pipeline: the real reminder worker drains N deliveries — consent check, render + PHI lint,
 *      the twilio library calling a local Twilio Messages API, delivery row + audit record.
 * `--phase enqueue`: a fresh process creates a 100,000-recipient campaign (appointments selected,
 *   delivery rows written, jobs added in batches), timed, with this process's peak RSS.
 * Lives under test/ because it borrows the test doubles (fake Twilio API, PostgreSQL server).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Queue, Worker } from 'bullmq';
import { createAuditLog, type AuditLog } from '../../core/audit/index.ts';
import { enqueueDeliveries, reminderQueues } from '../../core/campaigns/queue.ts';
import { createCampaignStore } from '../../core/campaigns/store.ts';
import { loadConfig } from '../../core/config/load.ts';
import { createConsentLedger } from '../../core/consent/index.ts';
import { createMasterKeyring, createPatientCipher, generateMasterKey } from '../../core/crypto/index.ts';
import { migrate } from '../../core/db/migrate.ts';
import { openPglite } from '../../core/db/pglite.ts';
import { openPostgres } from '../../core/db/postgres.ts';
import type { Db } from '../../core/db/types.ts';
import { createLogger } from '../../core/log/logger.ts';
import { createPatientStore } from '../../core/patients/index.ts';
import { bullConnection } from '../../core/redis/bullmq-connection.ts';
import { connectRedis, type Redis } from '../../core/redis/connect.ts';
import { startEmbeddedRedis } from '../../core/redis/embedded.ts';
import { createReminderText } from '../../core/reminders/render.ts';
import { createTemplateStore } from '../../core/reminders/templates.ts';
import { SmsChannel } from '../../workers/channels/sms.ts';
import { createReminderRuntime } from '../../workers/reminders/runtime.ts';
import { DEFAULT_CONCURRENCY } from '../../workers/reminders/worker.ts';
import { FakeTwilio } from '../helpers/fake-twilio.ts';
import { startTestPostgres } from '../helpers/postgres-server.ts';

const { values: args } = parseArgs({ options: { db: { type: 'string', default: 'pglite' }, phase: { type: 'string', default: 'pipeline' } } });
if (args.db !== 'pglite' && args.db !== 'postgres') throw new Error('--db pglite|postgres');
if (args.phase !== 'pipeline' && args.phase !== 'enqueue') throw new Error('--phase pipeline|enqueue');
const N = Number(process.env['BENCH_JOBS'] ?? 2000);
const BARE_N = Number(process.env['BENCH_BARE_JOBS'] ?? 20_000);
const BIG = Number(process.env['BENCH_CAMPAIGN'] ?? 100_000);
/** The worker's default (workers/reminders/worker.ts), for every worker here. */
const CONCURRENCY = Number(process.env['BENCH_CONCURRENCY'] ?? DEFAULT_CONCURRENCY);
const SMS_BODY = 'This is {{clinic_name}}. You have a visit {{time_word}}: {{portal_link}} {{opt_out}}';
const out = (line: string): void => void process.stdout.write(`${line}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface World {
  readonly db: Db;
  readonly redis: Redis;
  readonly audit: AuditLog;
  readonly providerId: string;
}

async function bare(redis: Redis): Promise<number> {
  const prefix = '{bench-bare}';
  const queue = new Queue('bare', { connection: bullConnection(redis), prefix });
  for (let i = 0; i < BARE_N; i += 1000) {
    await queue.addBulk(Array.from({ length: Math.min(1000, BARE_N - i) }, (_, k) => ({ name: 'noop', data: { i: i + k }, opts: { jobId: `j-${i + k}`, removeOnComplete: true } })));
  }
  let done = 0;
  const t0 = performance.now();
  const worker = new Worker('bare', () => Promise.resolve(undefined), { connection: bullConnection(redis), prefix, concurrency: CONCURRENCY });
  worker.on('completed', () => done++);
  while (done < BARE_N) await sleep(5);
  const rate = BARE_N / ((performance.now() - t0) / 1000);
  await worker.close();
  await queue.close();
  out(`bare BullMQ no-op worker (concurrency ${CONCURRENCY}): ${BARE_N} jobs, ${rate.toFixed(0)} jobs/s`);
  return rate;
}

async function twilioAlone(fake: FakeTwilio): Promise<number> {
  const sms = new SmsChannel({ accountSid: fake.accountSid, authToken: fake.authToken, sender: { from: '+15555550100' }, apiBaseUrl: fake.url, statusCallbackUrl: 'https://portal.example.org/webhooks/twilio/status' });
  const body = 'This is Riverside Health. You have a visit tomorrow: https://portal.example.org Reply STOP to opt out, HELP for help.';
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let k = next++; k < N; k = next++) await sms.send({ to: `+1555${String(2_000_000 + k)}`, body, idempotencyKey: `ceiling-${k}` });
    }),
  );
  const rate = N / ((performance.now() - t0) / 1000);
  sms.close();
  fake.messages.length = 0;
  out(`twilio library alone → local Twilio API (concurrency ${CONCURRENCY}): ${N} sends, ${rate.toFixed(0)} sends/s`);
  return rate;
}

async function pipeline(w: World, fake: FakeTwilio): Promise<number> {
  const { db, audit, redis } = w;
  const ctx = { actorType: 'system', actorId: 'bench' } as const;
  const keyring = createMasterKeyring(generateMasterKey());
  const patients = createPatientStore({ db, audit, cipher: createPatientCipher({ db, keyring }) });
  const ledger = createConsentLedger({ db, audit });
  const appointmentIds: string[] = [];
  for (let i = 0; i < N; i++) {
    const { id } = await patients.create({ givenName: 'Pat', familyName: `Bench${i}`, phone: `+1555${String(1_000_000 + i)}`, timeZone: 'UTC' }, ctx);
    await ledger.record({ patientId: id, channel: 'sms', purpose: 'appointment_reminders', state: 'granted', method: 'form', evidenceRef: `form-${i}` }, ctx);
    const a = randomUUID();
    await db.query("INSERT INTO appointments (id, patient_id, provider_id, starts_at, ends_at) VALUES ($1, $2, $3, now() + interval '30 hours', now() + interval '31 hours')", [a, id, w.providerId]);
    appointmentIds.push(a);
  }
  const text = createReminderText({ clinicName: 'Riverside Health', portalUrl: 'https://portal.example.org' });
  const { template } = await createTemplateStore({ db, audit, text }).save({ name: 'bench', channel: 'sms', body: SMS_BODY }, ctx);
  const campaigns = createCampaignStore({ db, audit });
  const campaign = await campaigns.create(
    { channel: 'sms', purpose: 'appointment_reminders', templateId: template.id, templateVersion: template.version, selector: { kind: 'appointments', appointmentIds } },
    { actorType: 'user', actorId: w.providerId },
  );
  const queues = reminderQueues(redis, '{bench-rem}');
  await enqueueDeliveries(queues, 'sms', campaign.id, campaigns.pendingPages(campaign.id));
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
  const t0 = performance.now();
  const runtime = createReminderRuntime({ config, db, redis, audit, keyring, log: createLogger({ level: 'silent' }), publicOrigin: 'https://portal.example.org', prefix: '{bench-rem}', concurrency: CONCURRENCY });
  for (;;) {
    const p = await campaigns.progress(campaign.id);
    if (p !== null && p.states.queued + p.states.sending === 0) break;
    await sleep(50);
  }
  const rate = N / ((performance.now() - t0) / 1000);
  await runtime.close();
  await queues.close();
  const p = await campaigns.progress(campaign.id);
  if (p?.states.sent !== N || fake.messages.length !== N) throw new Error(`the pipeline sent ${p?.states.sent ?? 0} of ${N} (${fake.messages.length} at the API)`);
  out(`reminder pipeline (concurrency ${CONCURRENCY}): ${N} deliveries, ${rate.toFixed(0)} jobs/s`);
  return rate;
}

async function enqueueBig(w: World): Promise<Record<string, number>> {
  const { db, audit, redis } = w;
  await db.query(`INSERT INTO patients (id, time_zone) SELECT gen_random_uuid(), 'UTC' FROM generate_series(1, $1)`, [BIG]);
  await db.query(
    `INSERT INTO appointments (id, patient_id, provider_id, starts_at, ends_at)
     SELECT gen_random_uuid(), p.id, $1, now() + interval '50 hours', now() + interval '51 hours' FROM patients p`,
    [w.providerId],
  );
  const text = createReminderText({ clinicName: 'Riverside Health', portalUrl: 'https://portal.example.org' });
  const { template } = await createTemplateStore({ db, audit, text }).save({ name: 'bench-big', channel: 'sms', body: SMS_BODY }, { actorType: 'system', actorId: 'bench' });
  const campaigns = createCampaignStore({ db, audit });
  const queues = reminderQueues(redis, '{bench-big}');
  await queues.of('sms').waitUntilReady();
  let peak = process.memoryUsage().rss;
  const before = peak;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const t0 = performance.now();
  const campaign = await campaigns.create(
    { channel: 'sms', purpose: 'appointment_reminders', templateId: template.id, templateVersion: template.version, selector: { kind: 'window', from: new Date(Date.now() + 49 * 3_600_000), to: new Date(Date.now() + 52 * 3_600_000) } },
    { actorType: 'user', actorId: w.providerId },
  );
  const rowsSeconds = (performance.now() - t0) / 1000;
  await enqueueDeliveries(queues, 'sms', campaign.id, campaigns.pendingPages(campaign.id));
  const enqueueSeconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  const waiting = await queues.of('sms').getWaitingCount();
  await queues.close();
  if (waiting !== BIG || campaign.total !== BIG) throw new Error(`expected ${BIG} jobs, found ${waiting} (campaign total ${campaign.total})`);
  out(`campaign of ${campaign.total} recipients: rows written in ${rowsSeconds.toFixed(1)} s, all ${waiting} jobs queued after ${enqueueSeconds.toFixed(1)} s; peak RSS ${(peak / 1e6).toFixed(0)} MB (${(before / 1e6).toFixed(0)} MB before)`);
  return { recipients: campaign.total, rowsSeconds, enqueueSeconds, peakRssMb: peak / 1e6, rssBeforeMb: before / 1e6 };
}

const dir = mkdtempSync(path.join(tmpdir(), 'th-bench-rem-'));
const redisServer = await startEmbeddedRedis({ dir, appendOnly: false });
const redis = await connectRedis(redisServer.url);
const pgServer = args.db === 'postgres' ? await startTestPostgres() : undefined;
const db = pgServer === undefined ? await openPglite() : await openPostgres({ url: pgServer.url, poolMax: 10 });
const fake = args.phase === 'pipeline' ? await FakeTwilio.start() : undefined;
try {
  await migrate(db);
  const providerId = randomUUID();
  await db.query("INSERT INTO users (id, kind, role, username, display_name, status) VALUES ($1, 'staff', 'provider', $2, 'Bench provider', 'active')", [providerId, `bench-${providerId.slice(0, 8)}`]);
  const w: World = { db, redis, audit: createAuditLog(db), providerId };
  if (fake !== undefined) {
    const bareJobsPerSec = await bare(redis);
    const twilioSendsPerSec = await twilioAlone(fake);
    const pipelineJobsPerSec = await pipeline(w, fake);
    out(JSON.stringify({ engine: args.db, jobs: N, concurrency: CONCURRENCY, bareJobsPerSec, twilioSendsPerSec, pipelineJobsPerSec }));
  } else {
    out(JSON.stringify({ engine: args.db, ...(await enqueueBig(w)) }));
  }
} finally {
  await fake?.close();
  redis.disconnect();
  await redisServer.close();
  await db.close();
  await pgServer?.close();
  rmSync(dir, { recursive: true, force: true });
}
