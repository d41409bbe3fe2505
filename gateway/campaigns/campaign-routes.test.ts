/**
 * Campaign creation over HTTP on the real identity stack and a real BullMQ queue (test Redis, its
 * own prefix): a window selector scoped to one clinic queues exactly that clinic's patients.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { jobIdFor, reminderQueues, type ReminderQueues } from '../../core/campaigns/queue.ts';
import { createCampaignStore } from '../../core/campaigns/store.ts';
import { createClinicStore } from '../../core/clinics/store.ts';
import { connectRedis, type Redis } from '../../core/redis/connect.ts';
import { createReminderText } from '../../core/reminders/render.ts';
import { createTemplateStore } from '../../core/reminders/templates.ts';
import { identityPerTest } from '../../test/helpers/identity.ts';
import { campaignRoutes } from './campaign-routes.ts';

const HOUR = 3_600_000;
const SMS = 'This is {{clinic_name}}. You have a visit {{time_word}}: {{portal_link}} {{opt_out}}';

describe('campaign routes: window by clinic', () => {
  const text = createReminderText({ clinicName: 'Riverside Health', portalUrl: 'https://portal.clinic.example' });
  // The queue opens its own connections; this client only lends it the address.
  let redis: Redis | undefined;
  beforeAll(async () => {
    redis = await connectRedis(inject('redisUrl'));
  });
  afterAll(() => redis?.disconnect());
  let current: { queues: ReminderQueues } | undefined;
  const harness = identityPerTest({}, (identity, { audit, db }) => {
    if (redis === undefined) throw new Error('no Redis connection');
    const templates = createTemplateStore({ db, audit, text });
    const queues = reminderQueues(redis, `{campaign-routes-${randomUUID()}}`);
    current = { queues };
    return [campaignRoutes({ campaigns: createCampaignStore({ db, audit }), queues, sessionMw: identity.sessionMw, access: identity.access, templateExists: (id, v, ch) => templates.exists(id, v, ch) })];
  });
  afterEach(async () => {
    if (current === undefined) return;
    const { queues } = current;
    current = undefined;
    for (const channel of ['sms', 'email'] as const) await queues.of(channel).obliterate({ force: true });
    await queues.close();
  });

  it('queues only the named clinic’s patients, refuses a clinicId that is not a UUID, and re-queues what is pending on resume', async () => {
    const h = harness();
    const actor = { actorType: 'user', actorId: (await h.seedStaff('admin')).id } as const;
    const clinics = createClinicStore({ db: h.db, audit: h.audit });
    const east = await clinics.create({ name: 'East Side Clinic', timeZone: 'America/New_York' }, actor);
    const west = await clinics.create({ name: 'West Side Clinic', timeZone: 'America/Los_Angeles' }, actor);
    const provider = await h.seedStaff('provider');
    const scheduler = await h.seedStaff('scheduler');
    const { token } = await h.staffSession(scheduler);
    const templateId = (await createTemplateStore({ db: h.db, audit: h.audit, text }).save({ name: 'tomorrow', channel: 'sms', body: SMS }, actor)).template.id;

    const booked: Record<string, string> = {};
    for (const [key, clinicId] of [
      ['east1', east.id],
      ['east2', east.id],
      ['west', west.id],
      ['none', null],
    ] as const) {
      const patientId = await h.seedPatient();
      const startsAt = new Date(Date.now() + 26 * HOUR);
      await h.identity.appointments.create({ patientId, providerId: provider.id, startsAt, endsAt: new Date(startsAt.getTime() + HOUR / 2), clinicId }, actor);
      booked[key] = patientId;
    }

    const window = { kind: 'window', from: new Date(Date.now()).toISOString(), to: new Date(Date.now() + 48 * HOUR).toISOString() };
    const create = (selector: Record<string, unknown>) => h.call('POST', '/campaigns', token, { channel: 'sms', templateId, templateVersion: 1, selector });

    const res = await create({ ...window, clinicId: east.id });
    expect(res.status).toBe(201);
    const campaign = (await res.json()) as { id: string; total: number };
    expect(campaign.total).toBe(2);
    const rows = await h.db.query<{ id: string; patient_id: string }>('SELECT id, patient_id FROM deliveries WHERE campaign_id = $1', [campaign.id]);
    expect(rows.map((r) => r.patient_id).sort()).toEqual([booked['east1'], booked['east2']].sort());
    const jobs = (await current?.queues.of('sms').getJobs(['waiting', 'delayed', 'prioritized'])) ?? [];
    expect(jobs.map((j) => j.id).sort()).toEqual(rows.map((r) => jobIdFor(r.id)).sort());

    const wrong = await create({ ...window, clinicId: 'east' });
    expect(wrong.status).toBe(400);
    expect(((await wrong.json()) as { error: { fields: { path: string }[] } }).error.fields.map((f) => f.path)).toEqual(['body.selector.clinicId']);
    // The window without a clinic still takes every clinic's appointments, and those of none.
    expect(((await (await create(window)).json()) as { total: number }).total).toBe(4);

    // Jobs lost after the rows were written (Redis restored from an old snapshot, a failed
    // enqueue): resuming queues every delivery still pending again, once each.
    const sms = current?.queues.of('sms');
    await sms?.obliterate({ force: true });
    await h.db.query("UPDATE deliveries SET state = 'sent' WHERE id = $1", [rows[0]?.id]);
    expect((await h.call('POST', `/campaigns/${campaign.id}/pause`, token)).status).toBe(200);
    expect((await h.call('POST', `/campaigns/${campaign.id}/resume`, token)).status).toBe(200);
    expect((await h.call('POST', `/campaigns/${campaign.id}/resume`, token)).status).toBe(200);
    const requeued = (await sms?.getJobs(['waiting', 'delayed', 'prioritized'])) ?? [];
    expect(requeued.map((j) => j.id)).toEqual([jobIdFor(rows[1]?.id ?? '')]);
  });
});
