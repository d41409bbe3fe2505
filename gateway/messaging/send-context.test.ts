// The shared pre-send read on both engines: every send in a shared query gets its own recipient
// and sender-device answer (by position, duplicates included), and concurrent loads share queries.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Db, Sql } from '../../core/db/types.ts';
import { ENGINES, testDbPerTest } from '../../test/helpers/databases.ts';
import { createSendContextLoader, loadSendContexts } from './send-context.ts';
import { seedDevice, seedStaffUser } from './test-fixtures.ts';

/** Counts the statements sent through `db` (to see that loads share queries). */
function counting(db: Db): { sql: Sql; count: () => number } {
  let n = 0;
  return {
    sql: {
      query: (text, params) => {
        n++;
        return db.query(text, params);
      },
      exec: (text) => db.exec(text),
    },
    count: () => n,
  };
}

describe.each(ENGINES)('send context (%s)', (kind) => {
  const open = testDbPerTest(kind);

  async function setup() {
    const { db } = await open();
    const sender = await seedStaffUser(db, 'provider');
    await seedDevice(db, sender, 1);
    const provider = await seedStaffUser(db, 'provider');
    const disabled = await seedStaffUser(db, 'scheduler');
    await db.query(`UPDATE users SET status = 'disabled' WHERE id = $1`, [disabled]);
    return { db, sender, provider, disabled };
  }

  it('answers each send by position: peer, unknown, disabled, and the sender device check', async () => {
    const t = await setup();
    const unknown = randomUUID();
    const got = await loadSendContexts(t.db, [
      { recipientId: t.provider, senderUser: t.sender, senderDevice: 1 },
      { recipientId: unknown, senderUser: t.sender, senderDevice: 1 },
      { recipientId: t.disabled, senderUser: t.sender, senderDevice: 1 },
      { recipientId: t.provider, senderUser: t.sender, senderDevice: 2 },
      { recipientId: t.provider, senderUser: t.provider, senderDevice: 1 },
      { recipientId: t.provider, senderUser: t.sender, senderDevice: 1 },
    ]);
    expect(got).toEqual([
      { peer: { kind: 'staff', role: 'provider' }, senderDeviceOk: true },
      { peer: null, senderDeviceOk: true },
      { peer: null, senderDeviceOk: true },
      { peer: { kind: 'staff', role: 'provider' }, senderDeviceOk: false },
      { peer: { kind: 'staff', role: 'provider' }, senderDeviceOk: false },
      { peer: { kind: 'staff', role: 'provider' }, senderDeviceOk: true },
    ]);
    expect(await loadSendContexts(t.db, [])).toEqual([]);
  });

  it('shares one query among loads made together, each getting its own answer', async () => {
    const t = await setup();
    const c = counting(t.db);
    const loader = createSendContextLoader(c.sql, { onGroupError: (err) => expect.fail(String(err)) });
    const asks = Array.from({ length: 20 }, (_, i) => ({ recipientId: i % 2 === 0 ? t.provider : t.disabled, senderUser: t.sender, senderDevice: i % 5 === 0 ? 9 : 1 }));
    const answers = await Promise.all(asks.map((q) => loader.load(q)));
    expect(answers.map((a) => [a.peer?.kind ?? null, a.senderDeviceOk])).toEqual(asks.map((q, i) => [i % 2 === 0 ? 'staff' : null, q.senderDevice === 1]));
    expect(c.count()).toBe(1);
  });
});
