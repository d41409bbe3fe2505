/**
 * The scheduler console's read views over HTTP, on both engines and the real identity stack: the
 * campaign list (newest first, counts by state, paged), a campaign's delivery report (ids, state,
 * reason; no patient id; paged by id; 404 for an unknown campaign), and the provider directory
 * (active providers only, id and display name).
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { insertPatient } from '../../core/appointments/test-fixtures/rows.ts';
import { createCampaignStore } from '../../core/campaigns/store.ts';
import { connectRedis, type Redis } from '../../core/redis/connect.ts';
import { ENGINES, openTestDb, type TestDb } from '../../test/helpers/databases.ts';
import { identityHarness } from '../testing/identity-harness.ts';
import { createCampaignReport } from './campaign-report.ts';
import { campaignReportRoutes } from './campaign-report-routes.ts';
import { providerDirectoryRoutes } from '../visits/provider-directory-routes.ts';

describe.each(ENGINES)('campaign report and provider directory routes (%s)', (kind) => {
  const open: { t: TestDb; redis: Redis; close: () => Promise<void> }[] = [];
  afterEach(async () => {
    for (const o of open.splice(0)) {
      await o.close();
      o.redis.disconnect();
      await o.t.dispose();
    }
  });
  const harness = async () => {
    const t = await openTestDb(kind);
    const redis = await connectRedis(inject('redisUrl'));
    const h = identityHarness({
      db: t.db,
      redis,
      routes: (identity, { audit, db }) => [
        campaignReportRoutes({ report: createCampaignReport(db), campaigns: createCampaignStore({ db, audit }), sessionMw: identity.sessionMw, access: identity.access }),
        providerDirectoryRoutes({ providers: () => identity.users.listStaff({ role: 'provider', status: 'active' }), sessionMw: identity.sessionMw, access: identity.access }),
      ],
    });
    open.push({ t, redis, close: h.close });
    return { ...h, db: t.db };
  };

  it('lists campaigns newest first with their counts, pages through them, and reports deliveries without patient ids', async () => {
    const h = await harness();
    const scheduler = await h.seedStaff('scheduler');
    const provider = await h.seedStaff('provider');
    const { token } = await h.staffSession(scheduler);
    const campaigns = createCampaignStore({ db: h.db, audit: h.audit });
    const ctx = { actorType: 'user', actorId: scheduler.id } as const;
    const patients: string[] = [];
    const campaignOf = async (recipients: number) => {
      const appointmentIds: string[] = [];
      for (let i = 0; i < recipients; i++) {
        const a = randomUUID();
        const patientId = await insertPatient(h.db);
        patients.push(patientId);
        await h.db.query("INSERT INTO appointments (id, patient_id, provider_id, starts_at, ends_at) VALUES ($1, $2, $3, now() + interval '1 day', now() + interval '25 hours')", [a, patientId, provider.id]);
        appointmentIds.push(a);
      }
      return campaigns.create({ channel: 'sms', purpose: 'appointment_reminders', templateId: randomUUID(), templateVersion: 1, selector: { kind: 'appointments', appointmentIds } }, ctx);
    };
    const first = await campaignOf(3);
    const second = await campaignOf(1);
    const third = await campaignOf(2);
    // Creation order decides "newest" even when the clock ties.
    await h.db.query("UPDATE campaigns SET created_at = now() - interval '3 minutes' WHERE id = $1", [first.id]);
    await h.db.query("UPDATE campaigns SET created_at = now() - interval '2 minutes' WHERE id = $1", [second.id]);
    await h.db.query("UPDATE deliveries SET state = 'sent' WHERE id = (SELECT id FROM deliveries WHERE campaign_id = $1 ORDER BY id LIMIT 1)", [first.id]);
    await h.db.query("UPDATE deliveries SET state = 'skipped', reason = 'no_consent' WHERE id = (SELECT id FROM deliveries WHERE campaign_id = $1 ORDER BY id DESC LIMIT 1)", [first.id]);

    const page1 = await h.call('GET', '/campaigns?limit=2', token);
    expect(page1.status).toBe(200);
    const body1 = (await page1.json()) as { campaigns: { id: string; total: number; states: Record<string, number> }[]; next: string | null };
    expect(body1.campaigns.map((c) => c.id)).toEqual([third.id, second.id]);
    expect(body1.campaigns[0]).toMatchObject({ total: 2, status: 'running', channel: 'sms', templateVersion: 1, states: { queued: 2, sent: 0, skipped: 0 } });
    expect(body1.next).toBe(second.id);
    const body2 = (await (await h.call('GET', `/campaigns?limit=2&before=${body1.next ?? ''}`, token)).json()) as typeof body1;
    expect(body2.campaigns.map((c) => c.id)).toEqual([first.id]);
    expect(body2.campaigns[0]?.states).toEqual({ queued: 1, sending: 0, sent: 1, delivered: 0, skipped: 1, failed: 0, undelivered: 0 });
    expect(body2.next).toBeNull();

    const report = await h.call('GET', `/campaigns/${first.id}/deliveries?limit=2`, token);
    expect(report.status).toBe(200);
    const r1 = (await report.json()) as { deliveries: { deliveryId: string; appointmentId: string; state: string; reason: string | null }[]; next: string | null };
    expect(r1.deliveries).toHaveLength(2);
    expect(r1.next).toBe(r1.deliveries[1]?.deliveryId);
    const r2 = (await (await h.call('GET', `/campaigns/${first.id}/deliveries?limit=2&after=${r1.next ?? ''}`, token)).json()) as typeof r1;
    expect(r2.next).toBeNull();
    const all = [...r1.deliveries, ...r2.deliveries];
    expect(all.map((d) => [d.state, d.reason])).toEqual([
      ['sent', null],
      ['queued', null],
      ['skipped', 'no_consent'],
    ]);
    expect(all[0]).toEqual({ deliveryId: expect.any(String) as unknown, appointmentId: expect.any(String) as unknown, channel: 'sms', state: 'sent', reason: null, attempts: 0, updatedAt: expect.any(String) as unknown });
    const text = JSON.stringify([body1, body2, r1, r2]);
    for (const p of patients) expect(text).not.toContain(p);

    expect((await h.call('GET', `/campaigns/${randomUUID()}/deliveries`, token)).status).toBe(404);
    expect((await h.call('GET', '/campaigns?limit=500', token)).status).toBe(400);
    expect((await h.call('GET', '/campaigns/not-a-uuid/deliveries', token)).status).toBe(400);
  });

  it('lists the active providers by display name, and nothing else of their accounts', async () => {
    const h = await harness();
    const scheduler = await h.seedStaff('scheduler');
    const { token } = await h.staffSession(scheduler);
    const zed = await h.seedStaff('provider');
    const amy = await h.seedStaff('provider');
    const gone = await h.seedStaff('provider');
    await h.db.query("UPDATE users SET display_name = 'Zed Provider' WHERE id = $1", [zed.id]);
    await h.db.query("UPDATE users SET display_name = 'Amy Provider' WHERE id = $1", [amy.id]);
    await h.db.query("UPDATE users SET status = 'disabled' WHERE id = $1", [gone.id]);
    const res = await h.call('GET', '/providers', token);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      providers: [
        { id: amy.id, displayName: 'Amy Provider' },
        { id: zed.id, displayName: 'Zed Provider' },
      ],
    });
  });
});
