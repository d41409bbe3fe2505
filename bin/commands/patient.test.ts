// `telehealth patient erase` in-process on both engines: refuses without --yes, shreds with it, exit codes 0/1/2.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config/load.ts';
import { createContactIndex } from '../../core/consent/index.ts';
import { loadMasterKeyring } from '../../core/crypto/index.ts';
import type { Db } from '../../core/db/types.ts';
import { CLI_CTX, distinctivePatient, storeOn } from '../../core/patients/test-fixtures/patients.ts';
import { ENGINES } from '../../test/helpers/databases.ts';
import { patientCommands } from './patient.ts';
import { cliEnvPerTest } from './test-fixtures/patient-keys-cli.ts';

describe.each(ENGINES)('telehealth patient erase (%s)', (kind) => {
  const cli = cliEnvPerTest(kind, patientCommands);

  it('refuses without --yes, erases with it (audited), and reports a second erase as already done', async () => {
    const t = cli();
    const keyring = loadMasterKeyring(loadConfig(t.env));
    const id = await t.direct(async (db) => (await storeOn(db, keyring).store.create(distinctivePatient(), CLI_CTX)).id);
    // The patient's phone and e-mail are in the blind index an inbound STOP is matched against.
    const indexed = (db: Db) => db.query<{ n: number }>('SELECT count(*)::int AS n FROM contact_index WHERE patient_id = $1', [id]).then((r) => r[0]?.n);
    await t.direct(async (db) => {
      await createContactIndex({ db, keyring }).indexContact(id, 'phone', '+15555550142');
      expect(await indexed(db)).toBe(1);
    });

    const refused = await t.run(['patient', 'erase', id]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/permanently destroy the data key.*\n.*\nNothing was changed\. Re-run with --yes/);
    expect(await t.direct((db) => storeOn(db, keyring).store.get(id))).toMatchObject({ erased: false });

    const done = await t.run(['patient', 'erase', id, '--yes']);
    expect(done).toMatchObject({ code: 0, stderr: '' });
    expect(done.stdout).toMatch(new RegExp(`^patient ${id} erased: data key destroyed at .*patient\\.crypto_shred`));
    await t.direct(async (db) => {
      expect(await storeOn(db, keyring).store.get(id)).toMatchObject({ id, erased: true });
      const rows = await db.query<{ actor_id: string; patient_id: string }>(`SELECT actor_id, patient_id FROM audit_log WHERE action = 'patient.crypto_shred'`);
      expect(rows).toEqual([{ actor_id: 'cli', patient_id: id }]);
      expect(await indexed(db)).toBe(0);
    });

    const again = await t.run(['patient', 'erase', id, '--yes']);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/already erased/);
  });

  it('exits 1 for an unknown id and 2 for a malformed one', async () => {
    const t = cli();
    const unknown = randomUUID();
    expect(await t.run(['patient', 'erase', unknown, '--yes'])).toEqual({ code: 1, stdout: '', stderr: `telehealth patient erase: no patient with id ${unknown}\n` });
    expect((await t.run(['patient', 'erase', 'nobody', '--yes'])).code).toBe(2);
    expect((await t.run(['patient', 'erase', '--yes'])).code).toBe(2);
  });
});
