/**
 * A campaign's dead letters over HTTP on the real identity stack and a real BullMQ queue: the
 * listing shows ids and reasons only, a replay touches only that campaign's failed deliveries
 * (audited, job back on its channel's queue), and an unknown campaign is a 404.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { createAuditLog } from '../../core/audit/index.ts';
import { insertPatient } from '../../core/appointments/test-fixtures/rows.ts';
import { jobIdFor, reminderQueues, type ReminderQueues } from '../../core/campaigns/queue.ts';
import { createCampaignStore } from '../../core/campaigns/store.ts';
import { allPending } from '../../core/campaigns/test-fixtures/pending.ts';
import { connectRedis, type Redis } from '../../core/redis/connect.ts';
import { identityPerTest } from '../../test/helpers/identity.ts';
import { deadLetterRoutes } from './dead-letter-routes.ts';

describe('campaign dead-letter routes', () => {
  let redis: Redis | undefined;
  beforeAll(async () => {
    redis = await connectRedis(inject('redisUrl'));
  });
  afterAll(() => redis?.disconnect());
  let queues: ReminderQueues | undefined;
  const harness = identityPerTest({}, (identity, { audit, db }) => {
    if (redis === undefined) throw new Error('no Redis connection');
    queues = reminderQueues(redis, `{dead-letters-${randomUUID()}}`);
    return [deadLetterRoutes({ db, audit, campaigns: createCampaignStore({ db, audit }), queues, sessionMw: identity.sessionMw, access: identity.access })];
  });
  afterEach(async () => {
    for (const channel of ['sms', 'email'] as const) await queues?.of(channel).obliterate({ force: true });
    await queues?.close();
    queues = undefined;
  });

  it('lists failed deliveries without patient data and replays only that campaign’s, audited, onto the channel’s queue', async () => {
    const h = harness();
    const scheduler = await h.seedStaff('scheduler');
    const provider = await h.seedStaff('provider');
    const { token } = await h.staffSession(scheduler);
    const campaigns = createCampaignStore({ db: h.db, audit: createAuditLog(h.db) });
    const ctx = { actorType: 'user', actorId: scheduler.id } as const;
    const campaignOf = async (channel: 'sms' | 'email') => {
      const appointmentIds: string[] = [];
      for (let i = 0; i < 2; i++) {
        const a = randomUUID();
        await h.db.query("INSERT INTO appointments (id, patient_id, provider_id, starts_at, ends_at) VALUES ($1, $2, $3, now() + interval '1 day', now() + interval '25 hours')", [a, await insertPatient(h.db), provider.id]);
        appointmentIds.push(a);
      }
      const campaign = await campaigns.create({ channel, purpose: 'appointment_reminders', templateId: randomUUID(), templateVersion: 1, selector: { kind: 'appointments', appointmentIds } }, ctx);
      return { campaign, deliveries: await allPending(campaigns, campaign.id) };
    };
    const mine = await campaignOf('email');
    const other = await campaignOf('sms');
    const [dead, fine] = mine.deliveries;
    const [otherDead] = other.deliveries;
    await h.db.query("UPDATE deliveries SET state = 'failed', reason = 'provider_refused', attempts = 3 WHERE id = ANY($1::uuid[])", [[dead?.id, otherDead?.id]]);

    const listed = await h.call('GET', `/campaigns/${mine.campaign.id}/dead-letters`, token);
    expect(listed.status).toBe(200);
    const body = (await listed.json()) as { deadLetters: Record<string, unknown>[] };
    expect(body.deadLetters).toEqual([{ deliveryId: dead?.id, channel: 'email', reason: 'provider_refused', attempts: 3, updatedAt: expect.any(String) as unknown }]);
    expect(JSON.stringify(body)).not.toContain(dead?.patientId);

    // Ids from another campaign, or not failed, are ignored.
    const replayed = await h.call('POST', `/campaigns/${mine.campaign.id}/replay`, token, { deliveryIds: [otherDead?.id, fine?.id, dead?.id] });
    expect(replayed.status).toBe(200);
    expect(await replayed.json()).toEqual({ replayed: 1 });
    expect(await queues?.of('email').getJob(jobIdFor(dead?.id ?? ''))).toBeDefined();
    expect(await queues?.of('sms').getJob(jobIdFor(otherDead?.id ?? ''))).toBeUndefined();
    const states = await h.db.query<{ id: string; state: string }>('SELECT id, state FROM deliveries WHERE id = ANY($1::uuid[]) ORDER BY id', [[dead?.id, otherDead?.id]]);
    expect(Object.fromEntries(states.map((r) => [r.id, r.state]))).toEqual({ [dead?.id ?? '']: 'queued', [otherDead?.id ?? '']: 'failed' });
    expect(await h.db.query("SELECT 1 FROM audit_log WHERE action = 'reminder.replay'")).toHaveLength(1);
    // Nothing left to replay; an unknown campaign is a 404.
    expect(await (await h.call('POST', `/campaigns/${mine.campaign.id}/replay`, token, {})).json()).toEqual({ replayed: 0 });
    expect((await h.call('GET', `/campaigns/${randomUUID()}/dead-letters`, token)).status).toBe(404);
  });
});
