import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { testDbPerTest, ENGINES } from '../../test/helpers/databases.ts';
import { createAppointmentStore } from '../appointments/store.ts';
import { insertClinic, insertPatient, insertStaff, userCtx } from '../appointments/test-fixtures/rows.ts';
import { createAuditLog } from '../audit/index.ts';
import { createCampaignStore, type Selector } from './store.ts';
import { allPending } from './test-fixtures/pending.ts';

const H = 60 * 60_000;
const at = (ms: number) => new Date(Date.UTC(2031, 0, 1) + ms);

describe.each(ENGINES)('campaign store: window selection by clinic (%s)', (kind) => {
  const open = testDbPerTest(kind);

  it('picks only the named clinic’s scheduled appointments in the window, earliest per patient, and combines with a provider', async () => {
    const { db } = await open();
    const audit = createAuditLog(db);
    const appointments = createAppointmentStore({ db, audit });
    const campaigns = createCampaignStore({ db, audit });
    const ctx = userCtx(await insertStaff(db, 'scheduler'));
    const [provider, other] = [await insertStaff(db, 'provider'), await insertStaff(db, 'provider')];
    const [east, west] = [await insertClinic(db), await insertClinic(db)];
    const book = async (patientId: string, startMs: number, clinicId: string | null, providerId = provider) =>
      (await appointments.create({ patientId, providerId, startsAt: at(startMs), endsAt: at(startMs + H / 2), clinicId }, ctx)).id;

    const [p1, p2, p3, p4, p5, p6] = [
      await insertPatient(db),
      await insertPatient(db),
      await insertPatient(db),
      await insertPatient(db),
      await insertPatient(db),
      await insertPatient(db),
    ];
    await book(p1, 0, west); // p1's earliest appointment overall is at the other clinic…
    const p1East = await book(p1, 2 * H, east); // …so the east campaign reminds them of this one
    await book(p2, H, west);
    await book(p3, H, null);
    await book(p4, 30 * H, east); // outside the window
    await appointments.cancel(await book(p5, H, east), ctx);
    const p6East = await book(p6, 3 * H, east, other);

    const window = { kind: 'window', from: at(-H), to: at(24 * H) } as const;
    const picked = async (selector: Selector) => {
      const campaign = await campaigns.create({ channel: 'sms', purpose: 'appointment_reminders', templateId: randomUUID(), templateVersion: 1, selector }, ctx);
      const deliveries = await allPending(campaigns, campaign.id);
      const rows = await db.query<{ patient_id: string; appointment_id: string }>('SELECT patient_id, appointment_id FROM deliveries WHERE campaign_id = $1', [campaign.id]);
      expect(campaign.total).toBe(deliveries.length);
      return Object.fromEntries(rows.map((r) => [r.patient_id, r.appointment_id]));
    };

    expect(await picked({ ...window, clinicId: east })).toEqual({ [p1]: p1East, [p6]: p6East });
    expect(await picked({ ...window, clinicId: east, providerId: provider })).toEqual({ [p1]: p1East });
    expect(await picked({ ...window, clinicId: randomUUID() })).toEqual({});
    // Without a clinic the window is unchanged: every scheduled appointment in it, any clinic or none.
    expect(Object.keys(await picked(window)).sort()).toEqual([p1, p2, p3, p6].sort());
  });
});
