/**
 * The contact blind index on both engines: normalized values find their patients, nothing
 * readable is stored, keys are bound to kind and master key, and rotation keeps lookups working.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ENGINES, testDbPerTest } from '../../test/helpers/databases.ts';
import { createMasterKeyring, generateMasterKey } from '../crypto/index.ts';
import type { Db } from '../db/types.ts';
import { createContactIndex, normalizeEmail, normalizePhone } from './contact-index.ts';

async function seedPatient(db: Db): Promise<string> {
  const id = randomUUID();
  await db.query('INSERT INTO patients (id) VALUES ($1)', [id]);
  return id;
}

describe('contact normalization', () => {
  it('writes phones as E.164 and e-mail addresses lower-cased, refusing what cannot be', () => {
    expect(normalizePhone(' +1 (555) 555-0123 ')).toBe('+15555550123');
    expect(normalizePhone('0044 20 7946 0018')).toBe('+442079460018');
    expect(normalizePhone('555-0123')).toBeNull();
    expect(normalizePhone('+1555abc')).toBeNull();
    expect(normalizeEmail(' Ada@Example.ORG ')).toBe('ada@example.org');
    expect(normalizeEmail('not an address')).toBeNull();
  });
});

describe.each(ENGINES)('contact index (%s)', (kind) => {
  const open = testDbPerTest(kind);

  it('finds every patient sharing a contact without storing it readably', async () => {
    const { db } = await open();
    const index = createContactIndex({ db, keyring: createMasterKeyring(generateMasterKey()) });
    const [ada, kid, other] = [await seedPatient(db), await seedPatient(db), await seedPatient(db)];
    await index.indexContact(ada, 'phone', '+15555550123');
    await db.transaction((tx) => index.indexContact(kid, 'phone', '+1 555 555 0123', tx));
    await index.indexContact(other, 'phone', '+15555550199');
    await index.indexContact(ada, 'email', 'Ada@Example.org');

    expect(await index.findByContact('phone', '+1 (555) 555-0123')).toEqual([ada, kid].sort());
    expect(await index.findByContact('email', 'ada@example.org')).toEqual([ada]);
    // A phone digest never answers an e-mail lookup of the same text, and unknown values find nobody.
    expect(await index.findByContact('email', '+15555550123')).toEqual([]);
    expect(await index.findByContact('phone', '+15555550100')).toEqual([]);
    expect(await index.findByContact('phone', 'garbage')).toEqual([]);

    const dump = JSON.stringify(await db.query('SELECT encode(digest, $1) AS d, key_id FROM contact_index', ['escape']));
    expect(dump).not.toMatch(/5555550123|ada@example/i);

    // Updating a contact replaces the entry; null removes it.
    await index.indexContact(ada, 'phone', '+15555550777');
    expect(await index.findByContact('phone', '+15555550123')).toEqual([kid]);
    expect(await index.findByContact('phone', '+15555550777')).toEqual([ada]);
    await index.indexContact(kid, 'phone', null);
    expect(await index.findByContact('phone', '+15555550123')).toEqual([]);
    await index.removePatient(ada);
    expect(await index.findByContact('email', 'ada@example.org')).toEqual([]);
  });

  it('keeps finding entries made under an older master key, and not under a foreign one', async () => {
    const { db } = await open();
    const oldKey = generateMasterKey();
    const patient = await seedPatient(db);
    await createContactIndex({ db, keyring: createMasterKeyring(oldKey) }).indexContact(patient, 'phone', '+15555550123');

    const rotated = createContactIndex({ db, keyring: createMasterKeyring(generateMasterKey(), [oldKey]) });
    expect(await rotated.findByContact('phone', '+15555550123')).toEqual([patient]);
    const foreign = createContactIndex({ db, keyring: createMasterKeyring(generateMasterKey()) });
    expect(await foreign.findByContact('phone', '+15555550123')).toEqual([]);

    // Re-indexing moves the entry to the current key.
    await rotated.indexContact(patient, 'phone', '+15555550123');
    const [row] = await db.query<{ key_id: string }>('SELECT key_id FROM contact_index WHERE patient_id = $1', [patient]);
    expect(row?.key_id).not.toBe(oldKey.keyId);
  });
});
