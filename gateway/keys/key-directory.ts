/**
 * The libsignal key directory: devices register and replenish their public keys here (every
 * key parsed and every signature verified by key-check.ts first), and senders fetch bundles.
 * A bundle hands out each one-time prekey exactly once: each is claimed and deleted by a single
 * statement that skips rows a concurrent fetch holds, so parallel fetches never share a key.
 * When a device's one-time Kyber keys are gone its last-resort key is handed out instead (not
 * consumed), and an EC prekey is simply absent. Devices running low are reported to `onLow`.
 */
import type { z } from 'zod';
import { AuditAction, type AuditActor, type AuditLog } from '../../core/audit/index.ts';
import type { Config } from '../../core/config/schema.ts';
import type { Db, Sql } from '../../core/db/types.ts';
import { AppError } from '../../core/errors.ts';
import type { Logger } from '../../core/log/logger.ts';
import { MessagingErrorCode, type DeviceBundle, type RegisterDeviceRequest, type UploadKeysRequest } from '../../core/protocol/messaging.ts';
import { createDeviceStore, type Device, type DeviceStore } from './device-store.ts';
import { checkKeys, type CheckedPreKey, type CheckedSignedKey } from './key-check.ts';

export interface PreKeyCounts {
  readonly preKeys: number;
  readonly kyberPreKeys: number;
}

/** Told when a device has fewer one-time keys of either kind than the watermark. Must not throw (logged if it does). */
export type OnLowKeys = (userId: string, deviceId: number, counts: PreKeyCounts) => void | Promise<void>;

/** The account a device belongs to; `patientId` is set for patients so audit records name them. */
export interface DeviceOwner {
  readonly userId: string;
  readonly patientId: string | null;
}

export interface KeyDirectoryDeps {
  readonly db: Db;
  readonly audit: AuditLog;
  readonly config: Pick<Config, 'maxDevicesPerAccount' | 'prekeyLowWatermark'>;
  readonly log: Logger;
  readonly devices?: DeviceStore;
  readonly onLow?: OnLowKeys;
  /** After a device is removed (committed): its open sockets are told and closed. */
  readonly onRemoved?: (userId: string, deviceId: number) => void | Promise<void>;
}

export type Bundle = z.infer<typeof DeviceBundle>;

export interface KeyDirectory {
  readonly devices: DeviceStore;
  /** Registers a device with its keys (audited `device.add`); returns its device id. */
  register(owner: DeviceOwner, req: z.infer<typeof RegisterDeviceRequest>, actor: AuditActor): Promise<number>;
  /** Replenishes or rotates keys (audited `keys.upload`); 404 `device_not_found`, 400 `identity_key_changed`. */
  upload(owner: DeviceOwner, deviceId: number, req: z.infer<typeof UploadKeysRequest>, actor: AuditActor): Promise<void>;
  counts(userId: string, deviceId: number): Promise<PreKeyCounts>;
  /** Removes a device with its keys and envelopes (audited `device.remove`); false when there was none. */
  remove(owner: DeviceOwner, deviceId: number, actor: AuditActor, details?: { readonly byAdmin: boolean }): Promise<boolean>;
  /**
   * One bundle per device (`'*'`: every device of the account), consuming one-time keys. Empty
   * when the account has no such device.
   */
  fetchBundles(userId: string, deviceId: number | '*'): Promise<Bundle[]>;
}

const b64 = (b: Buffer): string => b.toString('base64');

async function insertPreKeys(tx: Sql, userId: string, deviceId: number, keys: readonly CheckedPreKey[]): Promise<void> {
  if (keys.length === 0) return;
  const values = keys.map((_, i) => `($1, $2, $${3 + i * 2}, $${4 + i * 2})`).join(', ');
  await tx.query(
    `INSERT INTO prekeys (user_id, device_id, key_id, public_key) VALUES ${values}
     ON CONFLICT (user_id, device_id, key_id) DO UPDATE SET public_key = EXCLUDED.public_key`,
    [userId, deviceId, ...keys.flatMap((k) => [k.keyId, k.publicKey])],
  );
}

