// `telehealth keys rotate` in-process on both engines: key-file mode (with crash recovery) and MASTER_KEY mode.
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config/load.ts';
import {
  createMasterKeyring,
  createMasterSealer,
  DecryptionError,
  generateMasterKey,
  loadMasterKey,
  loadMasterKeyring,
  masterKeyFromBase64,
  pendingMasterKeyPath,
  rotateMasterKey,
  totpSecretAad,
  writeMasterKeyFileExclusive,
  type MasterKeyring,
} from '../../core/crypto/index.ts';
import { masterKeyToBase64 } from '../../core/crypto/keyring.ts';
import type { Db } from '../../core/db/types.ts';
import { CLI_CTX, distinctivePatient, storeOn } from '../../core/patients/test-fixtures/patients.ts';
import { ENGINES } from '../../test/helpers/databases.ts';
import { keysCommands } from './keys.ts';
import { cliEnvPerTest, type CliEnv } from './test-fixtures/patient-keys-cli.ts';

const TOTP = 'JBSWY3DPEHPK3PXP';

/** Two patients and one staff member with a TOTP secret, all under `keyring`. */
async function seed(t: CliEnv, keyring: MasterKeyring): Promise<{ patients: string[]; userId: string }> {
  return t.direct(async (db) => {
    const { store } = storeOn(db, keyring);
    const patients = [(await store.create(distinctivePatient(), CLI_CTX)).id, (await store.create(distinctivePatient(), CLI_CTX)).id];
    const userId = randomUUID();
    await db.query(`INSERT INTO users (id, kind, role, username, display_name, totp_secret) VALUES ($1, 'staff', 'admin', $2, 'Admin', $3)`, [
      userId,
      `adm-${userId.slice(0, 8)}`,
      createMasterSealer(keyring).seal(Buffer.from(TOTP), totpSecretAad(userId)),
    ]);
    return { patients, userId };
  });
}

async function readableWith(db: Db, keyring: MasterKeyring, seeded: { patients: string[]; userId: string }): Promise<boolean> {
  for (const id of seeded.patients) {
    if ((await storeOn(db, keyring).store.get(id))?.erased !== false) return false;
  }
  const [u] = await db.query<{ totp_secret: Buffer }>('SELECT totp_secret FROM users WHERE id = $1', [seeded.userId]);
  return u !== undefined && createMasterSealer(keyring).open(u.totp_secret, totpSecretAad(seeded.userId)).toString() === TOTP;
}

describe.each(ENGINES)('telehealth keys rotate (%s)', (kind) => {
  const cli = cliEnvPerTest(kind, keysCommands);

  it('key-file mode: replaces the key file, and everything reads under the new key alone', async () => {
    const t = cli();
    const cfg = loadConfig(t.env);
    const oldKey = loadMasterKey(cfg);
    const seeded = await seed(t, createMasterKeyring(oldKey));

    const res = await t.run(['keys', 'rotate']);
    expect(res).toMatchObject({ code: 0, stderr: '' });
    expect(res.stdout).toMatch(/re-wrapped 2 patient key\(s\) and 1 TOTP secret\(s\)/);
    const newKey = loadMasterKey(cfg);
    expect(newKey.keyId).not.toBe(oldKey.keyId);
    expect(res.stdout).toContain(`${oldKey.keyId} -> ${newKey.keyId}`);
    expect(existsSync(pendingMasterKeyPath(cfg))).toBe(false);
    expect(statSync(cfg.masterKeyPath).mode & 0o777).toBe(0o600);
    expect(res.stdout).not.toContain(masterKeyToBase64(newKey));
    await t.direct(async (db) => {
      expect(await readableWith(db, createMasterKeyring(newKey), seeded)).toBe(true);
      await expect(readableWith(db, createMasterKeyring(oldKey), seeded)).rejects.toBeInstanceOf(DecryptionError);
      expect(await db.query(`SELECT 1 FROM audit_log WHERE action = 'system.master_key.rotate'`)).toHaveLength(1);
    });
  });

  it('recovers from a crash after the commit: start-up reads with the staged key, and a re-run finishes the swap', async () => {
    const t = cli();
    const cfg = loadConfig(t.env);
    const oldKey = loadMasterKey(cfg);
    const seeded = await seed(t, createMasterKeyring(oldKey));
    // Simulate: .next written, transaction committed, then the process died before the rename.
    const staged = generateMasterKey();
    expect(writeMasterKeyFileExclusive(pendingMasterKeyPath(cfg), staged)).toBe(true);
    await t.direct((db) => rotateMasterKey({ db, keyring: createMasterKeyring(oldKey), newKey: staged }));

    const afterCrash = loadMasterKeyring(cfg);
    expect(afterCrash.current.keyId).toBe(oldKey.keyId);
    expect(await t.direct((db) => readableWith(db, afterCrash, seeded))).toBe(true);

    const res = await t.run(['keys', 'rotate']);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^reusing the new key already in .*master\.key\.next/);
    expect(loadMasterKey(cfg).keyId).toBe(staged.keyId);
    expect(existsSync(pendingMasterKeyPath(cfg))).toBe(false);
    expect(await t.direct((db) => readableWith(db, createMasterKeyring(staged), seeded))).toBe(true);
  });

  it('MASTER_KEY mode: requires --new-key-file, writes the new key there 0600 and says to update the secret store', async () => {
    const t = cli();
    const oldKey = generateMasterKey();
    t.env['MASTER_KEY'] = masterKeyToBase64(oldKey);
    const seeded = await seed(t, createMasterKeyring(oldKey));

    const refused = await t.run(['keys', 'rotate']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--new-key-file/);

    const file = path.join(t.dataDir, 'new-master.key');
    const res = await t.run(['keys', 'rotate', '--new-key-file', file]);
    expect(res).toMatchObject({ code: 0, stderr: '' });
    expect(res.stdout).toMatch(/Update MASTER_KEY in your secret store/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const newKey = masterKeyFromBase64(readFileSync(file, 'utf8'));
    if (!newKey) throw new Error('no key written');
    expect(res.stdout).not.toContain(masterKeyToBase64(newKey));
    expect(existsSync(path.join(t.dataDir, 'keys', 'master.key'))).toBe(false);
    expect(await t.direct((db) => readableWith(db, createMasterKeyring(newKey), seeded))).toBe(true);
  });

  it('refuses --new-key-file in key-file mode', async () => {
    const t = cli();
    const res = await t.run(['keys', 'rotate', '--new-key-file', path.join(t.dataDir, 'x.key')]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/only for MASTER_KEY/);
    expect(existsSync(path.join(t.dataDir, 'x.key'))).toBe(false);
  });
});
