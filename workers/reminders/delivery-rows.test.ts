/**
 * The batched delivery rows on both engines: concurrent jobs share one statement per step, and
 * every per-row guarantee still holds inside a group — a claim is won once, an outcome moves a row
 * only from the state it was seen in, a row that did not move gets no audit record, and a delivery
 * submitted twice in one group (a stalled job re-run beside the original) is settled once.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { insertPatient, insertStaff, userCtx } from '../../core/appointments/test-fixtures/rows.ts';
import { createAuditLog } from '../../core/audit/index.ts';
import { verifyChain } from '../../core/audit/verify.ts';
import { createCampaignStore } from '../../core/campaigns/store.ts';
import { allPending } from '../../core/campaigns/test-fixtures/pending.ts';
import type { DbKind } from '../../core/db/types.ts';
import { countingDb, testDbPerTest } from '../../test/helpers/databases.ts';
import { createDeliveryRows } from './delivery-rows.ts';

const HASH = 'a'.repeat(64);

describe.each<DbKind>(['pglite', 'postgres'])('batched delivery rows (%s)', (kind) => {
  const open = testDbPerTest(kind);

  async function world(recipients: number) {
    const { db } = await open();
    const audit = createAuditLog(db);
    const scheduler = await insertStaff(db, 'scheduler');
    const provider = await insertStaff(db, 'provider');
    const appointmentIds: string[] = [];
    for (let i = 0; i < recipients; i++) {
      const a = randomUUID();
      await db.query("INSERT INTO appointments (id, patient_id, provider_id, starts_at, ends_at) VALUES ($1, $2, $3, now() + interval '1 day', now() + interval '25 hours')", [a, await insertPatient(db), provider]);
      appointmentIds.push(a);
    }
    const campaigns = createCampaignStore({ db, audit });
    const campaign = await campaigns.create({ channel: 'sms', purpose: 'appointment_reminders', templateId: randomUUID(), templateVersion: 1, selector: { kind: 'appointments', appointmentIds } }, userCtx(scheduler));
    const ids = (await allPending(campaigns, campaign.id)).map((d) => d.id);
    // Count the statements the rows layer sends, to see that concurrent jobs share them.
    const counted = countingDb(db);
    return { db, audit, rows: createDeliveryRows({ db: counted.db, audit }), ids, statements: counted.statements, campaignId: campaign.id, campaigns, scheduler };
  }

  const statusOf = async (w: Awaited<ReturnType<typeof world>>): Promise<string | undefined> =>
    (await w.db.query<{ status: string }>('SELECT status FROM campaigns WHERE id = $1', [w.campaignId]))[0]?.status;

  it('completes the campaign when its last delivery settles, once, even when the last two settle in two workers at once', async () => {
    const w = await world(4);
    // Another worker process: its own batcher, its own transactions.
    const other = createDeliveryRows({ db: w.db, audit: w.audit });
    const evidence = { at: new Date(), consentRecordId: randomUUID(), consentVersion: 1, templateHash: HASH, bodyHash: HASH };
    await Promise.all(w.ids.map((id) => w.rows.claim(id, evidence)));
    const rows = await Promise.all(w.ids.map(async (id) => (await w.rows.load(id)) ?? expect.unreachable('row vanished')));
    const [r0, r1, r2, r3] = rows;
    if (r0 === undefined || r1 === undefined || r2 === undefined || r3 === undefined) throw new Error('four rows expected');
    await w.rows.settle({ row: r0, outcome: { state: 'sent', providerMessageId: 'SM0' } });
    await w.rows.settle({ row: r1, outcome: { state: 'skipped', reason: 'no_consent' } });
    expect(await statusOf(w)).toBe('running');
    await Promise.all([w.rows.settle({ row: r2, outcome: { state: 'sent', providerMessageId: 'SM2' } }), other.settle({ row: r3, outcome: { state: 'failed', reason: 'provider_refused' } })]);
    expect(await statusOf(w)).toBe('completed');
    // A late duplicate settle moves nothing and completes nothing again.
    expect(await other.settle({ row: r3, outcome: { state: 'failed', reason: 'provider_refused' } })).toBe(false);
    const completions = await w.db.query<{ actor_type: string; resource_id: string; details: object }>("SELECT actor_type, resource_id, details FROM audit_log WHERE action = 'campaign.complete'");
    expect(completions).toEqual([{ actor_type: 'system', resource_id: w.campaignId, details: {} }]);
    // Completed is final for pause and cancel.
    await expect(w.campaigns.setStatus(w.campaignId, 'paused', userCtx(w.scheduler))).rejects.toMatchObject({ status: 409 });
    expect(await verifyChain(w.db, { publicKeys: [] })).toMatchObject({ ok: true });
  });

  it('a campaign resumed after its last deliveries settled while paused completes on resume', async () => {
    const w = await world(1);
    await w.campaigns.setStatus(w.campaignId, 'paused', userCtx(w.scheduler));
    const row = (await w.rows.load(w.ids[0] ?? '')) ?? expect.unreachable('row vanished');
    await w.rows.settle({ row, outcome: { state: 'skipped', reason: 'appointment_cancelled' } });
    expect(await statusOf(w)).toBe('paused');
    expect((await w.campaigns.setStatus(w.campaignId, 'running', userCtx(w.scheduler))).status).toBe('completed');
    expect((await w.db.query("SELECT action FROM audit_log WHERE action LIKE 'campaign.%' ORDER BY seq")).map((r) => (r as { action: string }).action)).toEqual([
      'campaign.create',
      'campaign.pause',
      'campaign.resume',
      'campaign.complete',
    ]);
  });

  it('loads, claims and settles many concurrent deliveries in shared statements, each audited once', async () => {
    const w = await world(12);
    const loaded = await Promise.all(w.ids.map((id) => w.rows.load(id)));
    expect(loaded.map((r) => r?.state)).toEqual(w.ids.map(() => 'queued'));
    expect(await w.rows.load(randomUUID())).toBeNull();
    expect(w.statements()).toBeLessThanOrEqual(3);

    const evidence = { at: new Date(), consentRecordId: randomUUID(), consentVersion: 1, templateHash: HASH, bodyHash: HASH };
    const before = w.statements();
    expect(await Promise.all(w.ids.map((id) => w.rows.claim(id, evidence)))).toEqual(w.ids.map(() => true));
    expect(w.statements() - before).toBeLessThanOrEqual(2);
    // Claimed already: a second claim loses, in a group or alone.
    expect(await Promise.all(w.ids.slice(0, 3).map((id) => w.rows.claim(id, evidence)))).toEqual([false, false, false]);

    const loadedRows = await Promise.all(w.ids.map((id) => w.rows.load(id)));
    const settled = await Promise.all(
      loadedRows.map((row, i) => {
        if (row === null) throw new Error('row vanished');
        return w.rows.settle(i % 2 === 0 ? { row, outcome: { state: 'sent', providerMessageId: `SM${i}` }, details: { consentVersion: 1 } } : { row, outcome: { state: 'failed', reason: 'provider_refused' } });
      }),
    );
    expect(settled).toEqual(w.ids.map(() => true));
    const states = await w.db.query<{ state: string; n: number }>('SELECT state, count(*)::int AS n FROM deliveries GROUP BY state ORDER BY state');
    expect(states).toEqual([
      { state: 'failed', n: 6 },
      { state: 'sent', n: 6 },
    ]);
    const audited = await w.db.query<{ action: string; n: number }>("SELECT action, count(*)::int AS n FROM audit_log WHERE action LIKE 'reminder.%' GROUP BY action ORDER BY action");
    expect(audited).toEqual([
      { action: 'reminder.failed', n: 6 },
      { action: 'reminder.sent', n: 6 },
    ]);
    expect(await verifyChain(w.db, { publicKeys: [] })).toMatchObject({ ok: true });
  });

  it('moves a row only from the state it was seen in; a duplicate in one group and a row already finished get no second record', async () => {
    const w = await world(2);
    const [a, b] = w.ids;
    if (a === undefined || b === undefined) throw new Error('two deliveries expected');
    const rowA = await w.rows.load(a);
    const rowB = await w.rows.load(b);
    if (rowA === null || rowB === null) throw new Error('rows expected');
    // `sent` needs a claimed (`sending`) row: a queued one does not move.
    expect(await w.rows.settle({ row: rowA, outcome: { state: 'sent', providerMessageId: 'SMx' } })).toBe(false);
    // The same skip submitted twice in one turn: one moves, one record.
    const twice = await Promise.all([w.rows.settle({ row: rowB, outcome: { state: 'skipped', reason: 'no_consent' } }), w.rows.settle({ row: rowB, outcome: { state: 'skipped', reason: 'no_consent' } })]);
    expect(twice.sort()).toEqual([false, true]);
    expect(await w.rows.settle({ row: rowB, outcome: { state: 'failed', reason: 'provider_refused' } })).toBe(false);
    const [after] = await w.db.query<{ state: string; reason: string }>('SELECT state, reason FROM deliveries WHERE id = $1', [b]);
    expect(after).toEqual({ state: 'skipped', reason: 'no_consent' });
    expect(await w.db.query("SELECT 1 FROM audit_log WHERE action LIKE 'reminder.%'")).toHaveLength(1);
  });
});
