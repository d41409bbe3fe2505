import { randomBytes, randomUUID } from 'node:crypto';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createAuditLog, type AuditRecord } from '../../core/audit/index.ts';
import type { Db } from '../../core/db/types.ts';
import { createLogger } from '../../core/log/logger.ts';
import { connectRedis } from '../../core/redis/connect.ts';
import { testDbPerTest } from '../../test/helpers/databases.ts';
import { createEnvelopePurge } from './envelope-purge.ts';

async function seed(db: Db) {
  const user = randomUUID();
  await db.query(`INSERT INTO users (id, kind, role, username, display_name) VALUES ($1, 'staff', 'provider', $2, 'Test')`, [user, `u-${user.slice(0, 8)}`]);
  await db.query(
    `INSERT INTO devices (user_id, device_id, registration_id, identity_key, signed_prekey_id, signed_prekey, signed_prekey_sig, last_resort_kyber_id, last_resort_kyber, last_resort_kyber_sig)
     VALUES ($1, 1, 1, $2, 1, $3, $4, 1, $5, $6)`,
    [user, randomBytes(33), randomBytes(33), randomBytes(64), randomBytes(1569), randomBytes(64)],
  );
  const envelope = async (ageDays: number): Promise<string> => {
    const id = randomUUID();
    await db.query(
      `INSERT INTO envelopes (id, recipient_user, recipient_device, sender_user, sender_device, type, content, server_ts)
       VALUES ($1, $2, 1, $2, 1, 2, $3, now() - make_interval(days => $4::int))`,
      [id, user, randomBytes(16), ageDays],
    );
    return id;
  };
  const attachment = async (expiresInDays: number): Promise<string> => {
    const id = randomUUID();
    await db.query(`INSERT INTO attachments (id, owner_user, size, bytes, expires_at) VALUES ($1, $2, 4, $3, now() + make_interval(days => $4::int))`, [id, user, randomBytes(4), expiresInDays]);
    return id;
  };
  return { envelope, attachment };
}

describe('envelope purge job (postgres)', () => {
  const open = testDbPerTest('postgres');
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('runs on its schedule: deletes expired envelopes and attachments only, and audits the counts', async () => {
    const { db } = await open();
    const redis = await connectRedis(inject('redisUrl'));
    cleanups.push(() => redis.quit());
    const audit = createAuditLog(db);
    const s = await seed(db);
    await s.envelope(31);
    await s.envelope(45);
    const fresh = await s.envelope(1);
    await s.attachment(-1);
    const live = await s.attachment(10);

    const purge = createEnvelopePurge({ db, audit, log: createLogger({ level: 'silent' }), redis, messageTtlDays: 30, prefix: `{test-${randomUUID()}}`, queueName: 'retention', everyMs: 200 });
    cleanups.push(() => purge.close());
    await purge.start();

    await expect.poll(async () => (await db.query<{ id: string }>('SELECT id FROM envelopes')).map((r) => r.id), { timeout: 10_000 }).toEqual([fresh]);
    expect((await db.query<{ id: string }>('SELECT id FROM attachments')).map((r) => r.id)).toEqual([live]);
    await new Promise((r) => setTimeout(r, 700)); // further scheduled runs, with nothing left to purge
    const rows = await db.query<AuditRecord>(`SELECT * FROM audit_log WHERE action = 'message.purge' ORDER BY seq`);
    expect(rows).toHaveLength(1); // later runs found nothing and recorded nothing
    expect(rows[0]).toMatchObject({ actor_type: 'system', actor_id: 'retention', outcome: 'success', details: { envelopes: 2, attachments: 1, ttlDays: 30 } });

    await purge.close();
    await purge.close();
  });

  it('runOnce purges on demand and reports zero when nothing is due', async () => {
    const { db } = await open();
    const redis = await connectRedis(inject('redisUrl'));
    cleanups.push(() => redis.quit());
    const s = await seed(db);
    await s.envelope(3);
    const purge = createEnvelopePurge({ db, audit: createAuditLog(db), log: createLogger({ level: 'silent' }), redis, messageTtlDays: 2 });
    cleanups.push(() => purge.close());
    expect(await purge.runOnce()).toEqual({ envelopes: 1, attachments: 0 });
    expect(await purge.runOnce()).toEqual({ envelopes: 0, attachments: 0 });
  });
});
