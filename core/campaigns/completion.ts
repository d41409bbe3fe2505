/**
 * A running campaign becomes `completed` once none of its deliveries is queued or sending; a
 * dead-letter replay reopens a completed one (`running`) until the replayed deliveries settle.
 * Both happen inside the caller's transaction, next to the delivery change that caused them, and
 * are audited there.
 *
 * The campaign rows are locked (in id order) before the "anything still open?" check. Two
 * workers settling a campaign's last two deliveries at once would otherwise each see the other's
 * row still `sending` (uncommitted) and neither would complete it. With the lock, whoever checks
 * second waits for the first to commit and then sees its row final. The check is one probe of the
 * partial index deliveries_open_idx (migration 0010), whatever the campaign's size.
 */
import { AuditAction, AuditOutcome, actorFields, type AuditActor, type AuditEntryInput, type AuditLog } from '../audit/index.ts';
import type { Sql } from '../db/types.ts';

const SYSTEM = { actorType: 'system', actorId: 'reminders' } as const;

/** Completes those of `campaignIds` that are running with nothing left to send; returns their ids. */
export async function completeFinishedCampaigns(tx: Sql, audit: AuditLog, campaignIds: readonly string[]): Promise<string[]> {
  const ids = [...new Set(campaignIds)].sort();
  if (ids.length === 0) return [];
  await tx.query("SELECT id FROM campaigns WHERE id = ANY($1::uuid[]) AND status = 'running' ORDER BY id FOR UPDATE", [ids]);
  const done = await tx.query<{ id: string }>(
    `UPDATE campaigns c SET status = 'completed'
      WHERE c.id = ANY($1::uuid[]) AND c.status = 'running'
        AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.campaign_id = c.id AND d.state IN ('queued', 'sending'))
      RETURNING c.id`,
    [ids],
  );
  const entries: AuditEntryInput[] = done.map((r) => ({ ...SYSTEM, action: AuditAction.campaignComplete, resourceType: 'campaign', resourceId: r.id, outcome: AuditOutcome.success }));
  if (entries.length > 0) await audit.appendMany(entries, tx);
  return done.map((r) => r.id);
}

/** Sets a completed campaign running again (its failed deliveries were just re-queued); true if it was completed. */
export async function reopenCompletedCampaign(tx: Sql, audit: AuditLog, campaignId: string, actor: AuditActor): Promise<boolean> {
  const [row] = await tx.query<{ id: string }>("UPDATE campaigns SET status = 'running' WHERE id = $1 AND status = 'completed' RETURNING id", [campaignId]);
  if (row === undefined) return false;
  await audit.append({ ...actorFields(actor), action: AuditAction.campaignReopen, resourceType: 'campaign', resourceId: campaignId, outcome: AuditOutcome.success }, tx);
  return true;
}
