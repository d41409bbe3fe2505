/**
 * The delivery report CSV: one row per delivery with ids, state and reason in code and in words,
 * quoted per RFC 4180, formula-looking cells defused, and every page of the report API fetched.
 */
import { describe, expect, it } from 'vitest';
import { isFinished, reasonName, settled } from './reasons.ts';
import { allDeliveries, csvCell, reportCsv } from './report-csv.ts';
import type { DeliveryRow } from './types.ts';

const row = (n: number, patch: Partial<DeliveryRow> = {}): DeliveryRow => ({
  deliveryId: `00000000-0000-4000-8000-00000000000${n}`,
  appointmentId: `10000000-0000-4000-8000-00000000000${n}`,
  channel: 'sms',
  state: 'sent',
  reason: null,
  attempts: 1,
  updatedAt: '2031-01-02T03:04:05.000Z',
  ...patch,
});

describe('delivery report CSV', () => {
  it('has a header and one line per delivery, reasons in code and in words', () => {
    const csv = reportCsv([row(1), row(2, { state: 'skipped', reason: 'consent_revoked', attempts: 0 })]);
    expect(csv.split('\r\n')).toEqual([
      'delivery_id,appointment_id,channel,state,state_description,reason,reason_description,attempts,updated_at',
      '00000000-0000-4000-8000-000000000001,10000000-0000-4000-8000-000000000001,sms,sent,Sent,,,1,2031-01-02T03:04:05.000Z',
      '00000000-0000-4000-8000-000000000002,10000000-0000-4000-8000-000000000002,sms,skipped,Skipped,consent_revoked,Consent revoked (possibly while the campaign ran),0,2031-01-02T03:04:05.000Z',
      '',
    ]);
  });

  it('quotes cells with commas, quotes or line breaks, and defuses formulas', () => {
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvCell('-1')).toBe("'-1");
    expect(csvCell(null)).toBe('');
    expect(csvCell(3)).toBe('3');
  });

  it('follows the report’s pages until the last', async () => {
    const asked: string[] = [];
    const pages: Record<string, { deliveries: DeliveryRow[]; next: string | null }> = {
      '': { deliveries: [row(1), row(2)], next: row(2).deliveryId },
      [row(2).deliveryId]: { deliveries: [row(3)], next: null },
    };
    const call = <T>(path: string): Promise<T> => {
      asked.push(path);
      const after = new URL(path, 'http://x').searchParams.get('after') ?? '';
      return Promise.resolve(pages[after] as T);
    };
    expect((await allDeliveries(call, 'c1')).map((r) => r.deliveryId)).toEqual([row(1).deliveryId, row(2).deliveryId, row(3).deliveryId]);
    expect(asked).toEqual(['/campaigns/c1/deliveries?limit=1000', `/campaigns/c1/deliveries?limit=1000&after=${row(2).deliveryId}`]);
  });

  it('names unknown reasons by code and counts progress', () => {
    expect(reasonName('no_consent')).toBe('No consent on file for this channel and purpose');
    expect(reasonName('something_new')).toBe('Other (something_new)');
    const states = { queued: 1, sending: 1, sent: 2, delivered: 1, skipped: 3, failed: 1, undelivered: 0 };
    expect(settled(states)).toBe(7);
    expect(isFinished({ status: 'running', states })).toBe(false);
    expect(isFinished({ status: 'cancelled', states })).toBe(true);
    expect(isFinished({ status: 'running', states: { ...states, queued: 0, sending: 0 } })).toBe(true);
  });
});
