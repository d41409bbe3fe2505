/**
 * Test support for messaging tests: seeds accounts and device rows straight into the schema (the
 * key directory's registration path is tested in gateway/keys; here only the rows matter), and a
 * small WebSocket peer that collects frames. Not a test file; not used in production.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { WebSocket } from 'ws';
import type { Sql } from '../../core/db/types.ts';

export async function seedStaffUser(db: Sql, role = 'provider'): Promise<string> {
  const id = randomUUID();
  await db.query(`INSERT INTO users (id, kind, role, username, display_name) VALUES ($1, 'staff', $2, $3, 'Test')`, [id, role, `u-${id.slice(0, 8)}`]);
  return id;
}

/** Inserts a device row with throwaway key material of the right sizes. */
export async function seedDevice(db: Sql, userId: string, deviceId: number, registrationId = 1000 + deviceId): Promise<void> {
  await db.query(
    `INSERT INTO devices (user_id, device_id, registration_id, identity_key, signed_prekey_id, signed_prekey, signed_prekey_sig,
       last_resort_kyber_id, last_resort_kyber, last_resort_kyber_sig)
     VALUES ($1, $2, $3, $4, 1, $5, $6, 1, $7, $8)`,
    [userId, deviceId, registrationId, randomBytes(33), randomBytes(33), randomBytes(64), randomBytes(1569), randomBytes(64)],
  );
}

export interface FramePeer {
  readonly ws: WebSocket;
  readonly frames: Record<string, unknown>[];
  /** Resolves with (and removes) the first frame of `type`, waiting up to `ms`. */
  next(type: string, ms?: number): Promise<Record<string, unknown>>;
  send(v: unknown): void;
  close(): Promise<void>;
}

export function connectPeer(url: string, headers: Record<string, string>): Promise<FramePeer> {
  const ws = new WebSocket(url, { headers });
  const frames: Record<string, unknown>[] = [];
  ws.on('message', (d: Buffer) => frames.push(JSON.parse(d.toString('utf8')) as Record<string, unknown>));
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  const peer: FramePeer = {
    ws,
    frames,
    next(type, ms = 5000) {
      const started = Date.now();
      return new Promise((resolve, reject) => {
        const tick = (): void => {
          const i = frames.findIndex((f) => f['type'] === type);
          const f = frames[i];
          if (f) {
            frames.splice(i, 1);
            resolve(f);
          } else if (Date.now() - started > ms) reject(new Error(`no ${type} frame`));
          else setTimeout(tick, 5);
        };
        tick();
      });
    },
    send: (v) => ws.send(JSON.stringify(v)),
    async close() {
      if (ws.readyState !== WebSocket.CLOSED) ws.close();
      await closed;
    },
  };
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(peer));
    ws.once('error', reject);
  });
}
