/**
 * Reminder campaigns and their deliveries (core/db/migrations/0007_campaigns.sql). Creating a
 * campaign picks its appointments (a time window, optionally one provider's, or an explicit
 * list), keeps scheduled ones, and writes one delivery row per (patient, channel) — the first
 * appointment a patient has in the selection — in the same transaction as the audit record.
 * The selection and the rows stay inside the database (one INSERT … SELECT), and enqueueing reads
 * them back in pages by id, so a 100,000-recipient campaign is a handful of statements and never
 * a 100,000-element list in the gateway. Progress is a count by state and reason. Ids only in
 * the audit.
 */
import { randomUUID } from 'node:crypto';
import { AuditAction, AuditOutcome, actorFields, type AuditActor, type AuditLog } from '../audit/index.ts';
import type { Db } from '../db/types.ts';
import { completeFinishedCampaigns } from './completion.ts';
import { AppError, ErrorCode } from '../errors.ts';

export const Channel = { sms: 'sms', email: 'email' } as const;
export type Channel = (typeof Channel)[keyof typeof Channel];
export const CampaignStatus = { running: 'running', paused: 'paused', cancelled: 'cancelled', completed: 'completed' } as const;
export type CampaignStatus = (typeof CampaignStatus)[keyof typeof CampaignStatus];
export const DeliveryState = {
  queued: 'queued',
  sending: 'sending',
  sent: 'sent',
  delivered: 'delivered',
  skipped: 'skipped',
  failed: 'failed',
  undelivered: 'undelivered',
} as const;
export type DeliveryState = (typeof DeliveryState)[keyof typeof DeliveryState];

export type Selector =
  /** Appointments starting in [from, to), optionally only one provider's and/or one clinic's. */
  | { readonly kind: 'window'; readonly from: Date; readonly to: Date; readonly providerId?: string; readonly clinicId?: string }
  | { readonly kind: 'appointments'; readonly appointmentIds: readonly string[] };

export interface CampaignInput {
  readonly channel: Channel;
  readonly purpose: 'appointment_reminders' | 'general_outreach';
  readonly templateId: string;
  readonly templateVersion: number;
  readonly selector: Selector;
}

export interface Campaign {
  readonly id: string;
  readonly channel: Channel;
  readonly purpose: CampaignInput['purpose'];
  readonly templateId: string;
  readonly templateVersion: number;
  readonly status: CampaignStatus;
  readonly total: number;
  readonly createdAt: Date;
}

export interface NewDelivery {
  readonly id: string;
  readonly patientId: string;
}

export interface Progress {
  readonly campaignId: string;
  readonly status: CampaignStatus;
  readonly total: number;
  /** Deliveries per state (all states present, zero when none). */
  readonly states: Readonly<Record<DeliveryState, number>>;
  /** Skipped and failed deliveries per reason. */
  readonly reasons: Readonly<Record<string, number>>;
}

export const CAMPAIGN_LIMITS = { maxRecipients: 200_000, maxWindowMs: 92 * 86_400_000, maxExplicit: 10_000, pageSize: 1_000 } as const;

/** A campaigns row (id … created_at); shared with the gateway's report reads. */
export interface CampaignRow {
  id: string;
  channel: Channel;
  purpose: CampaignInput['purpose'];
  template_id: string;
  template_version: number;
  status: CampaignStatus;
  total: number;
  created_at: Date;
}

export const toCampaign = (r: CampaignRow): Campaign => ({
  id: r.id,
  channel: r.channel,
  purpose: r.purpose,
  templateId: r.template_id,
  templateVersion: r.template_version,
  status: r.status,
  total: r.total,
  createdAt: r.created_at,
});