async function insertKyberPreKeys(tx: Sql, userId: string, deviceId: number, keys: readonly CheckedSignedKey[]): Promise<void> {
  if (keys.length === 0) return;
  const values = keys.map((_, i) => `($1, $2, $${3 + i * 3}, $${4 + i * 3}, $${5 + i * 3})`).join(', ');
  await tx.query(
    `INSERT INTO kyber_prekeys (user_id, device_id, key_id, public_key, signature) VALUES ${values}
     ON CONFLICT (user_id, device_id, key_id) DO UPDATE SET public_key = EXCLUDED.public_key, signature = EXCLUDED.signature`,
    [userId, deviceId, ...keys.flatMap((k) => [k.keyId, k.publicKey, k.signature])],
  );
}

// One statement each: the lowest unclaimed key is locked (skipping keys a concurrent fetch holds)
// and deleted, so no two fetches can be handed the same one-time key.
const CLAIM_PREKEY = `WITH k AS (SELECT key_id FROM prekeys WHERE user_id = $1 AND device_id = $2 ORDER BY key_id LIMIT 1 FOR UPDATE SKIP LOCKED)
  DELETE FROM prekeys p USING k WHERE p.user_id = $1 AND p.device_id = $2 AND p.key_id = k.key_id
  RETURNING p.key_id, p.public_key`;
const CLAIM_KYBER = `WITH k AS (SELECT key_id FROM kyber_prekeys WHERE user_id = $1 AND device_id = $2 ORDER BY key_id LIMIT 1 FOR UPDATE SKIP LOCKED)
  DELETE FROM kyber_prekeys p USING k WHERE p.user_id = $1 AND p.device_id = $2 AND p.key_id = k.key_id
  RETURNING p.key_id, p.public_key, p.signature`;

