// Per-patient field encryption on both engines: round trip, key creation, tamper/aad/patient mismatches, shredding.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Db } from '../db/types.ts';
import { ENGINES, testDbPerTest } from '../../test/helpers/databases.ts';
import { createMasterKeyring, generateMasterKey } from './keyring.ts';
import { createPatientCipher } from './patient-cipher.ts';
import { DecryptionError, PatientKeyUnavailableError } from './types.ts';

async function insertPatient(db: Db): Promise<string> {
  const id = randomUUID();
  await db.query('INSERT INTO patients (id) VALUES ($1)', [id]);
  return id;
}

describe.each(ENGINES)('createPatientCipher (%s)', (kind) => {
  const open = testDbPerTest(kind);
  const keyring = createMasterKeyring(generateMasterKey());

  it('creates one wrapped data key on first encrypt and round-trips fields', async () => {
    const { db } = await open();
    const cipher = createPatientCipher({ db, keyring });
    const id = await insertPatient(db);
    const a = await cipher.encrypt(id, 'given_name', 'Zebulon');
    const b = await cipher.encrypt(id, 'family_name', 'Quackenbush');
    expect(a.includes(Buffer.from('Zebulon'))).toBe(false);
    expect(await cipher.decrypt(id, 'given_name', a)).toBe('Zebulon');
    expect(await cipher.decryptFields(id, { family_name: b, mrn: null })).toEqual({ family_name: 'Quackenbush', mrn: null });
    const keys = await db.query<{ master_key_id: string; wrapped_key: Buffer }>('SELECT master_key_id, wrapped_key FROM patient_keys WHERE patient_id = $1', [id]);
    expect(keys).toHaveLength(1);
    expect(keys[0]?.master_key_id).toBe(keyring.current.keyId);
  });

  it('creates the key inside the caller transaction, so a rollback leaves none', async () => {
    const { db } = await open();
    const cipher = createPatientCipher({ db, keyring });
    const id = await insertPatient(db);
    await expect(
      db.transaction(async (tx) => {
        await cipher.encrypt(id, 'mrn', 'MRN-1', tx);
        throw new Error('rollback');
      }),
    ).rejects.toThrow('rollback');
    expect(await db.query('SELECT 1 FROM patient_keys WHERE patient_id = $1', [id])).toHaveLength(0);
  });

  it('concurrent first encrypts end with one key that opens both ciphertexts', async () => {
    const { db } = await open();
    const cipher = createPatientCipher({ db, keyring });
    const id = await insertPatient(db);
    const cts = await Promise.all(['a', 'b', 'c', 'd'].map((v) => cipher.encrypt(id, 'phone', v)));
    expect(await Promise.all(cts.map((c) => cipher.decrypt(id, 'phone', c)))).toEqual(['a', 'b', 'c', 'd']);
    expect(await db.query('SELECT 1 FROM patient_keys WHERE patient_id = $1', [id])).toHaveLength(1);
  });

  it('throws DecryptionError on tampering, on another field name, and under another patient', async () => {
    const { db } = await open();
    const cipher = createPatientCipher({ db, keyring });
    const [p1, p2] = [await insertPatient(db), await insertPatient(db)];
    const ct = await cipher.encrypt(p1, 'email', 'zeb@example.org');
    await cipher.encrypt(p2, 'email', 'other@example.org'); // p2 has a key of its own
    const tampered = Buffer.from(ct);
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 0x80;
    await expect(cipher.decrypt(p1, 'email', tampered)).rejects.toBeInstanceOf(DecryptionError);
    await expect(cipher.decrypt(p1, 'phone', ct)).rejects.toBeInstanceOf(DecryptionError);
    await expect(cipher.decrypt(p2, 'email', ct)).rejects.toBeInstanceOf(DecryptionError);
    // A wrapped key copied onto another patient's row does not unwrap either (AAD binds it to its patient).
    await db.query('UPDATE patient_keys SET wrapped_key = (SELECT wrapped_key FROM patient_keys WHERE patient_id = $1) WHERE patient_id = $2', [p1, p2]);
    await expect(cipher.decrypt(p2, 'email', ct)).rejects.toBeInstanceOf(DecryptionError);
    expect(await cipher.decrypt(p1, 'email', ct)).toBe('zeb@example.org');
  });

  it('returns null once the key row is gone and never creates a new key for an erased patient', async () => {
    const { db } = await open();
    const cipher = createPatientCipher({ db, keyring });
    const id = await insertPatient(db);
    const ct = await cipher.encrypt(id, 'given_name', 'Zebulon');
    await db.query('DELETE FROM patient_keys WHERE patient_id = $1', [id]);
    await db.query('UPDATE patients SET erased_at = now() WHERE id = $1', [id]);
    expect(await cipher.decrypt(id, 'given_name', ct)).toBeNull();
    expect(await cipher.decryptFields(id, { given_name: ct })).toBeNull();
    await expect(cipher.encrypt(id, 'given_name', 'again')).rejects.toBeInstanceOf(PatientKeyUnavailableError);
    await expect(cipher.encrypt(randomUUID(), 'given_name', 'nobody')).rejects.toBeInstanceOf(PatientKeyUnavailableError);
    expect(await db.query('SELECT 1 FROM patient_keys')).toHaveLength(0);
  });

  it('cannot unwrap keys without the master key they were wrapped under', async () => {
    const { db } = await open();
    const id = await insertPatient(db);
    const ct = await createPatientCipher({ db, keyring }).encrypt(id, 'mrn', 'MRN-77');
    const stranger = createPatientCipher({ db, keyring: createMasterKeyring(generateMasterKey()) });
    await expect(stranger.decrypt(id, 'mrn', ct)).rejects.toThrow(/not loaded/);
  });
});