/** The selection as SQL: the earliest scheduled appointment per patient in it (validated first). */
function targets(s: Selector): { readonly sql: string; readonly params: unknown[] } {
  if (s.kind === 'window') {
    if (!(s.to.getTime() > s.from.getTime()) || s.to.getTime() - s.from.getTime() > CAMPAIGN_LIMITS.maxWindowMs) {
      throw new AppError(400, ErrorCode.validation, `the window must end after it starts and span at most ${CAMPAIGN_LIMITS.maxWindowMs / 86_400_000} days`);
    }
    return {
      sql: `SELECT DISTINCT ON (patient_id) patient_id, id AS appointment_id FROM appointments
             WHERE status = 'scheduled' AND starts_at >= $1 AND starts_at < $2 AND ($3::uuid IS NULL OR provider_id = $3)
               AND ($4::uuid IS NULL OR clinic_id = $4)
             ORDER BY patient_id, starts_at, id`,
      params: [s.from, s.to, s.providerId ?? null, s.clinicId ?? null],
    };
  }
  if (s.appointmentIds.length === 0 || s.appointmentIds.length > CAMPAIGN_LIMITS.maxExplicit) {
    throw new AppError(400, ErrorCode.validation, `list between 1 and ${CAMPAIGN_LIMITS.maxExplicit} appointments`);
  }
  return {
    sql: `SELECT DISTINCT ON (patient_id) patient_id, id AS appointment_id FROM appointments
           WHERE status = 'scheduled' AND id = ANY($1::uuid[]) ORDER BY patient_id, starts_at, id`,
    params: [s.appointmentIds],
  };
}

export interface CampaignStore {
  /**
   * Selects the recipients and writes the campaign and one `queued` delivery per recipient in one
   * transaction, inside the database (no recipient list passes through this process, so a
   * 200,000-recipient campaign costs no more memory here than a small one). Enqueue with
   * `pendingPages`. 400 when the selection is invalid or too large.
   */
  create(input: CampaignInput, ctx: AuditActor): Promise<Campaign>;
  get(id: string): Promise<Campaign | null>;
  progress(id: string): Promise<Progress | null>;
  /** Pause, resume or cancel; audited. 409 when the change makes no sense (resume a cancelled one). */
  setStatus(id: string, status: 'running' | 'paused' | 'cancelled', ctx: AuditActor): Promise<Campaign>;
  /**
   * Deliveries still to be worked on (queued, or sending and waiting for reconciliation), in pages
   * of at most `pageSize` by id, for enqueueing (a job per delivery; adding one twice adds nothing).
   */
  pendingPages(id: string, pageSize?: number): AsyncIterable<NewDelivery[]>;
}

