/**
 * The key directory on both engines: registration and replenishment store only keys libsignal
 * verified; concurrent bundle fetches hand out every one-time key exactly once and fall back to
 * the last-resort Kyber key; the device limit holds; removing a device removes its keys; devices
 * running low are reported.
 */
import { randomUUID } from 'node:crypto';
import { PublicKey } from '@signalapp/libsignal-client';
import { describe, expect, it } from 'vitest';
import { createAuditLog } from '../../core/audit/index.ts';
import type { Db } from '../../core/db/types.ts';
import { AppError } from '../../core/errors.ts';
import { KeyBundleResponse, RegisterDeviceRequest, UploadKeysRequest } from '../../core/protocol/messaging.ts';
import { ENGINES, testDbPerTest } from '../../test/helpers/databases.ts';
import { captureLog } from '../testing/harness.ts';
import { createKeyDirectory, type OnLowKeys, type PreKeyCounts } from './key-directory.ts';
import { testDevice } from './test-keys.ts';

const actor = { actorType: 'system', actorId: 'test', requestId: 'test', ip: null, breakGlass: false } as const;

async function seedUser(db: Db): Promise<{ userId: string; patientId: null }> {
  const userId = randomUUID();
  await db.query(`INSERT INTO users (id, kind, role, username, display_name) VALUES ($1, 'staff', 'provider', $2, 'Test provider')`, [userId, `p-${userId.slice(0, 8)}`]);
  return { userId, patientId: null };
}

