/**
 * Read-only views of campaigns for the scheduler's console: the list of campaigns, newest first,
 * each with its delivery counts by state (one grouped statement for the page, on the
 * (campaign_id, state) index), and a campaign's delivery report, one row per delivery in pages by
 * id (the (campaign_id, id) index of migration 0009). Ids, states and reasons only: no patient id,
 * no address, no message — the same minimum the dead-letter view shows. The console builds its CSV
 * export from these pages.
 */
import { DeliveryState, toCampaign, type Campaign, type CampaignRow, type Channel } from '../../core/campaigns/store.ts';
import type { Db } from '../../core/db/types.ts';

export interface CampaignSummary extends Campaign {
  /** Deliveries per state (all states present, zero when none). */
  readonly states: Readonly<Record<DeliveryState, number>>;
}

export interface DeliveryReportRow {
  readonly deliveryId: string;
  readonly appointmentId: string;
  readonly channel: Channel;
  readonly state: DeliveryState;
  readonly reason: string | null;
  readonly attempts: number;
  readonly updatedAt: Date;
}

export const REPORT_LIMITS = { campaignsPerPage: 50, deliveriesPerPage: 1_000 } as const;

export interface CampaignReport {
  /** Newest first; `before` is the id of the last campaign of the previous page. */
  list(opts: { readonly limit: number; readonly before?: string }): Promise<CampaignSummary[]>;
  /** One page of a campaign's deliveries by id; `after` is the last delivery id of the previous page. */
  deliveries(campaignId: string, opts: { readonly limit: number; readonly after?: string }): Promise<DeliveryReportRow[]>;
}

const zeroStates = (): Record<DeliveryState, number> => Object.fromEntries(Object.values(DeliveryState).map((s) => [s, 0])) as Record<DeliveryState, number>;

export function createCampaignReport(db: Db): CampaignReport {
  return {
    async list({ limit, before }) {
      const rows = await db.query<CampaignRow>(
        `SELECT id, channel, purpose, template_id, template_version, status, total, created_at FROM campaigns
          WHERE $1::uuid IS NULL OR (created_at, id) < (SELECT created_at, id FROM campaigns WHERE id = $1)
          ORDER BY created_at DESC, id DESC LIMIT $2`,
        [before ?? null, Math.min(limit, REPORT_LIMITS.campaignsPerPage)],
      );
      if (rows.length === 0) return [];
      const counts = await db.query<{ campaign_id: string; state: DeliveryState; n: number }>(
        'SELECT campaign_id, state, count(*)::int AS n FROM deliveries WHERE campaign_id = ANY($1::uuid[]) GROUP BY campaign_id, state',
        [rows.map((r) => r.id)],
      );
      const states = new Map<string, Record<DeliveryState, number>>();
      for (const c of counts) {
        let s = states.get(c.campaign_id);
        if (s === undefined) states.set(c.campaign_id, (s = zeroStates()));
        s[c.state] += c.n;
      }
      return rows.map((r) => ({ ...toCampaign(r), states: states.get(r.id) ?? zeroStates() }));
    },

    async deliveries(campaignId, { limit, after }) {
      const rows = await db.query<{ id: string; appointment_id: string; channel: Channel; state: DeliveryState; reason: string | null; attempts: number; updated_at: Date }>(
        `SELECT id, appointment_id, channel, state, reason, attempts, updated_at FROM deliveries
          WHERE campaign_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
        [campaignId, after ?? '00000000-0000-0000-0000-000000000000', Math.min(limit, REPORT_LIMITS.deliveriesPerPage)],
      );
      return rows.map((r) => ({ deliveryId: r.id, appointmentId: r.appointment_id, channel: r.channel, state: r.state, reason: r.reason, attempts: r.attempts, updatedAt: r.updated_at }));
    },
  };
}