export function createCampaignStore(deps: { readonly db: Db; readonly audit: AuditLog }): CampaignStore {
  const { db, audit } = deps;
  const get = async (id: string): Promise<Campaign | null> => {
    const [r] = await db.query<CampaignRow>('SELECT id, channel, purpose, template_id, template_version, status, total, created_at FROM campaigns WHERE id = $1', [id]);
    return r === undefined ? null : toCampaign(r);
  };

  return {
    get,

    async create(input, ctx) {
      const createdBy = ctx.actorId;
      if (typeof createdBy !== 'string') throw new TypeError('a campaign needs a user actor');
      const selection = targets(input.selector);
      return db.transaction(async (tx) => {
        const id = randomUUID();
        await tx.query(
          'INSERT INTO campaigns (id, channel, purpose, template_id, template_version, created_by, total) VALUES ($1, $2, $3, $4, $5, $6, 0)',
          [id, input.channel, input.purpose, input.templateId, input.templateVersion, createdBy],
        );
        const k = selection.params.length;
        const [counted] = await tx.query<{ n: number }>(
          `WITH selected AS (${selection.sql}),
                inserted AS (INSERT INTO deliveries (id, campaign_id, patient_id, appointment_id, channel)
                             SELECT gen_random_uuid(), $${k + 1}, patient_id, appointment_id, $${k + 2} FROM selected RETURNING 1)
           SELECT count(*)::int AS n FROM inserted`,
          [...selection.params, id, input.channel],
        );
        const total = counted?.n ?? 0;
        // Thrown inside the transaction: the rows just written roll back with it.
        if (total > CAMPAIGN_LIMITS.maxRecipients) throw new AppError(400, ErrorCode.validation, `at most ${CAMPAIGN_LIMITS.maxRecipients} recipients per campaign`);
        await tx.query('UPDATE campaigns SET total = $2 WHERE id = $1', [id, total]);
        await audit.append(
          {
            ...actorFields(ctx),
            action: AuditAction.campaignCreate,
            resourceType: 'campaign',
            resourceId: id,
            outcome: AuditOutcome.success,
            details: { channel: input.channel, purpose: input.purpose, templateId: input.templateId, templateVersion: input.templateVersion, recipients: total },
          },
          tx,
        );
        const [row] = await tx.query<CampaignRow>('SELECT id, channel, purpose, template_id, template_version, status, total, created_at FROM campaigns WHERE id = $1', [id]);
        if (row === undefined) throw new Error('campaign vanished inside its own transaction');
        return toCampaign(row);
      });
    },

    async progress(id) {
      const c = await get(id);
      if (c === null) return null;
      const rows = await db.query<{ state: DeliveryState; reason: string | null; n: number }>(
        'SELECT state, reason, count(*)::int AS n FROM deliveries WHERE campaign_id = $1 GROUP BY state, reason',
        [id],
      );
      const states = Object.fromEntries(Object.values(DeliveryState).map((s) => [s, 0])) as Record<DeliveryState, number>;
      const reasons: Record<string, number> = {};
      for (const r of rows) {
        states[r.state] += r.n;
        if (r.reason !== null) reasons[r.reason] = (reasons[r.reason] ?? 0) + r.n;
      }
      return { campaignId: id, status: c.status, total: c.total, states, reasons };
    },

    async setStatus(id, status, ctx) {
      return db.transaction(async (tx) => {
        const [r] = await tx.query<{ status: CampaignStatus }>('SELECT status FROM campaigns WHERE id = $1 FOR UPDATE', [id]);
        if (r === undefined) throw new AppError(404, ErrorCode.notFound, 'No such campaign');
        if (r.status === status) {
          // Inside the transaction: on PGlite a read outside it would wait for it (a deadlock).
          const [same] = await tx.query<CampaignRow>('SELECT id, channel, purpose, template_id, template_version, status, total, created_at FROM campaigns WHERE id = $1', [id]);
          if (same === undefined) throw new AppError(404, ErrorCode.notFound, 'No such campaign');
          return toCampaign(same);
        }
        if (r.status === 'cancelled' || r.status === 'completed') throw new AppError(409, ErrorCode.conflict, `The campaign is ${r.status}; it cannot change any more`);
        await tx.query('UPDATE campaigns SET status = $2 WHERE id = $1', [id, status]);
        const action = status === 'paused' ? AuditAction.campaignPause : status === 'running' ? AuditAction.campaignResume : AuditAction.campaignCancel;
        await audit.append({ ...actorFields(ctx), action, resourceType: 'campaign', resourceId: id, outcome: AuditOutcome.success }, tx);
        // Resumed with nothing left to send (its last deliveries settled while it was paused): done.
        if (status === 'running') await completeFinishedCampaigns(tx, audit, [id]);
        const [row] = await tx.query<CampaignRow>('SELECT id, channel, purpose, template_id, template_version, status, total, created_at FROM campaigns WHERE id = $1', [id]);
        if (row === undefined) throw new AppError(404, ErrorCode.notFound, 'No such campaign');
        return toCampaign(row);
      });
    },

    async *pendingPages(id, pageSize = CAMPAIGN_LIMITS.pageSize) {
      let after = '00000000-0000-0000-0000-000000000000';
      for (;;) {
        const rows = await db.query<{ id: string; patient_id: string }>(
          "SELECT id, patient_id FROM deliveries WHERE campaign_id = $1 AND id > $2 AND state IN ('queued', 'sending') ORDER BY id LIMIT $3",
          [id, after, pageSize],
        );
        if (rows.length > 0) yield rows.map((r) => ({ id: r.id, patientId: r.patient_id }));
        const last = rows.at(-1);
        if (last === undefined || rows.length < pageSize) return;
        after = last.id;
      }
    },
  };
}
