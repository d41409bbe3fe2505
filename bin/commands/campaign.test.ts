// `telehealth campaign dead-letters|replay` in-process on both engines: the listing (ids only, no patient data),
// replay (row back to queued, job in the channel's queue, audited), and usage/configuration errors with exit 2.
import { randomUUID } from 'node:crypto';
import { freePort } from '../../core/net.ts';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { auditRows, insertPatient, insertStaff, userCtx } from '../../core/appointments/test-fixtures/rows.ts';
import { createAuditLog } from '../../core/audit/index.ts';
import { jobIdFor, reminderQueues, type ReminderQueues } from '../../core/campaigns/queue.ts';
import { createCampaignStore, type Channel } from '../../core/campaigns/store.ts';
import { allPending } from '../../core/campaigns/test-fixtures/pending.ts';
import type { Db, DbKind } from '../../core/db/types.ts';
import { StartupError } from '../../core/errors.ts';
import { connectRedis, type Redis } from '../../core/redis/connect.ts';
import { ENGINES } from '../../test/helpers/databases.ts';
import { runCli } from '../cli.ts';
import { campaignCommands } from './campaign.ts';
import { cliEnvPerTest } from './test-fixtures/patient-keys-cli.ts';

interface Seeded {
  readonly campaignId: string;
  readonly deliveryId: string;
  readonly patientId: string;
}

/** A one-recipient campaign on `channel` whose delivery then failed for good with `reason`. */
async function seedFailed(db: Db, channel: Channel, reason: string): Promise<Seeded> {
  const audit = createAuditLog(db);
  const scheduler = await insertStaff(db, 'scheduler');
  const provider = await insertStaff(db, 'provider');
  const patientId = await insertPatient(db);
  const appointmentId = randomUUID();
  await db.query("INSERT INTO appointments (id, patient_id, provider_id, starts_at, ends_at) VALUES ($1, $2, $3, now() + interval '1 day', now() + interval '25 hours')", [
    appointmentId,
    patientId,
    provider,
  ]);
  const campaigns = createCampaignStore({ db, audit });
  const campaign = await campaigns.create(
    { channel, purpose: 'appointment_reminders', templateId: randomUUID(), templateVersion: 1, selector: { kind: 'appointments', appointmentIds: [appointmentId] } },
    userCtx(scheduler),
  );
  const [delivery] = await allPending(campaigns, campaign.id);
  if (delivery === undefined) throw new Error('seedFailed: the campaign selected nobody');
  await db.query("UPDATE deliveries SET state = 'failed', reason = $2, attempts = 3 WHERE id = $1", [delivery.id, reason]);
  return { campaignId: campaign.id, deliveryId: delivery.id, patientId };
}

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString()));
  return { stream, text: () => text };
}

/** Through the real dispatcher (bin/cli.ts), which turns StartupError and parseArgs errors into exit 2. */
async function dispatch(argv: readonly string[], env: Readonly<Record<string, string>>): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = capture();
  const err = capture();
  const code = await runCli({ argv, stdout: out.stream, stderr: err.stream, env, interactive: false });
  return { code, stdout: out.text(), stderr: err.text() };
}

/** A port nothing listens on (bound, then closed). */
const deadPort = (): Promise<number> => freePort();

const deliveryState = async (db: Db, id: string): Promise<{ state: string; reason: string | null } | undefined> =>
  (await db.query<{ state: string; reason: string | null }>('SELECT state, reason FROM deliveries WHERE id = $1', [id]))[0];

