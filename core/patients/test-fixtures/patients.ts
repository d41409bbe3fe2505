// Shared by the patients tests: a store on a test database and distinctive PHI to look for.
import { randomBytes } from 'node:crypto';
import { ActorType, createAuditLog } from '../../audit/index.ts';
import { createMasterKeyring, generateMasterKey, type MasterKeyring } from '../../crypto/keyring.ts';
import { createPatientCipher, type PatientFieldCipher } from '../../crypto/patient-cipher.ts';
import type { Db } from '../../db/types.ts';
import type { PatientActionContext } from '../context.ts';
import type { ParsedPatientInput } from '../schema.ts';
import { createPatientStore, type PatientStore } from '../store.ts';

export const CLI_CTX: PatientActionContext = { actorType: ActorType.system, actorId: 'test' };

export function storeOn(db: Db, keyring: MasterKeyring = createMasterKeyring(generateMasterKey())): { store: PatientStore; cipher: PatientFieldCipher; keyring: MasterKeyring } {
  const cipher = createPatientCipher({ db, keyring });
  return { store: createPatientStore({ db, cipher, audit: createAuditLog(db) }), cipher, keyring };
}

/** A patient whose every value is unique to this call, so a search for it cannot match anything else. */
export function distinctivePatient(): Required<ParsedPatientInput> {
  const tag = randomBytes(5).toString('hex');
  const digits = String(100_000_000 + (randomBytes(4).readUInt32BE() % 900_000_000));
  return {
    givenName: `Zebulonia${tag}`,
    familyName: `Quackenbush${tag}`,
    birthDate: `19${String(10 + (randomBytes(1)[0] ?? 0) % 80)}-0${1 + ((randomBytes(1)[0] ?? 0) % 9)}-1${(randomBytes(1)[0] ?? 0) % 9}`,
    phone: `+1555${digits}`,
    email: `zeb.${tag}@example.org`,
    mrn: `MRN-${tag.toUpperCase()}`,
    timeZone: 'America/Chicago',
  };
}
