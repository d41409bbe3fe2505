// The minimum-necessary reminder read on both engines: one query for many patients, only the
// channel's address, the zone and the names; erased and unknown patients answered as such.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { countingDb, ENGINES, testDbPerTest } from '../../test/helpers/databases.ts';
import { createRecipientReader } from './recipients.ts';
import { CLI_CTX, distinctivePatient, storeOn } from './test-fixtures/patients.ts';

describe.each(ENGINES)('reminder recipients (%s)', (kind) => {
  const open = testDbPerTest(kind);

  it('answers many patients in one query, in the order asked, with only what a reminder needs', async () => {
    const { db } = await open();
    const { store, cipher } = storeOn(db);
    const a = distinctivePatient();
    const b = { ...distinctivePatient(), email: undefined };
    const { id: idA } = await store.create(a, CLI_CTX);
    const { id: idB } = await store.create(b, CLI_CTX);
    const { id: idGone } = await store.create(distinctivePatient(), CLI_CTX);
    await store.erase(idGone, CLI_CTX);
    const counted = countingDb(db);
    const recipients = createRecipientReader({ db: counted.db, cipher });

    const stranger = randomUUID();
    const sms = await recipients([idB, stranger, idA, idGone, 'not-a-uuid'], 'sms');
    expect(counted.statements()).toBe(1);
    expect(sms).toEqual([
      { erased: false, address: b.phone, timeZone: b.timeZone, names: [b.givenName, b.familyName] },
      null,
      { erased: false, address: a.phone, timeZone: a.timeZone, names: [a.givenName, a.familyName] },
      { erased: true },
      null,
    ]);
    // Nothing beyond the minimum: no date of birth, no MRN, not the other channel's address.
    expect(JSON.stringify(sms)).not.toContain(a.birthDate);
    expect(JSON.stringify(sms)).not.toContain(a.mrn);
    expect(JSON.stringify(sms)).not.toContain(a.email);
    expect(await recipients([idA, idB], 'email')).toEqual([
      { erased: false, address: a.email, timeZone: a.timeZone, names: [a.givenName, a.familyName] },
      { erased: false, address: null, timeZone: b.timeZone, names: [b.givenName, b.familyName] },
    ]);
  });
});
