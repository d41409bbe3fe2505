/**
 * The delivery rows as the reminder processor reads and moves them, batched across the jobs a
 * worker runs at once. Each operation is one statement (or, for outcomes, one transaction) per
 * group of concurrent jobs, not per job: on PGlite every statement is a round trip to one thread
 * and the audit chain lock serializes every writer, so per-job transactions would cap a worker at
 * a few hundred deliveries a second (core/batch/group-batcher.ts explains the grouping).
 *
 * The guarantees are per row, exactly as if each job ran alone:
 *   - `claim` moves a row `queued` → `sending` (the idempotency record) and commits BEFORE the
 *     provider is called; a row claimed by someone else answers false.
 *   - `settle` moves a row to its outcome only from the state the caller saw (`sent` only from
 *     `sending`; skipped/failed from `queued` or `sending`) and appends its audit record in the
 *     same transaction: a row that did not move gets no record. A delivery twice in one group
 *     (a stalled job re-run beside the original) moves, and is audited, once.
 */
import { AuditAction, AuditOutcome, type AuditEntryInput, type AuditLog } from '../../core/audit/index.ts';
import { createGroupBatcher, type GroupBatcher, type Outcome } from '../../core/batch/group-batcher.ts';
import { completeFinishedCampaigns } from '../../core/campaigns/completion.ts';
import type { Campaign, Channel, DeliveryState } from '../../core/campaigns/store.ts';
import type { Db } from '../../core/db/types.ts';
import type { Logger } from '../../core/log/logger.ts';

export interface DeliveryRow {
  readonly id: string;
  readonly campaignId: string;
  readonly patientId: string;
  readonly appointmentId: string;
  readonly channel: Channel;
  readonly state: DeliveryState;
  readonly sendStartedAt: Date | null;
  readonly campaignStatus: string;
  readonly purpose: Campaign['purpose'];
  readonly templateId: string;
  readonly templateVersion: number;
  readonly appointmentStatus: string;
  readonly startsAt: Date;
}

/** What is recorded with the claim: the evidence for why and what is being sent. */
export interface ClaimEvidence {
  readonly at: Date;
  readonly consentRecordId: string;
  readonly consentVersion: number;
  readonly templateHash: string;
  readonly bodyHash: string;
}

export type Settlement =
  | { readonly state: 'sent'; readonly providerMessageId: string }
  | { readonly state: 'skipped' | 'failed'; readonly reason: string };

export interface SettleInput {
  readonly row: Pick<DeliveryRow, 'id' | 'campaignId' | 'patientId' | 'channel'>;
  readonly outcome: Settlement;
  /** Audit details beyond campaign, channel, reason and provider id (consent and template evidence). */
  readonly details?: Readonly<Record<string, string | number>>;
}

export interface DeliveryRows {
  load(id: string): Promise<DeliveryRow | null>;
  claim(id: string, evidence: ClaimEvidence): Promise<boolean>;
  /** True when the row moved (and was audited); false when it had already moved on. */
  settle(input: SettleInput): Promise<boolean>;
  /** A `sending` row back to `queued` (the provider certainly does not have it). */
  requeue(id: string): Promise<void>;
}

interface LoadRow {
  id: string;
  campaign_id: string;
  patient_id: string;
  appointment_id: string;
  channel: Channel;
  state: DeliveryState;
  send_started_at: Date | null;
  campaign_status: string;
  purpose: Campaign['purpose'];
  template_id: string;
  template_version: number;
  appt_status: string;
  starts_at: Date;
}

const ok = <O>(value: O): Outcome<O> => ({ ok: true, value });

