// JSON Lines export: window/actor/patient filters across batches, lines whose hashes recompute.
import { describe, expect, it } from 'vitest';
import { ENGINES, testDbPerTest, type TestDb } from '../../test/helpers/databases.ts';
import { ActorType, AuditAction, AuditOutcome } from './actions.ts';
import type { AuditRecord } from './entry.ts';
import { exportEntries, toJsonLine, type ExportFilter } from './export.ts';
import { canonicalJson, hashRecord, sha256Hex } from './hash.ts';
import { createAuditLog } from './log.ts';
import { tamperSql } from './test-fixtures/attacker.ts';

async function collect(t: TestDb, filter: ExportFilter, batchSize?: number): Promise<AuditRecord[]> {
  const out: AuditRecord[] = [];
  for await (const r of exportEntries(t.db, filter, batchSize === undefined ? {} : { batchSize })) out.push(r);
  return out;
}

describe.each(ENGINES)('audit export on %s', (kind) => {
  const openDb = testDbPerTest(kind);

  it('selects a time window, an actor and a patient, in seq order across batches', async () => {
    const t = await openDb();
    const log = createAuditLog(t.db);
    for (let i = 0; i < 30; i++) {
      await log.append({
        actorType: ActorType.user, actorId: `usr_${i % 3}`, action: AuditAction.patientView, outcome: AuditOutcome.success,
        patientId: `pat_${i % 2}`, details: { i },
      });
    }
    // Spread the entries over days so the window filter has something to cut (done as an attacker
    // would, since the table refuses UPDATE; hashes are not checked by export).
    await tamperSql(t.db, "UPDATE audit_log SET at = timestamptz '2026-01-01T00:00:00Z' + (seq - 1) * interval '1 day'");
    const window = { from: new Date('2026-01-05T00:00:00Z'), to: new Date('2026-01-25T00:00:00Z') };

    const all = await collect(t, window, 4);
    expect(all.map((r) => r.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 5)); // days 5..24, `to` exclusive
    const byActor = await collect(t, { ...window, actorId: 'usr_1' }, 2);
    expect(byActor.every((r) => r.actor_id === 'usr_1')).toBe(true);
    expect(byActor.map((r) => r.seq)).toEqual(all.filter((r) => r.actor_id === 'usr_1').map((r) => r.seq));
    const byBoth = await collect(t, { ...window, actorId: 'usr_1', patientId: 'pat_0' });
    expect(byBoth.length).toBeGreaterThan(0);
    expect(byBoth.every((r) => r.actor_id === 'usr_1' && r.patient_id === 'pat_0')).toBe(true);
    expect(await collect(t, { ...window, patientId: 'pat_none' })).toEqual([]);
  });

  it('writes canonical JSON lines from which anyone can recompute each hash', async () => {
    const t = await openDb();
    const log = createAuditLog(t.db);
    const appended = [];
    for (let i = 0; i < 3; i++) {
      appended.push(await log.append({ actorType: ActorType.anonymous, action: AuditAction.visitLinkRedeem, outcome: AuditOutcome.denied, details: { z: i, a: 'é' } }));
    }
    const [exported] = await collect(t, { from: new Date(Date.now() - 60_000), to: new Date(Date.now() + 60_000) });
    const line = exported ? toJsonLine(exported) : '';
    expect(line.endsWith('\n')).toBe(true);
    const parsed = JSON.parse(line) as AuditRecord;
    expect(parsed).toEqual(appended[0]);
    const { hash, ...rest } = parsed;
    expect(sha256Hex(canonicalJson(rest))).toBe(hash); // the line minus `hash` is exactly what was hashed
    expect(hashRecord(parsed)).toBe(hash);
    expect(line.indexOf('"actor_id"')).toBeLessThan(line.indexOf('"seq"')); // RFC 8785 key order
  });
});
