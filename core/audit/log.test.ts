// Appending on both engines: linkage, jsonb round-trip, database-enforced append-only, transactions, validation.
import { describe, expect, it } from 'vitest';
import { ENGINES, testDbPerTest } from '../../test/helpers/databases.ts';
import { ActorType, AuditAction, AuditOutcome } from './actions.ts';
import { InvalidAuditEntryError, type AuditEntryInput } from './entry.ts';
import { GENESIS_HASH, hashRecord } from './hash.ts';
import { createAuditLog } from './log.ts';
import { sampleEntry } from './test-fixtures/entries.ts';
import { verifyChain } from './verify.ts';

const ok: AuditEntryInput = { actorType: ActorType.system, actorId: 'test', action: AuditAction.systemStart, outcome: AuditOutcome.success };

describe.each(ENGINES)('audit log on %s', (kind) => {
  const openDb = testDbPerTest(kind);

  it('appends a contiguous, linked chain whose hashes recompute', async () => {
    const t = await openDb();
    const log = createAuditLog(t.db);
    const records = [];
    for (let i = 0; i < 8; i++) records.push(await log.append(sampleEntry(i)));
    expect(records.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(records[0]?.prev_hash).toBe(GENESIS_HASH);
    for (let i = 1; i < records.length; i++) {
      expect(records[i]?.prev_hash).toBe(records[i - 1]?.hash);
      expect(Date.parse(records[i]?.at ?? '')).toBeGreaterThanOrEqual(Date.parse(records[i - 1]?.at ?? ''));
    }
    for (const r of records) expect(hashRecord(r)).toBe(r.hash);
    expect(await log.head()).toEqual({ seq: 8, hash: records[7]?.hash, at: records[7]?.at });
    expect((await verifyChain(t.db, { publicKeys: [] })).ok).toBe(true);
  });

  it('stores details that round-trip exactly through jsonb (unicode, numbers, key order)', async () => {
    const t = await openDb();
    const log = createAuditLog(t.db);
    const details = {
      zeta: 'ünïcødé ✓ 😀 \u2028 "quoted" \\ back', alpha: 0.1 + 0.2, big: 1e21, tiny: 1e-7, neg: -0, max: Number.MAX_SAFE_INTEGER,
      nested: { b: [3, 2, 1], a: { y: null, x: false } }, empty: {}, list: [],
    };
    const rec = await log.append({ ...ok, details });
    const [row] = await t.db.query<{ details: unknown }>('SELECT details FROM audit_log WHERE seq = $1', [rec.seq]);
    expect(row?.details).toEqual({ ...details, neg: 0 });
    const v = await verifyChain(t.db, { publicKeys: [] });
    expect(v).toMatchObject({ ok: true, checked: 1 });
  });

  it('refuses UPDATE, DELETE and TRUNCATE in the database, even in replica mode', async () => {
    const t = await openDb();
    await createAuditLog(t.db).append(ok);
    for (const sql of ["UPDATE audit_log SET outcome = 'failure'", 'DELETE FROM audit_log WHERE seq = 1', 'DELETE FROM audit_log WHERE seq = 999', 'TRUNCATE audit_log']) {
      await expect(t.db.query(sql)).rejects.toThrow(/audit_log is append-only/);
    }
    await expect(t.db.query('DELETE FROM audit_checkpoint')).rejects.toThrow(/audit_checkpoint is append-only/);
    await expect(t.db.query('TRUNCATE audit_checkpoint')).rejects.toThrow(/audit_checkpoint is append-only/);
    // The triggers are ENABLE ALWAYS: the replication-role switch that silences ordinary triggers does not.
    await expect(
      t.db.transaction(async (tx) => {
        await tx.query("SET LOCAL session_replication_role = 'replica'");
        await tx.query('DELETE FROM audit_log');
      }),
    ).rejects.toThrow(/audit_log is append-only/);
    expect(await t.db.query('SELECT seq, outcome FROM audit_log')).toEqual([{ seq: 1, outcome: 'success' }]);
  });

  it('refuses a direct INSERT that does not extend the chain', async () => {
    const t = await openDb();
    const first = await createAuditLog(t.db).append(ok);
    const insert = (seq: number, prev: string) =>
      t?.db.query(
        `INSERT INTO audit_log (seq, at, actor_type, actor_id, action, outcome, prev_hash, hash)
         VALUES ($1, now()::timestamptz(3), 'system', 'x', 'system.start', 'success', $2, $3)`,
        [seq, prev, 'a'.repeat(64)],
      );
    await expect(insert(3, first.hash)).rejects.toThrow(/does not extend the chain/);
    await expect(insert(2, GENESIS_HASH)).rejects.toThrow(/does not extend the chain/);
  });

  it('leaves no entry when the surrounding transaction rolls back, and commits with it', async () => {
    const t = await openDb();
    const log = createAuditLog(t.db);
    await t.db.exec('CREATE TABLE visit_note_test (id int PRIMARY KEY)');
    await expect(
      t.db.transaction(async (tx) => {
        await tx.query('INSERT INTO visit_note_test VALUES (1)');
        await log.append({ ...ok, action: AuditAction.visitAdmit }, tx);
        throw new Error('business step failed');
      }),
    ).rejects.toThrow(/business step failed/);
    expect(await t.db.query('SELECT seq FROM audit_log')).toEqual([]);
    expect(await t.db.query('SELECT id FROM visit_note_test')).toEqual([]);

    await t.db.transaction(async (tx) => {
      await tx.query('INSERT INTO visit_note_test VALUES (2)');
      await log.append({ ...ok, action: AuditAction.visitAdmit }, tx);
    });
    expect(await t.db.query('SELECT seq, action FROM audit_log')).toEqual([{ seq: 1, action: 'visit.admit' }]);
    expect((await verifyChain(t.db, { publicKeys: [] })).ok).toBe(true);
  });

  it('rejects invalid entries before writing anything, leaving the transaction usable', async () => {
    const t = await openDb();
    const log = createAuditLog(t.db);
    const bad: unknown[] = [
      { ...ok, action: 'system.reboot' },
      { ...ok, details: { patientName: 'x' } },
      { ...ok, details: { blob: 'x'.repeat(500), more: 'y'.repeat(500), again: Array.from({ length: 90 }, () => 'z'.repeat(40)) } },
    ];
    await t.db.transaction(async (tx) => {
      for (const entry of bad) await expect(log.append(entry as AuditEntryInput, tx)).rejects.toThrow(InvalidAuditEntryError);
      await log.append(ok, tx);
    });
    expect(await t.db.query('SELECT seq FROM audit_log')).toEqual([{ seq: 1 }]);
  });

  it('refuses to append inside a REPEATABLE READ transaction, where the head could be stale', async () => {
    const t = await openDb();
    const log = createAuditLog(t.db);
    await expect(
      t.db.transaction(async (tx) => {
        await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
        await log.append(ok, tx);
      }),
    ).rejects.toThrow(/READ COMMITTED/);
  });
});
