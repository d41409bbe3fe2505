/**
 * Video-visit signaling through a real gateway with a real mediasoup worker, over the real
 * WebSocket, without a browser: who may join, the lobby as the server enforces it, admission
 * decisions, a session ending mid-visit, the audit trail, and bad input (another visit, a flood,
 * requests before joining). The browser test (video-visit.test.ts) covers media actually flowing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { redeem, startVideoWorld, VideoSocket, type VideoWorld } from '../helpers/video.ts';

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function world(env: Record<string, string> = {}): Promise<VideoWorld> {
  const w = await startVideoWorld({ env });
  cleanups.push(() => w.close());
  return w;
}

async function socket(w: VideoWorld, token: string): Promise<VideoSocket> {
  const s = await VideoSocket.open(w.gateway.url, token);
  cleanups.push(() => s.close());
  return s;
}

async function patientToken(w: VideoWorld): Promise<string> {
  const r = await redeem(w.gateway.url, await w.newLinkToken());
  expect(r.status).toBe(200);
  return String(r.body['token']);
}

const auditActions = async (w: VideoWorld): Promise<string[]> =>
  (await w.db.query<{ action: string }>("SELECT action FROM audit_log WHERE action LIKE 'visit.%' ORDER BY seq")).map((r) => r.action);

describe('video signaling (real gateway, real mediasoup worker)', () => {
  it('the patient waits in the lobby until the provider admits; returning to the lobby and removal take effect at once; all of it audited', async () => {
    const w = await world();
    const host = await socket(w, w.people.provider.token);
    const pat = await socket(w, await patientToken(w));

    const hj = await host.request('video.join', { appointmentId: w.appointmentId });
    expect(hj).toMatchObject({ role: 'host', state: 'admitted' });
    expect(hj['routerRtpCapabilities']).toHaveProperty('codecs');
    const pj = await pat.request('video.join', { appointmentId: w.appointmentId });
    expect(pj).toMatchObject({ role: 'patient', state: 'lobby', roomId: hj['roomId'] });
    // The waiting patient sees who is in the call (and itself, waiting); the host sees the lobby.
    expect((pj['participants'] as { role: string; state: string }[]).map((p) => `${p.role}:${p.state}`)).toEqual(['host:admitted', 'patient:lobby']);
    const lobby = await host.until('the lobby entry', (f) => f.type === 'video.participants' && (f['participants'] as { state: string }[]).some((p) => p.state === 'lobby'));
    const entry = (lobby['participants'] as { peerId: string; state: string; label: string }[]).find((p) => p.state === 'lobby');
    expect(entry?.label).toBe('Patient');

    // The waiting patient may prepare transports but not reach anyone's media.
    await pat.request('video.transport.create', { direction: 'send' });
    const recv = await pat.request('video.transport.create', { direction: 'recv' });
    const refused = await pat.call('video.consume', { transportId: recv['transportId'], producerId: 'not-a-producer', rtpCapabilities: hj['routerRtpCapabilities'] });
    expect(refused).toMatchObject({ ok: false, error: { code: 'not_found' } });
    // A patient cannot admit anyone (nor themselves).
    expect(await pat.call('video.lobby.admit', { peerId: String(pj['peerId']) })).toMatchObject({ ok: false, error: { code: 'forbidden' } });

    await host.request('video.lobby.admit', { peerId: String(entry?.peerId) });
    await pat.until('admission', (f) => f.type === 'video.state' && f['state'] === 'admitted');
    await host.request('video.lobby.return', { peerId: String(entry?.peerId) });
    await pat.until('back in the lobby', (f) => f.type === 'video.state' && f['state'] === 'lobby');
    await host.request('video.remove', { peerId: String(entry?.peerId) });
    await pat.until('removal', (f) => f.type === 'video.left' && f['reason'] === 'removed');
    // Removed means out for this visit: joining again is refused.
    expect(await pat.call('video.join', { appointmentId: w.appointmentId })).toMatchObject({ ok: false, error: { code: 'forbidden' } });

    await expect.poll(() => auditActions(w)).toEqual(
      expect.arrayContaining(['visit.room.open', 'visit.join', 'visit.admit', 'visit.return_to_lobby', 'visit.remove']),
    );
    const details = await w.db.query<{ details: string }>("SELECT details::text FROM audit_log WHERE action LIKE 'visit.%'");
    // Ids and roles only: no names, no contact details.
    expect(details.map((d) => d.details).join(' ')).not.toMatch(/Ada|Lovelace|5555550123|example\.org|1990-04-01|MRN-1/);
  });

  it('a visit session cannot join another appointment, and requests before joining are refused', async () => {
    const w = await world();
    const pat = await socket(w, await patientToken(w));
    const other = await pat.call('video.join', { appointmentId: '00000000-0000-4000-8000-000000000001' });
    expect(other).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(await pat.call('video.transport.create', { direction: 'send' })).toMatchObject({ ok: false, error: { code: 'not_joined' } });
    // A messaging-scoped patient session is not a visit session.
    const messaging = await socket(w, w.people.patient.token);
    expect(await messaging.call('video.join', { appointmentId: w.appointmentId })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    await expect.poll(async () => (await w.db.query("SELECT 1 FROM audit_log WHERE action = 'access.denied'")).length).toBeGreaterThan(0);
  });

  it('ending the patient’s session takes them out of the room with that reason', async () => {
    const w = await world();
    const host = await socket(w, w.people.provider.token);
    const token = await patientToken(w);
    const pat = await socket(w, token);
    await host.request('video.join', { appointmentId: w.appointmentId });
    await pat.request('video.join', { appointmentId: w.appointmentId });
    const out = await fetch(`${w.gateway.url}/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    expect(out.status).toBe(204);
    await host.until('the patient gone from the room', (f) => f.type === 'video.participants' && (f['participants'] as unknown[]).length === 1);
    await expect
      .poll(async () => (await w.db.query<{ d: string }>("SELECT details->>'reason' AS d FROM audit_log WHERE action = 'visit.leave'")).map((r) => r.d))
      .toContain('session-ended');
  });

  it('a flood of signaling requests is refused with rate_limited, and malformed media parameters with invalid_rtp', async () => {
    const w = await world({ VIDEO_SIGNAL_PER_SECOND: '5' });
    const host = await socket(w, w.people.provider.token);
    await host.request('video.join', { appointmentId: w.appointmentId });
    const send = await host.request('video.transport.create', { direction: 'send' });
    const bad = await host.call('video.produce', {
      transportId: send['transportId'],
      kind: 'video',
      source: 'camera',
      rtpParameters: { codecs: [{ mimeType: 'video/NOPE', payloadType: 100, clockRate: 90000 }], encodings: [{ ssrc: 1 }] },
    });
    expect(bad).toMatchObject({ ok: false, error: { code: 'invalid_rtp' } });
    const results = await Promise.all(Array.from({ length: 30 }, () => host.call('video.transport.restart_ice', { transportId: send['transportId'] })));
    const codes = results.map((r) => (r['ok'] === true ? 'ok' : (r['error'] as { code: string }).code));
    expect(codes).toContain('rate_limited');
    expect(codes).toContain('ok');
  });

  it('a dead media worker closes the room with worker-died; both sides rejoin on the replacement and the admitted patient goes straight back in', async () => {
    const w = await world();
    const host = await socket(w, w.people.provider.token);
    const pat = await socket(w, await patientToken(w));
    await host.request('video.join', { appointmentId: w.appointmentId });
    const pj = await pat.request('video.join', { appointmentId: w.appointmentId });
    await host.request('video.lobby.admit', { peerId: String(pj['peerId']) });
    await pat.until('admission', (f) => f.type === 'video.state' && f['state'] === 'admitted');
    const [dead] = w.media.workers();
    process.kill(dead?.pid ?? -1, 'SIGKILL');
    for (const s of [host, pat]) await s.until('the rejoin notice', (f) => f.type === 'video.room.closed' && f['reason'] === 'worker-died' && f['rejoin'] === true);
    await expect.poll(() => w.media.workers().some((x) => x.pid !== dead?.pid), { timeout: 10_000 }).toBe(true);
    await host.request('video.join', { appointmentId: w.appointmentId });
    expect(await pat.request('video.join', { appointmentId: w.appointmentId })).toMatchObject({ state: 'admitted' });
    await expect
      .poll(async () => (await w.db.query<{ r: string }>("SELECT details->>'reason' AS r FROM audit_log WHERE action = 'visit.room.close'")).map((x) => x.r))
      .toEqual(['worker-died']);
  });

  it('the room opens only in the appointment window and closes after the departure grace once empty', async () => {
    const early = await world();
    const w = await startVideoWorld({ startsInMinutes: 120, env: { VISIT_LINK_LEAD_MINUTES: '15' } });
    cleanups.push(() => w.close());
    const tooEarly = await socket(w, w.people.provider.token);
    expect(await tooEarly.call('video.join', { appointmentId: w.appointmentId })).toMatchObject({ ok: false, error: { code: 'visit_closed' } });

    const host = await socket(early, early.people.provider.token);
    await host.request('video.join', { appointmentId: early.appointmentId });
    await host.request('video.leave');
    await host.until('left', (f) => f.type === 'video.left' && f['reason'] === 'left');
    // VIDEO_EMPTY_GRACE_SECONDS is 1 in these tests.
    await expect
      .poll(async () => (await early.db.query<{ r: string }>("SELECT details->>'reason' AS r FROM audit_log WHERE action = 'visit.room.close'")).map((x) => x.r), { timeout: 5_000 })
      .toEqual(['empty']);
    expect(early.gateway.features.video?.size).toBe(0);
  });

  it('an invited guest (its own link) waits in the lobby like the patient, is named by its link in the audit, and can reach nothing but the visit', async () => {
    const w = await world();
    const host = await socket(w, w.people.provider.token);
    await host.request('video.join', { appointmentId: w.appointmentId });
    const link = await fetch(`${w.gateway.url}/appointments/${w.appointmentId}/visit-links?audience=guest`, { method: 'POST', headers: { authorization: `Bearer ${w.people.provider.token}` } });
    expect(link.status).toBe(201);
    const guestLink = new URL(String(((await link.json()) as { url: string }).url)).hash.slice(1);
    const redeemed = await redeem(w.gateway.url, guestLink);
    expect(redeemed.status).toBe(200);
    expect(redeemed.body['session']).toMatchObject({ kind: 'guest', scope: null, role: null });
    const token = String(redeemed.body['token']);
    // The link is single-use for guests too.
    expect((await redeem(w.gateway.url, guestLink)).body['error']).toMatchObject({ code: 'link_used' });

    const guest = await socket(w, token);
    const gj = await guest.request('video.join', { appointmentId: w.appointmentId });
    expect(gj).toMatchObject({ role: 'guest', state: 'lobby' });
    const lobby = await host.until('the guest in the lobby', (f) => f.type === 'video.participants' && (f['participants'] as { label: string }[]).some((p) => p.label === 'Guest'));
    expect(lobby).toBeTruthy();
    await host.request('video.lobby.admit', { peerId: String(gj['peerId']) });
    await guest.until('admission', (f) => f.type === 'video.state' && f['state'] === 'admitted');

    // Nothing else: not the appointment, not the patient, not messaging.
    const headers = { authorization: `Bearer ${token}` };
    expect((await fetch(`${w.gateway.url}/appointments/${w.appointmentId}`, { headers })).status).toBe(403);
    expect((await fetch(`${w.gateway.url}/patients/${w.people.patient.patientId}`, { headers })).status).toBe(403);
    expect((await fetch(`${w.gateway.url}/v1/devices`, { headers })).status).toBe(403);
    const joins = await w.db.query<{ actor_type: string; actor_id: string }>("SELECT actor_type, actor_id FROM audit_log WHERE action = 'visit.join' AND actor_type = 'guest'");
    expect(joins).toHaveLength(1);
    expect(joins[0]?.actor_id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('a full room refuses the next participant with room_full', async () => {
    const w = await world({ VIDEO_ROOM_CAPACITY: '2' });
    const host = await socket(w, w.people.provider.token);
    const pat = await socket(w, await patientToken(w));
    await host.request('video.join', { appointmentId: w.appointmentId });
    await pat.request('video.join', { appointmentId: w.appointmentId });
    const link = await fetch(`${w.gateway.url}/appointments/${w.appointmentId}/visit-links?audience=guest`, { method: 'POST', headers: { authorization: `Bearer ${w.people.provider.token}` } });
    const guestToken = String((await redeem(w.gateway.url, new URL(String(((await link.json()) as { url: string }).url)).hash.slice(1))).body['token']);
    const guest = await socket(w, guestToken);
    expect(await guest.call('video.join', { appointmentId: w.appointmentId })).toMatchObject({ ok: false, error: { code: 'room_full' } });
    // When someone leaves, there is room again.
    await pat.request('video.leave');
    expect(await guest.request('video.join', { appointmentId: w.appointmentId })).toMatchObject({ role: 'guest', state: 'lobby' });
  });
});
