/** `telehealth patient erase`: crypto-shred one patient (destroy their data key) from the operator's shell. */
import { parseArgs } from 'node:util';
import { ActorType, createAuditLog } from '../../core/audit/index.ts';
import { loadConfig } from '../../core/config/load.ts';
import { removePatientContacts } from '../../core/consent/index.ts';
import { openDatabase } from '../../core/db/open.ts';
import type { Sql } from '../../core/db/types.ts';
import { AppError, ErrorCode } from '../../core/errors.ts';
import { erasePatient, isUuid } from '../../core/patients/index.ts';
import type { Command } from './types.ts';

const EXIT_NOT_FOUND = 1;
const EXIT_USAGE = 2;

export const patientCommands: Command[] = [
  {
    words: ['patient', 'erase'],
    summary: 'crypto-shred a patient: destroy their data key so their PHI is unreadable forever',
    help: `Usage: telehealth patient erase <patient-id> --yes

Crypto-shreds one patient (right to erasure, end of retention). In one transaction it deletes
the patient's data key, marks the record erased and records patient.crypto_shred in the audit
chain. Every field encrypted under that key (name, date of birth, phone, email, MRN, break-glass
reasons) becomes unreadable for good, in this database and in every backup. There is no undo.
The patient id is kept, so appointments and audit records still refer to it.

Options:
  --yes   required: confirms you mean it (without it nothing is done)

Erasing a patient that is already erased changes nothing and exits 0.

Exit codes: 0 erased (or already erased), 1 no patient with that id,
            2 usage (missing --yes, bad id), configuration or database problem.

Example: telehealth patient erase 0b7e5d6c-3f7a-4c1e-9d55-2f0f3a7c9e11 --yes`,
    async run(ctx) {
      const { values, positionals } = parseArgs({ args: [...ctx.argv], options: { yes: { type: 'boolean' } }, strict: true, allowPositionals: true });
      const [id, ...extra] = positionals;
      if (id === undefined || extra.length > 0) {
        ctx.stderr.write('Usage: telehealth patient erase <patient-id> --yes\n');
        return EXIT_USAGE;
      }
      if (!isUuid(id)) {
        ctx.stderr.write('telehealth patient erase: a patient id is a UUID\n');
        return EXIT_USAGE;
      }
      if (values.yes !== true) {
        ctx.stderr.write(
          `This would permanently destroy the data key of patient ${id}: their name, date of birth, contact details,\n` +
            'MRN and break-glass reasons become unreadable forever, in this database and in every backup.\n' +
            'Nothing was changed. Re-run with --yes to proceed.\n',
        );
        return EXIT_USAGE;
      }
      const cfg = loadConfig(ctx.env);
      const db = await openDatabase(cfg, 'telehealth-cli');
      try {
        // The blind index goes too: an inbound STOP from that number must not find the patient.
        const contacts = { removePatient: (patientId: string, tx?: Sql) => removePatientContacts(tx ?? db, patientId) };
        const res = await erasePatient({ db, audit: createAuditLog(db), contacts }, id, { actorType: ActorType.system, actorId: 'cli' });
        ctx.stdout.write(
          res.alreadyErased
            ? `patient ${id} was already erased at ${res.erasedAt.toISOString()}; nothing to do\n`
            : `patient ${id} erased: data key destroyed at ${res.erasedAt.toISOString()}; recorded as patient.crypto_shred in the audit log\n`,
        );
        return 0;
      } catch (err) {
        if (err instanceof AppError && err.code === ErrorCode.notFound) {
          ctx.stderr.write(`telehealth patient erase: no patient with id ${id}\n`);
          return EXIT_NOT_FOUND;
        }
        throw err;
      } finally {
        await db.close();
      }
    },
  },
];
