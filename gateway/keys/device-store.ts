/**
 * The device registry: one row per messaging device of an account, with its identity key,
 * current signed prekey and last-resort Kyber prekey (public keys only). Device ids are the
 * lowest free number in 1..maxDevices, so a removed device's id is reused by the next one
 * (clients tell a re-registered device apart by its registration id). Removing a device row
 * removes its one-time prekeys and waiting envelopes with it (ON DELETE CASCADE).
 */
import type { Db, Sql } from '../../core/db/types.ts';
import { AppError } from '../../core/errors.ts';
import { MessagingErrorCode } from '../../core/protocol/messaging.ts';
import type { CheckedSignedKey } from './key-check.ts';

export interface Device {
  readonly userId: string;
  readonly deviceId: number;
  readonly registrationId: number;
  readonly identityKey: Buffer;
  readonly signedPreKey: CheckedSignedKey;
  readonly lastResortKyberPreKey: CheckedSignedKey;
  readonly label: string | null;
  readonly createdAt: Date;
  readonly lastSeenAt: Date;
}

export interface NewDevice {
  readonly registrationId: number;
  readonly label: string | null;
  readonly identityKey: Buffer;
  readonly signedPreKey: CheckedSignedKey;
  readonly lastResortKyberPreKey: CheckedSignedKey;
}

export interface DeviceStore {
  /** Adds a device under the lowest free id ≤ maxDevices; 409 `device_limit` when none is free. */
  register(userId: string, device: NewDevice, maxDevices: number, tx?: Sql): Promise<number>;
  list(userId: string, tx?: Sql): Promise<Device[]>;
  get(userId: string, deviceId: number, tx?: Sql): Promise<Device | null>;
  /** Same as get, holding the row locked until the transaction ends. */
  getForUpdate(tx: Sql, userId: string, deviceId: number): Promise<Device | null>;
  /** True when a row was deleted (its keys and envelopes go with it). */
  remove(userId: string, deviceId: number, tx?: Sql): Promise<boolean>;
  touch(userId: string, deviceId: number, tx?: Sql): Promise<void>;
  replaceSignedPreKey(tx: Sql, userId: string, deviceId: number, key: CheckedSignedKey): Promise<void>;
  replaceLastResortKyberPreKey(tx: Sql, userId: string, deviceId: number, key: CheckedSignedKey): Promise<void>;
}

interface DeviceRow {
  user_id: string;
  device_id: number;
  registration_id: number;
  identity_key: Buffer;
  signed_prekey_id: number;
  signed_prekey: Buffer;
  signed_prekey_sig: Buffer;
  last_resort_kyber_id: number;
  last_resort_kyber: Buffer;
  last_resort_kyber_sig: Buffer;
  label: string | null;
  created_at: Date;
  last_seen_at: Date;
}

const COLUMNS = `user_id, device_id, registration_id, identity_key, signed_prekey_id, signed_prekey, signed_prekey_sig,
  last_resort_kyber_id, last_resort_kyber, last_resort_kyber_sig, label, created_at, last_seen_at`;

const toDevice = (r: DeviceRow): Device => ({
  userId: r.user_id,
  deviceId: r.device_id,
  registrationId: r.registration_id,
  identityKey: r.identity_key,
  signedPreKey: { keyId: r.signed_prekey_id, publicKey: r.signed_prekey, signature: r.signed_prekey_sig },
  lastResortKyberPreKey: { keyId: r.last_resort_kyber_id, publicKey: r.last_resort_kyber, signature: r.last_resort_kyber_sig },
  label: r.label,
  createdAt: r.created_at,
  lastSeenAt: r.last_seen_at,
});

/** Two registrations racing for the same free id: the loser retries with the next one. */
const REGISTER_ATTEMPTS = 5;

export function createDeviceStore(db: Db): DeviceStore {
  const one = async (sql: Sql, text: string, params: readonly unknown[]): Promise<Device | null> => {
    const [row] = await sql.query<DeviceRow>(text, params);
    return row === undefined ? null : toDevice(row);
  };

  return {
    async register(userId, d, maxDevices, tx = db) {
      for (let attempt = 0; attempt < REGISTER_ATTEMPTS; attempt++) {
        const inserted = await tx.query<{ device_id: number }>(
          `INSERT INTO devices (user_id, device_id, registration_id, identity_key, signed_prekey_id, signed_prekey, signed_prekey_sig,
                                last_resort_kyber_id, last_resort_kyber, last_resort_kyber_sig, label)
           SELECT $1::uuid, n, $3::int, $4::bytea, $5::int, $6::bytea, $7::bytea, $8::int, $9::bytea, $10::bytea, $11::text
             FROM generate_series(1, $2::int) AS n
            WHERE NOT EXISTS (SELECT 1 FROM devices d WHERE d.user_id = $1 AND d.device_id = n)
            ORDER BY n LIMIT 1
           ON CONFLICT (user_id, device_id) DO NOTHING
           RETURNING device_id`,
          [userId, maxDevices, d.registrationId, d.identityKey, d.signedPreKey.keyId, d.signedPreKey.publicKey, d.signedPreKey.signature,
            d.lastResortKyberPreKey.keyId, d.lastResortKyberPreKey.publicKey, d.lastResortKyberPreKey.signature, d.label],
        );
        const id = inserted[0]?.device_id;
        if (id !== undefined) return id;
        const [free] = await tx.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM generate_series(1, $2::int) AS s WHERE NOT EXISTS (SELECT 1 FROM devices d WHERE d.user_id = $1 AND d.device_id = s)',
          [userId, maxDevices],
        );
        if ((free?.n ?? 0) === 0) break;
      }
      throw new AppError(409, MessagingErrorCode.deviceLimit, `An account may register at most ${maxDevices} devices; remove one first`);
    },

    async list(userId, tx = db) {
      const rows = await tx.query<DeviceRow>(`SELECT ${COLUMNS} FROM devices WHERE user_id = $1 ORDER BY device_id`, [userId]);
      return rows.map(toDevice);
    },

    get: (userId, deviceId, tx = db) => one(tx, `SELECT ${COLUMNS} FROM devices WHERE user_id = $1 AND device_id = $2`, [userId, deviceId]),

    getForUpdate: (tx, userId, deviceId) => one(tx, `SELECT ${COLUMNS} FROM devices WHERE user_id = $1 AND device_id = $2 FOR UPDATE`, [userId, deviceId]),

    async remove(userId, deviceId, tx = db) {
      const rows = await tx.query('DELETE FROM devices WHERE user_id = $1 AND device_id = $2 RETURNING device_id', [userId, deviceId]);
      return rows.length > 0;
    },

    async touch(userId, deviceId, tx = db) {
      await tx.query('UPDATE devices SET last_seen_at = now() WHERE user_id = $1 AND device_id = $2', [userId, deviceId]);
    },

    async replaceSignedPreKey(tx, userId, deviceId, k) {
      await tx.query('UPDATE devices SET signed_prekey_id = $3, signed_prekey = $4, signed_prekey_sig = $5 WHERE user_id = $1 AND device_id = $2', [
        userId, deviceId, k.keyId, k.publicKey, k.signature,
      ]);
    },

    async replaceLastResortKyberPreKey(tx, userId, deviceId, k) {
      await tx.query('UPDATE devices SET last_resort_kyber_id = $3, last_resort_kyber = $4, last_resort_kyber_sig = $5 WHERE user_id = $1 AND device_id = $2', [
        userId, deviceId, k.keyId, k.publicKey, k.signature,
      ]);
    },
  };
}