async function refusal(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe.each(ENGINES)('key directory (%s)', (kind) => {
  const open = testDbPerTest(kind);

  const setup = async (opts: { maxDevices?: number; watermark?: number; onLow?: OnLowKeys } = {}) => {
    const { db } = await open();
    const logs = captureLog();
    const dir = createKeyDirectory({
      db,
      audit: createAuditLog(db),
      config: { maxDevicesPerAccount: opts.maxDevices ?? 5, prekeyLowWatermark: opts.watermark ?? 5 },
      log: logs.log,
      ...(opts.onLow === undefined ? {} : { onLow: opts.onLow }),
    });
    return { db, dir, logs, owner: await seedUser(db) };
  };

  it('hands out each one-time key exactly once to 20 parallel fetches, then the last-resort Kyber key', async () => {
    const low: { deviceId: number; counts: PreKeyCounts }[] = [];
    const { dir, owner } = await setup({ watermark: 3, onLow: (_u, deviceId, counts) => void low.push({ deviceId, counts }) });
    const device = testDevice();
    const reg = RegisterDeviceRequest.parse(device.registration({ preKeys: 10, kyberPreKeys: 10 }));
    const deviceId = await dir.register(owner, reg, actor);
    expect(deviceId).toBe(1);
    expect(await dir.counts(owner.userId, deviceId)).toEqual({ preKeys: 10, kyberPreKeys: 10 });

    const fetched = await Promise.all(Array.from({ length: 20 }, () => dir.fetchBundles(owner.userId, deviceId)));
    const bundles = fetched.map((b) => {
      expect(b).toHaveLength(1);
      const [one] = KeyBundleResponse.parse({ userId: owner.userId, devices: b }).devices;
      if (one === undefined) throw new Error('no bundle');
      return one;
    });

    const preKeyIds = bundles.flatMap((b) => (b.preKey === null ? [] : [b.preKey.keyId]));
    expect(preKeyIds.sort((a, b) => a - b)).toEqual(reg.preKeys.map((k) => k.keyId));
    const oneTimeKyber = bundles.filter((b) => !b.kyberPreKey.lastResort).map((b) => b.kyberPreKey.keyId);
    expect(oneTimeKyber.sort((a, b) => a - b)).toEqual(reg.kyberPreKeys.map((k) => k.keyId));
    expect(bundles.filter((b) => b.preKey === null)).toHaveLength(10);
    const lastResort = bundles.filter((b) => b.kyberPreKey.lastResort);
    expect(lastResort).toHaveLength(10);
    for (const b of lastResort) expect(b.kyberPreKey).toEqual({ ...reg.lastResortKyberPreKey, lastResort: true });

    // The handed-out keys are the uploaded ones, and the bundle's signatures verify.
    for (const b of bundles) {
      expect(b.identityKey).toBe(device.identityKey);
      const identity = PublicKey.deserialize(Buffer.from(b.identityKey, 'base64'));
      expect(identity.verify(Buffer.from(b.signedPreKey.publicKey, 'base64'), Buffer.from(b.signedPreKey.signature, 'base64'))).toBe(true);
      if (b.preKey !== null) expect(b.preKey.publicKey).toBe(reg.preKeys.find((k) => k.keyId === b.preKey?.keyId)?.publicKey);
    }
    expect(await dir.counts(owner.userId, deviceId)).toEqual({ preKeys: 0, kyberPreKeys: 0 });
    // Interleaved fetches count after each other's claims, so only the shape of the reports is fixed.
    expect(low.length).toBeGreaterThanOrEqual(13);
    for (const r of low) expect(r.deviceId === deviceId && Math.min(r.counts.preKeys, r.counts.kyberPreKeys) < 3).toBe(true);
  });

  it('reports a device once either kind of one-time key falls under the watermark', async () => {
    const low: PreKeyCounts[] = [];
    const { dir, owner } = await setup({ watermark: 3, onLow: (_u, _d, counts) => void low.push(counts) });
    const deviceId = await dir.register(owner, RegisterDeviceRequest.parse(testDevice().registration({ preKeys: 5, kyberPreKeys: 8 })), actor);
    for (let i = 0; i < 6; i++) await dir.fetchBundles(owner.userId, deviceId);
    expect(low).toEqual([
      { preKeys: 2, kyberPreKeys: 5 },
      { preKeys: 1, kyberPreKeys: 4 },
      { preKeys: 0, kyberPreKeys: 3 },
      { preKeys: 0, kyberPreKeys: 2 },
    ]);
  });

  it('fetches every device of an account with *, and nothing for an unknown device', async () => {
    const { dir, owner } = await setup();
    const a = await dir.register(owner, RegisterDeviceRequest.parse(testDevice().registration({ preKeys: 1, kyberPreKeys: 1 })), actor);
    const b = await dir.register(owner, RegisterDeviceRequest.parse(testDevice().registration()), actor);
    const all = await dir.fetchBundles(owner.userId, '*');
    expect(all.map((x) => x.deviceId)).toEqual([a, b]);
    expect(all[0]?.preKey).not.toBeNull();
    expect(all[1]).toMatchObject({ preKey: null, kyberPreKey: { lastResort: true } });
    expect(await dir.fetchBundles(owner.userId, 9)).toEqual([]);
    expect(await dir.fetchBundles(randomUUID(), '*')).toEqual([]);
  });

  it('refuses a bad signature, a wrong-length key and a changed identity key, storing nothing', async () => {
    const { dir, owner, db } = await setup();
    const device = testDevice();
    const other = testDevice();
    const badSig = RegisterDeviceRequest.parse({ ...device.registration(), signedPreKey: other.signedPreKey(1) });
    const e1 = await refusal(dir.register(owner, badSig, actor));
    expect([e1.status, e1.code, e1.message]).toEqual([400, 'invalid_signature', 'signedPreKey.signature does not verify against identityKey']);
    expect(await db.query('SELECT 1 FROM devices WHERE user_id = $1', [owner.userId])).toHaveLength(0);

    const deviceId = await dir.register(owner, RegisterDeviceRequest.parse(device.registration({ preKeys: 2 })), actor);
    const short = Buffer.from(device.preKeys(1)[0]?.publicKey ?? '', 'base64').subarray(0, 32).toString('base64');
    const e2 = await refusal(dir.upload(owner, deviceId, UploadKeysRequest.parse({ identityKey: device.identityKey, preKeys: [{ keyId: 50, publicKey: short }] }), actor));
    expect([e2.status, e2.code, e2.message]).toEqual([400, 'invalid_key', 'preKeys[0].publicKey must be 33 bytes']);

    const e3 = await refusal(dir.upload(owner, deviceId, UploadKeysRequest.parse({ identityKey: other.identityKey, preKeys: other.preKeys(3, 10) }), actor));
    expect([e3.status, e3.code]).toEqual([400, 'identity_key_changed']);

    const e4 = await refusal(dir.upload(owner, deviceId, UploadKeysRequest.parse({ identityKey: device.identityKey, kyberPreKeys: [device.kyberPreKey(4), other.kyberPreKey(5)] }), actor));
    expect([e4.code, e4.message]).toEqual(['invalid_signature', 'kyberPreKeys[1].signature does not verify against identityKey']);
    expect(await dir.counts(owner.userId, deviceId)).toEqual({ preKeys: 2, kyberPreKeys: 0 });

    const e5 = await refusal(dir.upload(owner, 42, UploadKeysRequest.parse({ identityKey: device.identityKey }), actor));
    expect([e5.status, e5.code]).toEqual([404, 'device_not_found']);
  });

  it('replenishes one-time keys (same id replaces) and rotates the signed and last-resort keys', async () => {
    const { dir, owner } = await setup();
    const device = testDevice();
    const deviceId = await dir.register(owner, RegisterDeviceRequest.parse(device.registration({ preKeys: 2, kyberPreKeys: 2 })), actor);
    const replacement = device.preKeys(3, 2); // ids 2, 3, 4: id 2 is replaced
    const signed = device.signedPreKey(2);
    const lastResort = device.kyberPreKey(2000);
    await dir.upload(owner, deviceId, UploadKeysRequest.parse({ identityKey: device.identityKey, signedPreKey: signed, lastResortKyberPreKey: lastResort, preKeys: replacement, kyberPreKeys: device.kyberPreKeys(1, 3) }), actor);
    expect(await dir.counts(owner.userId, deviceId)).toEqual({ preKeys: 4, kyberPreKeys: 3 });

    const seen = [];
    for (let i = 0; i < 4; i++) seen.push(...(await dir.fetchBundles(owner.userId, deviceId)));
    expect(seen.map((b) => b.preKey?.keyId)).toEqual([1, 2, 3, 4]);
    expect(seen[1]?.preKey?.publicKey).toBe(replacement[0]?.publicKey);
    expect(seen[0]?.signedPreKey).toEqual(signed);
    expect(seen.map((b) => b.kyberPreKey.lastResort)).toEqual([false, false, false, true]);
    expect(seen[3]?.kyberPreKey).toEqual({ ...lastResort, lastResort: true });
  });

  it('enforces the device limit and reuses a removed device id; removing a device removes its keys', async () => {
    const { dir, owner, db } = await setup({ maxDevices: 2 });
    const one = await dir.register(owner, RegisterDeviceRequest.parse(testDevice().registration({ preKeys: 3, kyberPreKeys: 3 })), actor);
    const two = await dir.register(owner, RegisterDeviceRequest.parse(testDevice().registration({ preKeys: 2, kyberPreKeys: 2 })), actor);
    expect([one, two]).toEqual([1, 2]);
    const e = await refusal(dir.register(owner, RegisterDeviceRequest.parse(testDevice().registration()), actor));
    expect([e.status, e.code]).toEqual([409, 'device_limit']);

    expect(await dir.remove(owner, one, actor)).toBe(true);
    expect(await dir.remove(owner, one, actor)).toBe(false);
    const left = async (table: string) => db.query<{ device_id: number }>(`SELECT device_id FROM ${table} WHERE user_id = $1`, [owner.userId]);
    expect(new Set((await left('prekeys')).map((r) => r.device_id))).toEqual(new Set([two]));
    expect(new Set((await left('kyber_prekeys')).map((r) => r.device_id))).toEqual(new Set([two]));
    expect(await dir.fetchBundles(owner.userId, one)).toEqual([]);

    expect(await dir.register(owner, RegisterDeviceRequest.parse(testDevice().registration()), actor)).toBe(1);
  });

  it('gives concurrent registrations distinct device ids', async () => {
    const { dir, owner } = await setup({ maxDevices: 4 });
    const ids = await Promise.all(Array.from({ length: 4 }, () => dir.register(owner, RegisterDeviceRequest.parse(testDevice().registration({ preKeys: 1 })), actor)));
    expect([...ids].sort()).toEqual([1, 2, 3, 4]);
  });

  it('audits counts and ids only, and logs (not throws) a failing low-key callback', async () => {
    const { dir, owner, db, logs } = await setup({
      watermark: 5,
      onLow: () => {
        throw new Error('push failed');
      },
    });
    const device = testDevice();
    const reg = RegisterDeviceRequest.parse(device.registration({ preKeys: 2, kyberPreKeys: 1 }));
    const deviceId = await dir.register(owner, reg, actor);
    await dir.upload(owner, deviceId, UploadKeysRequest.parse({ identityKey: device.identityKey, preKeys: device.preKeys(1, 9) }), actor);
    expect(await dir.fetchBundles(owner.userId, deviceId)).toHaveLength(1);
    expect(logs.text()).toContain('low-prekey notification failed');
    await dir.remove(owner, deviceId, actor);

    const rows = await db.query<{ action: string; resource_type: string; resource_id: string; details: Record<string, unknown> }>(
      `SELECT action, resource_type, resource_id, details FROM audit_log WHERE action IN ('device.add', 'keys.upload', 'device.remove') ORDER BY seq`,
    );
    expect(rows.map((r) => r.action)).toEqual(['device.add', 'keys.upload', 'device.remove']);
    for (const r of rows) expect([r.resource_type, r.resource_id]).toEqual(['device', `${owner.userId}:${deviceId}`]);
    expect(rows[0]?.details).toEqual({ deviceId, preKeys: 2, kyberPreKeys: 1 });
    const all = JSON.stringify(rows);
    for (const key of [reg.identityKey, reg.signedPreKey.publicKey, reg.signedPreKey.signature, reg.preKeys[0]?.publicKey ?? 'x']) expect(all).not.toContain(key);
  });
});
