import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ENGINES, testDbPerTest } from '../../test/helpers/databases.ts';
import { createEnvelopeStore } from './envelope-store.ts';
import { seedDevice, seedStaffUser } from './test-fixtures.ts';

describe.each(ENGINES)('envelope store (%s)', (kind) => {
  const open = testDbPerTest(kind);

  async function setup() {
    const { db } = await open();
    const alice = await seedStaffUser(db);
    const bob = await seedStaffUser(db);
    await seedDevice(db, alice, 1);
    await seedDevice(db, bob, 1);
    await seedDevice(db, bob, 2);
    return { db, store: createEnvelopeStore(db), alice, bob };
  }

  const env = (deviceId: number, text: string) => ({ deviceId, type: 3 as const, content: Buffer.from(text) });

  it('stores a batch atomically and lists per device in seq order after a cursor', async () => {
    const { store, alice, bob } = await setup();
    const first = await store.store({ recipientUser: bob, senderUser: alice, senderDevice: 1, envelopes: [env(1, 'a1'), env(2, 'a2')] });
    const second = await store.store({ recipientUser: bob, senderUser: alice, senderDevice: 1, envelopes: [env(1, 'b1'), env(2, 'b2')] });
    expect(first.map((r) => r.deviceId)).toEqual([1, 2]);
    expect(second[0]?.seq).toBeGreaterThan(first[1]?.seq ?? Infinity);

    const d1 = await store.listPending(bob, 1);
    expect(d1.map((e) => e.content.toString())).toEqual(['a1', 'b1']);
    expect(d1[0]).toMatchObject({ id: first[0]?.id, senderUser: alice, senderDevice: 1, type: 3 });
    expect(d1[0]?.serverTs).toBeInstanceOf(Date);
    const after = await store.listPending(bob, 1, { afterSeq: d1[0]?.seq ?? 0 });
    expect(after.map((e) => e.content.toString())).toEqual(['b1']);
    expect(await store.listPending(bob, 2, { limit: 1 })).toHaveLength(1);
    expect(await store.listPending(alice, 1)).toEqual([]);
  });

  it('rolls the whole batch back when one envelope is for a device that does not exist', async () => {
    const { store, alice, bob } = await setup();
    await expect(store.store({ recipientUser: bob, senderUser: alice, senderDevice: 1, envelopes: [env(1, 'x'), env(9, 'y')] })).rejects.toThrow();
    expect(await store.listPending(bob, 1)).toEqual([]);
  });

  it('acks delete only the recipient device’s own envelopes, once', async () => {
    const { store, alice, bob } = await setup();
    const refs = await store.store({ recipientUser: bob, senderUser: alice, senderDevice: 1, envelopes: [env(1, 'a'), env(2, 'b')] });
    const [forD1, forD2] = refs.map((r) => r.id);
    if (forD1 === undefined || forD2 === undefined) throw new Error('missing refs');
    expect(await store.ack(alice, 1, [forD1, forD2])).toBe(0); // someone else's mail
    expect(await store.ack(bob, 2, [forD1])).toBe(0); // another device of the same account
    expect(await store.ack(bob, 1, [forD1, forD2, randomUUID(), 'not-a-uuid'])).toBe(1);
    expect(await store.ack(bob, 1, [forD1])).toBe(0); // repeated
    expect((await store.listPending(bob, 2)).map((e) => e.id)).toEqual([forD2]);
  });

  it('purges envelopes older than the cutoff and reports the count', async () => {
    const { db, store, alice, bob } = await setup();
    const [old] = await store.store({ recipientUser: bob, senderUser: alice, senderDevice: 1, envelopes: [env(1, 'old')] });
    await store.store({ recipientUser: bob, senderUser: alice, senderDevice: 1, envelopes: [env(1, 'new')] });
    await db.query(`UPDATE envelopes SET server_ts = now() - interval '40 days' WHERE id = $1`, [old?.id]);
    expect(await store.purgeOlderThan(new Date(Date.now() - 30 * 86_400_000))).toBe(1);
    expect((await store.listPending(bob, 1)).map((e) => e.content.toString())).toEqual(['new']);
    expect(await store.purgeOlderThan(new Date(Date.now() - 30 * 86_400_000))).toBe(0);
  });
});
