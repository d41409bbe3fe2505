/**
 * The break-glass flow over HTTP: a provider outside the care team is refused, requests
 * emergency access with a reason and password + TOTP, gets a rotated session, reads the record
 * with every audit entry flagged, and a privacy officer closes the grant with an outcome.
 */
import { describe, expect, it } from 'vitest';
import { identityPerTest } from '../../test/helpers/identity.ts';
import { totpCode } from '../testing/identity-harness.ts';

describe('break-glass over HTTP', () => {
  const harness = identityPerTest({ BREAK_GLASS_MINUTES: '60' });

  it('grants time-boxed access after re-authentication, flags everything done under it, and queues it for review', async () => {
    const h = harness();
    const provider = await h.seedStaff('provider');
    const officer = await h.seedStaff('privacy_officer');
    const patient = await h.seedPatient();
    const { token } = await h.staffSession(provider);

    expect((await h.call('GET', `/patients/${patient}`, token)).status).toBe(403);

    const wrong = await h.call('POST', '/break-glass', token, { patientId: patient, reason: 'Patient unresponsive in the ED', password: 'not my password at all', code: await totpCode(provider.totpSecret) });
    expect(wrong.status).toBe(401);
    expect((await h.call('GET', `/patients/${patient}`, token)).status).toBe(403);

    const granted = await h.call('POST', '/break-glass', token, { patientId: patient, reason: 'Patient unresponsive in the ED', password: provider.password, code: await totpCode(provider.totpSecret, new Date(Date.now() + 30_000)) });
    expect(granted.status).toBe(201);
    const body = (await granted.json()) as { token: string; grant: { id: string; expiresAt: string }; session: { id: string } };
    const minutes = (Date.parse(body.grant.expiresAt) - Date.now()) / 60_000;
    expect(minutes).toBeGreaterThan(58);
    expect(minutes).toBeLessThanOrEqual(60);

    // The session was rotated: the old token is dead, the new one works.
    expect((await h.call('GET', '/auth/session', token)).status).toBe(401);
    expect(body.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const read = await h.call('GET', `/patients/${patient}`, body.token);
    expect(read.status).toBe(200);
    expect(((await read.json()) as { view: string }).view).toBe('clinical');

    const views = await h.auditRows('patient.view');
    expect(views.at(-1)).toMatchObject({ actor_id: provider.id, patient_id: patient, break_glass: true });
    const requested = await h.auditRows('break_glass.request');
    expect(requested).toHaveLength(1);
    expect(requested[0]?.break_glass).toBe(true);
    expect(JSON.stringify(await h.auditRows())).not.toContain('unresponsive');

    // Providers cannot see the queue; the privacy officer can, and must close it with an outcome.
    expect((await h.call('GET', '/break-glass/reviews', body.token)).status).toBe(403);
    const { token: officerToken } = await h.staffSession(officer);
    const queue = (await (await h.call('GET', '/break-glass/reviews', officerToken)).json()) as { grants: { id: string; reason: string | null; status: string }[] };
    expect(queue.grants).toEqual([expect.objectContaining({ id: body.grant.id, reason: 'Patient unresponsive in the ED', status: 'open' })]);
    expect((await h.auditRows('patient.view')).at(-1)).toMatchObject({ actor_id: officer.id, resource_type: 'break_glass', resource_id: body.grant.id, patient_id: patient });
    expect((await h.call('POST', `/break-glass/${body.grant.id}/review`, officerToken, { outcome: 'justified', note: 'Confirmed with the ED attending' })).status).toBe(204);
    const again = await h.call('POST', `/break-glass/${body.grant.id}/review`, officerToken, { outcome: 'justified' });
    expect(again.status).toBe(409);
    const open = (await (await h.call('GET', '/break-glass/reviews', officerToken)).json()) as { grants: unknown[] };
    expect(open.grants).toEqual([]);
    expect(await h.auditRows('break_glass.review')).toHaveLength(1);
  });

  it('ends access when the grant expires', async () => {
    const h = harness();
    const provider = await h.seedStaff('provider');
    const patient = await h.seedPatient();
    const grant = await h.identity.breakGlass.request({ providerId: provider.id, patientId: patient, reason: 'Urgent consult for a transfer' }, { actorType: 'user', actorId: provider.id });
    const { token } = await h.staffSession(provider);
    expect((await h.call('GET', `/patients/${patient}`, token)).status).toBe(200);
    await h.db.query('UPDATE break_glass SET started_at = started_at - interval \'2 hours\', expires_at = now() - interval \'1 second\' WHERE id = $1', [grant.id]);
    expect((await h.call('GET', `/patients/${patient}`, token)).status).toBe(403);
  });
});
