import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { connectRedis, type Redis } from '../../core/redis/connect.ts';
import { testDbPerTest } from '../../test/helpers/databases.ts';
import { identityHarness } from '../testing/identity-harness.ts';
import { createEnvelopeStore, type StoredRef } from './envelope-store.ts';
import { relayRoutes } from './relay-routes.ts';
import { createSendThrottle } from './send-throttle.ts';
import { seedDevice } from './test-fixtures.ts';

const b64 = (text: string) => Buffer.from(text).toString('base64');
const msg = (deviceId: number, registrationId: number, text = 'ciphertext', type = 3) => ({ deviceId, registrationId, type, content: b64(text) });

describe('messaging relay routes', () => {
  const open = testDbPerTest('pglite');
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function setup(env: Record<string, string> = {}) {
    const { db } = await open();
    const redis: Redis = await connectRedis(inject('redisUrl'));
    cleanups.push(() => redis.quit());
    const store = createEnvelopeStore(db);
    const notices: { user: string; refs: readonly StoredRef[] }[] = [];
    const h = identityHarness({
      db,
      redis,
      env,
      routes: (identity, { audit, config }) => [
        relayRoutes({
          config,
          db,
          audit,
          access: identity.access,
          sessionMw: identity.sessionMw,
          store,
          throttle: createSendThrottle(redis, { keyPrefix: `test-${randomUUID()}:`, perMinute: config.messageSendPerMinute }),
          notify: (user, refs) => {
            notices.push({ user, refs });
            return Promise.resolve();
          },
        }),
      ],
    });
    cleanups.push(() => h.close());
    const provider = await h.seedStaff('provider');
    const patientId = await h.seedPatient();
    await h.addToCareTeam(provider.id, patientId);
    const pro = await h.staffSession(provider);
    const pat = await h.patientSession(patientId, 'messaging');
    const patientUser = pat.session.principal.userId;
    await seedDevice(db, provider.id, 1, 101);
    await seedDevice(db, provider.id, 2, 102);
    await seedDevice(db, patientUser, 1, 201);
    return { db, h, store, notices, provider, patientId, patientUser, proToken: pro.token, patToken: pat.token };
  }

  it('stores one envelope per recipient device, audits metadata only, and notifies delivery', async () => {
    const t = await setup();
    const res = await t.h.call('PUT', `/v1/messages/${t.patientUser}`, t.proToken, { senderDevice: 1, messages: [msg(1, 201, 'hello secret')] });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { envelopes: { deviceId: number; id: string }[] };
    expect(body.envelopes.map((e) => e.deviceId)).toEqual([1]);
    const pending = await t.store.listPending(t.patientUser, 1);
    expect(pending.map((e) => [e.id, e.senderUser, e.senderDevice, e.content.toString()])).toEqual([[body.envelopes[0]?.id, t.provider.id, 1, 'hello secret']]);
    expect(t.notices).toEqual([{ user: t.patientUser, refs: [{ id: body.envelopes[0]?.id, deviceId: 1, seq: pending[0]?.seq }] }]);

    const [row] = await t.h.auditRows('message.send');
    expect(row).toMatchObject({ actor_id: t.provider.id, resource_type: 'user', resource_id: t.patientUser, patient_id: t.patientId, outcome: 'success' });
    expect(row?.details).toEqual({ senderDevice: 1, recipientDevices: 1, bytes: 12 });
    expect(JSON.stringify(await t.h.auditRows())).not.toContain(b64('hello secret'));

    // And back: the patient answers the provider's two devices.
    const back = await t.h.call('PUT', `/v1/messages/${t.provider.id}`, t.patToken, { senderDevice: 1, messages: [msg(1, 101), msg(2, 102)] });
    expect(back.status).toBe(200);
    expect((await t.h.auditRows('message.send'))[1]?.patient_id).toBe(t.patientId);
  });

  it('answers an unknown recipient exactly like one the caller may not message, and refuses roles that never message', async () => {
    const t = await setup();
    const stranger = await t.h.seedPatient();
    const strangerUser = (await t.h.patientSession(stranger, 'messaging')).session.principal.userId;
    await seedDevice(t.db, strangerUser, 1, 301);
    const notPeer = await t.h.call('PUT', `/v1/messages/${strangerUser}`, t.proToken, { senderDevice: 1, messages: [msg(1, 301)] });
    const unknown = await t.h.call('PUT', `/v1/messages/${randomUUID()}`, t.proToken, { senderDevice: 1, messages: [msg(1, 301)] });
    expect(notPeer.status).toBe(403);
    expect(unknown.status).toBe(403);
    const strip = (b: unknown) => ({ ...(b as { error: Record<string, unknown> }).error, requestId: 'x' });
    expect(strip(await notPeer.json())).toEqual(strip(await unknown.json()));

    const scheduler = await t.h.staffSession(await t.h.seedStaff('scheduler'));
    expect((await t.h.call('PUT', `/v1/messages/${t.patientUser}`, scheduler.token, { senderDevice: 1, messages: [msg(1, 201)] })).status).toBe(403);
    expect(await t.store.listPending(strangerUser, 1)).toEqual([]);
    expect((await t.h.auditRows('access.denied')).length).toBe(3);
  });

  it('refuses a sender device that is not the caller’s own', async () => {
    const t = await setup();
    const res = await t.h.call('PUT', `/v1/messages/${t.patientUser}`, t.proToken, { senderDevice: 7, messages: [msg(1, 201)] });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_sender_device');
  });

  it('answers 409 device_mismatch with missing, extra and stale devices, and stores nothing', async () => {
    const t = await setup();
    const res = await t.h.call('PUT', `/v1/messages/${t.provider.id}`, t.patToken, { senderDevice: 1, messages: [msg(1, 999), msg(3, 103)] });
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ error: { code: 'device_mismatch', missingDevices: [2], extraDevices: [3], staleDevices: [1] } });
    expect(await t.store.listPending(t.provider.id, 1)).toEqual([]);
    expect(await t.h.auditRows('message.send')).toEqual([]);
  });

  it('to one’s own account, excludes the sending device', async () => {
    const t = await setup();
    const ok = await t.h.call('PUT', `/v1/messages/${t.provider.id}`, t.proToken, { senderDevice: 1, messages: [msg(2, 102)] });
    expect(ok.status).toBe(200);
    const self = await t.h.call('PUT', `/v1/messages/${t.provider.id}`, t.proToken, { senderDevice: 1, messages: [msg(1, 101), msg(2, 102)] });
    expect(self.status).toBe(409);
    expect(await self.json()).toMatchObject({ error: { missingDevices: [], extraDevices: [1], staleDevices: [] } });
  });

  it('caps each envelope and the batch by their decoded size', async () => {
    const t = await setup({ ENVELOPE_MAX_BYTES: '1024', MESSAGE_BATCH_MAX_BYTES: '1024' });
    const big = await t.h.call('PUT', `/v1/messages/${t.provider.id}`, t.patToken, { senderDevice: 1, messages: [msg(1, 101, 'x'.repeat(1025)), msg(2, 102)] });
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: { code: string } }).error.code).toBe('envelope_too_large');
    const batch = await t.h.call('PUT', `/v1/messages/${t.provider.id}`, t.patToken, { senderDevice: 1, messages: [msg(1, 101, 'x'.repeat(600)), msg(2, 102, 'y'.repeat(600))] });
    expect(batch.status).toBe(413);
    expect(((await batch.json()) as { error: { code: string } }).error.code).toBe('payload_too_large');
    const fits = await t.h.call('PUT', `/v1/messages/${t.provider.id}`, t.patToken, { senderDevice: 1, messages: [msg(1, 101, 'x'.repeat(500)), msg(2, 102, 'y'.repeat(500))] });
    expect(fits.status).toBe(200);
  });

  it('rate-limits sends per account with Retry-After', async () => {
    const t = await setup({ MESSAGE_SEND_PER_MINUTE: '2' });
    const send = () => t.h.call('PUT', `/v1/messages/${t.patientUser}`, t.proToken, { senderDevice: 1, messages: [msg(1, 201)] });
    expect((await send()).status).toBe(200);
    expect((await send()).status).toBe(200);
    const limited = await send();
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another account is not affected.
    expect((await t.h.call('PUT', `/v1/messages/${t.provider.id}`, t.patToken, { senderDevice: 1, messages: [msg(1, 101), msg(2, 102)] })).status).toBe(200);
  });

  it('fetches pending envelopes over HTTP and acks them, scoped to the caller’s device', async () => {
    const t = await setup();
    for (const text of ['one', 'two', 'three']) {
      expect((await t.h.call('PUT', `/v1/messages/${t.patientUser}`, t.proToken, { senderDevice: 2, messages: [msg(1, 201, text)] })).status).toBe(200);
    }
    const page = await t.h.call('GET', '/v1/messages?deviceId=1&limit=2', t.patToken);
    expect(page.status).toBe(200);
    const got = (await page.json()) as { envelopes: { id: string; content: string; senderUserId: string; senderDevice: number }[]; more: boolean };
    expect(got.more).toBe(true);
    expect(got.envelopes.map((e) => Buffer.from(e.content, 'base64').toString())).toEqual(['one', 'two']);
    expect(got.envelopes[0]).toMatchObject({ senderUserId: t.provider.id, senderDevice: 2 });
    const first = got.envelopes[0]?.id ?? '';

    // The provider cannot ack the patient's envelope (nor fetch as a device it does not have).
    expect((await t.h.call('DELETE', `/v1/messages/${first}?deviceId=1`, t.proToken)).status).toBe(204);
    expect((await t.h.call('GET', '/v1/messages?deviceId=5', t.proToken)).status).toBe(404);
    expect((await t.store.listPending(t.patientUser, 1)).length).toBe(3);

    expect((await t.h.call('DELETE', `/v1/messages/${first}?deviceId=1`, t.patToken)).status).toBe(204);
    const rest = (await (await t.h.call('GET', '/v1/messages?deviceId=1', t.patToken)).json()) as { envelopes: { content: string }[]; more: boolean };
    expect(rest.envelopes.map((e) => Buffer.from(e.content, 'base64').toString())).toEqual(['two', 'three']);
    expect(rest.more).toBe(false);
    expect((await t.h.auditRows('message.ack')).map((r) => r.details)).toEqual([
      { deviceId: 1, count: 0, channel: 'http' },
      { deviceId: 1, count: 1, channel: 'http' },
    ]);
  });
});
