import { randomUUID } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { insertPatient, insertStaff, userCtx } from '../appointments/test-fixtures/rows.ts';
import { createAuditLog } from '../audit/index.ts';
import { connectRedis } from '../redis/connect.ts';
import { testDbPerTest } from '../../test/helpers/databases.ts';
import { completeFinishedCampaigns } from './completion.ts';
import { listDeadLetters, replayDeadLetters } from './dead-letters.ts';
import { jobIdFor, reminderQueues } from './queue.ts';
import { createCampaignStore } from './store.ts';
import { allPending } from './test-fixtures/pending.ts';

describe('reminder dead letters', () => {
  const open = testDbPerTest('pglite');

  it('lists failed deliveries with their reasons and replays them (row back to queued, job re-added, audited)', async () => {
    const { db } = await open();
    const audit = createAuditLog(db);
    const redis = await connectRedis(inject('redisUrl'));
    const queues = reminderQueues(redis, `{dl-${randomUUID().slice(0, 8)}}`);
    const queue = queues.of('sms');
    try {
      const scheduler = await insertStaff(db, 'scheduler');
      const provider = await insertStaff(db, 'provider');
      const ids: string[] = [];
      for (let i = 0; i < 2; i++) {
        const p = await insertPatient(db);
        const a = randomUUID();
        await db.query("INSERT INTO appointments (id, patient_id, provider_id, starts_at, ends_at) VALUES ($1, $2, $3, now() + interval '1 day', now() + interval '25 hours')", [a, p, provider]);
        ids.push(a);
      }
      const campaigns = createCampaignStore({ db, audit });
      const campaign = await campaigns.create({ channel: 'sms', purpose: 'appointment_reminders', templateId: randomUUID(), templateVersion: 1, selector: { kind: 'appointments', appointmentIds: ids } }, userCtx(scheduler));
      const deliveries = await allPending(campaigns, campaign.id);
      const [dead, fine] = deliveries;
      await db.query("UPDATE deliveries SET state = 'failed', reason = 'ambiguous_outcome' WHERE id = $1", [dead?.id]);
      expect((await listDeadLetters(db, campaign.id)).map((d) => [d.deliveryId, d.reason])).toEqual([[dead?.id, 'ambiguous_outcome']]);

      expect(await replayDeadLetters({ db, audit, queues }, { campaignId: campaign.id }, userCtx(scheduler))).toBe(1);
      expect(await listDeadLetters(db, campaign.id)).toEqual([]);
      const [row] = await db.query<{ state: string }>('SELECT state FROM deliveries WHERE id = $1', [dead?.id]);
      expect(row?.state).toBe('queued');
      expect(await queue.getJob(jobIdFor(dead?.id ?? ''))).toBeDefined();
      expect(await queue.getJob(jobIdFor(fine?.id ?? ''))).toBeUndefined();
      expect(await db.query("SELECT 1 FROM audit_log WHERE action = 'reminder.replay'")).toHaveLength(1);
      // Replaying again finds nothing to do.
      expect(await replayDeadLetters({ db, audit, queues }, { campaignId: campaign.id }, userCtx(scheduler))).toBe(0);

      // A completed campaign runs again while a replayed delivery is pending, and completes again once it settles.
      await db.query("UPDATE deliveries SET state = 'failed', reason = 'provider_refused' WHERE campaign_id = $1", [campaign.id]);
      await db.transaction((tx) => completeFinishedCampaigns(tx, audit, [campaign.id]));
      expect((await campaigns.progress(campaign.id))?.status).toBe('completed');
      expect(await replayDeadLetters({ db, audit, queues }, { deliveryIds: [fine?.id ?? ''] }, userCtx(scheduler))).toBe(1);
      expect((await campaigns.progress(campaign.id))?.status).toBe('running');
      const reopened = await db.query<{ actor_id: string; resource_id: string }>("SELECT actor_id, resource_id FROM audit_log WHERE action = 'campaign.reopen'");
      expect(reopened).toEqual([{ actor_id: scheduler, resource_id: campaign.id }]);
      await db.query("UPDATE deliveries SET state = 'sent' WHERE id = $1", [fine?.id]);
      expect(await db.transaction((tx) => completeFinishedCampaigns(tx, audit, [campaign.id]))).toEqual([campaign.id]);
      expect((await campaigns.progress(campaign.id))?.status).toBe('completed');
    } finally {
      await queue.obliterate({ force: true });
      await queues.close();
      redis.disconnect();
    }
  });
});
