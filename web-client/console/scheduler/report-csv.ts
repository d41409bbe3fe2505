/**
 * The delivery report as CSV, built in the page from the report API (GET
 * /campaigns/{id}/deliveries, page by page): ids, channel, state, reason and attempts only — the
 * API carries no name, phone, e-mail or message, so neither can the file. Cells are quoted as
 * RFC 4180 says, and a cell that a spreadsheet would run as a formula is defused.
 */
import { reasonName, STATE_NAMES } from './reasons.ts';
import type { DeliveryRow } from './types.ts';

export const CSV_HEADER = ['delivery_id', 'appointment_id', 'channel', 'state', 'state_description', 'reason', 'reason_description', 'attempts', 'updated_at'] as const;

export function csvCell(value: string | number | null): string {
  let s = value === null ? '' : String(value);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function reportCsv(rows: readonly DeliveryRow[]): string {
  const lines = [CSV_HEADER.join(',')];
  for (const r of rows) {
    lines.push(
      [r.deliveryId, r.appointmentId, r.channel, r.state, STATE_NAMES[r.state], r.reason, r.reason === null ? null : reasonName(r.reason), r.attempts, r.updatedAt].map(csvCell).join(','),
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** Every delivery of the campaign, following the report's pages (bounded by the campaign's size). */
export async function allDeliveries(call: <T>(path: string) => Promise<T>, campaignId: string): Promise<DeliveryRow[]> {
  const rows: DeliveryRow[] = [];
  let after: string | null = null;
  do {
    const query: string = after === null ? '' : `&after=${encodeURIComponent(after)}`;
    const page: { deliveries: DeliveryRow[]; next: string | null } = await call(`/campaigns/${encodeURIComponent(campaignId)}/deliveries?limit=1000${query}`);
    rows.push(...page.deliveries);
    after = page.next;
  } while (after !== null);
  return rows;
}
