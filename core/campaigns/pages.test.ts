// Creating a campaign writes its deliveries inside the database, and enqueueing reads them back in
// pages by id: every pending delivery exactly once, whatever the page size; finished ones not at all.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ENGINES, testDbPerTest } from '../../test/helpers/databases.ts';
import { insertPatient, insertStaff, userCtx } from '../appointments/test-fixtures/rows.ts';
import { createAuditLog } from '../audit/index.ts';
import { AppError } from '../errors.ts';
import { createCampaignStore, type NewDelivery } from './store.ts';

describe.each(ENGINES)('campaign deliveries in pages (%s)', (kind) => {
  const open = testDbPerTest(kind);

  it('pages every pending delivery once, skips finished ones, and counts the recipients in the campaign and its audit record', async () => {
    const { db } = await open();
    const audit = createAuditLog(db);
    const campaigns = createCampaignStore({ db, audit });
    const ctx = userCtx(await insertStaff(db, 'scheduler'));
    const provider = await insertStaff(db, 'provider');
    const appointmentIds: string[] = [];
    for (let i = 0; i < 7; i++) {
      const a = randomUUID();
      await db.query("INSERT INTO appointments (id, patient_id, provider_id, starts_at, ends_at) VALUES ($1, $2, $3, now() + interval '1 day', now() + interval '25 hours')", [a, await insertPatient(db), provider]);
      appointmentIds.push(a);
    }
    const campaign = await campaigns.create({ channel: 'email', purpose: 'appointment_reminders', templateId: randomUUID(), templateVersion: 1, selector: { kind: 'appointments', appointmentIds } }, ctx);
    expect(campaign.total).toBe(7);
    const [created] = await db.query<{ details: { recipients: number } }>("SELECT details FROM audit_log WHERE action = 'campaign.create'");
    expect(created?.details.recipients).toBe(7);

    const pages: NewDelivery[][] = [];
    for await (const page of campaigns.pendingPages(campaign.id, 3)) pages.push(page);
    expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
    const ids = pages.flat().map((d) => d.id);
    expect(new Set(ids).size).toBe(7);
    expect([...ids].sort()).toEqual(ids);

    await db.query("UPDATE deliveries SET state = 'sent' WHERE id = ANY($1::uuid[])", [ids.slice(0, 4)]);
    await db.query("UPDATE deliveries SET state = 'sending' WHERE id = $1", [ids[4]]);
    const left: NewDelivery[] = [];
    for await (const page of campaigns.pendingPages(campaign.id, 2)) left.push(...page);
    expect(left.map((d) => d.id)).toEqual(ids.slice(4));
  });

  it('refuses an empty or oversized explicit list before writing anything', async () => {
    const { db } = await open();
    const campaigns = createCampaignStore({ db, audit: createAuditLog(db) });
    const ctx = userCtx(await insertStaff(db, 'scheduler'));
    await expect(campaigns.create({ channel: 'sms', purpose: 'appointment_reminders', templateId: randomUUID(), templateVersion: 1, selector: { kind: 'appointments', appointmentIds: [] } }, ctx)).rejects.toBeInstanceOf(AppError);
    expect(await db.query('SELECT 1 FROM campaigns')).toHaveLength(0);
  });
});
