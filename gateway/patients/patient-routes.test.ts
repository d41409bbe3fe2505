/**
 * The patient list over HTTP on the real identity stack: providers see their care team only,
 * schedulers everyone (contact view: no date of birth, no MRN), the page size is bounded, and
 * every patient shown is an audited `patient.view`, written together in one run of the chain.
 */
import { describe, expect, it } from 'vitest';
import { identityPerTest } from '../../test/helpers/identity.ts';

interface ListBody {
  patients: { id: string; view: string; givenName: string; birthDate?: unknown; mrn?: unknown }[];
}

describe('GET /patients', () => {
  const harness = identityPerTest();

  it('lists a provider’s care team or, for schedulers, everyone, as contact views; each one shown is audited', async () => {
    const h = harness();
    const provider = await h.seedStaff('provider');
    const scheduler = await h.seedStaff('scheduler');
    const [p1, p2, p3] = [await h.seedPatient({ givenName: 'Zebulon' }), await h.seedPatient(), await h.seedPatient()];
    await h.addToCareTeam(provider.id, p1);
    await h.addToCareTeam(provider.id, p2);
    const providerToken = (await h.staffSession(provider)).token;
    const schedulerToken = (await h.staffSession(scheduler)).token;

    const mine = await h.call('GET', '/patients', providerToken);
    expect(mine.status).toBe(200);
    const mineBody = (await mine.json()) as ListBody;
    expect(mineBody.patients.map((p) => p.id).sort()).toEqual([p1, p2].sort());

    const all = (await (await h.call('GET', '/patients?limit=100', schedulerToken)).json()) as ListBody;
    expect(all.patients.map((p) => p.id).sort()).toEqual([p1, p2, p3].sort());
    // Minimum necessary: the contact view only.
    for (const p of all.patients) {
      expect(p.view).toBe('contact');
      expect(p).not.toHaveProperty('birthDate');
      expect(p).not.toHaveProperty('mrn');
    }
    expect(((await (await h.call('GET', '/patients?limit=2', schedulerToken)).json()) as ListBody).patients).toHaveLength(2);
    expect((await h.call('GET', '/patients?limit=101', schedulerToken)).status).toBe(400);
    expect((await h.call('GET', '/patients', (await h.staffSession(await h.seedStaff('auditor'))).token)).status).toBe(403);

    const views = (await h.auditRows('patient.view')).filter((r) => (r.details as { list?: boolean }).list === true);
    const bySchedulerFull = views.filter((r) => r.actor_id === scheduler.id).slice(0, 3);
    expect(views.filter((r) => r.actor_id === provider.id).map((r) => r.patient_id).sort()).toEqual([p1, p2].sort());
    expect(bySchedulerFull.map((r) => r.patient_id).sort()).toEqual([p1, p2, p3].sort());
    // One list, one run of the chain: nothing else interleaved between its records.
    const seqs = bySchedulerFull.map((r) => Number(r.seq));
    expect(Math.max(...seqs) - Math.min(...seqs)).toBe(2);
    for (const r of views) expect(r.details).toEqual({ view: 'contact', list: true });
    expect(JSON.stringify(views)).not.toMatch(/Zebulon|Lovelace|5555550123|example\.org/);
  });
});
