// Master key rotation on both engines: everything readable under the new key alone, all-or-nothing, audited with counts.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ENGINES, testDbPerTest } from '../../test/helpers/databases.ts';
import type { Db } from '../db/types.ts';
import { CLI_CTX, distinctivePatient, storeOn } from '../patients/test-fixtures/patients.ts';
import { createMasterKeyring, generateMasterKey, type MasterKeyring } from './keyring.ts';
import { createMasterSealer, totpSecretAad } from './master-sealer.ts';
import { rotateMasterKey } from './rotate.ts';
import { DecryptionError } from './types.ts';

async function addStaffWithTotp(db: Db, keyring: MasterKeyring, secret: string): Promise<string> {
  const id = randomUUID();
  const sealed = createMasterSealer(keyring).seal(Buffer.from(secret), totpSecretAad(id));
  await db.query(`INSERT INTO users (id, kind, role, username, display_name, totp_secret) VALUES ($1, 'staff', 'admin', $2, 'Admin', $3)`, [
    id,
    `adm-${id.slice(0, 8)}`,
    sealed,
  ]);
  return id;
}

async function totpOf(db: Db, keyring: MasterKeyring, userId: string): Promise<string> {
  const [row] = await db.query<{ totp_secret: Buffer }>('SELECT totp_secret FROM users WHERE id = $1', [userId]);
  if (!row) throw new Error('user missing');
  return createMasterSealer(keyring).open(row.totp_secret, totpSecretAad(userId)).toString();
}

describe.each(ENGINES)('rotateMasterKey (%s)', (kind) => {
  const open = testDbPerTest(kind);

  it('re-wraps every patient key and TOTP secret so the new key alone reads them all, and audits counts', async () => {
    const { db } = await open();
    const oldKey = generateMasterKey();
    const oldRing = createMasterKeyring(oldKey);
    const { store } = storeOn(db, oldRing);
    const inputs = [distinctivePatient(), distinctivePatient(), distinctivePatient()];
    const ids: string[] = [];
    for (const p of inputs) ids.push((await store.create(p, CLI_CTX)).id);
    const gone = (await store.create(distinctivePatient(), CLI_CTX)).id;
    await store.erase(gone, CLI_CTX);
    const users = [await addStaffWithTotp(db, oldRing, 'JBSWY3DPEHPK3PXP'), await addStaffWithTotp(db, oldRing, 'KRSXG5CTMVRXEZLU')];
    await db.query(`INSERT INTO users (id, kind, role, username, display_name) VALUES ($1, 'staff', 'auditor', $2, 'No MFA yet')`, [randomUUID(), `aud-${randomUUID().slice(0, 8)}`]);

    const newKey = generateMasterKey();
    const res = await rotateMasterKey({ db, keyring: oldRing, newKey });
    expect(res).toEqual({ keyId: newKey.keyId, previousKeyId: oldKey.keyId, patientKeys: 3, totpSecrets: 2 });

    const newOnly = createMasterKeyring(newKey);
    const after = storeOn(db, newOnly).store;
    for (const [i, id] of ids.entries()) expect(await after.get(id)).toMatchObject({ id, erased: false, ...inputs[i] });
    expect(await after.get(gone)).toMatchObject({ erased: true });
    expect(await totpOf(db, newOnly, users[0] ?? '')).toBe('JBSWY3DPEHPK3PXP');
    expect(await totpOf(db, newOnly, users[1] ?? '')).toBe('KRSXG5CTMVRXEZLU');
    // The old key opens nothing any more.
    await expect(storeOn(db, oldRing).store.get(ids[0] ?? '')).rejects.toBeInstanceOf(DecryptionError);
    await expect(totpOf(db, oldRing, users[0] ?? '')).rejects.toBeInstanceOf(DecryptionError);

    const keyRows = await db.query<{ master_key_id: string; rotated_at: Date | null }>('SELECT master_key_id, rotated_at FROM patient_keys');
    expect(keyRows).toHaveLength(3);
    for (const r of keyRows) expect(r).toMatchObject({ master_key_id: newKey.keyId, rotated_at: expect.any(Date) as unknown });
    const [audit] = await db.query<{ actor_id: string; details: unknown }>(`SELECT actor_id, details FROM audit_log WHERE action = 'system.master_key.rotate'`);
    expect(audit).toEqual({ actor_id: 'cli', details: { keyId: newKey.keyId, previousKeyId: oldKey.keyId, patientKeys: 3, totpKeys: 2 } });
  });

  it('changes nothing when one row cannot be opened (one transaction), and finishes a mixed-key state', async () => {
    const { db } = await open();
    const a = generateMasterKey();
    const b = generateMasterKey();
    const p1 = (await storeOn(db, createMasterKeyring(a)).store.create(distinctivePatient(), CLI_CTX)).id;
    const p2 = (await storeOn(db, createMasterKeyring(b)).store.create(distinctivePatient(), CLI_CTX)).id;
    const snapshot = () => db.query('SELECT patient_id, wrapped_key, master_key_id FROM patient_keys ORDER BY patient_id');
    const before = await snapshot();

    await expect(rotateMasterKey({ db, keyring: createMasterKeyring(a), newKey: generateMasterKey() })).rejects.toBeInstanceOf(DecryptionError);
    expect(await snapshot()).toEqual(before);
    expect(await db.query(`SELECT 1 FROM audit_log WHERE action = 'system.master_key.rotate'`)).toHaveLength(0);

    // Rows under two keys (an interrupted rotation): a keyring holding both completes it.
    const c = generateMasterKey();
    expect((await rotateMasterKey({ db, keyring: createMasterKeyring(a, [b]), newKey: c })).patientKeys).toBe(2);
    const onlyC = storeOn(db, createMasterKeyring(c)).store;
    expect(await onlyC.get(p1)).toMatchObject({ erased: false });
    expect(await onlyC.get(p2)).toMatchObject({ erased: false });
  });
});
