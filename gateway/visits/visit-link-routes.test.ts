/**
 * Patient visit links over HTTP: created by staff, carried in the URL fragment, exchanged once
 * for a session that reaches only its own visit; replayed, revoked and too-early links get
 * distinct codes that reveal nothing else.
 */
import { describe, expect, it } from 'vitest';
import { identityPerTest } from '../../test/helpers/identity.ts';

describe('visit links over HTTP', () => {
  const harness = identityPerTest({ VISIT_LINK_LEAD_MINUTES: '15' });

  const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string; message: string; opensAt?: string } }).error;

  it('exchanges a link once for a visit-scoped session; replays and revoked links are refused distinctly', async () => {
    const h = harness();
    const scheduler = await h.seedStaff('scheduler');
    const provider = await h.seedStaff('provider');
    const patient = await h.seedPatient({ givenName: 'Zelda', familyName: 'Fitzgerald' });
    const visit = await h.seedAppointment(patient, provider.id, 5);
    const other = await h.seedAppointment(patient, provider.id, 90);
    const { token: staffToken } = await h.staffSession(scheduler);

    const made = await h.call('POST', `/appointments/${visit.id}/visit-links`, staffToken);
    expect(made.status).toBe(201);
    const link = (await made.json()) as { id: string; url: string };
    expect(link.url).toMatch(/^http:\/\/127\.0\.0\.1:8080\/visit\/#[A-Za-z0-9_-]{43}$/);
    expect(link.url).not.toMatch(/Zelda|Fitzgerald/);
    const secret = link.url.split('#')[1] ?? '';

    const redeemed = await h.call('POST', '/visit-links/redeem', undefined, { token: secret, mode: 'bearer' });
    expect(redeemed.status).toBe(200);
    const session = (await redeemed.json()) as { token: string; appointmentId: string; session: { kind: string; scope: string; absoluteMs: number } };
    expect(session).toMatchObject({ appointmentId: visit.id, session: { kind: 'patient', scope: 'visit' } });
    // The session ends with the visit (plus a short grace), not after the staff lifetime.
    expect(session.session.absoluteMs).toBeLessThan(2 * 3_600_000);

    expect((await h.call('GET', `/appointments/${visit.id}`, session.token)).status).toBe(200);
    expect((await h.call('GET', `/appointments/${other.id}`, session.token)).status).toBe(403);
    expect((await h.call('GET', `/patients/${patient}`, session.token)).status).toBe(403);

    const replay = await h.call('POST', '/visit-links/redeem', undefined, { token: secret });
    expect(replay.status).toBe(410);
    expect((await errorOf(replay)).code).toBe('link_used');

    const second = (await (await h.call('POST', `/appointments/${visit.id}/visit-links`, staffToken)).json()) as { id: string; url: string };
    expect((await h.call('DELETE', `/visit-links/${second.id}`, staffToken)).status).toBe(204);
    const revoked = await h.call('POST', '/visit-links/redeem', undefined, { token: second.url.split('#')[1] });
    expect((await errorOf(revoked)).code).toBe('link_revoked');

    const early = (await (await h.call('POST', `/appointments/${other.id}/visit-links`, staffToken)).json()) as { url: string };
    const tooEarly = await h.call('POST', '/visit-links/redeem', undefined, { token: early.url.split('#')[1] });
    expect(tooEarly.status).toBe(403);
    const e = await errorOf(tooEarly);
    expect(e.code).toBe('link_not_yet_valid');
    expect(Date.parse(e.opensAt ?? '')).toBe(other.startsAt.getTime() - 15 * 60_000);

    const unknown = await h.call('POST', '/visit-links/redeem', undefined, { token: 'B'.repeat(43) });
    expect(unknown.status).toBe(404);
    const messages = [await errorOf(unknown), e].map((x) => x.message).join(' ');
    expect(messages).not.toMatch(new RegExp(`${visit.id}|${patient}|Zelda`));

    const outcomes = (await h.auditRows('visit.link.redeem')).map((r) => [r.outcome, r.details['reason'] ?? null]);
    expect(outcomes).toEqual([
      ['success', null],
      ['failure', 'link_used'],
      ['failure', 'link_revoked'],
      ['failure', 'link_not_yet_valid'],
      ['failure', 'link_invalid'],
    ]);
  });
});