/** Marks the first occurrence of each id in `ids` that is in `moved`; later duplicates get false. */
function firstMoved(ids: readonly string[], moved: ReadonlySet<string>): boolean[] {
  const seen = new Set<string>();
  return ids.map((id) => {
    if (!moved.has(id) || seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

export function createDeliveryRows(deps: { readonly db: Db; readonly audit: AuditLog; readonly log?: Logger; readonly maxBatch?: number }): DeliveryRows {
  const { db, audit } = deps;
  const batch = <I, O>(name: string, commit: (items: readonly I[]) => Promise<readonly Outcome<O>[]>): GroupBatcher<I, O> =>
    createGroupBatcher<I, O>({
      commit,
      maxBatch: deps.maxBatch ?? 128,
      onGroupError: (err, items) => deps.log?.warn({ err, op: name, size: items.length }, 'reminder batch failed; retrying its items one by one'),
    });

  const loads = batch<string, DeliveryRow | null>('load', async (ids) => {
    const rows = await db.query<LoadRow>(
      `SELECT d.id, d.campaign_id, d.patient_id, d.appointment_id, d.channel, d.state, d.send_started_at,
              c.status AS campaign_status, c.purpose, c.template_id, c.template_version, a.status AS appt_status, a.starts_at
         FROM deliveries d JOIN campaigns c ON c.id = d.campaign_id JOIN appointments a ON a.id = d.appointment_id
        WHERE d.id = ANY($1::uuid[])`,
      [[...new Set(ids)]],
    );
    const byId = new Map(
      rows.map((r): [string, DeliveryRow] => [
        r.id,
        {
          id: r.id,
          campaignId: r.campaign_id,
          patientId: r.patient_id,
          appointmentId: r.appointment_id,
          channel: r.channel,
          state: r.state,
          sendStartedAt: r.send_started_at,
          campaignStatus: r.campaign_status,
          purpose: r.purpose,
          templateId: r.template_id,
          templateVersion: r.template_version,
          appointmentStatus: r.appt_status,
          startsAt: r.starts_at,
        },
      ]),
    );
    return ids.map((id) => ok(byId.get(id) ?? null));
  });

  const claims = batch<{ id: string; evidence: ClaimEvidence }, boolean>('claim', async (items) => {
    const moved = await db.query<{ id: string }>(
      `UPDATE deliveries d
          SET state = 'sending', attempts = d.attempts + 1, send_started_at = t.at, consent_record_id = t.consent_record_id,
              consent_version = t.consent_version, template_hash = t.template_hash, body_hash = t.body_hash, updated_at = now()
         FROM unnest($1::uuid[], $2::timestamptz[], $3::uuid[], $4::int[], $5::text[], $6::text[])
              AS t(id, at, consent_record_id, consent_version, template_hash, body_hash)
        WHERE d.id = t.id AND d.state = 'queued'
        RETURNING d.id`,
      [
        items.map((i) => i.id),
        items.map((i) => i.evidence.at),
        items.map((i) => i.evidence.consentRecordId),
        items.map((i) => i.evidence.consentVersion),
        items.map((i) => i.evidence.templateHash),
        items.map((i) => i.evidence.bodyHash),
      ],
    );
    return firstMoved(items.map((i) => i.id), new Set(moved.map((r) => r.id))).map(ok);
  });

  const settles = batch<SettleInput, boolean>('settle', (items) =>
    db.transaction(async (tx) => {
      const moved = await tx.query<{ id: string }>(
        `UPDATE deliveries d
            SET state = t.state, reason = t.reason, provider_message_id = coalesce(t.provider_message_id, d.provider_message_id), updated_at = now()
           FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) AS t(id, state, reason, provider_message_id)
          WHERE d.id = t.id AND (d.state = 'sending' OR (t.state <> 'sent' AND d.state = 'queued'))
          RETURNING d.id`,
        [
          items.map((i) => i.row.id),
          items.map((i) => i.outcome.state),
          items.map((i) => (i.outcome.state === 'sent' ? null : i.outcome.reason)),
          items.map((i) => (i.outcome.state === 'sent' ? i.outcome.providerMessageId : null)),
        ],
      );
      const movedFlags = firstMoved(items.map((i) => i.row.id), new Set(moved.map((r) => r.id)));
      const entries: AuditEntryInput[] = [];
      items.forEach((item, k) => {
        if (movedFlags[k] === true) entries.push(auditEntry(item));
      });
      await audit.appendMany(entries, tx);
      await completeFinishedCampaigns(tx, audit, items.filter((_, k) => movedFlags[k] === true).map((i) => i.row.campaignId));
      return movedFlags.map(ok);
    }),
  );

  return {
    load: (id) => loads.submit(id),
    claim: (id, evidence) => claims.submit({ id, evidence }),
    settle: (input) => settles.submit(input),
    async requeue(id) {
      await db.query("UPDATE deliveries SET state = 'queued', updated_at = now() WHERE id = $1 AND state = 'sending'", [id]);
    },
  };
}

function auditEntry({ row, outcome, details }: SettleInput): AuditEntryInput {
  const ids = { campaignId: row.campaignId, channel: row.channel };
  const base = { actorType: 'system', actorId: 'reminders', resourceType: 'delivery', resourceId: row.id, patientId: row.patientId } as const;
  if (outcome.state === 'sent') {
    return { ...base, action: AuditAction.reminderSent, outcome: AuditOutcome.success, details: { ...ids, providerMessageId: outcome.providerMessageId, ...details } };
  }
  const skipped = outcome.state === 'skipped';
  return {
    ...base,
    action: skipped ? AuditAction.reminderSkipped : AuditAction.reminderFailed,
    outcome: skipped ? AuditOutcome.denied : AuditOutcome.failure,
    details: { ...ids, reason: outcome.reason, ...details },
  };
}
