/**
 * The key directory over HTTP, mounted next to the identity routes on PGlite and a real Redis:
 * providers and messaging patients manage their own devices; only permitted messaging peers
 * (the patient's care team) fetch bundles; admins list and remove devices; bad keys, the
 * device limit and upload floods get their documented codes; audits carry no key bytes.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { KeyBundleResponse, DeviceList, PreKeyCount } from '../../core/protocol/messaging.ts';
import { connectRedis, type Redis } from '../../core/redis/connect.ts';
import { openTestDb, type TestDb } from '../../test/helpers/databases.ts';
import { identityHarness } from '../testing/identity-harness.ts';
import { captureLog } from '../testing/harness.ts';
import { keyRoutes } from './key-routes.ts';
import type { PreKeyCounts } from './key-directory.ts';
import { testDevice } from './test-keys.ts';

type Harness = ReturnType<typeof identityHarness>;

describe('key routes', () => {
  let ctx: { t: TestDb; redis: Redis; h: Harness; low: { userId: string; deviceId: number; counts: PreKeyCounts }[] } | undefined;

  beforeEach(async () => {
    const t = await openTestDb('pglite');
    const redis = await connectRedis(inject('redisUrl'));
    const low: { userId: string; deviceId: number; counts: PreKeyCounts }[] = [];
    const h = identityHarness({
      db: t.db,
      redis,
      env: { MAX_DEVICES_PER_ACCOUNT: '2', PREKEY_LOW_WATERMARK: '2' },
      routes: (identity, { audit, config }) => [
        keyRoutes({
          db: t.db,
          audit,
          config,
          redis,
          keyPrefix: `test-${randomUUID()}:`,
          sessionMw: identity.sessionMw,
          access: identity.access,
          log: captureLog().log,
          onLow: (userId, deviceId, counts) => void low.push({ userId, deviceId, counts }),
          uploadsPerMinute: 3,
        }),
      ],
    });
    ctx = { t, redis, h, low };
  });

  afterEach(async () => {
    if (ctx === undefined) return;
    const { t, redis, h } = ctx;
    ctx = undefined;
    await h.close();
    redis.disconnect();
    await t.dispose();
  });

  const get = () => {
    if (ctx === undefined) throw new Error('outside a test');
    return ctx;
  };
  const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string; message: string } }).error;

  it('a care-team patient fetches a provider’s bundle; others are refused', async () => {
    const { h, low } = get();
    const provider = await h.seedStaff('provider');
    const { token: providerToken } = await h.staffSession(provider);
    const device = testDevice();

    const registered = await h.call('POST', '/v1/devices', providerToken, device.registration({ preKeys: 3, kyberPreKeys: 3 }));
    expect(registered.status).toBe(201);
    const { deviceId } = (await registered.json()) as { deviceId: number };
    expect(deviceId).toBe(1);
    expect((await h.call('PUT', `/v1/devices/${deviceId}/keys`, providerToken, { identityKey: device.identityKey, preKeys: device.preKeys(2, 10) })).status).toBe(204);
    const counted = await h.call('GET', `/v1/devices/${deviceId}/keys/count`, providerToken);
    expect(PreKeyCount.parse(await counted.json())).toEqual({ preKeys: 5, kyberPreKeys: 3 });

    const patient = await h.seedPatient();
    await h.addToCareTeam(provider.id, patient);
    const { token: patientToken } = await h.patientSession(patient, 'messaging');
    const fetched = await h.call('GET', `/v1/keys/${provider.id}/*`, patientToken);
    expect(fetched.status).toBe(200);
    const bundle = KeyBundleResponse.parse(await fetched.json());
    expect(bundle.userId).toBe(provider.id);
    expect(bundle.devices).toMatchObject([{ deviceId, identityKey: device.identityKey, preKey: { keyId: 1 }, kyberPreKey: { keyId: 1, lastResort: false } }]);
    expect((await h.call('GET', `/v1/keys/${provider.id}/${deviceId}`, patientToken)).status).toBe(200);
    expect((await h.call('GET', `/v1/keys/${provider.id}/7`, patientToken)).status).toBe(404);

    // The second fetch left 3 EC and 1 Kyber one-time keys: under the watermark of 2.
    expect(low).toEqual([{ userId: provider.id, deviceId, counts: { preKeys: 3, kyberPreKeys: 1 } }]);

    const stranger = await h.seedPatient();
    const { token: strangerToken } = await h.patientSession(stranger, 'messaging');
    expect((await h.call('GET', `/v1/keys/${provider.id}/*`, strangerToken)).status).toBe(403);

    const visit = await h.seedAppointment(patient, provider.id);
    const { token: visitToken } = await h.patientSession(patient, 'visit', visit.id);
    expect((await h.call('GET', `/v1/keys/${provider.id}/*`, visitToken)).status).toBe(403);
    expect((await h.call('POST', '/v1/devices', visitToken, testDevice().registration())).status).toBe(403);

    const scheduler = await h.seedStaff('scheduler');
    const { token: schedulerToken } = await h.staffSession(scheduler);
    expect((await h.call('GET', `/v1/keys/${provider.id}/*`, schedulerToken)).status).toBe(403);
    // Refused before the lookup: an unknown account looks the same to a scheduler.
    expect((await h.call('GET', `/v1/keys/${randomUUID()}/*`, schedulerToken)).status).toBe(403);
    expect((await h.call('GET', '/v1/devices', schedulerToken)).status).toBe(403);

    // A provider peer may fetch; unknown accounts and accounts without devices are the same 404.
    const colleague = await h.seedStaff('provider');
    const { token: colleagueToken } = await h.staffSession(colleague);
    expect((await h.call('GET', `/v1/keys/${provider.id}/*`, colleagueToken)).status).toBe(200);
    const unknown = await h.call('GET', `/v1/keys/${randomUUID()}/*`, colleagueToken);
    const deviceless = await h.call('GET', `/v1/keys/${colleague.id}/*`, providerToken);
    expect([unknown.status, deviceless.status]).toEqual([404, 404]);
    const [e1, e2] = [await errorOf(unknown), await errorOf(deviceless)];
    expect([e1.code, e1.message]).toEqual([e2.code, e2.message]);
    expect(e1.code).toBe('not_found');
    expect((await h.call('GET', `/v1/keys/${provider.id}/0`, colleagueToken)).status).toBe(400);

    const denied = await h.auditRows('access.denied');
    expect(denied.length).toBeGreaterThanOrEqual(5);
  });

  it('a messaging patient manages their own devices; admins list and remove them', async () => {
    const { h } = get();
    const patient = await h.seedPatient();
    const { token, session } = await h.patientSession(patient, 'messaging');
    const patientUser = session.principal.userId;
    const first = testDevice();
    expect((await h.call('POST', '/v1/devices', token, first.registration({ preKeys: 2, kyberPreKeys: 2 }))).status).toBe(201);
    expect((await h.call('POST', '/v1/devices', token, { ...testDevice().registration(), label: 'kitchen tablet' })).status).toBe(201);
    const over = await h.call('POST', '/v1/devices', token, testDevice().registration());
    expect(over.status).toBe(409);
    expect((await errorOf(over)).code).toBe('device_limit');

    const listed = DeviceList.parse(await (await h.call('GET', '/v1/devices', token)).json());
    expect(listed.devices.map((d) => d.deviceId)).toEqual([1, 2]);
    expect(listed.devices.map((d) => d.label)).toEqual([null, 'kitchen tablet']);

    // Another account's device ids are not the caller's.
    const provider = await h.seedStaff('provider');
    const { token: providerToken } = await h.staffSession(provider);
    const foreign = await h.call('DELETE', '/v1/devices/1', providerToken);
    expect(foreign.status).toBe(404);
    expect((await errorOf(foreign)).code).toBe('device_not_found');
    expect((await h.call('GET', '/v1/devices/1/keys/count', providerToken)).status).toBe(404);
    expect((await h.call('PUT', '/v1/devices/1/keys', providerToken, { identityKey: first.identityKey })).status).toBe(404);

    expect((await h.call('DELETE', '/v1/devices/2', token)).status).toBe(204);
    expect((await h.call('DELETE', '/v1/devices/2', token)).status).toBe(404);

    const admin = await h.seedStaff('admin');
    const { token: adminToken } = await h.staffSession(admin);
    const adminList = await h.call('GET', `/admin/users/${patientUser}/devices`, adminToken);
    expect(adminList.status).toBe(200);
    expect(DeviceList.parse(await adminList.json()).devices.map((d) => d.deviceId)).toEqual([1]);
    expect((await h.call('GET', `/admin/users/${patientUser}/devices`, providerToken)).status).toBe(403);
    expect((await h.call('DELETE', `/admin/users/${patientUser}/devices/1`, providerToken)).status).toBe(403);
    expect((await h.call('DELETE', `/admin/users/${patientUser}/devices/1`, adminToken)).status).toBe(204);
    expect((await h.call('DELETE', `/admin/users/${patientUser}/devices/1`, adminToken)).status).toBe(404);
    expect((await h.call('GET', `/admin/users/${randomUUID()}/devices`, adminToken)).status).toBe(404);
    const { db } = get().t;
    expect(await db.query('SELECT 1 FROM prekeys WHERE user_id = $1 UNION ALL SELECT 1 FROM kyber_prekeys WHERE user_id = $1', [patientUser])).toHaveLength(0);

    const added = await h.auditRows('device.add');
    expect(added.map((r) => [r.actor_id, r.resource_id, r.patient_id])).toEqual([
      [patientUser, `${patientUser}:1`, patient],
      [patientUser, `${patientUser}:2`, patient],
    ]);
    expect(added[0]?.details).toEqual({ deviceId: 1, preKeys: 2, kyberPreKeys: 2 });
    const removed = await h.auditRows('device.remove');
    expect(removed.map((r) => [r.actor_id, r.details])).toEqual([
      [patientUser, { deviceId: 2, byAdmin: false }],
      [admin.id, { deviceId: 1, byAdmin: true }],
    ]);
    const everything = JSON.stringify(await h.auditRows());
    expect(everything).not.toContain(first.identityKey);
  });

  it('documents every operation in the OpenAPI document', async () => {
    const res = await get().h.call('GET', '/openapi.json');
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { paths: Record<string, Record<string, unknown>> };
    const ops = Object.entries(doc.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`));
    expect(ops).toEqual(
      expect.arrayContaining([
        'POST /v1/devices',
        'GET /v1/devices',
        'DELETE /v1/devices/{deviceId}',
        'PUT /v1/devices/{deviceId}/keys',
        'GET /v1/devices/{deviceId}/keys/count',
        'GET /v1/keys/{userId}/{deviceId}',
        'GET /admin/users/{userId}/devices',
        'DELETE /admin/users/{userId}/devices/{deviceId}',
      ]),
    );
    expect((await get().h.call('GET', '/docs')).status).toBe(200);
  });

  it('refuses bad keys with their codes and rate-limits uploads per device', async () => {
    const { h } = get();
    const provider = await h.seedStaff('provider');
    const { token } = await h.staffSession(provider);
    const device = testDevice();
    const other = testDevice();

    const badSig = await h.call('POST', '/v1/devices', token, { ...device.registration(), signedPreKey: other.signedPreKey(1) });
    expect(badSig.status).toBe(400);
    expect(await errorOf(badSig)).toMatchObject({ code: 'invalid_signature', message: 'signedPreKey.signature does not verify against identityKey' });

    expect((await h.call('POST', '/v1/devices', token, device.registration())).status).toBe(201);
    const changed = await h.call('PUT', '/v1/devices/1/keys', token, { identityKey: other.identityKey, preKeys: other.preKeys(1) });
    expect(changed.status).toBe(400);
    expect((await errorOf(changed)).code).toBe('identity_key_changed');

    const tooLong = await h.call('PUT', '/v1/devices/1/keys', token, { identityKey: device.identityKey, preKeys: [{ keyId: 1, publicKey: device.identityKey.slice(0, -4) }] });
    expect(tooLong.status).toBe(400);
    expect((await errorOf(tooLong)).code).toBe('invalid_key');

    // Refused uploads count too (each cost signature checks): the third of 3 per minute passes, the fourth is refused.
    expect((await h.call('PUT', '/v1/devices/1/keys', token, { identityKey: device.identityKey, preKeys: device.preKeys(1, 5) })).status).toBe(204);
    const limited = await h.call('PUT', '/v1/devices/1/keys', token, { identityKey: device.identityKey });
    expect(limited.status).toBe(429);
    expect((await errorOf(limited)).code).toBe('rate_limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    const uploads = await h.auditRows('keys.upload');
    expect(uploads.map((r) => r.details)).toEqual([{ deviceId: 1, preKeys: 1, kyberPreKeys: 0, signedPreKey: false, lastResortKyberPreKey: false }]);
  });
});
