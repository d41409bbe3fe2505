/**
 * The dead-letter view of reminder delivery and its replay. A delivery that failed for good
 * (`failed`: the provider refused it, or an ambiguous outcome a person must check) stays in the
 * table with its reason; its BullMQ job stays in the failed set. Replaying after the cause is
 * fixed (a corrected number, a provider outage confirmed as "not sent") puts the row back to
 * `queued` and retries the job, audited `reminder.replay`; the processor then re-checks consent,
 * appointment and quiet hours as for any first attempt.
 */
import { AuditAction, AuditOutcome, actorFields, type AuditActor, type AuditLog } from '../audit/index.ts';
import type { Db } from '../db/types.ts';
import { JOB_OPTIONS, jobIdFor, type ReminderQueues } from './queue.ts';
import { reopenCompletedCampaign } from './completion.ts';
import type { Channel } from './store.ts';

export interface DeadLetter {
  readonly deliveryId: string;
  readonly campaignId: string;
  readonly channel: string;
  readonly reason: string | null;
  readonly attempts: number;
  readonly updatedAt: Date;
}

export async function listDeadLetters(db: Db, campaignId?: string, limit = 500): Promise<DeadLetter[]> {
  const rows = await db.query<{ id: string; campaign_id: string; channel: string; reason: string | null; attempts: number; updated_at: Date }>(
    `SELECT id, campaign_id, channel, reason, attempts, updated_at FROM deliveries
      WHERE state = 'failed' AND ($1::uuid IS NULL OR campaign_id = $1) ORDER BY updated_at, id LIMIT $2`,
    [campaignId ?? null, limit],
  );
  return rows.map((r) => ({ deliveryId: r.id, campaignId: r.campaign_id, channel: r.channel, reason: r.reason, attempts: r.attempts, updatedAt: r.updated_at }));
}

/**
 * Re-queues failed deliveries: all of a campaign's, or the given ids (only those of `campaignId`
 * when both are given); returns how many.
 */
export async function replayDeadLetters(deps: { db: Db; audit: AuditLog; queues: ReminderQueues }, sel: { campaignId?: string; deliveryIds?: readonly string[] }, ctx: AuditActor): Promise<number> {
  const ids = sel.deliveryIds ?? (await listDeadLetters(deps.db, sel.campaignId, 100_000)).map((d) => d.deliveryId);
  let n = 0;
  for (const id of ids) {
    const moved = await deps.db.transaction(async (tx) => {
      const [row] = await tx.query<{ campaign_id: string; patient_id: string; channel: Channel }>(
        `UPDATE deliveries SET state = 'queued', reason = NULL, updated_at = now()
          WHERE id = $1 AND state = 'failed' AND ($2::uuid IS NULL OR campaign_id = $2) RETURNING campaign_id, patient_id, channel`,
        [id, sel.campaignId ?? null],
      );
      if (row === undefined) return undefined;
      await deps.audit.append(
        { ...actorFields(ctx), action: AuditAction.reminderReplay, resourceType: 'delivery', resourceId: id, patientId: row.patient_id, outcome: AuditOutcome.success, details: { campaignId: row.campaign_id } },
        tx,
      );
      // A completed campaign runs again until the replayed delivery settles (and completes it again).
      await reopenCompletedCampaign(tx, deps.audit, row.campaign_id, ctx);
      return row;
    });
    if (moved === undefined) continue;
    const queue = deps.queues.of(moved.channel);
    const job = await queue.getJob(jobIdFor(id));
    if (job !== undefined && (await job.isFailed())) await job.retry('failed');
    else if (job === undefined) await queue.add('remind', { deliveryId: id, campaignId: moved.campaign_id }, { ...JOB_OPTIONS, jobId: jobIdFor(id) });
    n++;
  }
  return n;
}