// Every CLI run and every direct check reopens the database; PGlite opens take seconds on a busy machine.
describe.each(ENGINES)('telehealth campaign commands (%s)', { timeout: 90_000 }, (kind: DbKind) => {
  const cli = cliEnvPerTest(kind, campaignCommands);
  let prefix = '';
  let redis: Redis | undefined;
  let queues: ReminderQueues | undefined;

  beforeEach(async () => {
    // Each test owns its queues: a fresh hash-tag prefix, obliterated afterwards.
    prefix = `{cli-${randomUUID().slice(0, 8)}}`;
    redis = await connectRedis(inject('redisUrl'));
    queues = reminderQueues(redis, prefix);
  });
  afterEach(async () => {
    if (queues) {
      await queues.of('sms').obliterate({ force: true });
      await queues.of('email').obliterate({ force: true });
      await queues.close();
    }
    redis?.disconnect();
    queues = undefined;
    redis = undefined;
  });
  const q = (): ReminderQueues => {
    if (!queues) throw new Error('queues used outside a test');
    return queues;
  };

  it('lists failed deliveries by id only, as a table or JSON, for every campaign or one', async () => {
    const t = cli();
    expect(await t.run(['campaign', 'dead-letters'])).toEqual({ code: 0, stdout: 'no failed deliveries\n', stderr: '' });
    expect(await t.run(['campaign', 'dead-letters', '--json'])).toEqual({ code: 0, stdout: '[]\n', stderr: '' });

    const [a, b] = await t.direct(async (db) => [await seedFailed(db, 'sms', 'ambiguous_outcome'), await seedFailed(db, 'email', 'provider_refused')] as const);
    const lineA = new RegExp(`^${a.deliveryId} +${a.campaignId} +sms +ambiguous_outcome +3$`, 'm');
    const lineB = new RegExp(`^${b.deliveryId} +${b.campaignId} +email +provider_refused +3$`, 'm');

    const all = await t.run(['campaign', 'dead-letters']);
    expect(all.code).toBe(0);
    const lines = all.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^delivery +campaign +channel +reason +attempts$/);
    expect(all.stdout).toMatch(lineA);
    expect(all.stdout).toMatch(lineB);
    // Ids and reasons only: not even the patient id reaches the operator's terminal.
    expect(all.stdout).not.toContain(a.patientId);
    expect(all.stdout).not.toContain(b.patientId);

    const onlyA = await t.run(['campaign', 'dead-letters', '--campaign', a.campaignId]);
    expect(onlyA.stdout).toMatch(lineA);
    expect(onlyA.stdout).not.toContain(b.deliveryId);
    expect(onlyA.stdout.trimEnd().split('\n')).toHaveLength(2);

    const json = await t.run(['campaign', 'dead-letters', '--campaign', b.campaignId, '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual([
      { deliveryId: b.deliveryId, campaignId: b.campaignId, channel: 'email', reason: 'provider_refused', attempts: 3, updatedAt: expect.any(String) as unknown },
    ]);
    const allJson = await t.run(['campaign', 'dead-letters', '--json']);
    const parsed = JSON.parse(allJson.stdout) as { deliveryId: string }[];
    expect(parsed.map((r) => r.deliveryId).sort()).toEqual([a.deliveryId, b.deliveryId].sort());
    expect(allJson.stdout).not.toContain(a.patientId);

    // A campaign with nothing failed lists nothing, not everything.
    expect((await t.run(['campaign', 'dead-letters', '--campaign', randomUUID()])).stdout).toBe('no failed deliveries\n');
  });

  it('replays a campaign (row queued, job in its channel queue, audited) and then finds nothing; replays single deliveries', async () => {
    const t = cli();
    Object.assign(t.env, { REDIS_URL: inject('redisUrl'), QUEUE_PREFIX: prefix });
    const [a, b] = await t.direct(async (db) => [await seedFailed(db, 'sms', 'ambiguous_outcome'), await seedFailed(db, 'email', 'provider_refused')] as const);

    expect(await t.run(['campaign', 'replay', '--campaign', a.campaignId])).toEqual({ code: 0, stdout: '1 deliveries queued again\n', stderr: '' });
    await t.direct(async (db) => {
      expect(await deliveryState(db, a.deliveryId)).toEqual({ state: 'queued', reason: null });
      expect(await deliveryState(db, b.deliveryId)).toEqual({ state: 'failed', reason: 'provider_refused' });
      expect(await auditRows(db, 'reminder.replay')).toEqual([
        expect.objectContaining({ actor_type: 'system', actor_id: 'cli', outcome: 'success', resource_id: a.deliveryId, patient_id: a.patientId, details: { campaignId: a.campaignId } }),
      ]);
    });
    const job = await q().of('sms').getJob(jobIdFor(a.deliveryId));
    expect(job?.data).toEqual({ deliveryId: a.deliveryId, campaignId: a.campaignId });
    expect(await q().of('email').getJob(jobIdFor(a.deliveryId))).toBeUndefined();
    expect(await q().of('email').getJob(jobIdFor(b.deliveryId))).toBeUndefined();

    // Nothing failed any more in that campaign: nothing queued, nothing audited.
    expect(await t.run(['campaign', 'replay', '--campaign', a.campaignId])).toEqual({ code: 0, stdout: '0 deliveries queued again\n', stderr: '' });
    expect(await t.direct((db) => auditRows(db, 'reminder.replay'))).toHaveLength(1);

    expect((await t.run(['campaign', 'replay', '--delivery', b.deliveryId])).stdout).toBe('1 deliveries queued again\n');
    expect((await q().of('email').getJob(jobIdFor(b.deliveryId)))?.data).toEqual({ deliveryId: b.deliveryId, campaignId: b.campaignId });
    expect(await q().of('sms').getJob(jobIdFor(b.deliveryId))).toBeUndefined();
    expect(await t.run(['campaign', 'dead-letters'])).toMatchObject({ code: 0, stdout: 'no failed deliveries\n' });
    expect(await t.direct((db) => auditRows(db, 'reminder.replay'))).toHaveLength(2);
  });

  it('answers usage and configuration errors with exit 2 and a message naming the option, changing nothing', async () => {
    const t = cli();
    const withRedis = { ...t.env, REDIS_URL: inject('redisUrl'), QUEUE_PREFIX: prefix };
    const a = await t.direct((db) => seedFailed(db, 'sms', 'ambiguous_outcome'));

    const badCampaign = await dispatch(['campaign', 'dead-letters', '--campaign', 'not-a-uuid'], t.env);
    expect(badCampaign).toEqual({ code: 2, stdout: '', stderr: 'telehealth: --campaign must be a UUID\n' });
    // Without the dispatcher the command throws the StartupError the dispatcher maps to exit 2.
    await expect(t.run(['campaign', 'dead-letters', '--campaign', 'not-a-uuid'])).rejects.toThrow(StartupError);

    const neither = await dispatch(['campaign', 'replay'], withRedis);
    expect(neither).toMatchObject({ code: 2, stderr: expect.stringMatching(/give either --campaign or one or more --delivery/) as unknown });
    const both = await dispatch(['campaign', 'replay', '--campaign', a.campaignId, '--delivery', a.deliveryId], withRedis);
    expect(both).toMatchObject({ code: 2, stderr: expect.stringMatching(/give either --campaign or one or more --delivery/) as unknown });
    expect((await dispatch(['campaign', 'replay', '--campaign', 'Jane Doe'], withRedis)).stderr).toMatch(/--campaign must be a UUID/);
    expect((await dispatch(['campaign', 'replay', '--delivery', a.deliveryId, '--delivery', 'x'], withRedis)).stderr).toMatch(/--delivery must be a UUID/);
    const bogus = await dispatch(['campaign', 'replay', '--bogus'], withRedis);
    expect(bogus).toMatchObject({ code: 2, stderr: expect.stringMatching(/Unknown option '--bogus'[\s\S]*telehealth campaign replay --help/) as unknown });

    const noRedis = await dispatch(['campaign', 'replay', '--campaign', a.campaignId], t.env);
    expect(noRedis).toMatchObject({ code: 2, stdout: '', stderr: expect.stringMatching(/^telehealth: replay needs REDIS_URL/) as unknown });

    await t.direct(async (db) => {
      expect(await deliveryState(db, a.deliveryId)).toEqual({ state: 'failed', reason: 'ambiguous_outcome' });
      expect(await auditRows(db, 'reminder.replay')).toEqual([]);
    });
    expect(await q().of('sms').getJobCounts()).toMatchObject({ waiting: 0, delayed: 0, failed: 0 });
  });

  it('reports an unreachable Redis with exit 2 naming REDIS_URL, and leaves the database closed and unchanged', async () => {
    const t = cli();
    const a = await t.direct((db) => seedFailed(db, 'sms', 'ambiguous_outcome'));
    const res = await dispatch(['campaign', 'replay', '--campaign', a.campaignId], { ...t.env, REDIS_URL: `redis://127.0.0.1:${await deadPort()}`, QUEUE_PREFIX: prefix });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+[\s\S]*Check REDIS_URL/);
    // The command let go of the database: PGlite's directory lock is free again (a second opener
    // would fail otherwise) and no CLI connection is left on PostgreSQL.
    await t.direct(async (db) => {
      expect(await deliveryState(db, a.deliveryId)).toEqual({ state: 'failed', reason: 'ambiguous_outcome' });
      if (kind === 'postgres') {
        await expect
          .poll(async () => (await db.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'telehealth-cli'"))[0]?.n)
          .toBe(0);
      }
    });
  });
});

describe('telehealth campaign --help', () => {
  it('prints each command\'s usage with exit 0, and the overview lists both', async () => {
    const replay = await dispatch(['campaign', 'replay', '--help'], {});
    expect(replay.code).toBe(0);
    expect(replay.stdout).toMatch(/^Usage: telehealth campaign replay --campaign <id> \| --delivery <id>/);
    expect(replay.stdout).toMatch(/ambiguous_outcome/);
    const deadLetters = await dispatch(['campaign', 'dead-letters', '-h'], {});
    expect(deadLetters).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Usage: telehealth campaign dead-letters \[--campaign <id>\] \[--json\]/) as unknown });
    const overview = await dispatch(['--help'], {});
    expect(overview.stdout).toMatch(/^ {2}campaign dead-letters +list reminder deliveries that failed/m);
    expect(overview.stdout).toMatch(/^ {2}campaign replay +send failed reminder deliveries again/m);
  });
});
