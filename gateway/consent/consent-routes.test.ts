/**
 * Consent over HTTP on both engines: schedulers and care-team providers record changes as new
 * versions and read current state and history; others are refused (and audited); keyword and
 * unsubscribe-link methods and free-text evidence are refused at the edge.
 */
import { describe, expect, it } from 'vitest';
import { ENGINES } from '../../test/helpers/databases.ts';
import { consentPerTest } from './test-fixtures/consent-harness.ts';

interface RecordView {
  id: string;
  channel: string;
  purpose: string;
  version: number;
  state: string;
  method: string;
  evidenceRef: string | null;
  recordedBy: { type: string; id: string };
}

describe.each(ENGINES)('consent routes (%s)', (kind) => {
  const harness = consentPerTest(kind);

  it('records changes as versions and shows current state and history to those allowed', async () => {
    const h = harness();
    const scheduler = await h.seedStaff('scheduler');
    const provider = await h.seedStaff('provider');
    const outsider = await h.seedStaff('provider');
    const auditor = await h.seedStaff('auditor');
    const patient = await h.seedPatient();
    await h.addToCareTeam(provider.id, patient);
    const [s, p, o, a] = await Promise.all([scheduler, provider, outsider, auditor].map(async (x) => (await h.staffSession(x)).token));

    const granted = await h.call('POST', `/patients/${patient}/consent`, s, { channel: 'sms', purpose: 'appointment_reminders', state: 'granted', method: 'form', evidenceRef: 'form-2024-0193' });
    expect(granted.status).toBe(201);
    expect(await granted.json()).toMatchObject({ version: 1, state: 'granted', method: 'form', evidenceRef: 'form-2024-0193', recordedBy: { type: 'user', id: scheduler.id } });

    const revoked = await h.call('POST', `/patients/${patient}/consent`, p, { channel: 'sms', purpose: 'appointment_reminders', state: 'revoked', method: 'verbal' });
    expect(revoked.status).toBe(201);
    const rv = (await revoked.json()) as RecordView;
    expect(rv).toMatchObject({ version: 2, state: 'revoked', evidenceRef: null, recordedBy: { id: provider.id } });

    const read = await h.call('GET', `/patients/${patient}/consent`, s);
    expect(read.status).toBe(200);
    const body = (await read.json()) as { current: RecordView[]; history: RecordView[] };
    expect(body.current.map((r) => [r.channel, r.purpose, r.version, r.state])).toEqual([['sms', 'appointment_reminders', 2, 'revoked']]);
    expect(body.history.map((r) => r.version)).toEqual([1, 2]);
    expect((await h.call('GET', `/patients/${patient}/consent`, p)).status).toBe(200);

    // Not on the care team, or a role without consent access: refused and audited.
    expect((await h.call('GET', `/patients/${patient}/consent`, o)).status).toBe(403);
    expect((await h.call('POST', `/patients/${patient}/consent`, o, { channel: 'email', purpose: 'general_outreach', state: 'granted', method: 'form' })).status).toBe(403);
    expect((await h.call('GET', `/patients/${patient}/consent`, a)).status).toBe(403);
    expect((await h.call('GET', `/patients/${patient}/consent`)).status).toBe(401);
    const denied = (await h.auditRows('access.denied')).map((r) => r.actor_id);
    expect(denied).toEqual([outsider.id, outsider.id, auditor.id]);
    expect((await h.auditRows('consent.revoke')).map((r) => r.resource_id)).toEqual([rv.id]);
  });

  it('refuses system-only methods, free-text evidence and unknown fields', async () => {
    const h = harness();
    const scheduler = await h.seedStaff('scheduler');
    const patient = await h.seedPatient();
    const { token } = await h.staffSession(scheduler);
    const post = (body: Record<string, unknown>) => h.call('POST', `/patients/${patient}/consent`, token, { channel: 'email', purpose: 'general_outreach', state: 'granted', method: 'form', ...body });

    const keyword = await post({ method: 'keyword' });
    expect(keyword.status).toBe(400);
    expect(((await keyword.json()) as { error: { fields: { path: string }[] } }).error.fields.map((f) => f.path)).toEqual(['body.method']);
    expect((await post({ method: 'unsubscribe_link' })).status).toBe(400);
    expect((await post({ evidenceRef: 'ada@example.org' })).status).toBe(400);
    expect((await post({ evidenceRef: 'she said yes on the phone' })).status).toBe(400);
    expect((await post({ evidenceRef: 'x'.repeat(257) })).status).toBe(400);
    expect((await post({ note: 'hello' })).status).toBe(400);
    expect((await h.call('POST', '/patients/00000000-0000-4000-8000-000000000000/consent', token, { channel: 'email', purpose: 'general_outreach', state: 'granted', method: 'form' })).status).toBe(404);
    expect(await h.ledger.history(patient)).toEqual([]);
    expect((await post({ evidenceRef: 'x'.repeat(256) })).status).toBe(201);
  });

  it('documents the consent, webhook and unsubscribe operations', async () => {
    const h = harness();
    const doc = (await (await h.app.request('/openapi.json')).json()) as { paths: Record<string, Record<string, { requestBody?: { content: Record<string, unknown> } }>> };
    expect(Object.keys(doc.paths['/patients/{id}/consent'] ?? {}).sort()).toEqual(['get', 'post']);
    expect(Object.keys(doc.paths['/webhooks/twilio/sms']?.['post']?.requestBody?.content ?? {})).toEqual(['application/x-www-form-urlencoded']);
    expect(Object.keys(doc.paths['/unsubscribe/{token}'] ?? {}).sort()).toEqual(['get', 'post']);
    expect((await h.app.request('/docs')).status).toBe(200);
  });
});
