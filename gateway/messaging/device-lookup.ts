/**
 * The few device-registry reads the relay needs, as plain SQL on the `devices` table (the key
 * directory in gateway/keys owns the writes), and the comparison of a send's addressed devices
 * with the recipient's current ones.
 */
import type { Sql } from '../../core/db/types.ts';

export interface DeviceRef {
  readonly deviceId: number;
  readonly registrationId: number;
}

export async function hasDevice(db: Sql, userId: string, deviceId: number): Promise<boolean> {
  const rows = await db.query('SELECT 1 FROM devices WHERE user_id = $1 AND device_id = $2', [userId, deviceId]);
  return rows.length > 0;
}

/**
 * The account's devices. With `lock`, inside a transaction: the rows are share-locked until it
 * ends, so a device cannot be removed between this check and the envelope insert.
 */
export async function devicesOf(db: Sql, userId: string, opts: { lock?: boolean } = {}): Promise<DeviceRef[]> {
  const rows = await db.query<{ device_id: number; registration_id: number }>(
    `SELECT device_id, registration_id FROM devices WHERE user_id = $1 ORDER BY device_id${opts.lock === true ? ' FOR SHARE' : ''}`,
    [userId],
  );
  return rows.map((r) => ({ deviceId: r.device_id, registrationId: r.registration_id }));
}

export interface Mismatch {
  readonly missingDevices: number[];
  readonly extraDevices: number[];
  readonly staleDevices: number[];
}

/** Null when `addressed` is exactly `current` with matching registration ids. */
export function compareDevices(current: readonly DeviceRef[], addressed: readonly DeviceRef[]): Mismatch | null {
  const have = new Map(current.map((d) => [d.deviceId, d.registrationId]));
  const sent = new Set(addressed.map((d) => d.deviceId));
  const missingDevices = current.filter((d) => !sent.has(d.deviceId)).map((d) => d.deviceId);
  const extraDevices = addressed.filter((d) => !have.has(d.deviceId)).map((d) => d.deviceId);
  const staleDevices = addressed.filter((d) => have.has(d.deviceId) && have.get(d.deviceId) !== d.registrationId).map((d) => d.deviceId);
  if (missingDevices.length + extraDevices.length + staleDevices.length === 0) return null;
  const asc = (a: number, b: number): number => a - b;
  return { missingDevices: missingDevices.sort(asc), extraDevices: extraDevices.sort(asc), staleDevices: staleDevices.sort(asc) };
}

/**
 * The devices of several accounts in one query, keyed by user id (every asked-for id present, an
 * account without devices mapping to []). `lock` as in `devicesOf`.
 */
export async function devicesOfMany(db: Sql, userIds: readonly string[], opts: { lock?: boolean } = {}): Promise<Map<string, DeviceRef[]>> {
  const unique = [...new Set(userIds)];
  const out = new Map<string, DeviceRef[]>(unique.map((u) => [u, []]));
  if (unique.length === 0) return out;
  const rows = await db.query<{ user_id: string; device_id: number; registration_id: number }>(
    `SELECT user_id, device_id, registration_id FROM devices WHERE user_id = ANY($1::uuid[]) ORDER BY user_id, device_id${opts.lock === true ? ' FOR SHARE' : ''}`,
    [unique],
  );
  for (const r of rows) out.get(r.user_id)?.push({ deviceId: r.device_id, registrationId: r.registration_id });
  return out;
}
