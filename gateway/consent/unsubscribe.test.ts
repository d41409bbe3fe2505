/**
 * RFC 8058 one-click unsubscribe through the real app on both engines: GET only shows a page,
 * the one-click POST revokes e-mail consent for the link's purpose once, bad links change nothing.
 */
import { describe, expect, it } from 'vitest';
import { ENGINES } from '../../test/helpers/databases.ts';
import { CLINIC_NAME, consentPerTest, type ConsentHarness } from './test-fixtures/consent-harness.ts';
import { signUnsubscribeToken, UNSUBSCRIBE_CSP } from './unsubscribe.ts';

const oneClick = (h: ConsentHarness, token: string, body = 'List-Unsubscribe=One-Click') =>
  h.app.request(`/unsubscribe/${token}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });

describe.each(ENGINES)('one-click unsubscribe (%s)', (kind) => {
  const harness = consentPerTest(kind);

  const setup = async () => {
    const h = harness();
    const patient = await h.seedPatient({ givenName: 'Zelda', familyName: 'Fitzgerald' });
    for (const purpose of ['appointment_reminders', 'general_outreach'] as const) {
      await h.ledger.record({ patientId: patient, channel: 'email', purpose, state: 'granted', method: 'portal', evidenceRef: 'portal-1' }, { actorType: 'system', actorId: 'test' });
    }
    const [key] = h.keys;
    if (key === undefined) throw new Error('no unsubscribe key');
    return { h, patient, key };
  };

  it('shows a confirmation page on GET and unsubscribes once on the one-click POST', async () => {
    const { h, patient, key } = await setup();
    const token = signUnsubscribeToken({ patientId: patient, purpose: 'general_outreach', channel: 'email' }, key);

    const page = await h.app.request(`/unsubscribe/${token}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toBe(UNSUBSCRIBE_CSP);
    const html = await page.text();
    expect(html).toContain('<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">');
    expect(html).toContain(CLINIC_NAME);
    expect(html).not.toMatch(/Zelda|Fitzgerald|@/);
    // Looking (or a link scanner prefetching) changes nothing.
    expect((await h.ledger.currentFor(patient, 'email', 'general_outreach'))?.state).toBe('granted');

    const done = await oneClick(h, token);
    expect(done.status).toBe(200);
    expect(done.headers.get('content-security-policy')).toBe(UNSUBSCRIBE_CSP);
    expect(await h.ledger.currentFor(patient, 'email', 'general_outreach')).toMatchObject({ version: 2, state: 'revoked' });
    expect(await h.ledger.currentFor(patient, 'email', 'appointment_reminders')).toMatchObject({ version: 1, state: 'granted' });
    const [revoked] = (await h.ledger.history(patient)).filter((r) => r.state === 'revoked');
    expect(revoked).toMatchObject({ method: 'unsubscribe_link', recordedByType: 'system', recordedBy: 'unsubscribe-link' });
    expect(revoked?.evidenceRef).toMatch(/^unsubscribe:[A-Za-z0-9_-]{22}$/);

    // Mail clients retry; people click twice.
    expect((await oneClick(h, token)).status).toBe(200);
    expect((await h.ledger.currentFor(patient, 'email', 'general_outreach'))?.version).toBe(2);
    const audits = await h.auditRows('consent.revoke');
    expect(audits.map((r) => [r.actor_id, r.patient_id, r.details['method']])).toEqual([['unsubscribe-link', patient, 'unsubscribe_link']]);
  });

  it('refuses expired, tampered and malformed links and a POST that is not one-click', async () => {
    const { h, patient, key } = await setup();
    const expired = signUnsubscribeToken({ patientId: patient, purpose: 'appointment_reminders', channel: 'email' }, key, { now: new Date(Date.now() - 61 * 86_400_000) });
    const good = signUnsubscribeToken({ patientId: patient, purpose: 'appointment_reminders', channel: 'email' }, key);
    const tampered = `${good.startsWith('A') ? 'B' : 'A'}${good.slice(1)}`;

    for (const token of [expired, tampered, 'not-a-token']) {
      const post = await oneClick(h, token);
      expect([token === good, post.status]).toEqual([false, 404]);
      expect(await post.text()).toContain('not valid or has expired');
      expect((await h.app.request(`/unsubscribe/${token}`)).status).toBe(404);
    }
    expect((await oneClick(h, good, 'List-Unsubscribe=Maybe')).status).toBe(400);
    expect((await oneClick(h, good, '')).status).toBe(400);
    expect(await h.ledger.currentFor(patient, 'email', 'appointment_reminders')).toMatchObject({ version: 1, state: 'granted' });
    expect(await h.auditRows('consent.revoke')).toEqual([]);

    expect((await oneClick(h, good)).status).toBe(200);
    expect((await h.ledger.currentFor(patient, 'email', 'appointment_reminders'))?.state).toBe('revoked');
  });
});
