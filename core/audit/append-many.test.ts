// appendMany on both engines: a batch is a run of ordinary chain records under one lock — it
// verifies, interleaves with single appends from concurrent writers, and is all-or-nothing.
import { describe, expect, it } from 'vitest';
import { ENGINES, testDbPerTest } from '../../test/helpers/databases.ts';
import { ActorType, AuditAction, AuditOutcome } from './actions.ts';
import { InvalidAuditEntryError, type AuditEntryInput } from './entry.ts';
import { GENESIS_HASH, hashRecord } from './hash.ts';
import { createAuditLog } from './log.ts';
import { sampleEntry } from './test-fixtures/entries.ts';
import { verifyChain } from './verify.ts';

const send = (writer: string, i: number): AuditEntryInput => ({
  actorType: ActorType.device, actorId: writer, action: AuditAction.messageSend, outcome: AuditOutcome.success, details: { i },
});

describe.each(ENGINES)('audit appendMany on %s', (kind) => {
  const openDb = testDbPerTest(kind);

  it('appends a batch of 50 as consecutive linked records that the verifier accepts', async () => {
    const t = await openDb();
    const log = createAuditLog(t.db);
    const first = await log.append(sampleEntry(0));
    const batch = await log.appendMany(Array.from({ length: 50 }, (_, i) => sampleEntry(i + 1)));
    expect(batch.map((r) => r.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 2));
    expect(batch[0]?.prev_hash).toBe(first.hash);
    for (let i = 1; i < batch.length; i++) expect(batch[i]?.prev_hash).toBe(batch[i - 1]?.hash);
    for (const r of batch) expect(hashRecord(r)).toBe(r.hash);
    // Each record carries its own entry, in order.
    expect(batch.map((r) => r.details)).toEqual(Array.from({ length: 50 }, (_, i) => sampleEntry(i + 1).details));
    expect(Date.parse(batch[0]?.at ?? '')).toBeGreaterThanOrEqual(Date.parse(first.at));
    const after = await log.append(sampleEntry(51));
    expect(after).toMatchObject({ seq: 52, prev_hash: batch[49]?.hash });
    expect(await verifyChain(t.db, { publicKeys: [], batchSize: 7 })).toMatchObject({ ok: true, checked: 52, head: { seq: 52, hash: after.hash } });
    const stored = await t.db.query<{ hash: string }>('SELECT hash FROM audit_log WHERE seq BETWEEN 2 AND 51 ORDER BY seq');
    expect(stored.map((r) => r.hash)).toEqual(batch.map((r) => r.hash));
  });

  it('starts an empty chain at the genesis hash, and an empty batch writes nothing', async () => {
    const t = await openDb();
    const log = createAuditLog(t.db);
    expect(await log.appendMany([])).toEqual([]);
    expect(await log.head()).toBeNull();
    const [a, b] = await log.appendMany([sampleEntry(1), sampleEntry(2)]);
    expect(a).toMatchObject({ seq: 1, prev_hash: GENESIS_HASH });
    expect(b).toMatchObject({ seq: 2, prev_hash: a?.hash });
    expect((await verifyChain(t.db, { publicKeys: [] })).ok).toBe(true);
  });

  it('never stamps a batch earlier than the head, even when the head is in the future', async () => {
    const t = await openDb();
    const future = new Date(Date.now() + 3_600_000);
    future.setUTCMilliseconds(123);
    const unsigned = {
      seq: 1, at: future.toISOString(), actor_type: 'system', actor_id: 'test', action: AuditAction.systemStart, resource_type: null, resource_id: null,
      patient_id: null, outcome: 'success', request_id: null, ip: null, break_glass: false, details: {}, prev_hash: GENESIS_HASH,
    };
    await t.db.query(
      `INSERT INTO audit_log (seq, at, actor_type, actor_id, action, outcome, details, prev_hash, hash)
       VALUES (1, $1::timestamptz, 'system', 'test', $2, 'success', '{}'::jsonb, $3, $4)`,
      [unsigned.at, unsigned.action, GENESIS_HASH, hashRecord(unsigned)],
    );
    const batch = await createAuditLog(t.db).appendMany([sampleEntry(1), sampleEntry(2), sampleEntry(3)]);
    expect(batch.map((r) => r.at)).toEqual([future.toISOString(), future.toISOString(), future.toISOString()]);
    expect(await verifyChain(t.db, { publicKeys: [] })).toMatchObject({ ok: true, checked: 4 });
  });

  it('rejects a whole batch with one bad entry before writing anything, leaving the transaction usable', async () => {
    const t = await openDb();
    const log = createAuditLog(t.db);
    await log.append(sampleEntry(0));
    const entries = Array.from({ length: 10 }, (_, i) => sampleEntry(i));
    const bad = [...entries.slice(0, 9), { ...sampleEntry(9), details: { patientName: 'x' } }];
    await expect(log.appendMany(bad)).rejects.toThrow(InvalidAuditEntryError);
    await t.db.transaction(async (tx) => {
      await expect(log.appendMany([{ ...sampleEntry(1), action: 'system.reboot' } as unknown as AuditEntryInput, ...entries], tx)).rejects.toThrow(InvalidAuditEntryError);
      // Nothing was locked or written, so the same transaction can still append.
      await log.appendMany(entries.slice(0, 2), tx);
    });
    expect((await t.db.query<{ seq: number }>('SELECT seq FROM audit_log ORDER BY seq')).map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(await verifyChain(t.db, { publicKeys: [] })).toMatchObject({ ok: true, checked: 3 });
  });

  it('vanishes with a transaction that rolls back', async () => {
    const t = await openDb();
    const log = createAuditLog(t.db);
    await expect(
      t.db.transaction(async (tx) => {
        await log.appendMany([sampleEntry(1), sampleEntry(2)], tx);
        throw new Error('business step failed');
      }),
    ).rejects.toThrow(/business step failed/);
    expect(await t.db.query('SELECT seq FROM audit_log')).toEqual([]);
  });

  it('interleaves with single appends from concurrent writers as one valid chain', { timeout: 60_000 }, async () => {
    const t = await openDb();
    const log = createAuditLog(t.db);
    const WRITERS = 4;
    const ROUNDS = 30;
    const BATCH = 5;
    await Promise.all(
      Array.from({ length: WRITERS }, async (_, w) => {
        const writer = `dev_${w}`;
        for (let i = 0; i < ROUNDS; i++) {
          // Even writers batch, odd writers append one at a time, half inside their own transaction.
          if (w % 2 === 0) {
            const batch = await log.appendMany(Array.from({ length: BATCH }, (_, j) => send(writer, i * BATCH + j)));
            expect(batch.map((r) => r.seq)).toEqual(Array.from({ length: BATCH }, (_, j) => (batch[0]?.seq ?? 0) + j));
          } else if (i % 2 === 0) {
            await log.append(send(writer, i));
          } else {
            await t.db.transaction((tx) => log.append(send(writer, i), tx));
          }
        }
      }),
    );
    const total = (WRITERS / 2) * ROUNDS * BATCH + (WRITERS / 2) * ROUNDS;
    expect(await verifyChain(t.db, { publicKeys: [] })).toMatchObject({ ok: true, checked: total, head: { seq: total } });
    const rows = await t.db.query<{ seq: number; actor_id: string; details: { i: number } }>('SELECT seq, actor_id, details FROM audit_log ORDER BY seq');
    expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    // Each writer's entries appear in the order it wrote them, and batches stay contiguous.
    for (let w = 0; w < WRITERS; w++) {
      const mine = rows.filter((r) => r.actor_id === `dev_${w}`);
      const order = mine.map((r) => r.details.i);
      expect(order).toEqual([...order].sort((a, b) => a - b));
      if (w % 2 === 0) {
        for (let b = 0; b < ROUNDS; b++) {
          const seqs = mine.slice(b * BATCH, (b + 1) * BATCH).map((r) => r.seq);
          expect(seqs).toEqual(seqs.map((_, j) => (seqs[0] ?? 0) + j));
        }
      }
    }
    // Evidence the writers really overlapped, rather than running one after another.
    const switches = rows.filter((r, i) => i > 0 && r.actor_id !== rows[i - 1]?.actor_id).length;
    expect(switches).toBeGreaterThan(WRITERS * 2);
  });
});
