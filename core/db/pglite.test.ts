// The PGlite thread's transaction protocol: a transaction opens with its first statement (no round
// trip of its own), statements sent without waiting run in the order sent, a failure anywhere rolls
// back everything, and the single connection is released in every case.
import { afterEach, describe, expect, it } from 'vitest';
import { openPglite } from './pglite.ts';
import type { Db } from './types.ts';

describe('PGlite transactions', () => {
  const opened: Db[] = [];
  afterEach(async () => {
    for (const db of opened.splice(0)) await db.close();
  });
  async function fresh(): Promise<Db> {
    const db = await openPglite();
    opened.push(db);
    await db.exec('CREATE TABLE t_order (s serial PRIMARY KEY, n int NOT NULL UNIQUE)');
    return db;
  }
  const numbers = async (db: Db): Promise<number[]> => (await db.query<{ n: number }>('SELECT n FROM t_order ORDER BY s')).map((r) => r.n);

  it('runs statements sent without waiting in the order they were sent', async () => {
    const db = await fresh();
    const order = Array.from({ length: 40 }, (_, i) => (i * 17) % 40);
    const back = await db.transaction((tx) => Promise.all(order.map((n) => tx.query<{ n: number; s: number }>('INSERT INTO t_order (n) VALUES ($1) RETURNING n, s', [n]))));
    // The serial follows the send order, so each statement ran after the one sent before it.
    expect(back.map((rows) => rows[0]?.s)).toEqual(order.map((_, i) => i + 1));
    expect(await numbers(db)).toEqual(order);
  });

  it('rolls back every pipelined statement when one of them fails, and frees the database', async () => {
    const db = await fresh();
    await expect(
      db.transaction((tx) =>
        Promise.all([tx.query('INSERT INTO t_order (n) VALUES (1)'), tx.query('INSERT INTO t_order (n) VALUES (1)'), tx.query('INSERT INTO t_order (n) VALUES (3)')]),
      ),
    ).rejects.toMatchObject({ code: '23505' });
    expect(await numbers(db)).toEqual([]);
    await db.transaction((tx) => tx.query('INSERT INTO t_order (n) VALUES (4)'));
    expect(await numbers(db)).toEqual([4]);
  });

  it('rolls back when the caller throws after its statements ran', async () => {
    const db = await fresh();
    await expect(
      db.transaction(async (tx) => {
        await tx.query('INSERT INTO t_order (n) VALUES (5)');
        throw new Error('caller changed its mind');
      }),
    ).rejects.toThrow('caller changed its mind');
    expect(await numbers(db)).toEqual([]);
  });

  it('answers a transaction that ran no statement without touching the database', async () => {
    const db = await fresh();
    await expect(db.transaction(() => Promise.resolve('nothing to do'))).resolves.toBe('nothing to do');
    await expect(db.transaction(() => Promise.reject(new Error('refused before any statement')))).rejects.toThrow('refused before any statement');
    expect(await numbers(db)).toEqual([]);
  });

  it('keeps a statement outside the transaction waiting until it commits', async () => {
    const db = await fresh();
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const tx = db.transaction(async (t) => {
      await t.query('INSERT INTO t_order (n) VALUES (7)');
      await held;
      await t.query('INSERT INTO t_order (n) VALUES (8)');
    });
    // Sent while the transaction is open; it must see both rows or neither, never half.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const outside = numbers(db);
    release();
    await tx;
    expect(await outside).toEqual([7, 8]);
  });

  it('runs concurrent transactions one after another, each whole', async () => {
    const db = await fresh();
    await Promise.all(
      Array.from({ length: 10 }, (_, k) =>
        db.transaction(async (tx) => {
          await tx.query('INSERT INTO t_order (n) VALUES ($1)', [k * 2]);
          await new Promise((resolve) => setImmediate(resolve));
          await tx.query('INSERT INTO t_order (n) VALUES ($1)', [k * 2 + 1]);
        }),
      ),
    );
    const rows = await numbers(db);
    // Each transaction's two rows are adjacent: nothing interleaved inside an open transaction.
    for (let i = 0; i < rows.length; i += 2) expect((rows[i + 1] ?? -1) - (rows[i] ?? 0)).toBe(1);
    expect(rows.length).toBe(20);
  });

  it('stores bytea parameters exactly, including a Buffer that is a slice of a larger one', async () => {
    const db = await fresh();
    const backing = Buffer.from(Array.from({ length: 300 }, (_, i) => i % 256));
    const slice = backing.subarray(7, 263);
    const [row] = await db.query<{ b: Buffer; len: number }>('SELECT $1::bytea AS b, length($1::bytea)::int AS len', [slice]);
    expect(row?.len).toBe(256);
    expect(Buffer.compare(row?.b ?? Buffer.alloc(0), slice)).toBe(0);
    await expect(db.query('SELECT $1::bytea', ['not bytes'])).rejects.toThrow(/Uint8Array/);
  });
});