export function createKeyDirectory(deps: KeyDirectoryDeps): KeyDirectory {
  const { db, audit, config, log } = deps;
  const devices = deps.devices ?? createDeviceStore(db);

  const counts = async (userId: string, deviceId: number, sql: Sql = db): Promise<PreKeyCounts> => {
    const [row] = await sql.query<{ pre: number; kyber: number }>(
      `SELECT (SELECT count(*)::int FROM prekeys WHERE user_id = $1 AND device_id = $2) AS pre,
              (SELECT count(*)::int FROM kyber_prekeys WHERE user_id = $1 AND device_id = $2) AS kyber`,
      [userId, deviceId],
    );
    return { preKeys: row?.pre ?? 0, kyberPreKeys: row?.kyber ?? 0 };
  };

  const reportIfLow = async (userId: string, deviceId: number): Promise<void> => {
    if (deps.onLow === undefined) return;
    const left = await counts(userId, deviceId);
    if (left.preKeys >= config.prekeyLowWatermark && left.kyberPreKeys >= config.prekeyLowWatermark) return;
    try {
      await deps.onLow(userId, deviceId, left);
    } catch (err) {
      // The bundle was already claimed; a failed nudge must not fail the sender's fetch.
      log.error({ err, deviceId }, 'keys: low-prekey notification failed');
    }
  };

  const bundleOf = async (d: Device): Promise<Bundle> => {
    const [pre] = await db.query<{ key_id: number; public_key: Buffer }>(CLAIM_PREKEY, [d.userId, d.deviceId]);
    const [kyber] = await db.query<{ key_id: number; public_key: Buffer; signature: Buffer }>(CLAIM_KYBER, [d.userId, d.deviceId]);
    const k = kyber === undefined ? { ...d.lastResortKyberPreKey, lastResort: true } : { keyId: kyber.key_id, publicKey: kyber.public_key, signature: kyber.signature, lastResort: false };
    await reportIfLow(d.userId, d.deviceId);
    return {
      deviceId: d.deviceId,
      registrationId: d.registrationId,
      identityKey: b64(d.identityKey),
      signedPreKey: { keyId: d.signedPreKey.keyId, publicKey: b64(d.signedPreKey.publicKey), signature: b64(d.signedPreKey.signature) },
      preKey: pre === undefined ? null : { keyId: pre.key_id, publicKey: b64(pre.public_key) },
      kyberPreKey: { keyId: k.keyId, publicKey: b64(k.publicKey), signature: b64(k.signature), lastResort: k.lastResort },
    };
  };

  return {
    devices,
    counts: (userId, deviceId) => counts(userId, deviceId),

    async register(owner, req, actor) {
      const keys = checkKeys(req);
      const { signedPreKey, lastResortKyberPreKey } = keys;
      // The schema requires both at registration; checkKeys keeps them optional for uploads.
      if (signedPreKey === undefined || lastResortKyberPreKey === undefined) throw new AppError(400, MessagingErrorCode.invalidKey, 'signedPreKey and lastResortKyberPreKey are required');
      return db.transaction(async (tx) => {
        const deviceId = await devices.register(owner.userId, { registrationId: req.registrationId, label: req.label ?? null, identityKey: keys.identityKey, signedPreKey, lastResortKyberPreKey }, config.maxDevicesPerAccount, tx);
        await insertPreKeys(tx, owner.userId, deviceId, keys.preKeys);
        await insertKyberPreKeys(tx, owner.userId, deviceId, keys.kyberPreKeys);
        await audit.append(
          {
            ...actor,
            action: AuditAction.deviceAdd,
            resourceType: 'device',
            resourceId: `${owner.userId}:${deviceId}`,
            patientId: owner.patientId,
            outcome: 'success',
            details: { deviceId, preKeys: keys.preKeys.length, kyberPreKeys: keys.kyberPreKeys.length },
          },
          tx,
        );
        return deviceId;
      });
    },

    async upload(owner, deviceId, req, actor) {
      const keys = checkKeys(req);
      await db.transaction(async (tx) => {
        const device = await devices.getForUpdate(tx, owner.userId, deviceId);
        if (device === null) throw new AppError(404, MessagingErrorCode.deviceNotFound, 'No such device');
        if (!device.identityKey.equals(keys.identityKey)) {
          throw new AppError(400, MessagingErrorCode.identityKeyChanged, 'identityKey differs from the registered one; remove the device and register it again', {
            fields: [{ path: 'body.identityKey', message: 'differs from the registered identity key' }],
          });
        }
        if (keys.signedPreKey !== undefined) await devices.replaceSignedPreKey(tx, owner.userId, deviceId, keys.signedPreKey);
        if (keys.lastResortKyberPreKey !== undefined) await devices.replaceLastResortKyberPreKey(tx, owner.userId, deviceId, keys.lastResortKyberPreKey);
        await insertPreKeys(tx, owner.userId, deviceId, keys.preKeys);
        await insertKyberPreKeys(tx, owner.userId, deviceId, keys.kyberPreKeys);
        await devices.touch(owner.userId, deviceId, tx);
        await audit.append(
          {
            ...actor,
            action: AuditAction.keysUpload,
            resourceType: 'device',
            resourceId: `${owner.userId}:${deviceId}`,
            patientId: owner.patientId,
            outcome: 'success',
            details: {
              deviceId,
              preKeys: keys.preKeys.length,
              kyberPreKeys: keys.kyberPreKeys.length,
              signedPreKey: keys.signedPreKey !== undefined,
              lastResortKyberPreKey: keys.lastResortKyberPreKey !== undefined,
            },
          },
          tx,
        );
      });
    },

    async remove(owner, deviceId, actor, details) {
      const removed = await db.transaction(async (tx) => {
        if (!(await devices.remove(owner.userId, deviceId, tx))) return false;
        await audit.append(
          {
            ...actor,
            action: AuditAction.deviceRemove,
            resourceType: 'device',
            resourceId: `${owner.userId}:${deviceId}`,
            patientId: owner.patientId,
            outcome: 'success',
            details: { deviceId, byAdmin: details?.byAdmin ?? false },
          },
          tx,
        );
        return true;
      });
      if (removed && deps.onRemoved !== undefined) {
        try {
          await deps.onRemoved(owner.userId, deviceId);
        } catch (err) {
          // The device is gone (keys and envelopes with it); a socket left open receives nothing more.
          log.error({ err, deviceId }, 'keys: could not close the removed device’s sockets');
        }
      }
      return removed;
    },

    async fetchBundles(userId, deviceId) {
      const found = deviceId === '*' ? await devices.list(userId) : await devices.get(userId, deviceId).then((d) => (d === null ? [] : [d]));
      const bundles: Bundle[] = [];
      for (const d of found) bundles.push(await bundleOf(d));
      return bundles;
    },
  };
}
