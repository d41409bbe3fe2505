/**
 * Tampering done directly in SQL by someone who can switch the append-only triggers off (a
 * database superuser), bypassing the application: each attack must be found, at the right seq,
 * for the right reason. Small batches make the walk cross page boundaries.
 */
import { createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ENGINES, openTestDb, type TestDb } from '../../test/helpers/databases.ts';
import { createCheckpointer, checkpointPayload } from './checkpoint.ts';
import { hashRecord } from './hash.ts';
import { createAuditLog } from './log.ts';
import { keyIdOf, type AuditSigningKey } from './signing-key.ts';
import { relinkChain, tamper, tamperSql } from './test-fixtures/attacker.ts';
import { sampleEntry } from './test-fixtures/entries.ts';
import { verifyChain, type VerifyResult } from './verify.ts';

function memoryKey(): AuditSigningKey {
  const { privateKey } = generateKeyPairSync('ed25519');
  const publicKey = createPublicKey(privateKey);
  return { keyId: keyIdOf(publicKey), privateKey, publicKey };
}

describe.each(ENGINES)('audit tamper detection on %s', (kind) => {
  let t: TestDb;
  const key = memoryKey();
  const verify = (): Promise<VerifyResult> => verifyChain(t.db, { publicKeys: [key.publicKey], batchSize: 4 });

  // 12 entries; a signed checkpoint at entry 10; entries 11 and 12 not yet signed.
  beforeEach(async () => {
    t = await openTestDb(kind);
    const log = createAuditLog(t.db);
    for (let i = 0; i < 10; i++) await log.append(sampleEntry(i));
    expect(await createCheckpointer(t.db, key).checkpoint()).toMatchObject({ seq: 10 });
    for (let i = 10; i < 12; i++) await log.append(sampleEntry(i));
  });
  afterEach(() => t.dispose());

  it('passes an untouched chain, reporting progress per batch', async () => {
    const progress: [number, number][] = [];
    const r = await verifyChain(t.db, { publicKeys: [key.publicKey], batchSize: 4, onProgress: (done, total) => progress.push([done, total]) });
    expect(r).toMatchObject({ ok: true, checked: 12, checkpoints: 1, head: { seq: 12 } });
    expect(progress).toEqual([[4, 12], [8, 12], [12, 12]]);
  });

  it('finds an edited field', async () => {
    await tamperSql(t.db, "UPDATE audit_log SET outcome = 'success' WHERE seq = 4");
    expect((await verify()).firstBad).toMatchObject({ seq: 4, reason: 'hash_mismatch' });
  });

  it('finds edited details and an edited timestamp', async () => {
    await tamperSql(t.db, `UPDATE audit_log SET details = details || '{"fields": 4}' WHERE seq = 8`);
    expect(await verify()).toMatchObject({ ok: false, checked: 7, firstBad: { seq: 8, reason: 'hash_mismatch' } });
    await tamperSql(t.db, "UPDATE audit_log SET at = at - interval '1 second' WHERE seq = 3");
    expect((await verify()).firstBad).toMatchObject({ seq: 3, reason: 'hash_mismatch' });
  });

  it('finds a deleted middle entry', async () => {
    await tamperSql(t.db, 'DELETE FROM audit_log WHERE seq = 6');
    const r = await verify();
    expect(r.firstBad).toMatchObject({ seq: 6, reason: 'seq_gap' });
    expect(r.firstBad?.message).toMatch(/entry 6 is missing/);
  });

  it('finds a deleted first entry', async () => {
    await tamperSql(t.db, 'DELETE FROM audit_log WHERE seq = 1');
    expect((await verify()).firstBad).toMatchObject({ seq: 1, reason: 'seq_gap' });
  });

  it('finds a forged entry inserted in the middle, even with a correct hash of its own', async () => {
    await tamper(t.db, async (tx) => {
      await tx.exec('UPDATE audit_log SET seq = seq + 1000 WHERE seq >= 6; UPDATE audit_log SET seq = seq - 999 WHERE seq > 1000');
      const [prev] = await tx.query<{ hash: string; at: Date }>('SELECT hash, at FROM audit_log WHERE seq = 5');
      if (!prev) throw new Error('fixture: no entry 5');
      const forged = {
        seq: 6, at: prev.at.toISOString(), actor_type: 'user', actor_id: 'usr_1', action: 'break_glass.review', resource_type: null, resource_id: null,
        patient_id: 'pat_1', outcome: 'success', request_id: null, ip: null, break_glass: false, details: {}, prev_hash: prev.hash,
      };
      await tx.query(
        `INSERT INTO audit_log (seq, at, actor_type, actor_id, action, patient_id, outcome, details, prev_hash, hash)
         VALUES (6, $1::timestamptz, 'user', 'usr_1', 'break_glass.review', 'pat_1', 'success', '{}', $2, $3)`,
        [forged.at, forged.prev_hash, hashRecord(forged)],
      );
    });
    expect((await verify()).firstBad).toMatchObject({ seq: 7, reason: 'prev_hash_mismatch' });
  });

  it('finds two entries whose contents were swapped (reordered)', async () => {
    await tamperSql(
      t.db,
      `UPDATE audit_log a SET (at, actor_type, actor_id, action, resource_type, resource_id, patient_id, outcome, request_id, ip, break_glass, details, prev_hash, hash) =
         (SELECT at, actor_type, actor_id, action, resource_type, resource_id, patient_id, outcome, request_id, ip, break_glass, details, prev_hash, hash
            FROM audit_log b WHERE b.seq = CASE a.seq WHEN 3 THEN 4 ELSE 3 END)
       WHERE a.seq IN (3, 4)`,
    );
    expect((await verify()).firstBad).toMatchObject({ seq: 3, reason: 'prev_hash_mismatch' });
  });

  it('finds a cut tail below a signed checkpoint', async () => {
    await tamperSql(t.db, 'DELETE FROM audit_log WHERE seq > 8');
    const r = await verify();
    expect(r).toMatchObject({ ok: false, checked: 8, firstBad: { seq: 9, reason: 'truncated' } });
    expect(r.firstBad?.message).toMatch(/checkpoint covers entry 10/);
  });

  it('finds a truncated table', async () => {
    await tamperSql(t.db, 'TRUNCATE audit_log');
    expect((await verify()).firstBad).toMatchObject({ seq: 1, reason: 'truncated' });
  });

  it('finds a whole chain rewritten with recomputed hashes, through the signed checkpoint', async () => {
    await tamper(t.db, async (tx) => {
      await tx.query(`UPDATE audit_log SET outcome = 'success', break_glass = false WHERE seq = 2`);
      await relinkChain(tx, 2);
    });
    const r = await verify();
    expect(r.firstBad).toMatchObject({ seq: 10, reason: 'checkpoint_mismatch' });
    expect(r.checked).toBe(9); // the rewritten chain links; only the signature exposes it
  });

  it('finds a checkpoint altered to match a rewritten chain', async () => {
    await tamper(t.db, async (tx) => {
      await tx.query(`UPDATE audit_log SET outcome = 'success' WHERE seq = 2`);
      await relinkChain(tx, 2);
      await tx.query('UPDATE audit_checkpoint SET head_hash = (SELECT hash FROM audit_log WHERE seq = 10) WHERE seq = 10');
    });
    expect((await verify()).firstBad).toMatchObject({ seq: 10, reason: 'checkpoint_signature_invalid' });
  });

  it('finds a checkpoint re-signed with a key that is not trusted', async () => {
    const attackerKey = memoryKey();
    await tamper(t.db, async (tx) => {
      await tx.query(`UPDATE audit_log SET outcome = 'success' WHERE seq = 2`);
      await relinkChain(tx, 2);
      const [row] = await tx.query<{ hash: string; at: Date }>('SELECT hash, at FROM audit_log WHERE seq = 10');
      if (!row) throw new Error('fixture: no entry 10');
      const unsigned = { seq: 10, head_hash: row.hash, at: new Date().toISOString(), key_id: attackerKey.keyId };
      const signature = sign(null, checkpointPayload(unsigned), attackerKey.privateKey).toString('base64');
      await tx.query('DELETE FROM audit_checkpoint');
      await tx.query('INSERT INTO audit_checkpoint (seq, head_hash, at, key_id, signature) VALUES (10, $1, $2::timestamptz, $3, $4)', [
        row.hash, unsigned.at, unsigned.key_id, signature,
      ]);
    });
    expect((await verify()).firstBad).toMatchObject({ seq: 10, reason: 'checkpoint_key_unknown' });
  });
});
